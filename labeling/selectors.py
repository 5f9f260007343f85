"""Reads of annotations, scoped to what the caller may see.

Annotators see their own annotations only; reviewers and managers (``review_project``) see
everyone's in the project. Lists carry no content. Opening one annotation unseals its result,
revisions, review comments and comments, and records ``annotation.read``.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

import vault
from audit.services import Actor, record
from core.errors import NotFound, ValidationFailed
from labeling.models import Annotation, AnnotationStatus, ReviewState, Task, TaskState
from labeling.presentation import present
from projects.models import Project

LIST_FILTERS = ("status", "review_state", "annotator", "task")


def annotation_list(
    *, project: Project, user: Any, sees_all: bool, filters: dict[str, Any]
) -> QuerySet[Annotation]:
    """The project's annotations the caller may see (no content), newest first."""
    rows = Annotation.objects.filter(project=project).select_related("annotator")
    rows = rows.defer("result", "draft", "skip_note")
    if not sees_all:
        rows = rows.filter(annotator=user)
    if filters.get("status"):
        if filters["status"] not in AnnotationStatus.values:
            raise _bad_filter("status", AnnotationStatus.values)
        rows = rows.filter(status=filters["status"])
    if filters.get("review_state"):
        values = [v for v in ReviewState.values if v]
        if filters["review_state"] not in values:
            raise _bad_filter("review_state", values)
        rows = rows.filter(review_state=filters["review_state"])
    for name in ("annotator", "task"):
        if filters.get(name) is not None:
            rows = rows.filter(**{f"{name}_id": filters[name]})
    return rows


def _bad_filter(field: str, allowed: Any) -> ValidationFailed:
    return ValidationFailed(
        f"{field} must be one of: {', '.join(allowed)}.",
        code="invalid_filter",
        details={"field": field},
    )


def task_visible(*, project: Project, user: Any, sees_all: bool, task_id: Any) -> Task:
    """A published task of the project that the caller may see: any, for reviewers; one the
    queue gave them, for annotators. NotFound alike otherwise."""
    try:
        pk = uuid.UUID(str(task_id))
    except ValueError:
        raise NotFound("Task not found.", code="task_not_found") from None
    tasks = Task.objects.filter(project=project, pk=pk).exclude(state=TaskState.STAGED)
    if not sees_all:
        tasks = tasks.filter(
            pk__in=Annotation.objects.filter(project=project, annotator=user).values("task_id")
        )
    task = tasks.defer("payload", "prediction", "gold").first()
    if task is None:
        raise NotFound("Task not found.", code="task_not_found")
    return task


@dataclass(frozen=True)
class RevisionView:
    number: int
    kind: str
    author: Any
    created_at: Any
    result: Any


@dataclass(frozen=True)
class NoteView:
    id: uuid.UUID
    author: Any
    created_at: Any
    text: str
    decision: str = ""


@dataclass(frozen=True)
class AnnotationView:
    annotation: Annotation
    result: Any
    draft: Any
    skip_note: str | None
    revisions: list[RevisionView]
    reviews: list[NoteView]
    comments: list[NoteView]


def annotation_get(
    *, project: Project, user: Any, sees_all: bool, task_id: Any, annotation_id: Any
) -> Annotation:
    """One annotation of one task, if the caller may see it; NotFound alike otherwise."""
    try:
        task_pk, pk = uuid.UUID(str(task_id)), uuid.UUID(str(annotation_id))
    except ValueError:
        raise NotFound("Annotation not found.", code="annotation_not_found") from None
    rows = Annotation.objects.filter(project=project, task_id=task_pk, pk=pk)
    if not sees_all:
        rows = rows.filter(annotator=user)
    annotation = rows.select_related("annotator", "task").first()
    if annotation is None:
        raise NotFound("Annotation not found.", code="annotation_not_found")
    return annotation


def _open(project: Project, kind: str, object_id: Any, sealed: Any) -> Any:
    return None if sealed is None else vault.unseal(project.pk, kind, str(object_id), sealed)


def annotation_open(*, actor: Actor, project: Project, annotation: Annotation) -> AnnotationView:
    """Everything about one annotation, unsealed, recorded as ``annotation.read``.

    Its author sees results in the pairwise order they were shown; everyone else un-swapped.
    """
    own = annotation.annotator_id == getattr(actor.user, "pk", None)
    swapped = own and annotation.swapped

    def shown(result: Any) -> Any:
        if result is None or not swapped:
            return result
        return present(task_type=project.task_type, data={}, result=result, swapped=True)[1]

    revisions = [
        RevisionView(
            r.number,
            r.kind,
            r.author,
            r.created_at,
            shown(_open(project, "annotation.revision", r.pk, r.result)),
        )
        for r in annotation.revisions.select_related("author").order_by("number")
    ]
    reviews = [
        NoteView(
            r.pk,
            r.reviewer,
            r.created_at,
            _open(project, "review.comment", r.pk, r.comment) or "",
            r.decision,
        )
        for r in annotation.reviews.select_related("reviewer").order_by("created_at")
    ]
    comments = [
        NoteView(c.pk, c.author, c.created_at, _open(project, "annotation.comment", c.pk, c.body))
        for c in annotation.comments.select_related("author").order_by("created_at")
    ]
    view = AnnotationView(
        annotation=annotation,
        result=shown(_open(project, "annotation.result", annotation.pk, annotation.result)),
        draft=_open(project, "annotation.draft", annotation.pk, annotation.draft) if own else None,
        skip_note=_open(project, "annotation.skip_note", annotation.pk, annotation.skip_note),
        revisions=revisions,
        reviews=reviews,
        comments=comments,
    )
    with transaction.atomic():
        record(
            actor=actor,
            action="annotation.read",
            project_id=project.pk,
            object_type="annotation",
            object_id=str(annotation.pk),
            details={"task_id": str(annotation.task_id)},
        )
    return view
