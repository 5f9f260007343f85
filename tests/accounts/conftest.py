"""Helpers for driving the real account pages with CSRF checks on."""

from typing import Any

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client
from django.urls import reverse

from accounts.models import ApiToken, TokenScope, User
from audit.services import Actor
from projects import tokens


class CountingHasher(MD5PasswordHasher):
    """Counts hash computations: verifying a password and hashing a dummy one both encode."""

    algorithm = "counting_md5"
    encodings = 0

    def encode(self, password: str, salt: str) -> str:
        CountingHasher.encodings += 1
        return super().encode(password, salt)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.accounts.conftest.CountingHasher"]
    CountingHasher.encodings = 0
    return CountingHasher


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def csrf_post(client: Client, url: str, data: dict[str, Any], *, page: str | None = None, **extra):
    """POST like a browser: load a page first for the CSRF cookie, then send its token."""
    client.get(page or url, **extra)
    token = client.cookies["csrftoken"].value
    return client.post(url, {**data, "csrfmiddlewaretoken": token}, **extra)


def sign_in(client: Client, email: str, password: str, **extra):
    url = reverse("accounts:login")
    return csrf_post(client, url, {"email": email, "password": password}, **extra)


def make_token(user: User, scope: str = TokenScope.FULL, projects=None, **kwargs):
    """A token of ``user`` and its plaintext, created through the service."""
    created = tokens.token_create(
        actor=Actor.system(user=user),
        name=kwargs.pop("name", "pipeline"),
        scope=scope,
        projects=projects,
        **kwargs,
    )
    return created.token, created.plaintext


def bearer(plaintext: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {plaintext}"}


def reload(token: ApiToken) -> ApiToken:
    return ApiToken.objects.get(pk=token.pk)
