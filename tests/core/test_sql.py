"""Plain SQL for the hot paths (core/sql.py): what it loads, inserts and updates is what the
ORM would have, on the database the suite runs on (SQLite, or PostgreSQL in CI)."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection

from core import sql
from labeling.models import Annotation, AnnotationStatus, Task
from tests.labeling.work import make_task

pytestmark = pytest.mark.django_db


def _loaded_task(task_id: uuid.UUID) -> Task:
    # The primary key as the database keeps it (SQLite: 32 hex characters).
    pk = Task._meta.pk.get_db_prep_value(task_id, connection)
    rows = sql.rows(f"SELECT {sql.columns(Task)} FROM labeling_task WHERE id = %s", [pk])  # noqa: S608
    return sql.loaded(Task, rows[0])


def _same(one, other) -> None:
    for field in type(one)._meta.concrete_fields:
        assert getattr(one, field.attname) == getattr(other, field.attname), field.name


def test_a_loaded_row_equals_the_orms_instance_field_by_field(project):
    task = make_task(project, {"text": "ünïcode ✓"}, prediction={"labels": ["Positive"]})
    loaded = _loaded_task(task.pk)
    _same(loaded, Task.objects.get(pk=task.pk))
    assert isinstance(loaded.pk, uuid.UUID)
    assert loaded.created_at.tzinfo is not None
    assert bytes(loaded.payload) == bytes(task.payload)
    assert not loaded._state.adding


def test_an_inserted_instance_reads_back_through_the_orm(project, annotator):
    task = make_task(project, {"text": "a"})
    when = project.created_at + timedelta(minutes=5)
    annotation = Annotation(
        project=project,
        task=task,
        annotator=annotator,
        status=AnnotationStatus.LEASED,
        lease_expires_at=when,
        swapped=True,
        result=b"\x00\x01sealed",
        time_spent=1.5,
        created_at=when,
        updated_at=when,
    )
    sql.insert(annotation)
    assert not annotation._state.adding
    _same(Annotation.objects.get(pk=annotation.pk), annotation)


def test_an_update_writes_the_named_fields_only(project, annotator):
    task = make_task(project, {"text": "a"})
    annotation = Annotation.objects.create(
        project=project,
        task=task,
        annotator=annotator,
        status=AnnotationStatus.LEASED,
        created_at=project.created_at,
        updated_at=project.created_at,
    )
    stale = Annotation.objects.get(pk=annotation.pk)
    stale.status, stale.time_spent = AnnotationStatus.SUBMITTED, 9.0
    stale.revision = 7  # not named: stays as stored
    sql.update(stale, ["status", "time_spent"])
    stored = Annotation.objects.get(pk=annotation.pk)
    assert (stored.status, stored.time_spent, stored.revision) == ("submitted", 9.0, 0)


def test_no_row_is_no_instance(project):
    pk = Task._meta.pk.get_db_prep_value(uuid.uuid4(), connection)
    assert sql.rows("SELECT id FROM labeling_task WHERE id = %s", [pk]) == []
