"""Deleting a project: crypto-shredding at once, then a background purge of its rows and files.

Destroying the project's keys first makes every copy of its data unreadable in one step: the
rows still in the database, database backups, files in the bucket and their older versions.
The purge that follows only tidies up what can no longer be read.
"""

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group
from django.db import DatabaseError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from accounts import throttle
from audit.models import Outcome
from audit.services import Actor, RefusalRecorded, record
from core.errors import ApplicationError, Conflict, PermissionDenied
from projects.models import Project
from vault import config
from vault.errors import StorageUnavailable
from vault.models import PurgeState, ReencryptionJob, ShredReceipt

logger = logging.getLogger(__name__)

PURGE_BATCH = 2000


def _project_relations() -> list[tuple[type[models.Model], str]]:
    """Every model with a foreign key to Project (later apps' tables included)."""
    return [
        (rel.related_model, rel.field.name)
        for rel in Project._meta.related_objects
        if (rel.one_to_many or rel.one_to_one) and isinstance(rel.related_model, type)
    ]


def _counts(project: Project) -> dict[str, int | None]:
    counts: dict[str, int | None] = {
        model._meta.label: model._default_manager.filter(**{field: project.pk}).count()
        for model, field in _project_relations()
    }
    try:
        counts["files"] = len(config.blob_store().names(project_id=project.pk))
    except StorageUnavailable:
        counts["files"] = None  # the keys must go even while the file store is down
    return counts


def _require_admin(actor: Actor) -> None:
    user = actor.user
    if not (getattr(user, "is_staff", False) and getattr(user, "is_active", False)):
        raise PermissionDenied("Only lab administrators delete projects.", code="not_admin")


class ReauthenticationThrottled(ApplicationError):
    """Too many wrong passwords for this account: refused unchecked until the lockout ends."""

    status = 429
    code = "reauthentication_throttled"

    def __init__(self, lockout: throttle.Lockout) -> None:
        unit = "minute" if lockout.minutes == 1 else "minutes"
        super().__init__(
            f"Too many wrong passwords. Try again in {lockout.minutes} {unit}.",
            details={"field": "password", "retry_after": lockout.seconds},
        )
        self.retry_after = lockout.seconds


class ReauthenticationFailed(RefusalRecorded, PermissionDenied):
    """A wrong password: recorded here as a refused deletion, so not again as a denial."""

    code = "reauthentication_failed"


def _reauthenticate(actor: Actor, project: Project, password: str) -> None:
    # Step-up: a session or token is not enough to destroy data; the password is checked now.
    # Wrong passwords count against the account's sign-in counter: one password, one budget
    # of guesses, whether they are tried at the sign-in form or here with a stolen session.
    email = actor.user.email
    lockout = throttle.lockout_for(email=email, ip=None)
    if lockout is not None:
        _record_refusal(actor, project, "reauthentication_throttled")
        raise ReauthenticationThrottled(lockout)
    if actor.user.check_password(password):
        throttle.account_clear(email=email)
        return
    lockout = throttle.failure_add(email=email, ip=None)
    _record_refusal(actor, project, "reauthentication_failed")
    if lockout is not None:
        raise ReauthenticationThrottled(lockout)
    raise ReauthenticationFailed("The password is not correct.", details={"field": "password"})


def _record_refusal(actor: Actor, project: Project, reason: str) -> None:
    with transaction.atomic():
        record(
            actor=actor,
            action="project.deleted",
            outcome=Outcome.DENIED,
            project_id=project.pk,
            object_type="project",
            object_id=str(project.pk),
            details={"reason": reason},
        )


def project_delete(*, actor: Actor, project: Project, password: str) -> ShredReceipt:
    """Crypto-shred a project (lab administrators, re-entering their password).

    Destroys every version of the project key, records the events, archives the project and
    queues the purge of its rows and files. Returns the stored receipt (ids and counts only).
    """
    _require_admin(actor)
    _reauthenticate(actor, project, password)
    return _shred(actor=actor, project=project)


def _enqueue_purge(receipt_id: uuid.UUID) -> None:
    from projects.tasks import project_purge  # the tasks module imports this one

    project_purge.delay(str(receipt_id))


@transaction.atomic
def _shred(*, actor: Actor, project: Project) -> ShredReceipt:
    project = Project.objects.select_for_update().get(pk=project.pk)
    if ShredReceipt.objects.filter(project_id=project.pk).exists():
        raise Conflict("This project is already deleted.", code="project_deleted")
    counts = _counts(project)
    # First, and outside the database: if the commit below fails, the keys are gone anyway
    # and a repeat finishes the deletion (destroying is idempotent).
    key_ids = config.project_keys().destroy(project.pk)
    receipt = ShredReceipt.objects.create(
        project_id=project.pk,
        requested_by_id=actor.user.pk,
        destroyed_at=timezone.now(),
        key_ids=key_ids,
        counts=counts,
    )
    _record_shred(actor, project, receipt)
    project.archived_at = project.archived_at or receipt.destroyed_at
    project.deleted_at = project.updated_at = receipt.destroyed_at
    project.save(update_fields=["archived_at", "deleted_at", "updated_at"])
    transaction.on_commit(lambda: _enqueue_purge(receipt.pk))
    return receipt


