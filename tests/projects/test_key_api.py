"""Deleting projects and operating their keys over the API (issue 3): the answers, the audit
events, precise refusals, and what a deletion hides at once, before the purge has run.

Who may call each endpoint is covered persona by persona in tests/security; here the calls
are made by the lab admin unless a test says otherwise.
"""

import json
import uuid

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts import throttle
from accounts.models import TokenScope
from audit.models import AuditEvent, Outcome
from audit.services import Actor
from projects import keys, tokens
from projects.deletion import project_purge
from projects.models import Project
from tests.audit.helpers import without_checkpoint_requests
from tests.conftest import client_for
from tests.factories import password_of
from tests.vault.conftest import SealedNote, seal_notes
from vault import config, fields, reseal
from vault.models import JobState, PurgeState, ReencryptionJob, ShredReceipt


def project_url(project, suffix: str = "") -> str:
    return f"/api/v1/projects/{project.pk}{suffix}"


def delete(client, project, password):
    return client.delete(project_url(project), {"password": password}, format="json")


def events(project, action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(project_id=project.pk, action=action).order_by("seq"))


@pytest.fixture(scope="module")
def sealed_note_table(django_db_setup, django_db_blocker):
    """The vault tests' table of sealed notes, unless their session already made it."""
    table = SealedNote._meta.db_table
    with django_db_blocker.unblock():
        made = table not in connection.introspection.table_names()
        if made:
            with connection.schema_editor() as editor:
                editor.create_model(SealedNote)
    yield
    if made:
        with django_db_blocker.unblock(), connection.schema_editor() as editor:
            editor.delete_model(SealedNote)


@pytest.fixture
def registry(sealed_note_table, monkeypatch):
    """Re-encryption walks the test table of sealed notes (later apps register their own)."""
    entry = reseal.SealedField(model=SealedNote, field="body", kind="note.body")
    monkeypatch.setattr(reseal, "_registry", {entry.label: entry})


# Deleting a project


def test_deleting_a_project_answers_202_with_its_receipt_and_records_it(lab):
    response = delete(client_for(lab.admin), lab.project, password_of(lab.admin))
    assert response.status_code == 202, response.json()
    body = response.json()
    receipt = ShredReceipt.objects.get(project_id=lab.project.pk)
    assert body["id"] == str(receipt.pk)
    assert body["project_id"] == str(lab.project.pk)
    assert body["key_ids"] == [f"pk-{lab.project.pk}-v1"]
    assert body["counts"]["projects.ProjectRole"] == 4
    assert body["purge_state"] == "pending"  # the purge is queued when the request commits
    assert body["destroyed_at"].endswith("Z")
    assert "Sentiment" not in response.content.decode()  # ids and counts, never the name
    [destroyed] = events(lab.project, "key.destroyed")
    [deleted] = events(lab.project, "project.deleted")
    assert deleted.outcome == Outcome.SUCCESS
    assert deleted.actor_id == destroyed.actor_id == lab.admin.pk
    assert deleted.details["receipt"] == str(receipt.pk)


def test_a_deleted_project_is_not_found_by_anyone_and_gone_from_every_list_before_the_purge(lab):
    export = tokens.token_create(
        actor=Actor.system(user=lab.admin),
        name="pipeline",
        scope=TokenScope.EXPORT,
        projects=[str(lab.project.pk)],
    )
    assert delete(client_for(lab.admin), lab.project, password_of(lab.admin)).status_code == 202
    assert Project.objects.filter(pk=lab.project.pk).exists()  # rows remain until the purge
    for persona in ("admin", "manager", "reviewer", "annotator", "viewer", "outsider"):
        client = client_for(getattr(lab, persona))
        for url in (project_url(lab.project), project_url(lab.project, "/members/")):
            response = client.get(url)
            assert response.status_code == 404, (persona, url)
            assert response.json()["error"]["code"] == "project_not_found"
        for archived in ("false", "true"):
            listed = client.get("/api/v1/projects/", {"archived": archived}).json()["results"]
            assert str(lab.project.pk) not in {row["id"] for row in listed}, persona
    admin = client_for(lab.admin)
    assert admin.get(project_url(lab.project, "/key")).status_code == 404
    assert admin.patch(project_url(lab.project), {"name": "x"}, format="json").status_code == 404
    assert delete(admin, lab.project, password_of(lab.admin)).status_code == 404
    pipeline = APIClient()
    pipeline.credentials(HTTP_AUTHORIZATION=f"Bearer {export.plaintext}")
    assert pipeline.get(project_url(lab.project)).status_code == 404
    assert pipeline.get("/api/v1/projects/").json()["results"] == []


def test_a_wrong_password_is_refused_naming_the_field_and_destroys_nothing(lab):
    response = delete(client_for(lab.admin), lab.project, "not my password")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "reauthentication_failed"
    assert error["details"] == {"field": "password"}
    [denied] = events(lab.project, "project.deleted")
    assert (denied.outcome, denied.details["reason"]) == (Outcome.DENIED, "reauthentication_failed")
    assert config.project_keys().versions(lab.project.pk)
    assert not ShredReceipt.objects.exists()
    assert client_for(lab.admin).get(project_url(lab.project)).status_code == 200


