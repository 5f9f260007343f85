"""Quality over the API: the latest figures, a fresh computation, pausing annotators.

- ``GET  /api/v1/projects/{project_id}/quality``: reviewers and managers see every figure;
  annotators see only their own row (no agreement of the project, no one else's numbers).
- ``POST .../quality``: compute afresh (reviewers, managers); ``202`` with the job.
- ``PATCH .../quality/annotators/{user_id}``: pause or resume an annotator (managers).
"""

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import token_of
from accounts.models import User
from audit.services import Actor
from core.errors import NotFound
from labeling import quality, standing
from labeling.jobs import quality_status
from labeling.models import QualityReport, Standing
from labeling.serializers import PausedIn
from projects.api import PROJECT_ID, USER_ID, SignedIn, errors, project_for
from projects.api_keys import JobRefOut
from projects.models import Project
from projects.permissions import Need, can_manage, can_review, members


class AnnotatorFiguresOut(serializers.Serializer[Any]):
    annotator = serializers.UUIDField()
    email = serializers.EmailField(required=False, help_text="Managers only.")
    submitted = serializers.IntegerField(help_text="Non-gold tasks submitted.")
    skipped = serializers.IntegerField()
    seconds_per_task = serializers.FloatField(allow_null=True)
    gold_answers = serializers.IntegerField()
    gold_accuracy = serializers.FloatField(allow_null=True, help_text="Mean gold score, 0-1.")
    agreement = serializers.FloatField(
        allow_null=True, help_text="Mean pairwise agreement with the others (see `pairs`)."
    )
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    acceptance_rate = serializers.FloatField(allow_null=True)
    paused = serializers.BooleanField(help_text="Now, not when the report was computed.")
    paused_reason = serializers.CharField()


class QualityOut(serializers.Serializer[Any]):
    report_id = serializers.UUIDField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    task_type = serializers.CharField()
    tasks_compared = serializers.IntegerField(help_text="Tasks with two or more annotations.")
    overall = serializers.JSONField(help_text="Per task type; see docs/quality.md.")
    per_label = serializers.JSONField(help_text="Per label, criterion or flag.")
    pairs = serializers.JSONField(help_text='[{"a", "b", "items", "value"}] per annotator pair.')
    annotators = AnnotatorFiguresOut(many=True)
    job = JobRefOut(allow_null=True, help_text="A computation queued or running, if any.")


def _rows(
    request: Request, project: Project, figures: dict[str, Any], *, only: Any = None
) -> list[Any]:
    """The annotators' rows the caller may see: all, or only ``only``'s (a user id)."""
    standings = {str(s.annotator_id): s for s in Standing.objects.filter(project=project)}
    manages = can_manage(request.user, project, token=token_of(request))
    emails = {str(u.pk): u.email for u in members(project)} if manages else {}
    rows = []
    for row in figures.get("annotators", []):
        if only is not None and row["annotator"] != str(only):
            continue
        held = standings.get(row["annotator"])
        extra = {"email": emails[row["annotator"]]} if row["annotator"] in emails else {}
        rows.append(
            {
                **row,
                **extra,
                "paused": bool(held and held.paused_at),
                "paused_reason": held.paused_reason if held else "",
            }
        )
    return rows


class QualityApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="The project's latest quality figures (annotators: their own only)",
        parameters=[PROJECT_ID],
        responses={200: QualityOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.ANNOTATE)
        everyone = can_review(request.user, project, token=token_of(request))
        report = quality.quality_latest(project)
        figures = report.figures if report is not None else {}
        live = quality.quality_live(project)
        out = {
            "report_id": report.pk if report else None,
            "computed_at": report.finished_at if report else None,
            "task_type": project.task_type,
            "tasks_compared": figures.get("tasks_compared", 0) if everyone else 0,
            "overall": figures.get("overall", {}) if everyone else {},
            "per_label": figures.get("per_label", {}) if everyone else {},
            "pairs": figures.get("pairs", []) if everyone else [],
            "annotators": _rows(
                request, project, figures, only=None if everyone else request.user.pk
            ),
            "job": quality_status(live) if live is not None and everyone else None,
        }
        return Response(QualityOut(out, context={"request": request}).data)

    @extend_schema(
        summary="Compute the quality figures afresh (reviewers, managers)",
        description="A report already queued or running is returned instead of a second one.",
        parameters=[PROJECT_ID],
        request=None,
        responses={202: JobRefOut, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.REVIEW)
        report: QualityReport = quality.quality_request(
            actor=Actor.from_request(request), project=project
        )
        report.refresh_from_db()  # eager Celery may have finished it already
        data = JobRefOut(quality_status(report), context={"request": request}).data
        return Response(data, status=status.HTTP_202_ACCEPTED)


class AnnotatorApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Pause or resume an annotator on the project (managers)",
        parameters=[PROJECT_ID, USER_ID],
        request=PausedIn,
        responses={200: AnnotatorFiguresOut, **errors(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, project_id: str, user_id: str) -> Response:
        data = PausedIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.MANAGE)
        pk = _uuid_or_none(user_id)
        person = None if pk is None else members(project).filter(pk=pk).first()
        if person is None:
            raise NotFound("Member not found.", code="member_not_found")
        held = standing.annotator_set_paused(
            actor=Actor.from_request(request),
            project=project,
            annotator=person,
            paused=data.validated_data["paused"],
        )
        report = quality.quality_latest(project)
        figures = report.figures if report is not None else {}
        rows = _rows(request, project, figures, only=person.pk)
        row = rows[0] if rows else _empty_row(person)
        row.update(paused=held.paused_at is not None, paused_reason=held.paused_reason)
        return Response(AnnotatorFiguresOut(row).data)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _empty_row(person: User) -> dict[str, Any]:
    return {
        "annotator": person.pk,
        "submitted": 0,
        "skipped": 0,
        "seconds_per_task": None,
        "gold_answers": 0,
        "gold_accuracy": None,
        "agreement": None,
        "accepted": 0,
        "rejected": 0,
        "acceptance_rate": None,
    }
