"""The workspace page: who may open it, and what the shell hands its script."""

import json
from typing import Any

import pytest
from django.test import Client

from audit.models import AuditEvent
from labeling.views import SUPPORTED_TYPES
from projects.models import Role, TaskType
from tests.conftest import add_member, make_project
from tests.factories import make_user
from tests.labeling.work import make_task

pytestmark = pytest.mark.django_db

PAIRWISE_SCHEMA = {"strength": {"min": 1, "max": 3}}


def _url(project) -> str:
    return f"/projects/{project.pk}/work/"


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _config(response) -> dict[str, Any]:
    html = response.content.decode()
    start = html.index('<script id="workspace-config" type="application/json">')
    body = html[start:].split(">", 1)[1].split("</script>", 1)[0]
    return json.loads(body)


def test_an_annotator_gets_the_shell_with_the_project_settings(lab):
    lab.project.instructions = "Read **carefully**. <script>alert(1)</script>"
    lab.project.save(update_fields=["instructions"])
    response = _client(lab.annotator).get(_url(lab.project))
    assert response.status_code == 200
    config = _config(response)
    assert config["project"]["id"] == str(lab.project.pk)
    assert config["task_type"] == "classification"
    assert config["label_schema"] == lab.project.label_schema
    assert config["user_id"] == str(lab.annotator.pk)
    assert config["api"] == f"/api/v1/projects/{lab.project.pk}/"
    assert [r["value"] for r in config["skip_reasons"]] == [
        "unclear",
        "expertise",
        "broken",
        "sensitive",
        "other",
    ]
    html = response.content.decode()
    assert "labelkeep/workspace" in html
    assert "<strong>carefully</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_opening_the_page_records_nothing(lab):
    before = AuditEvent.objects.count()
    _client(lab.annotator).get(_url(lab.project))
    assert AuditEvent.objects.count() == before


def test_reviewers_and_managers_may_annotate_too(lab):
    for user in (lab.reviewer, lab.manager, lab.admin):
        assert _client(user).get(_url(lab.project)).status_code == 200


def test_a_viewer_is_refused(lab):
    assert _client(lab.viewer).get(_url(lab.project)).status_code == 403


def test_an_outsider_gets_404_like_a_missing_project(lab):
    assert _client(lab.outsider).get(_url(lab.project)).status_code == 404
    assert _client(lab.annotator).get(_url(lab.other_project)).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(lab):
    response = Client().get(_url(lab.project))
    assert response.status_code == 302
    assert response["Location"].startswith("/account/login/")


def test_every_task_type_has_a_workspace():
    assert set(TaskType) == SUPPORTED_TYPES


def test_the_boxes_shell_carries_its_schema_and_the_script(admin):
    schema = {"labels": [{"name": "Car"}], "min_size": 0.02}
    project = make_project(admin, name="Boxes", task_type=TaskType.BOXES, label_schema=schema)
    annotator = add_member(project, make_user(), Role.ANNOTATOR)
    response = _client(annotator).get(_url(project))
    assert "labelkeep/workspace" in response.content.decode()
    config = _config(response)
    assert (config["task_type"], config["label_schema"]) == ("boxes", schema)


def test_the_project_page_links_the_workspace_for_annotators_only(lab):
    link = f'href="{_url(lab.project)}"'
    assert link in _client(lab.annotator).get(f"/projects/{lab.project.pk}/").content.decode()
    assert link not in _client(lab.viewer).get(f"/projects/{lab.project.pk}/").content.decode()


def test_the_pairwise_shell_carries_its_schema(admin):
    project = make_project(
        admin, name="Prefs", task_type=TaskType.PAIRWISE, label_schema=PAIRWISE_SCHEMA
    )
    config = _config(_client(admin).get(_url(project)))
    assert config["task_type"] == "pairwise"
    assert config["label_schema"]["strength"] == {"min": 1, "max": 3}


# --- The review page ---------------------------------------------------------------------------


def _review_url(project) -> str:
    return f"/projects/{project.pk}/review/"


def test_a_reviewer_gets_the_shell_in_review_mode(lab):
    response = _client(lab.reviewer).get(_review_url(lab.project))
    assert response.status_code == 200
    config = _config(response)
    assert config["mode"] == "review"
    assert config["api"] == f"/api/v1/projects/{lab.project.pk}/"
    html = response.content.decode()
    assert 'data-ws="accept"' in html
    assert 'data-ws="reject-comment"' in html
    assert 'data-ws="skip"' not in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_the_work_page_is_in_annotate_mode(lab):
    assert _config(_client(lab.reviewer).get(_url(lab.project)))["mode"] == "annotate"


def test_managers_may_review_and_an_annotator_may_not(lab):
    for user in (lab.manager, lab.admin):
        assert _client(user).get(_review_url(lab.project)).status_code == 200
    assert _client(lab.annotator).get(_review_url(lab.project)).status_code == 403
    assert _client(lab.viewer).get(_review_url(lab.project)).status_code == 403


def test_an_outsider_gets_404_for_the_review_page(lab):
    assert _client(lab.outsider).get(_review_url(lab.project)).status_code == 404
    assert _client(lab.reviewer).get(_review_url(lab.other_project)).status_code == 404


def test_opening_the_review_page_records_nothing(lab):
    before = AuditEvent.objects.count()
    _client(lab.reviewer).get(_review_url(lab.project))
    assert AuditEvent.objects.count() == before


def test_the_project_page_links_the_review_for_reviewers_only(lab):
    link = f'href="{_review_url(lab.project)}"'
    assert link in _client(lab.reviewer).get(f"/projects/{lab.project.pk}/").content.decode()
    assert link not in _client(lab.annotator).get(f"/projects/{lab.project.pk}/").content.decode()


# --- One's own answer (?task=) -----------------------------------------------------------------


def test_a_task_id_opens_the_shell_in_the_own_mode_and_records_nothing(lab):
    task = make_task(lab.project, {"text": "mine"})
    before = AuditEvent.objects.count()
    response = _client(lab.annotator).get(f"{_url(lab.project)}?task={task.pk}")
    assert response.status_code == 200
    config = _config(response)
    assert (config["mode"], config["task_id"]) == ("own", str(task.pk))
    assert config["mine_url"] == f"/projects/{lab.project.pk}/me/"
    html = response.content.decode()
    assert 'data-ws="reply"' in html
    assert 'data-ws="revise"' in html
    assert 'data-ws="skip"' not in html
    assert 'data-ws="accept"' not in html
    # The page only passes the id on: whether the caller may open it is the API's answer.
    assert AuditEvent.objects.count() == before


def test_the_own_mode_needs_a_task_id_and_the_annotate_role(lab):
    url = f"{_url(lab.project)}?task="
    assert _client(lab.annotator).get(f"{url}not-an-id").status_code == 400
    assert _client(lab.annotator).get(url).status_code == 400
    task = make_task(lab.project, {"text": "theirs"})
    assert _client(lab.viewer).get(f"{url}{task.pk}").status_code == 403
    assert _client(lab.outsider).get(f"{url}{task.pk}").status_code == 404


def test_the_queue_mode_has_no_task_and_an_offline_banner(lab):
    response = _client(lab.annotator).get(_url(lab.project))
    config = _config(response)
    assert (config["mode"], config["task_id"]) == ("annotate", None)
    assert 'data-ws="offline" role="status"' in response.content.decode()