def test_repeated_wrong_passwords_are_throttled_like_sign_in_with_retry_after(lab, settings):
    settings.LABELKEEP_LOGIN_MAX_FAILURES = 3
    client = client_for(lab.admin)
    statuses = [delete(client, lab.project, f"guess {n}").status_code for n in range(3)]
    assert statuses == [403, 403, 429]
    # Locked out: even the right password is refused unchecked until the lockout ends.
    response = delete(client, lab.project, password_of(lab.admin))
    assert response.status_code == 429
    error = response.json()["error"]
    assert error["code"] == "reauthentication_throttled"
    assert error["details"]["field"] == "password"
    assert 0 < int(response["Retry-After"]) <= settings.LABELKEEP_LOGIN_LOCKOUT_SECONDS
    assert str(error["details"]["retry_after"]) == response["Retry-After"]
    # One password, one budget of guesses: the sign-in form is locked for this account too.
    assert throttle.lockout_for(email=lab.admin.email, ip=None) is not None
    assert config.project_keys().versions(lab.project.pk)
    reasons = [event.details["reason"] for event in events(lab.project, "project.deleted")]
    assert reasons == ["reauthentication_failed"] * 3 + ["reauthentication_throttled"]


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({}, "password", "required"),
        ({"password": ""}, "password", "blank"),
        ({"password": "x" * 513}, "password", "max_length"),
        ({"password": "whatever", "force": True}, "force", "unknown_field"),
    ],
)
def test_bad_deletion_input_is_a_400_naming_the_field(lab, body, field, code):
    response = client_for(lab.admin).delete(project_url(lab.project), body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["code"], error["details"]["field"]) == (code, field)
    assert not ShredReceipt.objects.exists()