def _record_shred(actor: Actor, project: Project, receipt: ShredReceipt) -> None:
    common: dict[str, Any] = {"actor": actor, "project_id": project.pk}
    record(
        **common,
        action="key.destroyed",
        object_type="project_key",
        object_id=str(project.pk),
        details={"key_ids": receipt.key_ids, "receipt": str(receipt.pk)},
    )
    record(
        **common,
        action="project.deleted",
        object_type="project",
        object_id=str(project.pk),
        details={"receipt": str(receipt.pk), "counts": receipt.counts},
    )


def _claim(receipt_id: uuid.UUID) -> bool:
    stale = timezone.now() - timedelta(minutes=5)
    claimable = models.Q(purge_state__in=[PurgeState.PENDING, PurgeState.FAILED]) | models.Q(
        purge_state=PurgeState.PURGING, purge_heartbeat_at__lt=stale
    )
    claimed = ShredReceipt.objects.filter(claimable, pk=receipt_id).update(
        purge_state=PurgeState.PURGING, purge_heartbeat_at=timezone.now(), error=""
    )
    return claimed == 1


def _add_counts(receipt_id: uuid.UUID, counts: dict[str, int]) -> None:
    receipt = ShredReceipt.objects.select_for_update().get(pk=receipt_id)
    merged = dict(receipt.purged_counts)
    for label, number in counts.items():
        if number:
            merged[label] = merged.get(label, 0) + number
    receipt.purged_counts = merged
    receipt.purge_heartbeat_at = timezone.now()
    receipt.save(update_fields=["purged_counts", "purge_heartbeat_at"])


def _delete_batched(receipt_id: uuid.UUID, queryset: "models.QuerySet[Any]") -> None:
    manager = queryset.model._default_manager
    while True:
        with transaction.atomic():
            pks = list(queryset.values_list("pk", flat=True)[:PURGE_BATCH])
            if not pks:
                return
            _total, per_model = manager.filter(pk__in=pks).delete()
            _add_counts(receipt_id, per_model)


def _delete_rows(receipt: ShredReceipt) -> None:
    pid = receipt.project_id
    # Groups first: a group takes its role row, its memberships and its object permissions.
    _delete_batched(receipt.pk, Group.objects.filter(name__startswith=f"project:{pid}:"))
    for model, field in _project_relations():
        _delete_batched(receipt.pk, model._default_manager.filter(**{field: pid}))
    _delete_batched(receipt.pk, ReencryptionJob.objects.filter(project_id=pid))
    _delete_batched(receipt.pk, Project.objects.filter(pk=pid))


def project_purge(*, receipt_id: uuid.UUID) -> ShredReceipt:
    """Delete a shredded project's rows and files, in batches. Idempotent and resumable."""
    if not _claim(receipt_id):
        return ShredReceipt.objects.get(pk=receipt_id)
    receipt = ShredReceipt.objects.get(pk=receipt_id)
    try:
        files = config.blob_store().purge_project(project_id=receipt.project_id)
        with transaction.atomic():
            _add_counts(receipt.pk, {"files": files})
        _delete_rows(receipt)
    except (ApplicationError, DatabaseError, ProtectedError, RestrictedError) as exc:
        # The keys are already gone, so nothing is exposed; the receipt shows the failure
        # and `manage.py project_purge` runs it again.
        logger.exception("Purge of project %s failed", receipt.project_id)
        return _purge_finish(receipt.pk, state=PurgeState.FAILED, error=type(exc).__name__)
    return _purge_finish(receipt.pk, state=PurgeState.PURGED)


@transaction.atomic
def _purge_finish(receipt_id: uuid.UUID, *, state: str, error: str = "") -> ShredReceipt:
    receipt = ShredReceipt.objects.select_for_update().get(pk=receipt_id)
    receipt.purge_state = state
    receipt.error = error
    receipt.purged_at = timezone.now() if state == PurgeState.PURGED else None
    receipt.save(update_fields=["purge_state", "error", "purged_at"])
    record(
        actor=Actor.system("purge"),
        action="project.purged",
        outcome=Outcome.SUCCESS if state == PurgeState.PURGED else Outcome.FAILURE,
        project_id=receipt.project_id,
        object_type="project",
        object_id=str(receipt.project_id),
        details={"receipt": str(receipt.pk), "counts": receipt.purged_counts, "error": error},
    )
    return receipt
