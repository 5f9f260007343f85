"""Annotations: drafts, submissions, revisions and comments (the writes; reads are in selectors).

Results are validated against the project's label schema and the task's data, mapped back from
what the annotator was shown (pairwise sides), sealed (``annotation.result``), and kept as a
revision with author and time. Drafts are kept as the annotator's view left them (unvalidated,
sealed as ``annotation.draft``). A submission counts toward the task's k when the project does
not review, or when a reviewer accepts it (labeling/review.py); a gold task's submission is
scored against its gold answer instead, and never completes anything.
"""

import json
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

import vault
from audit.services import Actor, record
from core import sql
from core.errors import Conflict, ValidationFailed
from labeling import standing
from labeling.models import (
    Annotation,
    AnnotationRevision,
    AnnotationStatus,
    Comment,
    ReviewState,
    RevisionKind,
    Task,
    TaskState,
)
from labeling.presentation import canonical_result
from labeling.queue import db_id, own_annotation
from labeling.results import validate_result
from projects.models import Project
from projects.services import require_active

MAX_DRAFT_BYTES = 1_000_000
MAX_COMMENT = 20_000
# One sitting with a task is at most a day; a bigger figure is a client's mistake.
MAX_TIME_SPENT = 24 * 3600.0


def _time(time_spent: float) -> float:
    if not 0 <= time_spent <= MAX_TIME_SPENT:
        raise ValidationFailed(
            f"time_spent must be between 0 and {MAX_TIME_SPENT:.0f} seconds.",
            code="invalid_time_spent",
            details={"field": "time_spent"},
        )
    return time_spent


_COUNT = (
    "UPDATE labeling_task SET annotation_count = annotation_count + 1,"
    " state = CASE WHEN NOT is_gold AND annotation_count + 1 >= %s THEN 'complete' ELSE state END"
    " WHERE id = %s"
)


def count_toward_completion(project: Project, task_id: Any) -> None:
    """One more submitted (or accepted) annotation; the k-th completes the task."""
    with connection.cursor() as cursor:
        cursor.execute(_COUNT, [project.overlap, db_id(task_id)])


def _retake_slot(annotation: Annotation) -> None:
    """An annotation that no longer holds a slot (lease run out, released, rejected) takes a
    free one again, if the task has one; the queue may have given them all to others."""
    if annotation.is_gold:
        return
    taken = Task.objects.filter(
        pk=annotation.task_id, state=TaskState.OPEN, open_slots__gt=0
    ).update(open_slots=F("open_slots") - 1)
    if not taken:
        raise Conflict(
            "Your lease on this task ran out and others have taken its slots; "
            "your draft is kept, but the task needs no more answers.",
            code="lease_expired",
        )


def _clean_result(project: Project, annotation: Annotation, result: Any) -> dict[str, Any]:
    task = annotation.task
    payload = vault.unseal(project.pk, "task.payload", str(task.pk), task.payload)
    if not isinstance(result, dict):
        raise ValidationFailed(
            "result must be an object.", code="invalid_result", details={"field": "result"}
        )
    unswapped = canonical_result(
        task_type=project.task_type, result=result, swapped=annotation.swapped
    )
    return validate_result(
        task_type=project.task_type,
        label_schema=project.label_schema,
        data=payload["data"],
        result=unswapped,
    )


def revision_add(
    *, project: Project, annotation: Annotation, result: dict[str, Any], author: Any, kind: str
) -> AnnotationRevision:
    """Seal ``result`` as the annotation's newest revision and as its current result."""
    now = timezone.now()
    annotation.revision += 1
    revision = AnnotationRevision(
        project=project,
        annotation=annotation,
        number=annotation.revision,
        kind=kind,
        author=author,
        created_at=now,
    )
    revision.result = vault.seal(project.pk, "annotation.revision", str(revision.pk), result)
    sql.insert(revision)
    annotation.result = vault.seal(project.pk, "annotation.result", str(annotation.pk), result)
    annotation.updated_at = now
    return revision


def annotation_draft_save(
    *, actor: Actor, project: Project, task_id: Any, draft: Any, time_spent: float = 0.0
) -> Annotation:
    """Keep the annotator's work in progress (any JSON object, as their view left it)."""
    require_active(project)
    encoded = json.dumps(draft, separators=(",", ":"))
    if not isinstance(draft, dict) or len(encoded) > MAX_DRAFT_BYTES:
        raise ValidationFailed(
            f"draft must be an object of at most {MAX_DRAFT_BYTES} bytes as JSON.",
            code="invalid_draft",
            details={"field": "draft"},
        )
    with transaction.atomic():
        annotation = own_annotation(project, actor.user, task_id, lock=True)
        if annotation.status == AnnotationStatus.SKIPPED:
            raise Conflict("You skipped this task.", code="task_skipped")
        now = timezone.now()
        annotation.draft = vault.seal(project.pk, "annotation.draft", str(annotation.pk), draft)
        annotation.draft_saved_at = annotation.updated_at = now
        annotation.time_spent += _time(time_spent)
        annotation.save(update_fields=["draft", "draft_saved_at", "updated_at", "time_spent"])
        record(
            actor=actor,
            action="annotation.draft_saved",
            project_id=project.pk,
            object_type="annotation",
            object_id=str(annotation.pk),
            details={"task_id": str(annotation.task_id), "bytes": len(encoded)},
        )
    return annotation


