"""Re-encryption after a key rotation: the registry, resumable batches, and the services."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent, Outcome
from audit.services import Actor
from projects import keys as project_keys
from tests.vault.conftest import SealedNote, seal_notes
from vault import config, fields, reseal
from vault.models import JobState, ReencryptionJob


@pytest.fixture
def registry(monkeypatch):
    entry = reseal.SealedField(model=SealedNote, field="body", kind="note.body")
    monkeypatch.setattr(reseal, "_registry", {entry.label: entry})
    return entry


@pytest.fixture
def rotated(notes, registry):
    """A project with 25 values sealed under version 1, then a rotation to version 2."""
    pid = uuid.uuid4()
    config.project_keys().create(pid)
    values = [f"value {i}" for i in range(25)]
    seal_notes(pid, values)
    config.project_keys().rotate(pid)
    return pid, values


def versions(pid) -> list[int]:
    bodies = SealedNote.objects.filter(project_id=pid).values_list("body", flat=True)
    return sorted({fields.key_version_of(body) for body in bodies})


def opened(pid) -> list[str]:
    sealer = fields.field_sealer(pid, "note.body")
    return [
        sealer.unseal(n.pk, n.body or b"")
        for n in SealedNote.objects.filter(project_id=pid).order_by("pk")
    ]


def run(job, batch_size=7) -> int:
    steps = 1
    while not reseal.job_step(job, batch_size=batch_size):
        steps += 1
    return steps


def test_a_job_brings_every_value_to_the_newest_version_in_batches(rotated):
    pid, values = rotated
    job = reseal.job_create(project_id=pid, requested_by_id=None)
    assert (job.target_version, job.total) == (2, 25)
    assert reseal.job_claim(job.pk)
    assert run(job) == 4
    assert versions(pid) == [2]
    assert opened(pid) == values
    assert (job.done, job.resealed) == (25, 25)
    assert job.progress == 1.0


def test_values_already_at_the_target_version_are_left_alone(rotated):
    pid, _values = rotated
    newest = SealedNote.objects.create(project_id=pid)
    newest.body = fields.field_sealer(pid, "note.body").seal(newest.pk, "fresh")
    newest.save()
    job = reseal.job_create(project_id=pid, requested_by_id=None)
    reseal.job_claim(job.pk)
    run(job)
    assert (job.done, job.resealed) == (26, 25)
    newest.refresh_from_db()
    assert fields.unseal(pid, "note.body", newest.pk, newest.body) == "fresh"


def test_a_job_killed_midway_resumes_where_it_stopped(rotated):
    pid, values = rotated
    job = reseal.job_create(project_id=pid, requested_by_id=None)
    reseal.job_claim(job.pk)
    reseal.job_step(job, batch_size=10)
    assert not reseal.job_claim(job.pk)  # its worker is alive: nobody else takes it
    ReencryptionJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(hours=1)
    )
    assert reseal.job_claim(job.pk)  # the worker died: another resumes from the cursor
    job.refresh_from_db()
    run(job, batch_size=10)
    assert (job.done, job.resealed) == (25, 25)
    assert opened(pid) == values


def test_registering_a_column_twice_differently_is_refused(registry):
    reseal.register(model=SealedNote, field="body", kind="note.body")
    with pytest.raises(ValueError, match="already registered"):
        reseal.register(model=SealedNote, field="body", kind="other.kind")


def test_the_services_run_the_job_and_record_it(
    admin, project, registry, notes, django_capture_on_commit_callbacks
):
    values = ["a", "b", "c"]
    seal_notes(project.pk, values)
    actor = Actor.system(user=admin)
    project_keys.project_key_rotate(actor=actor, project=project)
    with django_capture_on_commit_callbacks(execute=True):
        job = project_keys.project_reencrypt_start(actor=actor, project=project)
    job.refresh_from_db()
    assert job.state == JobState.SUCCEEDED
    assert versions(project.pk) == [2]
    events = AuditEvent.objects.filter(project_id=project.pk).values_list("action", "outcome")
    assert ("key.rotated", Outcome.SUCCESS) in events
    assert ("key.reencryption_started", Outcome.SUCCESS) in events
    assert ("key.reencrypted", Outcome.SUCCESS) in events


def test_a_tampered_value_fails_the_job_and_is_recorded(admin, project, registry, notes):
    (row,) = seal_notes(project.pk, ["x"])
    body = bytes(row.body or b"")
    SealedNote.objects.filter(pk=row.pk).update(body=body[:-1] + bytes([body[-1] ^ 1]))
    actor = Actor.system(user=admin)
    project_keys.project_key_rotate(actor=actor, project=project)
    job = project_keys.project_reencrypt_start(actor=actor, project=project)
    job = project_keys.project_reencrypt_run(job_id=job.pk)
    assert (job.state, job.error) == (JobState.FAILED, "ciphertext_invalid")
    event = AuditEvent.objects.get(project_id=project.pk, action="key.reencrypted")
    assert event.outcome == Outcome.FAILURE


@pytest.mark.parametrize("who", ["manager", "outsider"])
def test_only_lab_administrators_rotate_keys(lab, who):
    from core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        project_keys.project_key_rotate(
            actor=Actor.system(user=getattr(lab, who)), project=lab.project
        )
