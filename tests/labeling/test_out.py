"""The work's answers built directly equal what their DRF serializers (the API's schema) give,
key order included, in every state an annotation can be in."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from audit.services import Actor
from labeling import annotations, queue, review
from labeling import serializers as s
from labeling.models import Annotation, AnnotationStatus, ReviewState
from projects.models import Role
from tests.conftest import add_member, make_project
from tests.factories import make_user
from tests.labeling.work import label, make_task, make_texts

pytestmark = pytest.mark.django_db


def _same(built: dict[str, Any], data: Any) -> None:
    assert json.dumps(built) == json.dumps(data)


def _check(annotation: Annotation) -> None:
    _same(s.annotation_out(annotation), s.AnnotationOut(annotation).data)
    fresh = Annotation.objects.get(pk=annotation.pk)  # as loaded, not as the service left it
    _same(s.annotation_out(fresh), s.AnnotationOut(fresh).data)


def test_every_state_of_an_annotation(admin):
    project = make_project(admin, review_required=True)
    person = add_member(project, make_user(), Role.ANNOTATOR)
    checker = add_member(project, make_user(), Role.REVIEWER)
    actor, reviewer = Actor.system(user=person), Actor.system(user=checker)
    make_texts(project, 4)
    make_task(project, {"text": "with a guess"}, prediction={"labels": ["Positive"]})

    def work() -> queue.Work:
        found = queue.next_task(actor=actor, project=project, resume=False)
        assert found is not None
        _same(s.work_out(found), s.WorkOut(found).data)
        _check(found.annotation)
        return found

    held = work()
    _check(
        annotations.annotation_draft_save(
            actor=actor, project=project, task_id=held.task.pk, draft={"x": 1}, time_spent=2.5
        )
    )
    reopened = queue.work_open(actor=actor, project=project, task_id=held.task.pk)
    assert reopened.draft == {"x": 1}
    _same(s.work_out(reopened), s.WorkOut(reopened).data)
    submitted = annotations.annotation_submit(
        actor=actor, project=project, task_id=held.task.pk, result=label(), time_spent=1.25
    )
    _check(submitted)
    assert submitted.review_state == ReviewState.PENDING
    answered = queue.work_open(actor=actor, project=project, task_id=held.task.pk)
    _same(s.work_out(answered), s.WorkOut(answered).data)

    skipped = work()
    _check(queue.task_skip(actor=actor, project=project, task_id=skipped.task.pk, reason="unclear"))
    released = work()
    _check(queue.task_release(actor=actor, project=project, task_id=released.task.pk))

    taken = review.review_next(actor=reviewer, project=project)
    assert taken is not None
    review.review_decide(
        actor=reviewer, project=project, annotation_id=taken.annotation.pk, decision="accept"
    )
    accepted = Annotation.objects.get(pk=taken.annotation.pk)
    assert accepted.reviewed_at is not None
    _check(accepted)

    rows = Annotation.objects.filter(project=project)
    assert {a.status for a in rows} == {"submitted", "skipped", "released"}


def test_values_set_in_memory_and_other_time_zones(admin):
    project = make_project(admin)
    person = add_member(project, make_user(), Role.ANNOTATOR)
    make_texts(project, 1)
    found = queue.next_task(actor=Actor.system(user=person), project=project)
    assert found is not None
    annotation = found.annotation
    annotation.status = AnnotationStatus.SUBMITTED  # an enum member, as services set it
    annotation.review_state = ReviewState.REJECTED
    annotation.time_spent = 3  # an int
    annotation.draft_saved_at = datetime(2026, 3, 29, 0, 59, 59, 999999, tzinfo=UTC)
    annotation.submitted_at = annotation.draft_saved_at + timedelta(hours=1)
    with timezone.override("Europe/Berlin"):  # the hour the clocks change
        _same(s.annotation_out(annotation), s.AnnotationOut(annotation).data)
    _same(s.annotation_out(annotation), s.AnnotationOut(annotation).data)
    _same(s.work_out(found), s.WorkOut(found).data)
