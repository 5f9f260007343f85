"""Imports and dataset versions as jobs of ``/api/v1/jobs/{job_id}``: each one's id is its
job's id."""

from typing import Any

from django.db import models

from accounts.models import ApiToken
from datasets.models import DatasetVersion, Import
from projects import jobs, permissions
from projects.permissions import Need


def _visible(user: Any, token: ApiToken | None) -> "models.QuerySet[Any]":
    projects = permissions.projects_with_need(user, Need.MANAGE, token=token)
    return Import.objects.filter(project_id__in=projects.values("pk"))


def import_status(imp: Import) -> jobs.JobStatus:
    return jobs.JobStatus(
        id=imp.pk,
        kind="import",
        project_id=imp.project_id,
        state=imp.state,
        progress=imp.progress,
        counts={
            "bytes_total": imp.upload_bytes,
            "bytes_read": imp.bytes_read,
            "rows_read": imp.rows_read,
            "tasks_created": imp.tasks_created,
            "duplicates_skipped": imp.duplicates_skipped,
            "files_stored": imp.files_stored,
            "problems": imp.problem_count,
        },
        details={
            "problems": imp.problems,
            "rows_per_second": imp.rows_per_second,
            "eta_seconds": imp.eta_seconds,
        },
        error=imp.error or None,
        created_at=imp.created_at,
        started_at=imp.started_at,
        finished_at=imp.finished_at,
    )


def register() -> None:
    jobs.job_kind_register(jobs.JobKind("import", _visible, import_status))


def _versions_visible(user: Any, token: ApiToken | None) -> "models.QuerySet[Any]":
    projects = permissions.projects_with_need(user, Need.EXPORT, token=token)
    return DatasetVersion.objects.filter(project_id__in=projects.values("pk"))


def version_status(version: DatasetVersion) -> jobs.JobStatus:
    return jobs.JobStatus(
        id=version.pk,
        kind="export",
        project_id=version.project_id,
        state=version.state,
        progress=version.progress,
        counts={
            "rows_expected": version.rows_expected,
            "rows_written": version.rows_written,
        },
        details={"version": version.number, "format": version.format},
        error=version.error or None,
        created_at=version.created_at,
        started_at=version.started_at,
        finished_at=version.finished_at,
    )


def register_versions() -> None:
    jobs.job_kind_register(jobs.JobKind("export", _versions_visible, version_status))
