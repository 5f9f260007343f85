"""Tasks have no foreign key in the database (its check ran once per row); each transaction
that writes them holds the project's row instead: a deleted project gets no tasks, and a
project cannot be deleted while an import writes into it."""

import os
import threading
import uuid

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from core.errors import Conflict
from datasets import writers
from datasets.models import ImportState
from labeling.models import SEQ_IMPORT_SHIFT, Task
from projects.models import Project
from tests.conftest import make_project
from tests.datasets.factories import make_import
from tests.factories import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def project(db):
    return make_project(make_user(email="admin@lab.test", is_staff=True))


def rows(count: int) -> list[writers.TaskRow]:
    return [
        writers.TaskRow(
            id=uuid.uuid4().bytes,
            seq=(1 << SEQ_IMPORT_SHIFT) + n,
            priority=0,
            payload=os.urandom(40),
            prediction=None,
            gold=None,
            fingerprint=os.urandom(16),
            external_key=None,
        )
        for n in range(1, count + 1)
    ]


def write_and_commit(sink: writers.Sink, batch: list[writers.TaskRow]) -> None:
    # A writer on its own thread reports its error at the next call: the write or the commit.
    sink.write(batch)
    sink.commit(lambda: None)


def test_the_database_checks_no_foreign_key_per_task_row():
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, Task._meta.db_table)
    assert not [name for name, c in constraints.items() if c["foreign_key"]]


def test_an_import_writes_into_a_live_project(project):
    imp = make_import(project, state=ImportState.RUNNING)
    write_and_commit(writers.sink_for(imp, timezone.now()), rows(3))
    assert Task.objects.filter(project=project, state="open").count() == 3


def test_a_project_deleted_before_its_import_writes_gets_no_tasks(project):
    imp = make_import(project, state=ImportState.RUNNING)
    Project.objects.filter(pk=project.pk).update(deleted_at=timezone.now())
    sink = writers.sink_for(imp, timezone.now())
    try:
        with pytest.raises(Conflict, match="deleted") as refused:
            write_and_commit(sink, rows(3))
    finally:
        sink.rollback()
    assert refused.value.code == "project_deleted"
    assert Task.objects.filter(project=project).count() == 0


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's batches commit one by one")
def test_a_project_deleted_between_two_batches_gets_no_open_tasks(project):
    # SQLite's writer commits each batch as staged and holds nothing in between: the check
    # runs again for each batch and for the commit that would publish them.
    imp = make_import(project, state=ImportState.RUNNING)
    sink = writers.sink_for(imp, timezone.now())
    try:
        sink.write(rows(3))
        Project.objects.filter(pk=project.pk).update(deleted_at=timezone.now())
        with pytest.raises(Conflict, match="deleted"):
            sink.commit(lambda: None)
    finally:
        sink.rollback()
    assert Task.objects.filter(project=project, state="open").count() == 0
    writers.staged_tasks_delete(imp)  # what the job does after a failure
    assert Task.objects.filter(project=project).count() == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL")
def test_a_project_cannot_be_deleted_while_an_import_writes_into_it(project):
    imp = make_import(project, state=ImportState.RUNNING)
    writer = writers.CopyWriter(imp, timezone.now())
    writer.open()
    writer.write(rows(5))
    outcome: list[str] = []

    def delete_now() -> None:
        try:
            with transaction.atomic():
                Project.objects.select_for_update(nowait=True).get(pk=project.pk)
                outcome.append("locked it")
        except DatabaseError:
            outcome.append("refused")
        finally:
            connection.close()

    try:
        other = threading.Thread(target=delete_now)
        other.start()
        other.join()
        assert outcome == ["refused"]  # the import's transaction holds the project's row
    finally:
        writer.rollback()
    other = threading.Thread(target=delete_now)
    other.start()
    other.join()
    assert outcome == ["refused", "locked it"]  # and lets go of it when it ends
    assert Task.objects.filter(project=project).count() == 0
