"""Dataset versions through the API: created, built by the job, signed, downloaded in parts,
reproducible, filtered as asked, and only for those who may export."""

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import TokenScope
from audit.models import AuditEvent
from audit.services import Actor
from datasets.exports import manifest as manifests
from datasets.models import DatasetVersion
from labeling import annotations, review
from labeling.models import Annotation
from projects import services
from projects.models import Role
from tests.accounts.conftest import bearer, make_token
from tests.conftest import add_member, client_for, make_project
from tests.factories import make_user
from tests.labeling.work import annotate_all, make_task, make_texts


def _versions(project: Any) -> str:
    return f"/api/v1/projects/{project.pk}/versions/"


_run_after_commit: Any = None


@pytest.fixture(autouse=True)
def _jobs_run_after_commit(django_capture_on_commit_callbacks):
    """The version's job runs when its transaction commits, inline (CELERY_TASK_ALWAYS_EAGER)."""
    global _run_after_commit  # noqa: PLW0603 -- this module's tests run one at a time
    _run_after_commit = django_capture_on_commit_callbacks
    yield
    _run_after_commit = None


def _create(client: APIClient, project: Any, **body: Any) -> Any:
    with _run_after_commit(execute=True):
        return client.post(_versions(project), {"format": "jsonl", **body}, format="json")


def _download(client: APIClient, project: Any, ref: Any, **headers: Any) -> Any:
    response: Any = client.get(f"{_versions(project)}{ref}/download", **headers)
    response.body = b"".join(response.streaming_content) if response.status_code < 300 else b""
    return response


def _lines(body: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in body.decode().splitlines()]


@pytest.fixture
def people(lab) -> list[Any]:
    two = [lab.annotator, add_member(lab.project, make_user(), Role.ANNOTATOR)]
    services.project_update(
        actor=Actor.system(user=lab.admin), project=lab.project, changes={"overlap": 2}
    )
    lab.project.refresh_from_db()
    return two


@pytest.fixture
def labelled(lab, people) -> Any:
    """Four tasks, each labelled by both annotators: agreeing on tasks 0 and 2."""
    make_texts(lab.project, 4)
    annotate_all(
        lab.project,
        people,
        lambda n, task: {"labels": ["Positive" if n == 0 or task.seq % 2 == 0 else "Negative"]},
    )
    return lab.project


def test_a_manager_builds_downloads_and_verifies_a_version(lab, labelled):
    manager = client_for(lab.manager)
    created = _create(manager, labelled, name="first")
    assert created.status_code == 202, created.json()
    version = created.json()["version"]
    assert created.json()["job"]["state"] in {"queued", "succeeded"}
    detail = manager.get(f"{_versions(labelled)}first").json()
    assert detail["state"] == "succeeded", detail
    assert detail["row_count"] == 8
    assert detail["number"] == 1
    assert detail["id"] == version["id"]

    got = _download(manager, labelled, detail["number"])
    assert got.status_code == 200
    assert got["ETag"] == f'"sha256:{detail["sha256"]}"'
    assert got["Accept-Ranges"] == "bytes"
    assert int(got["Content-Length"]) == len(got.body) == detail["size"]
    assert hashlib.sha256(got.body).hexdigest() == detail["sha256"]
    assert "attachment" in got["Content-Disposition"]

    rows = _lines(got.body)
    stored = Annotation.objects.filter(project=labelled, status="submitted")
    assert sorted(r["annotation_id"] for r in rows) == sorted(str(a.pk) for a in stored)
    assert all(r["data"]["text"].startswith("text ") for r in rows)
    assert {r["result"]["labels"][0] for r in rows} == {"Positive", "Negative"}

    document = manager.get(f"{_versions(labelled)}first/manifest").json()
    assert manifests.manifest_verify(
        document["manifest"], document["signature"], document["key_id"]
    )
    body = json.loads(document["manifest"])
    assert body["file"]["sha256"] == detail["sha256"]
    assert body["file"]["rows"] == 8
    assert body["project"]["id"] == str(labelled.pk)
    assert body["format"] == "jsonl"
    assert body["label_schema"] == labelled.label_schema
    assert len(body["annotators"]) == 2
    tampered = document["manifest"].replace('"rows":8', '"rows":9')
    assert not manifests.manifest_verify(tampered, document["signature"], document["key_id"])


def test_no_email_or_user_id_leaves_in_a_version(lab, labelled, people):
    manager = client_for(lab.manager)
    _create(manager, labelled, name="anon")
    body = _download(manager, labelled, "anon").body.decode()
    document = manager.get(f"{_versions(labelled)}anon/manifest").json()["manifest"]
    for person in [*people, lab.manager]:
        for secret in (person.email, str(person.pk), person.pk.hex):
            assert secret not in body
            assert secret not in document
    names = {row["annotator"] for row in _lines(body.encode())}
    assert len(names) == 2
    assert all(name.startswith("p-") for name in names)