_SUBMITTED_FIELDS = [
    "status",
    "submitted_at",
    "updated_at",
    "lease_expires_at",
    "draft",
    "time_spent",
    "result",
    "revision",
    "gold_score",
    "review_state",
]


def annotation_submit(
    *, actor: Actor, project: Project, task_id: Any, result: Any, time_spent: float = 0.0
) -> Annotation:
    """Submit the caller's answer to a task the queue gave them."""
    require_active(project)
    with transaction.atomic():
        annotation = own_annotation(project, actor.user, task_id, lock=True)
        if annotation.status == AnnotationStatus.SUBMITTED:
            raise Conflict(
                "You have submitted this task already; edit your annotation instead.",
                code="already_submitted",
            )
        if annotation.status == AnnotationStatus.SKIPPED:
            raise Conflict("You skipped this task.", code="task_skipped")
        clean = _clean_result(project, annotation, result)
        if annotation.status != AnnotationStatus.LEASED:
            _retake_slot(annotation)
        revision_add(
            project=project,
            annotation=annotation,
            result=clean,
            author=actor.user,
            kind=RevisionKind.SUBMIT,
        )
        annotation.status = AnnotationStatus.SUBMITTED
        annotation.submitted_at = annotation.updated_at
        annotation.lease_expires_at = None
        annotation.draft = None
        annotation.time_spent += _time(time_spent)
        if annotation.is_gold:
            standing.gold_answer_score(project=project, annotation=annotation, result=clean)
        elif project.review_required:
            annotation.review_state = ReviewState.PENDING
        else:
            count_toward_completion(project, annotation.task_id)
        sql.update(annotation, _SUBMITTED_FIELDS)
        record(
            actor=actor,
            action="annotation.submitted",
            project_id=project.pk,
            object_type="annotation",
            object_id=str(annotation.pk),
            details={"task_id": str(annotation.task_id), "revision": annotation.revision},
        )
        if annotation.is_gold:
            standing.pause_if_below(project=project, annotator=actor.user)
    return annotation


def annotation_revise(
    *, actor: Actor, project: Project, task_id: Any, result: Any, time_spent: float = 0.0
) -> Annotation:
    """Edit one's submitted annotation (a new revision). Accepted work is final; rejected
    work goes back to review if the task still has a free slot."""
    require_active(project)
    with transaction.atomic():
        annotation = own_annotation(project, actor.user, task_id, lock=True)
        if annotation.status != AnnotationStatus.SUBMITTED:
            raise Conflict("Submit this task before editing it.", code="not_submitted")
        if annotation.review_state == ReviewState.ACCEPTED:
            raise Conflict("A reviewer has accepted this annotation.", code="already_reviewed")
        clean = _clean_result(project, annotation, result)
        if annotation.review_state == ReviewState.REJECTED:
            _retake_slot(annotation)
            annotation.review_state = ReviewState.PENDING
            annotation.submitted_at = timezone.now()
        revision_add(
            project=project,
            annotation=annotation,
            result=clean,
            author=actor.user,
            kind=RevisionKind.EDIT,
        )
        annotation.time_spent += _time(time_spent)
        annotation.save()
        record(
            actor=actor,
            action="annotation.revised",
            project_id=project.pk,
            object_type="annotation",
            object_id=str(annotation.pk),
            details={"task_id": str(annotation.task_id), "revision": annotation.revision},
        )
    return annotation


def comment_add(*, actor: Actor, project: Project, annotation: Annotation, body: str) -> Comment:
    """A note on an annotation by its author, a reviewer or a manager (the caller checks who)."""
    require_active(project)
    text = body.strip()
    if not text or len(text) > MAX_COMMENT:
        raise ValidationFailed(
            f"body must be 1 to {MAX_COMMENT} characters.",
            code="invalid_comment",
            details={"field": "body"},
        )
    with transaction.atomic():
        comment = Comment(
            project=project, annotation=annotation, author=actor.user, created_at=timezone.now()
        )
        comment.body = vault.seal(project.pk, "annotation.comment", str(comment.pk), text)
        comment.save(force_insert=True)
        record(
            actor=actor,
            action="annotation.commented",
            project_id=project.pk,
            object_type="annotation",
            object_id=str(annotation.pk),
            details={"comment_id": str(comment.pk)},
        )
    return comment
