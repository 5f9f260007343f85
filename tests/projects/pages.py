"""Helpers of the page tests: a browser-like client that honours CSRF, and page URLs."""

from django.test import Client

from accounts.models import User
from projects.models import Project


def browser(user: User | None = None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def post(client: Client, url: str, data: dict[str, str] | None = None):
    """Submit a form the way a browser does: fetch a page for the CSRF cookie, send it back."""
    client.get("/projects/")
    token = client.cookies["csrftoken"].value
    return client.post(url, {**(data or {}), "csrfmiddlewaretoken": token})


def page(project: Project, name: str = "") -> str:
    return f"/projects/{project.pk}/{name}"
