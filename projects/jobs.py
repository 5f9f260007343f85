"""Background jobs as ``/api/v1/jobs/{job_id}`` reports them, whatever their kind.

Each kind of job is one row of a small lookup table: its model, the jobs a caller may see,
how its states map onto the API's five, and its counts. Apps above this one (imports, exports)
add their kinds with ``job_kind_register`` from their ``AppConfig.ready``; a job id is a UUID,
so one id names one job of one kind.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models

from accounts.models import ApiToken, TokenScope
from projects import permissions
from vault.models import JobState, ReencryptionJob

# The API's job states (docs: ../shared/design/api.md); every kind maps its own onto these.
JOB_STATES = ("queued", "running", "succeeded", "failed", "cancelled")


@dataclass(frozen=True)
class JobStatus:
    id: uuid.UUID
    kind: str
    project_id: uuid.UUID | None
    state: str
    progress: float
    counts: dict[str, int]
    details: dict[str, Any]
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class JobKind:
    name: str
    visible: Callable[[Any, ApiToken | None], "models.QuerySet[Any]"]
    status: Callable[[Any], JobStatus]


def _lab_admin(user: Any, token: ApiToken | None) -> bool:
    person = bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_staff)
    return person and (token is None or token.scope == TokenScope.FULL)


def _reencryption_visible(user: Any, token: ApiToken | None) -> "models.QuerySet[Any]":
    """Lab administrators only, and only for projects they still see (not deleted ones)."""
    if not _lab_admin(user, token):
        return ReencryptionJob.objects.none()
    projects = permissions.visible_projects(user, token=token).values("pk")
    return ReencryptionJob.objects.filter(project_id__in=projects)


# The model's states are already the API's words; spelled out so that a new state is a
# KeyError here rather than an unknown word in the API.
_REENCRYPTION_STATES: Mapping[str, str] = {
    JobState.QUEUED: "queued",
    JobState.RUNNING: "running",
    JobState.SUCCEEDED: "succeeded",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "cancelled",
}


def reencryption_status(job: ReencryptionJob) -> JobStatus:
    return JobStatus(
        id=job.pk,
        kind="reencryption",
        project_id=job.project_id,
        state=_REENCRYPTION_STATES[job.state],
        progress=job.progress,
        counts={"total": job.total, "done": job.done, "resealed": job.resealed},
        details={"target_version": job.target_version},
        error=job.error or None,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


_KINDS: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    """Add a kind of job to ``/api/v1/jobs/{job_id}`` (once per kind)."""
    if _KINDS.get(kind.name, kind) != kind:
        raise ValueError(f"A job kind named {kind.name!r} is already registered.")
    _KINDS[kind.name] = kind


job_kind_register(JobKind("reencryption", _reencryption_visible, reencryption_status))


def job_status_get(*, user: Any, token: ApiToken | None, job_id: Any) -> JobStatus | None:
    """The job's status if the caller may see it; None alike for missing and hidden jobs."""
    try:
        pk = job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))
    except ValueError:
        return None
    for kind in _KINDS.values():
        job = kind.visible(user, token).filter(pk=pk).first()
        if job is not None:
            return kind.status(job)
    return None