def test_a_body_that_is_not_json_is_a_400(lab):
    response = client_for(lab.admin).delete(
        project_url(lab.project), "password=x", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"


# Project keys


def test_the_key_listing_shows_versions_and_ids_but_never_key_material(lab, tmp_path):
    response = client_for(lab.admin).get(project_url(lab.project, "/key"))
    assert response.status_code == 200
    body = response.json()
    assert body["project_id"] == str(lab.project.pk)
    assert body["current_version"] == 1
    [version] = body["versions"]
    assert set(version) == {"version", "key_id", "provider", "master_key_id", "created_at"}
    assert (version["version"], version["key_id"]) == (1, f"pk-{lab.project.pk}-v1")
    assert version["created_at"].endswith("Z")
    record = json.loads((tmp_path / "keystore" / str(lab.project.pk) / "v000001.key").read_text())
    assert record["wrapped"] not in response.content.decode()


def test_rotation_adds_a_version_for_new_writes_and_old_data_still_opens(lab):
    pid = lab.project.pk
    old = fields.seal(pid, "note.body", 7, "written before the rotation")
    response = client_for(lab.admin).post(project_url(lab.project, "/key/rotate"), format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["current_version"] == 2
    assert [v["version"] for v in body["versions"]] == [1, 2]
    new = fields.seal(pid, "note.body", 8, "written after")
    assert (fields.key_version_of(old), fields.key_version_of(new)) == (1, 2)
    assert fields.unseal(pid, "note.body", 7, old) == "written before the rotation"
    [rotated] = events(lab.project, "key.rotated")
    assert rotated.details["version"] == 2
    assert rotated.object_id == f"pk-{pid}-v2"


def test_key_operations_refuse_unknown_fields(lab):
    client = client_for(lab.admin)
    for suffix in ("/key/rotate", "/key/reencrypt"):
        response = client.post(project_url(lab.project, suffix), {"version": 9}, format="json")
        assert response.status_code == 400
        assert response.json()["error"]["details"]["field"] == "version"
    assert not events(lab.project, "key.rotated")
    assert not ReencryptionJob.objects.exists()


def test_rotation_fails_closed_with_503_when_the_key_provider_is_unavailable(
    lab, settings, tmp_path
):
    settings.LABELKEEP_MASTER_KEY_GENERATE = False
    settings.LABELKEEP_MASTER_KEY_FILE = tmp_path / "absent"
    response = client_for(lab.admin).post(project_url(lab.project, "/key/rotate"))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "key_provider_unavailable"
    assert not events(lab.project, "key.rotated")
    assert [p.name for p in (tmp_path / "keystore" / str(lab.project.pk)).iterdir()] == [
        "v000001.key"
    ]


# Re-encryption and its job


@pytest.mark.usefixtures("registry")
def test_reencryption_starts_a_job_that_reports_its_progress_at_its_url(lab):
    pid = lab.project.pk
    values = [f"value {n}" for n in range(5)]
    seal_notes(pid, values)
    client = client_for(lab.admin)
    client.post(project_url(lab.project, "/key/rotate"))
    response = client.post(project_url(lab.project, "/key/reencrypt"))
    assert response.status_code == 202, response.json()
    job = response.json()["job"]
    assert set(job) == {"id", "state", "progress", "url"}
    assert (job["state"], job["progress"]) == ("queued", 0.0)
    assert job["url"] == f"http://testserver/api/v1/jobs/{job['id']}"
    keys.project_reencrypt_run(job_id=uuid.UUID(job["id"]))  # what the worker does
    report = client.get(job["url"]).json()
    assert (report["kind"], report["state"], report["progress"]) == ("reencryption", "succeeded", 1)
    assert report["counts"] == {"total": 5, "done": 5, "resealed": 5}
    assert report["details"] == {"target_version": 2}
    assert report["project_id"] == str(pid)
    assert report["error"] is None
    assert report["finished_at"].endswith("Z")
    stored = [
        (n.pk, n.body or b"") for n in SealedNote.objects.filter(project_id=pid).order_by("pk")
    ]
    assert {fields.key_version_of(body) for _pk, body in stored} == {2}
    assert [fields.unseal(pid, "note.body", pk, body) for pk, body in stored] == values
    [started] = events(lab.project, "key.reencryption_started")
    [finished] = events(lab.project, "key.reencrypted")
    assert started.object_id == finished.object_id == job["id"]
    assert finished.details["resealed"] == 5


def test_a_second_reencryption_while_one_is_under_way_is_a_conflict(lab):
    client = client_for(lab.admin)
    first = client.post(project_url(lab.project, "/key/reencrypt")).json()["job"]
    response = client.post(project_url(lab.project, "/key/reencrypt"))
    assert response.status_code == 409
    error = response.json()["error"]
    assert (error["code"], error["details"]) == ("reencryption_under_way", {"job": first["id"]})
    assert len(events(lab.project, "key.reencryption_started")) == 1


def test_a_failed_job_reports_its_error_code(lab):
    job = ReencryptionJob.objects.create(
        project_id=lab.project.pk,
        target_version=2,
        state=JobState.FAILED,
        total=10,
        done=4,
        error="key_provider_unavailable",
    )
    report = client_for(lab.admin).get(f"/api/v1/jobs/{job.pk}").json()
    assert (report["state"], report["progress"]) == ("failed", 0.4)
    assert report["error"] == "key_provider_unavailable"


@pytest.mark.parametrize("job_id", ["not-a-uuid", str(uuid.uuid4())])
def test_an_unknown_job_is_not_found(lab, job_id):
    response = client_for(lab.admin).get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "job_not_found"


def test_the_jobs_of_a_deleted_project_are_not_found(lab):
    job = ReencryptionJob.objects.create(project_id=lab.project.pk, target_version=1)
    delete(client_for(lab.admin), lab.project, password_of(lab.admin))
    assert client_for(lab.admin).get(f"/api/v1/jobs/{job.pk}").status_code == 404


# The master key


def test_master_key_rotation_rewraps_every_project_key_and_old_data_still_opens(lab, tmp_path):
    pid = lab.project.pk
    sealed = fields.seal(pid, "note.body", 1, "sealed under the old master key")
    before = config.provider().current_master_id()
    response = client_for(lab.admin).post("/api/v1/vault/master-key/rotate", format="json")
    assert response.status_code == 200, response.json()
    report = response.json()
    assert report["master_key_id"] != before
    assert (report["projects"], report["versions"], report["rewrapped"]) == (2, 2, 2)
    record = json.loads((tmp_path / "keystore" / str(pid) / "v000001.key").read_text())
    assert record["master_key_id"] == report["master_key_id"]
    assert before not in (tmp_path / "master_keyring").read_text()  # retired
    config.project_keys().forget()
    assert fields.unseal(pid, "note.body", 1, sealed) == "sealed under the old master key"
    [event] = AuditEvent.objects.filter(action="key.master_rotated")
    assert (event.details["from"], event.details["to"]) == (before, report["master_key_id"])


def test_master_key_rotation_can_keep_the_old_master_keys(lab, tmp_path):
    before = config.provider().current_master_id()
    response = client_for(lab.admin).post(
        "/api/v1/vault/master-key/rotate", {"keep_old": True}, format="json"
    )
    assert response.status_code == 200
    assert before in (tmp_path / "master_keyring").read_text()


def test_master_key_rotation_names_a_bad_field(lab):
    response = client_for(lab.admin).post(
        "/api/v1/vault/master-key/rotate", {"keep_old": "perhaps"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "keep_old"
    assert not AuditEvent.objects.filter(action="key.master_rotated").exists()


def test_deleting_queues_one_purge_that_removes_the_rows(lab, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        delete(client_for(lab.admin), lab.project, password_of(lab.admin))
    # project_purge.delay(receipt id), once the deletion commits
    assert len(without_checkpoint_requests(queued)) == 1
    receipt = ShredReceipt.objects.get(project_id=lab.project.pk)
    assert project_purge(receipt_id=receipt.pk).purge_state == PurgeState.PURGED
    assert not Project.objects.filter(pk=lab.project.pk).exists()
