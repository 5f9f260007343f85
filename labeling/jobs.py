"""Quality reports as jobs of ``/api/v1/jobs/{job_id}``: the report's id is its job's id."""

from typing import Any

from django.db import models

from accounts.models import ApiToken
from labeling.models import QualityReport
from projects import jobs, permissions
from projects.permissions import Need


def _visible(user: Any, token: ApiToken | None) -> "models.QuerySet[Any]":
    projects = permissions.projects_with_need(user, Need.REVIEW, token=token)
    return QualityReport.objects.filter(project_id__in=projects.values("pk"))


def quality_status(report: QualityReport) -> jobs.JobStatus:
    figures = report.figures or {}
    return jobs.JobStatus(
        id=report.pk,
        kind="quality",
        project_id=report.project_id,
        state=report.state,
        progress=report.progress,
        counts={
            "tasks_compared": figures.get("tasks_compared", 0),
            "annotations_compared": figures.get("annotations_compared", 0),
        },
        details={},
        error=report.error or None,
        created_at=report.created_at,
        started_at=report.started_at,
        finished_at=report.finished_at,
    )


def register() -> None:
    jobs.job_kind_register(jobs.JobKind("quality", _visible, quality_status))
