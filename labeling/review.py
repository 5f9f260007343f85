"""Review: a queue of submitted annotations for reviewers, built like the work queue.

``review_next`` leases the oldest submission awaiting review that someone else wrote, with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL, from the partial index of pending reviews. The
reviewer then accepts it (it counts toward the task's k), rejects it with a comment (its slot
goes back to the queue; the author sees why and may revise it), or corrects it (the correction
is a new revision by the reviewer, and counts as accepted).
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

import vault
from audit.services import Actor, record
from core.errors import Conflict, NotFound, ValidationFailed
from labeling.annotations import count_toward_completion, revision_add
from labeling.models import (
    Annotation,
    AnnotationStatus,
    Decision,
    Review,
    ReviewState,
    RevisionKind,
)
from labeling.queue import lease_until, return_slots
from labeling.results import validate_result
from projects.models import Project
from projects.services import require_active

MAX_REVIEW_COMMENT = 20_000


@dataclass(frozen=True)
class ReviewWork:
    """A submission as a reviewer sees it: the task's data (never swapped) and the result."""

    annotation: Annotation
    data: dict[str, Any]
    result: dict[str, Any]


def _pending(project: Project) -> "QuerySet[Annotation]":
    return Annotation.objects.filter(
        project=project, review_state=ReviewState.PENDING, status=AnnotationStatus.SUBMITTED
    )


def _lease_one(project: Project, reviewer: Any) -> Annotation | None:
    now = timezone.now()
    mine = (
        _pending(project)
        .filter(review_leased_by=reviewer, review_lease_expires_at__gte=now)
        .select_related("task")
        .order_by("submitted_at")
        .first()
    )
    if mine is not None:
        return mine
    free = (
        _pending(project)
        .exclude(annotator=reviewer)
        .filter(Q(review_lease_expires_at__isnull=True) | Q(review_lease_expires_at__lt=now))
        .order_by("submitted_at")
    )
    if connection.vendor == "postgresql":
        free = free.select_for_update(skip_locked=True, of=("self",))
    annotation = free.select_related("task").first()
    if annotation is None:
        return None
    annotation.review_leased_by = reviewer
    annotation.review_lease_expires_at = lease_until(project, now)
    annotation.save(update_fields=["review_leased_by", "review_lease_expires_at"])
    return annotation


def review_next(*, actor: Actor, project: Project) -> ReviewWork | None:
    """Lease the reviewer the oldest submission awaiting review (or the one they hold)."""
    require_active(project)
    with transaction.atomic():
        annotation = _lease_one(project, actor.user)
        if annotation is None:
            return None
        task = annotation.task
        payload = vault.unseal(project.pk, "task.payload", str(task.pk), task.payload)
        sealed = annotation.result
        if sealed is None:  # a submitted annotation always has one; never hand out nothing
            raise Conflict("This submission has no result.", code="no_result")
        result = vault.unseal(project.pk, "annotation.result", str(annotation.pk), sealed)
        for action, object_type, object_id in (
            ("task.read", "task", task.pk),
            ("annotation.read", "annotation", annotation.pk),
        ):
            record(
                actor=actor,
                action=action,
                project_id=project.pk,
                object_type=object_type,
                object_id=str(object_id),
                details={"via": "review_queue"},
            )
    return ReviewWork(annotation=annotation, data=payload["data"], result=result)


def _reviewable(project: Project, reviewer: Any, annotation_id: Any) -> Annotation:
    try:
        pk = uuid.UUID(str(annotation_id))
    except ValueError:
        pk = None
    annotation = (
        None
        if pk is None
        else Annotation.objects.select_for_update()
        .filter(project=project, pk=pk)
        .select_related("task")
        .first()
    )
    if annotation is None:
        raise NotFound("Annotation not found.", code="annotation_not_found")
    if annotation.annotator_id == reviewer.pk:
        raise Conflict("Nobody reviews their own annotation.", code="own_annotation")
    if annotation.review_state != ReviewState.PENDING:
        raise Conflict("This annotation is not awaiting review.", code="not_pending")
    held_by_other = (
        annotation.review_leased_by_id not in (None, reviewer.pk)
        and annotation.review_lease_expires_at is not None
        and annotation.review_lease_expires_at >= timezone.now()
    )
    if held_by_other:
        raise Conflict("Another reviewer holds this annotation.", code="review_leased")
    return annotation


def review_decide(
    *,
    actor: Actor,
    project: Project,
    annotation_id: Any,
    decision: str,
    comment: str = "",
    result: Any = None,
) -> Review:
    """Accept, reject (a comment is required) or correct (a result is required) a submission."""
    require_active(project)
    comment = comment.strip()
    if decision not in Decision.values:
        raise ValidationFailed(
            f"decision must be one of: {', '.join(Decision.values)}.",
            code="invalid_decision",
            details={"field": "decision"},
        )
    if decision == Decision.REJECT and not comment:
        raise ValidationFailed(
            "A rejection needs a comment that tells the annotator why.",
            code="comment_required",
            details={"field": "comment"},
        )
    if len(comment) > MAX_REVIEW_COMMENT:
        raise ValidationFailed(
            f"comment must be at most {MAX_REVIEW_COMMENT} characters.",
            code="invalid_comment",
            details={"field": "comment"},
        )
    with transaction.atomic():
        annotation = _reviewable(project, actor.user, annotation_id)
        _apply(actor, project, annotation, decision, result)
        review = Review(
            project=project,
            annotation=annotation,
            reviewer=actor.user,
            decision=decision,
            revision=annotation.revision,
            created_at=timezone.now(),
        )
        if comment:
            review.comment = vault.seal(project.pk, "review.comment", str(review.pk), comment)
        review.save(force_insert=True)
        record(
            actor=actor,
            action=f"review.{Decision(decision).label.lower()}",
            project_id=project.pk,
            object_type="annotation",
            object_id=str(annotation.pk),
            details={"review_id": str(review.pk), "revision": annotation.revision},
        )
    return review


def _apply(
    actor: Actor, project: Project, annotation: Annotation, decision: str, result: Any
) -> None:
    if decision == Decision.CORRECT:
        if not isinstance(result, dict):
            raise ValidationFailed(
                "A correction needs the corrected result.",
                code="result_required",
                details={"field": "result"},
            )
        task = annotation.task
        payload = vault.unseal(project.pk, "task.payload", str(task.pk), task.payload)
        clean = validate_result(
            task_type=project.task_type,
            label_schema=project.label_schema,
            data=payload["data"],
            result=result,
        )
        revision_add(
            project=project,
            annotation=annotation,
            result=clean,
            author=actor.user,
            kind=RevisionKind.CORRECTION,
        )
    elif result is not None:
        raise ValidationFailed(
            "Only a correction carries a result.",
            code="unexpected_result",
            details={"field": "result"},
        )
    now = timezone.now()
    if decision == Decision.REJECT:
        annotation.review_state = ReviewState.REJECTED
        return_slots(annotation.task_id)
    else:
        annotation.review_state = ReviewState.ACCEPTED
        count_toward_completion(project, annotation.task_id)
    annotation.reviewed_at = annotation.updated_at = now
    annotation.review_leased_by = None
    annotation.review_lease_expires_at = None
    annotation.save()
