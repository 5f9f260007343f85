"""Key operations on projects: each calls the vault and records its audit event.

The vault is a library below every app and imports none of them, so the events of the key
operations it performs are recorded here, by the services that ask for them.
"""

import dataclasses
import uuid

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import Outcome
from audit.services import Actor, record
from core.errors import ApplicationError, Conflict, PermissionDenied
from projects.models import Project
from vault import config, reseal
from vault.keys import KeyInfo, RewrapReport
from vault.models import JobState, ReencryptionJob
from vault.providers import LocalProvider


def _require_admin(actor: Actor) -> None:
    user = actor.user
    if not (getattr(user, "is_staff", False) and getattr(user, "is_active", False)):
        raise PermissionDenied("Only lab administrators manage keys.", code="not_admin")


def _record_key(actor: Actor, project: Project, info: KeyInfo, action: str) -> None:
    record(
        actor=actor,
        action=action,
        project_id=project.pk,
        object_type="project_key",
        object_id=info.key_id,
        details={"version": info.version, "provider": info.provider},
    )


def project_key_create(*, actor: Actor, project: Project) -> KeyInfo:
    """Create the first key of a new project; called by ``project_create`` in its transaction."""
    info = config.project_keys().create(project.pk)
    _record_key(actor, project, info, "key.created")
    return info


@transaction.atomic
def project_key_rotate(*, actor: Actor, project: Project) -> KeyInfo:
    """Add a key version for new writes (admins); old data still opens with older versions."""
    _require_admin(actor)
    info = config.project_keys().rotate(project.pk)
    _record_key(actor, project, info, "key.rotated")
    return info


def _enqueue_reencryption(job_id: uuid.UUID) -> None:
    from projects.tasks import project_reencrypt  # tasks import this module

    project_reencrypt.delay(str(job_id))


def _job_under_way(project: Project) -> ReencryptionJob | None:
    """A job of the project that is queued or running, unless its worker has gone silent."""
    fresh = timezone.now() - reseal.STALE_AFTER
    under_way = Q(state=JobState.QUEUED, created_at__gt=fresh) | Q(
        state=JobState.RUNNING, heartbeat_at__gt=fresh
    )
    return ReencryptionJob.objects.filter(under_way, project_id=project.pk).first()


@transaction.atomic
def project_reencrypt_start(*, actor: Actor, project: Project) -> ReencryptionJob:
    """Queue a job that re-seals the project's stored values under its newest key (admins).

    Refused (409) while another job of the project is under way: two would be harmless, as
    each batch locks its rows, but would do the same work twice.
    """
    _require_admin(actor)
    Project.objects.select_for_update().get(pk=project.pk)  # one start at a time per project
    running = _job_under_way(project)
    if running is not None:
        raise Conflict(
            "A re-encryption of this project is already under way.",
            code="reencryption_under_way",
            details={"job": str(running.pk)},
        )
    job = reseal.job_create(project_id=project.pk, requested_by_id=actor.user.pk)
    record(
        actor=actor,
        action="key.reencryption_started",
        project_id=project.pk,
        object_type="reencryption_job",
        object_id=str(job.pk),
        details={"target_version": job.target_version, "total": job.total},
    )
    transaction.on_commit(lambda: _enqueue_reencryption(job.pk))
    return job


def project_reencrypt_run(
    *, job_id: uuid.UUID, batch_size: int = reseal.BATCH_SIZE
) -> ReencryptionJob:
    """Run (or resume) a re-encryption job to its end; harmless if another worker has it."""
    job = ReencryptionJob.objects.get(pk=job_id)
    if not reseal.job_claim(job.pk):
        return job
    job.refresh_from_db()
    try:
        while not reseal.job_step(job, batch_size=batch_size):
            pass
    except ApplicationError as exc:
        return _reencrypt_finish(job, state=JobState.FAILED, error=exc.code)
    return _reencrypt_finish(job, state=JobState.SUCCEEDED)


@transaction.atomic
def _reencrypt_finish(job: ReencryptionJob, *, state: str, error: str = "") -> ReencryptionJob:
    job = reseal.job_finish(job, state=state, error=error)
    record(
        actor=Actor.system("reencrypt"),
        action="key.reencrypted",
        outcome=Outcome.SUCCESS if state == JobState.SUCCEEDED else Outcome.FAILURE,
        project_id=job.project_id,
        object_type="reencryption_job",
        object_id=str(job.pk),
        details={
            "target_version": job.target_version,
            "examined": job.done,
            "resealed": job.resealed,
            "error": error,
        },
    )
    return job


@transaction.atomic
def master_key_rotate(*, actor: Actor, retire_old: bool = True) -> RewrapReport:
    """Re-wrap every project key under a new master key; no data is rewritten (admins).

    With the local provider a fresh master key is added to the keyring first and, once every
    project key is re-wrapped, the older master keys are retired (removed from the keyring).
    With KMS, point ``LABELKEEP_KMS_KEY_ID`` at the new KMS key first; KMS re-encrypts.
    """
    _require_admin(actor)
    provider = config.provider()
    previous = provider.current_master_id()
    if isinstance(provider, LocalProvider):
        provider.add_master_key()
    keys = config.project_keys()
    first = keys.rewrap_all()
    # A project created meanwhile may have been wrapped by a process that had not yet seen
    # the new master key: a second pass catches it before the old key goes.
    report = keys.rewrap_all()
    report = dataclasses.replace(report, rewrapped=first.rewrapped + report.rewrapped)
    retired: list[str] = []
    if retire_old and isinstance(provider, LocalProvider):
        retired = provider.retire_master_keys()
    record(
        actor=actor,
        action="key.master_rotated",
        object_type="master_key",
        object_id=report.master_key_id,
        details={
            "provider": provider.name,
            "from": previous,
            "to": report.master_key_id,
            "projects": report.projects,
            "versions": report.versions,
            "rewrapped": report.rewrapped,
            "retired": retired,
        },
    )
    return report
