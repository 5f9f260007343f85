"""The management commands of the key operations."""

import io
import json
import stat
import uuid

import pytest
from django.core.management import CommandError, call_command

import vault
from audit.models import AuditEvent
from tests.factories import password_of
from vault import config
from vault.models import ShredReceipt


def run(*args, stdin: str | None = None, monkeypatch=None) -> str:
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_master_keyring_is_created_private_and_never_overwritten(tmp_path):
    path = tmp_path / "etc" / "keyring"
    assert "Created master keyring" in run("vault_master_key_create", "--path", str(path))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(CommandError, match="refusing to overwrite"):
        run("vault_master_key_create", "--path", str(path))


def test_vault_status_checks_the_provider_and_lists_key_versions(project):
    config.project_keys().rotate(project.pk)
    out = run("vault_status", "--project", str(project.pk))
    assert "key provider: local" in out
    assert f"pk-{project.pk}-v2" in out


def test_vault_status_fails_when_the_keyring_is_missing(settings, tmp_path, db):
    settings.LABELKEEP_MASTER_KEY_GENERATE = False
    settings.LABELKEEP_MASTER_KEY_FILE = tmp_path / "absent"
    with pytest.raises(CommandError, match="key_provider_unavailable"):
        run("vault_status")


def test_project_key_rotate_adds_a_version_and_queues_reencryption(admin, project):
    out = run(
        "project_key_rotate", "--project", str(project.pk), "--actor", admin.email, "--reencrypt"
    )
    assert "version 2" in out
    assert "Re-encryption job" in out
    assert AuditEvent.objects.filter(project_id=project.pk, action="key.rotated").exists()


def test_master_key_rotate_rewraps_and_data_still_opens(admin, project):
    sealed = vault.seal(project.pk, "task.payload", 1, "kept")
    out = run("master_key_rotate", "--actor", admin.email)
    assert "1 of 1 key versions re-wrapped" in out
    assert AuditEvent.objects.filter(action="key.master_rotated").count() == 1
    config.reset()
    assert vault.unseal(project.pk, "task.payload", 1, sealed) == "kept"


def test_project_delete_asks_for_the_password_and_prints_the_receipt(admin, project, monkeypatch):
    out = run(
        "project_delete",
        "--project",
        str(project.pk),
        "--actor",
        admin.email,
        "--password-stdin",
        stdin=password_of(admin) + "\n",
        monkeypatch=monkeypatch,
    )
    receipt = json.loads(out)
    assert receipt["key_ids"] == [f"pk-{project.pk}-v1"]
    assert ShredReceipt.objects.filter(project_id=project.pk).exists()


def test_project_delete_refuses_a_wrong_password(admin, project, monkeypatch):
    with pytest.raises(CommandError, match="password is not correct"):
        run(
            "project_delete",
            "--project",
            str(project.pk),
            "--actor",
            admin.email,
            "--password-stdin",
            stdin="wrong\n",
            monkeypatch=monkeypatch,
        )


def test_key_commands_act_only_for_lab_administrators(manager, project):
    with pytest.raises(CommandError, match="no active lab administrator"):
        run("project_key_rotate", "--project", str(project.pk), "--actor", manager.email)


def test_project_reencrypt_runs_a_job_in_the_foreground(admin, project):
    run("project_key_rotate", "--project", str(project.pk), "--actor", admin.email)
    run("project_reencrypt", "--project", str(project.pk), "--actor", admin.email)
    job_id = AuditEvent.objects.get(action="key.reencryption_started").object_id
    out = run("project_reencrypt", "--run", job_id)
    assert "succeeded" in out
    with pytest.raises(CommandError, match="no re-encryption job"):
        run("project_reencrypt", "--run", str(uuid.uuid4()))
