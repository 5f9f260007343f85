"""Deleting a project: crypto-shredding, the receipt, the purge, step-up re-authentication."""

import json

import pytest
from django.contrib.auth.models import Group

from audit.models import AuditEvent, Outcome
from audit.services import Actor
from core.errors import Conflict, PermissionDenied
from projects.deletion import project_delete, project_purge
from projects.models import Project, ProjectRole
from tests.conftest import make_project
from tests.factories import password_of
from tests.s3 import closed_port_url
from tests.vault.conftest import seal_notes
from tests.vault.snapshots import database_copy, sealed_bodies
from vault import config, fields
from vault.errors import KeyDestroyed
from vault.keys import ProjectKeys
from vault.models import PurgeState, ShredReceipt


def delete(admin, project, password=None):
    return project_delete(
        actor=Actor.system(user=admin),
        project=project,
        password=password_of(admin) if password is None else password,
    )


def actions(project_id) -> list[str]:
    return list(
        AuditEvent.objects.filter(project_id=project_id)
        .order_by("seq")
        .values_list("action", flat=True)
    )


@pytest.mark.parametrize("who", ["manager", "outsider", "annotator"])
def test_only_lab_administrators_delete_projects(lab, who):
    user = getattr(lab, who)
    with pytest.raises(PermissionDenied) as caught:
        delete(user, lab.project, password=password_of(user))
    assert caught.value.code == "not_admin"
    assert config.project_keys().versions(lab.project.pk)


def test_a_wrong_password_is_refused_recorded_and_destroys_nothing(admin, project):
    with pytest.raises(PermissionDenied) as caught:
        delete(admin, project, password="not the password")
    assert caught.value.code == "reauthentication_failed"
    assert caught.value.details == {"field": "password"}
    denied = AuditEvent.objects.get(project_id=project.pk, action="project.deleted")
    assert denied.outcome == Outcome.DENIED
    assert config.project_keys().versions(project.pk)
    assert not ShredReceipt.objects.exists()


def test_deleting_destroys_the_keys_and_purges_the_project(
    admin, project, manager, django_capture_on_commit_callbacks, vault_dirs
):
    pid = project.pk
    config.blob_store().put(project_id=pid, name="imports/a.csv", source=b"a,b\n")
    with django_capture_on_commit_callbacks(execute=True):
        receipt = delete(admin, project)
    assert receipt.key_ids == [f"pk-{pid}-v1"]
    assert receipt.counts["projects.ProjectRole"] == 4
    assert receipt.counts["files"] == 1
    receipt.refresh_from_db()
    assert receipt.purge_state == PurgeState.PURGED
    assert receipt.purged_counts["projects.Project"] == 1
    assert receipt.purged_counts["auth.Group"] == 4
    assert receipt.purged_counts["files"] == 1
    assert not Project.objects.filter(pk=pid).exists()
    assert not Group.objects.filter(name__startswith=f"project:{pid}:").exists()
    assert not ProjectRole.objects.filter(project_id=pid).exists()
    assert [p.name for p in (vault_dirs / "keystore" / str(pid)).iterdir()] == ["destroyed.json"]
    assert actions(pid)[-3:] == ["key.destroyed", "project.deleted", "project.purged"]


def test_the_receipt_holds_ids_and_counts_only(admin, project):
    project.name = "Name that must not be kept"
    project.save()
    receipt = delete(admin, project)
    stored = json.dumps(ShredReceipt.objects.get(pk=receipt.pk).as_dict())
    assert "Name that must not be kept" not in stored
    assert str(project.pk) in stored


def test_a_project_is_deleted_only_once(admin, project):
    delete(admin, project)  # the purge is queued on commit, which never comes in this test
    with pytest.raises(Conflict):
        delete(admin, project)


def test_the_purge_is_idempotent(admin, project, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        receipt = delete(admin, project)
    again = project_purge(receipt_id=receipt.pk)
    assert again.purge_state == PurgeState.PURGED
    assert actions(project.pk).count("project.purged") == 1


def test_a_deleted_project_is_archived_until_purged(admin, project):
    delete(admin, project)
    project.refresh_from_db()
    assert project.is_archived


@pytest.mark.django_db(transaction=True)
def test_ciphertexts_in_a_database_copy_from_before_deletion_stay_unreadable(
    admin, notes, tmp_path
):
    project = make_project(admin, name="Doomed")
    values = [f"row {i}: confidential" for i in range(20)]
    rows = seal_notes(project.pk, values)
    config.blob_store().put(project_id=project.pk, name="doc.txt", source=b"confidential file")
    stored_file = (tmp_path / "blobs" / f"projects/{project.pk}/doc.txt").read_bytes()
    _version, project_key = config.project_keys().key(project.pk)
    copy = database_copy(tmp_path)
    before = sealed_bodies(copy, tmp_path)
    assert len(before) == len(rows)

    delete(admin, project)  # commits: the purge runs at once (Celery is eager in tests)
    config.reset()  # and every other process's cache has expired

    sealer_keys = config.project_keys()
    for row_id, sealed in before.items():
        with pytest.raises(KeyDestroyed):
            fields.unseal(project.pk, "note.body", row_id, sealed)
    store = config.blob_store()
    store.backend.write(f"projects/{project.pk}/doc.txt", [stored_file])  # a bucket backup
    with pytest.raises(KeyDestroyed):
        b"".join(store.read(project_id=project.pk, name="doc.txt"))
    # What remains (keystore, keyring, database) holds nothing that could open them.
    remains = [
        p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.name != "copy.sqlite3"
    ]
    assert not any(project_key in blob for blob in [*remains, database_copy(tmp_path / "x")])
    with pytest.raises(KeyDestroyed):
        ProjectKeys(provider=sealer_keys.provider, store=sealer_keys.store, cache_seconds=0).key(
            project.pk
        )


def test_a_purge_held_by_a_live_worker_is_looked_at_again_later(admin, project):
    from celery.exceptions import Retry
    from django.utils import timezone

    from projects.tasks import project_purge as purge_task

    receipt = delete(admin, project)
    ShredReceipt.objects.filter(pk=receipt.pk).update(
        purge_state=PurgeState.PURGING, purge_heartbeat_at=timezone.now()
    )
    with pytest.raises(Retry, match="Retry in 300"):
        purge_task.apply(args=(str(receipt.pk),))
    assert Project.objects.filter(pk=project.pk).exists()


def test_shredding_works_while_the_file_store_is_down_and_the_purge_catches_up(
    admin, project, s3_bucket, moto_endpoint, settings, django_capture_on_commit_callbacks
):
    config.blob_store().put(project_id=project.pk, name="a.bin", source=b"x")
    settings.S3_ENDPOINT_URL = closed_port_url()
    with django_capture_on_commit_callbacks(execute=True):
        receipt = delete(admin, project)
    receipt.refresh_from_db()
    assert receipt.counts["files"] is None
    assert (receipt.purge_state, receipt.error) == (PurgeState.FAILED, "StorageUnavailable")
    with pytest.raises(KeyDestroyed):
        config.project_keys().key(project.pk)
    settings.S3_ENDPOINT_URL = moto_endpoint
    receipt = project_purge(receipt_id=receipt.pk)
    assert receipt.purge_state == PurgeState.PURGED
    assert receipt.purged_counts["files"] == 1
    assert not Project.objects.filter(pk=project.pk).exists()
