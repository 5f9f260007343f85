"""A project with submitted annotations behind the live server, an export token for it, and
versions created through the API as a pipeline creates them."""

import urllib.request
from dataclasses import dataclass
from typing import Any

from rest_framework.test import APIClient

from accounts.models import TokenScope, User
from projects.models import Project, Role
from tests.accounts.conftest import make_token
from tests.conftest import add_member, make_project
from tests.factories import make_user
from tests.labeling.work import annotate_all, make_texts

LABELS = ["Positive", "Negative", "Neutral"]


@dataclass
class Served:
    url: str
    project: Project
    manager: User
    # A pipeline's export-scoped token for the project.
    token: str
    # task id -> the labels its two annotators gave it, sorted.
    answers: dict[str, list[list[str]]]


def answer(n: int, task: Any) -> dict[str, Any]:
    return {"labels": [LABELS[(n + int(task.seq)) % len(LABELS)]]}


def serve(url: str, admin: User, *, tasks: int = 6) -> Served:
    """A project whose every task two annotators labelled, and a manager's export token."""
    project = make_project(admin, name="Sentiment", overlap=2)
    manager = add_member(project, make_user(), Role.MANAGER)
    people = [add_member(project, make_user(), Role.ANNOTATOR) for _ in range(2)]
    made = make_texts(project, tasks)
    annotate_all(project, people, answer)
    answers = {
        str(task.pk): sorted(answer(n, task)["labels"] for n in range(len(people))) for task in made
    }
    token = make_token(manager, TokenScope.EXPORT, [project.pk])[1]
    return Served(url, project, manager, token, answers)


def create_version(token: str, project: Project, **body: Any) -> dict[str, Any]:
    """POST a version as a pipeline would; the job runs inline (CELERY_TASK_ALWAYS_EAGER)."""
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    response = api.post(f"/api/v1/projects/{project.pk}/versions/", body, format="json")
    assert response.status_code == 202, response.content
    version: dict[str, Any] = response.json()["version"]
    done = api.get(f"/api/v1/projects/{project.pk}/versions/{version['id']}").json()
    assert done["state"] == "succeeded", done
    return done


def get_range(served: Served, version: dict[str, Any], first: int, last: int) -> bytes:
    """Bytes first..last of a download, fetched over HTTP as an earlier, broken pull would."""
    url = f"{served.url}/api/v1/projects/{served.project.pk}/versions/{version['id']}/download"
    request = urllib.request.Request(  # noqa: S310 -- the live server's http URL
        url, headers={"Authorization": f"Bearer {served.token}", "Range": f"bytes={first}-{last}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 206
        return bytes(response.read())
