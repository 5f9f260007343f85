"""Re-encryption of stored values after a project key rotation, in resumable batches.

Apps that store sealed values register each sealed column once, from their ``AppConfig.ready``::

    reseal.register(model=Task, field="payload", kind="task.payload")

A job then walks every registered column of one project in primary-key order. Each batch locks
its rows, re-seals those older than the job's target version, and commits together with the
job's cursor and counts, so a killed worker resumes exactly where it stopped and a concurrent
writer is never overwritten with a stale value.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from django.db import models, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from vault import config
from vault.fields import FieldSealer, key_version_of
from vault.models import JobState, ReencryptionJob

BATCH_SIZE = 1000
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class SealedField:
    model: type[models.Model]
    field: str
    kind: str
    project_field: str = "project_id"
    object_id_field: str = "pk"

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field}"

    def rows(self, project_id: uuid.UUID) -> "models.QuerySet[models.Model]":
        manager = self.model._default_manager
        return manager.filter(**{self.project_field: project_id}).exclude(**{self.field: None})


_registry: dict[str, SealedField] = {}


def register(
    *,
    model: type[models.Model],
    field: str,
    kind: str,
    project_field: str = "project_id",
    object_id_field: str = "pk",
) -> SealedField:
    """Declare a column of sealed values so that re-encryption jobs include it."""
    entry = SealedField(model, field, kind, project_field, object_id_field)
    existing = _registry.get(entry.label)
    if existing is not None and existing != entry:
        raise ValueError(f"{entry.label} is already registered differently.")
    _registry[entry.label] = entry
    return entry


def registered() -> list[SealedField]:
    return [_registry[label] for label in sorted(_registry)]


def job_create(*, project_id: uuid.UUID, requested_by_id: uuid.UUID | None) -> ReencryptionJob:
    """A queued job that brings every sealed value of the project to its newest key version."""
    target = config.project_keys().versions(project_id)[-1].version
    total = sum(entry.rows(project_id).count() for entry in registered())
    return ReencryptionJob.objects.create(
        project_id=project_id,
        target_version=target,
        total=total,
        requested_by_id=requested_by_id,
    )


def job_claim(job_id: uuid.UUID) -> bool:
    """Take the job: queued, or running with a heartbeat so old that its worker died."""
    now = timezone.now()
    claimable = Q(state=JobState.QUEUED) | Q(
        state=JobState.RUNNING, heartbeat_at__lt=now - STALE_AFTER
    )
    claimed = ReencryptionJob.objects.filter(claimable, pk=job_id).update(
        state=JobState.RUNNING, started_at=Coalesce(F("started_at"), now), heartbeat_at=now
    )
    return claimed == 1


def _next_cursor(label: str, rows: list[tuple[object, ...]], batch_size: int) -> dict[str, str]:
    if len(rows) == batch_size:
        return {"field": label, "after": str(rows[-1][0])}
    labels = [entry.label for entry in registered()]
    later = [name for name in labels if name > label]
    return {"field": later[0]} if later else {"done": "1"}


def _reseal_rows(
    entry: SealedField, sealer: FieldSealer, rows: list[tuple[object, ...]]
) -> list[models.Model]:
    updates = []
    for pk, object_id, sealed in rows:
        if key_version_of(sealed) >= sealer.version:  # type: ignore[arg-type]
            continue
        fresh = sealer.reseal(str(object_id), sealed)  # type: ignore[arg-type]
        updates.append(entry.model(pk=pk, **{entry.field: fresh}))
    return updates


def job_step(job: ReencryptionJob, *, batch_size: int = BATCH_SIZE) -> bool:
    """Process one batch; True once the job has walked every registered column."""
    labels = [entry.label for entry in registered()]
    label = job.cursor.get("field") or (labels[0] if labels else None)
    if job.cursor.get("done") or label is None or label not in _registry:
        return True
    entry = _registry[label]
    keys = config.project_keys()
    sealer = FieldSealer(
        keys=keys, project_id=job.project_id, kind=entry.kind, version=job.target_version
    )
    with transaction.atomic():
        rows = entry.rows(job.project_id).select_for_update().order_by("pk")
        if "after" in job.cursor:
            rows = rows.filter(pk__gt=job.cursor["after"])
        batch = list(rows.values_list("pk", entry.object_id_field, entry.field)[:batch_size])
        updates = _reseal_rows(entry, sealer, batch)
        if updates:
            entry.model._default_manager.bulk_update(updates, [entry.field])
        cursor = _next_cursor(label, batch, batch_size)
        ReencryptionJob.objects.filter(pk=job.pk).update(
            cursor=cursor,
            done=F("done") + len(batch),
            resealed=F("resealed") + len(updates),
            heartbeat_at=timezone.now(),
        )
    job.refresh_from_db()
    return bool(job.cursor.get("done"))


def job_finish(job: ReencryptionJob, *, state: str, error: str = "") -> ReencryptionJob:
    ReencryptionJob.objects.filter(pk=job.pk).update(
        state=state, error=error[:200], finished_at=timezone.now(), heartbeat_at=timezone.now()
    )
    job.refresh_from_db()
    return job
