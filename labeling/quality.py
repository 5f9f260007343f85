"""Quality reports: agreement (labeling/measures.py) and per-annotator figures, by a job.

A report is requested by a reviewer or manager (``quality_request``) or by the hourly schedule
for projects with new submissions (``quality_schedule``), and computed by a Celery job
(``quality_run``) that claims it with a guarded update, walks the project's submitted
annotations task by task (unsealing each result once), and stores the figures. The figures hold
ids, counts and statistics, never content. A report whose worker died is taken over once its
heartbeat is stale; running it twice gives the same figures.
"""

import itertools
import logging
import uuid
from collections import defaultdict
from datetime import timedelta
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone

import vault
from audit.services import Actor, record
from labeling.measures import Judgement, measure_for
from labeling.models import (
    Annotation,
    AnnotationStatus,
    QualityReport,
    ReportState,
    ReviewState,
    Standing,
)
from projects.models import Project

logger = logging.getLogger(__name__)

# Reports are refreshed at most this often by the schedule (on demand, any time).
REFRESH_EVERY = timedelta(hours=1)
_CHUNK = 2000


def _enqueue(report: QualityReport) -> None:
    from labeling.tasks import quality_run_task

    transaction.on_commit(lambda: quality_run_task.delay(str(report.pk)))


def quality_live(project: Project) -> QualityReport | None:
    return (
        QualityReport.objects.filter(
            project=project, state__in=[ReportState.QUEUED, ReportState.RUNNING]
        )
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def quality_request(*, actor: Actor, project: Project) -> QualityReport:
    """Ask for fresh figures; a report already queued or running is returned instead."""
    live = quality_live(project)
    if live is not None:
        return live
    report = QualityReport.objects.create(
        project=project, requested_by=actor.user, created_at=timezone.now()
    )
    record(
        actor=actor,
        action="quality.requested",
        project_id=project.pk,
        object_type="quality_report",
        object_id=str(report.pk),
    )
    _enqueue(report)
    return report


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.JOB_STALE_SECONDS)


def _claim(report_id: uuid.UUID) -> bool:
    now = timezone.now()
    queued = Q(state=ReportState.QUEUED)
    abandoned = Q(state=ReportState.RUNNING, heartbeat_at__lt=now - _stale_after())
    claimed = QualityReport.objects.filter(queued | abandoned, pk=report_id).update(
        state=ReportState.RUNNING, started_at=now, heartbeat_at=now, progress=0.0
    )
    return claimed == 1


def quality_run(*, report_id: uuid.UUID) -> QualityReport:
    """Compute a report. Idempotent: a report that is finished or held by a live worker is
    left as it is."""
    if _claim(report_id):
        report = QualityReport.objects.select_related("project").get(pk=report_id)
        try:
            figures = quality_figures(report)
        except Exception:
            logger.exception("quality report %s failed", report_id)
            QualityReport.objects.filter(pk=report_id).update(
                state=ReportState.FAILED, error="internal_error", finished_at=timezone.now()
            )
        else:
            with transaction.atomic():
                QualityReport.objects.filter(pk=report_id).update(
                    state=ReportState.SUCCEEDED,
                    figures=figures,
                    progress=1.0,
                    finished_at=timezone.now(),
                )
                record(
                    actor=Actor.system("quality"),
                    action="quality.computed",
                    project_id=report.project_id,
                    object_type="quality_report",
                    object_id=str(report_id),
                    details={"tasks_compared": figures["tasks_compared"]},
                )
    return QualityReport.objects.get(pk=report_id)


def _judged(project: Project) -> Any:
    return (
        Annotation.objects.filter(project=project, status=AnnotationStatus.SUBMITTED, is_gold=False)
        .exclude(review_state=ReviewState.REJECTED)
        .order_by("task_id")
        .values_list("pk", "task_id", "annotator_id", "result", "swapped")
    )