def test_pseudonyms_are_stable_in_a_project_and_differ_across_projects(lab, labelled, people):
    manager = client_for(lab.manager)
    _create(manager, labelled, name="a")
    _create(manager, labelled, name="b")
    first = {r["annotator"] for r in _lines(_download(manager, labelled, "a").body)}
    second = {r["annotator"] for r in _lines(_download(manager, labelled, "b").body)}
    assert first == second
    other = make_project(lab.admin, "Other")
    for person in people:
        add_member(other, person, Role.ANNOTATOR)
    make_texts(other, 1)
    annotate_all(other, people[:1], lambda n, task: {"labels": ["Positive"]})
    admin = client_for(lab.admin)
    _create(admin, other, name="o")
    third = {r["annotator"] for r in _lines(_download(admin, other, "o").body)}
    assert len(third) == 1
    assert not third & first


def test_range_requests_resume_a_download(lab, labelled):
    manager = client_for(lab.manager)
    _create(manager, labelled, name="r")
    whole = _download(manager, labelled, "r")
    etag = whole["ETag"]
    tail = _download(manager, labelled, "r", HTTP_RANGE="bytes=100-", HTTP_IF_RANGE=etag)
    assert tail.status_code == 206
    assert tail.body == whole.body[100:]
    assert tail["Content-Range"] == f"bytes 100-{len(whole.body) - 1}/{len(whole.body)}"
    assert int(tail["Content-Length"]) == len(whole.body) - 100
    middle = _download(manager, labelled, "r", HTTP_RANGE="bytes=10-19")
    assert middle.status_code == 206
    assert middle.body == whole.body[10:20]
    changed = _download(manager, labelled, "r", HTTP_RANGE="bytes=100-", HTTP_IF_RANGE='"x"')
    assert changed.status_code == 200
    assert changed.body == whole.body
    beyond = _download(manager, labelled, "r", HTTP_RANGE=f"bytes={len(whole.body)}-")
    assert beyond.status_code == 416
    assert beyond.json()["error"]["code"] == "range_not_satisfiable"


def test_the_same_filter_gives_the_same_bytes_as_of_its_time(lab, labelled, people):
    manager = client_for(lab.manager)
    _make(manager, labelled, "then")
    first = manager.get(f"{_versions(labelled)}then").json()
    until = first["filter"]["until"]
    again = _create(manager, labelled, name="again", filter={"until": until})
    assert again.status_code == 202
    assert manager.get(f"{_versions(labelled)}again").json()["sha256"] == first["sha256"]
    assert _download(manager, labelled, "again").body == _download(manager, labelled, "then").body

    # Later work: a revision and a new task. A version as of `until` still holds the old data.
    mine = Annotation.objects.filter(project=labelled, annotator=people[0]).earliest("created_at")
    annotations.annotation_revise(
        actor=Actor.system(user=people[0]),
        project=labelled,
        task_id=mine.task_id,
        result={"labels": ["Negative"]},
    )
    make_texts(labelled, 1)
    annotate_all(labelled, people[:1], lambda n, task: {"labels": ["Positive"]})
    later = _create(manager, labelled, name="later", filter={"until": until})
    assert manager.get(f"{_versions(labelled)}later").json()["sha256"] == first["sha256"]
    now = _create(manager, labelled, name="now")
    fresh = manager.get(f"{_versions(labelled)}now").json()
    assert fresh["sha256"] != first["sha256"]
    assert fresh["row_count"] == 9
    assert later.status_code == now.status_code == 202
    revised = [r for r in _lines(_download(manager, labelled, "now").body)
               if r["annotation_id"] == str(mine.pk)]  # fmt: skip
    assert revised[0]["result"] == {"labels": ["Negative"]}
    assert revised[0]["revision"] == 2


def test_filters_select_what_they_say(lab, labelled):
    manager = client_for(lab.manager)
    rows = _lines(_download(manager, labelled, _make(manager, labelled, "all")).body)
    agreed = {r["task_id"] for r in rows if r["agreement"] == 1.0}
    assert len(agreed) == 2
    assert {r["agreement"] for r in rows} == {0.0, 1.0}

    high = _make(manager, labelled, "agreed", filter={"min_agreement": 0.9})
    assert {r["task_id"] for r in _lines(_download(manager, labelled, high).body)} == agreed

    negative = _make(manager, labelled, "neg", filter={"labels": ["Negative"]})
    picked = _lines(_download(manager, labelled, negative).body)
    assert picked
    assert all(r["result"]["labels"] == ["Negative"] for r in picked)

    gold = make_task(labelled, {"text": "gold"}, gold={"labels": ["Positive"]})
    without = _lines(_download(manager, labelled, _make(manager, labelled, "ng")).body)
    assert str(gold.pk) not in {r["task_id"] for r in without}

    future = (timezone.now() + timedelta(days=1)).isoformat()
    for bad, field in [
        ({"status": "accepted"}, "filter.status"),
        ({"labels": ["Nope"]}, "filter.labels"),
        ({"min_agreement": 2}, "filter.min_agreement"),
        ({"until": future}, "filter.until"),
        ({"until": "yesterday"}, "filter.until"),
        ({"colour": "red"}, "filter.colour"),
        ({"include_gold": "yes"}, "filter.include_gold"),
    ]:
        answer = _create(manager, labelled, filter=bad)
        assert answer.status_code == 400, bad
        assert answer.json()["error"]["details"]["field"] == field, answer.json()
    unknown = _create(manager, labelled, format="xlsx")
    assert unknown.status_code == 400
    assert unknown.json()["error"]["code"] == "unknown_format"
    assert DatasetVersion.objects.filter(project=labelled).count() == 4