def quality_figures(report: QualityReport) -> dict[str, Any]:
    """Walk the submitted work task by task and measure it (see labeling/measures.py)."""
    project = report.project
    measure = measure_for(project.task_type, project.label_schema)
    sealer = vault.field_sealer(project.pk, "annotation.result")
    rows = _judged(project)
    total = rows.count() or 1
    seen = 0
    for task_id, group in itertools.groupby(rows.iterator(chunk_size=_CHUNK), key=itemgetter(1)):
        judgements = [
            Judgement(str(annotator), sealer.unseal(str(pk), result), swapped)
            for pk, _task, annotator, result, swapped in group
        ]
        measure.add(task_id, judgements)
        seen += len(judgements)
        if seen // _CHUNK != (seen - len(judgements)) // _CHUNK:
            QualityReport.objects.filter(pk=report.pk).update(
                progress=min(seen / total, 0.99), heartbeat_at=timezone.now()
            )
    figures = measure.figures()
    figures["annotations_compared"] = seen
    figures["annotators"] = annotator_figures(project, figures["pairs"])
    return figures


def _agreement_by_annotator(pairs: list[dict[str, Any]]) -> dict[str, float]:
    weighted: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for pair in pairs:
        if pair["value"] is None:
            continue
        for who in (pair["a"], pair["b"]):
            weighted[who][0] += pair["value"] * pair["items"]
            weighted[who][1] += pair["items"]
    return {who: total / n for who, (total, n) in weighted.items() if n}


def annotator_figures(project: Project, pairs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per annotator: work done, time per task, gold accuracy, agreement, review outcomes."""
    done = Q(status=AnnotationStatus.SUBMITTED)
    rows = (
        Annotation.objects.filter(project=project)
        .values("annotator_id")
        .annotate(
            submitted=Count("pk", filter=done & Q(is_gold=False)),
            gold_submitted=Count("pk", filter=done & Q(is_gold=True)),
            skipped=Count("pk", filter=Q(status=AnnotationStatus.SKIPPED)),
            seconds=Sum("time_spent", filter=done),
            accepted=Count("pk", filter=Q(review_state=ReviewState.ACCEPTED)),
            rejected=Count("pk", filter=Q(review_state=ReviewState.REJECTED)),
            last_submitted=Max("submitted_at"),
        )
        .order_by("annotator_id")
    )
    standings = {s.annotator_id: s for s in Standing.objects.filter(project=project)}
    agreement = _agreement_by_annotator(pairs)
    out = []
    for row in rows:
        who = row["annotator_id"]
        finished = row["submitted"] + row["gold_submitted"]
        reviewed = row["accepted"] + row["rejected"]
        standing = standings.get(who)
        out.append(
            {
                "annotator": str(who),
                "submitted": row["submitted"],
                "skipped": row["skipped"],
                "seconds_per_task": round(row["seconds"] / finished, 3) if finished else None,
                "gold_answers": standing.gold_answers if standing else 0,
                "gold_accuracy": _round(standing.gold_accuracy if standing else None),
                "agreement": _round(agreement.get(str(who))),
                "accepted": row["accepted"],
                "rejected": row["rejected"],
                "acceptance_rate": _round(row["accepted"] / reviewed if reviewed else None),
                "last_submitted_at": row["last_submitted"].isoformat()
                if row["last_submitted"]
                else None,
            }
        )
    return out


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def quality_latest(project: Project) -> QualityReport | None:
    return (
        QualityReport.objects.filter(project=project, state=ReportState.SUCCEEDED)
        .order_by("-created_at")
        .first()
    )


def quality_schedule() -> int:
    """Request a report for each active project with submissions newer than its last report
    (at most one per ``REFRESH_EVERY``). Returns how many were requested."""
    now = timezone.now()
    _resume_lost(now)
    requested = 0
    projects = Project.objects.filter(deleted_at__isnull=True, archived_at__isnull=True)
    for project in projects.iterator():
        last = QualityReport.objects.filter(project=project).order_by("-created_at").first()
        if last is not None and last.created_at > now - REFRESH_EVERY:
            continue
        since = Q(submitted_at__gt=last.created_at) if last else Q()
        fresh = Annotation.objects.filter(
            since, project=project, status=AnnotationStatus.SUBMITTED
        ).exists()
        if fresh:
            quality_request(actor=Actor.system("quality-schedule"), project=project)
            requested += 1
    return requested


def _resume_lost(now: Any) -> None:
    """Queue again the reports whose message was lost or whose worker died."""
    stale = now - _stale_after()
    lost = QualityReport.objects.filter(
        Q(state=ReportState.QUEUED, created_at__lt=stale)
        | Q(state=ReportState.RUNNING, heartbeat_at__lt=stale)
    )
    for report in lost:
        _enqueue(report)