def _make(client: APIClient, project: Any, name: str, **body: Any) -> str:
    answer = _create(client, project, name=name, **body)
    assert answer.status_code == 202, answer.json()
    return name


def test_accepted_only_in_projects_that_review(lab, people):
    project = lab.project
    services.project_update(
        actor=Actor.system(user=lab.admin), project=project, changes={"review_required": True}
    )
    project.refresh_from_db()
    make_texts(project, 2)
    annotate_all(project, people, lambda n, task: {"labels": ["Positive"]})
    submitted = Annotation.objects.filter(project=project, status="submitted").order_by("pk")
    chosen = submitted[0]
    review.review_decide(
        actor=Actor.system(user=lab.reviewer),
        project=project,
        annotation_id=chosen.pk,
        decision="accept",
    )
    manager = client_for(lab.manager)
    accepted = _lines(_download(manager, project, _make(manager, project, "acc")).body)
    assert [r["annotation_id"] for r in accepted] == [str(chosen.pk)]
    assert accepted[0]["review_state"] == "accepted"
    every = _make(manager, project, "sub", filter={"status": "submitted"})
    assert len(_lines(_download(manager, project, every).body)) == 4


def test_versions_are_numbered_and_named_once(lab, labelled):
    manager = client_for(lab.manager)
    assert _create(manager, labelled).json()["version"]["name"] == "v1"
    assert _create(manager, labelled, name="v1").status_code == 409
    assert _create(manager, labelled, name="12").status_code == 400
    assert _create(manager, labelled, name="../x").status_code == 400
    second = _create(manager, labelled, name="second").json()["version"]
    assert second["number"] == 2
    listed = manager.get(_versions(labelled)).json()["results"]
    assert [v["number"] for v in listed] == [2, 1]
    assert manager.get(f"{_versions(labelled)}3").status_code == 404


def test_only_those_who_may_export_reach_versions(lab, labelled):
    _make(client_for(lab.manager), labelled, "x")
    for person in (lab.annotator, lab.reviewer, lab.viewer):
        client = client_for(person)
        assert client.get(_versions(labelled)).status_code == 403
        assert _create(client, labelled).status_code == 403
        assert _download(client, labelled, "x").status_code == 403
    assert client_for(lab.outsider).get(_versions(labelled)).status_code == 404


def test_a_pipeline_token_exports_its_project_only(lab, labelled):
    _token, plaintext = make_token(lab.admin, TokenScope.EXPORT, [labelled.pk])
    pipeline = APIClient()
    pipeline.credentials(HTTP_AUTHORIZATION=bearer(plaintext)["HTTP_AUTHORIZATION"])
    created = _create(pipeline, labelled, name="pipe")
    assert created.status_code == 202
    assert _download(pipeline, labelled, "pipe").status_code == 200
    keys = pipeline.get("/api/v1/signing-keys").json()["keys"]
    assert [k["current"] for k in keys].count(True) == 1
    assert _create(pipeline, lab.other_project).status_code == 404
    assert pipeline.get(_versions(lab.other_project)).status_code == 404
    version = DatasetVersion.objects.get(name="pipe")
    assert version.created_by_token_id is not None


def test_creating_and_downloading_are_recorded(lab, labelled):
    manager = client_for(lab.manager)
    _make(manager, labelled, "audited")
    version = DatasetVersion.objects.get(name="audited")
    _download(manager, labelled, "audited", HTTP_RANGE="bytes=5-")
    actions = list(
        AuditEvent.objects.filter(object_id=str(version.pk)).values_list("action", "details")
    )
    assert [a for a, _ in actions] == ["version.created", "version.built", "version.downloaded"]
    assert actions[2][1]["start"] == 5


def test_a_version_not_built_has_no_file(lab, labelled):
    version = DatasetVersion.objects.create(
        project=labelled, number=9, name="pending", format="jsonl", created_by=lab.manager,
        filter={"status": "submitted", "until": timezone.now().isoformat()},
    )  # fmt: skip
    manager = client_for(lab.manager)
    answer = _download(manager, labelled, version.pk)
    assert answer.status_code == 409
    assert answer.json()["error"]["code"] == "version_not_ready"
    assert manager.get(f"{_versions(labelled)}pending/manifest").status_code == 409
