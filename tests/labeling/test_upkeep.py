"""The work queue's upkeep: its tables vacuumed once enough of their rows are dead."""

import time

import pytest
from django.conf import settings
from django.db import connection, transaction

from audit.services import Actor
from labeling import annotations, queue, upkeep
from labeling.models import Task
from labeling.tasks import queue_vacuum
from projects.models import Role
from tests.conftest import add_member, make_project
from tests.factories import make_user
from tests.labeling.work import make_texts

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="VACUUM and dead row counts are PostgreSQL's"
)


def _stats(table: str) -> tuple[int, int]:
    """(dead rows, vacuums so far) of a table, as PostgreSQL's statistics count them now."""
    with connection.cursor() as cursor:
        # This backend's own counts are published at its next opportunity, and a snapshot
        # taken earlier in the session is dropped.
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname = %s",
            [table],
        )
        dead, vacuums = cursor.fetchone()
    return dead, vacuums


def _dead_at_least(table: str, rows: int) -> tuple[int, int]:
    deadline = time.monotonic() + 10
    while True:
        dead, vacuums = _stats(table)
        if dead >= rows or time.monotonic() > deadline:
            return dead, vacuums
        time.sleep(0.1)


def _work_through(project, count: int) -> None:
    """An annotator claims and answers ``count`` tasks: each changes a task row twice and an
    annotation row once."""
    person = add_member(project, make_user(), Role.ANNOTATOR)
    actor = Actor.system(user=person)
    for _ in range(count):
        work = queue.next_task(actor=actor, project=project)
        assert work is not None
        annotations.annotation_submit(
            actor=actor, project=project, task_id=work.task.pk, result={"labels": ["Positive"]}
        )


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_tables_with_enough_dead_rows_are_vacuumed_and_the_others_left(admin):
    project = make_project(admin, name="Upkeep")
    make_texts(project, 30)
    _work_through(project, 20)
    task_table, annotation_table = Task._meta.db_table, "labeling_annotation"
    dead_tasks, task_vacuums = _dead_at_least(task_table, 20)
    dead_annotations, annotation_vacuums = _dead_at_least(annotation_table, 10)
    assert dead_tasks >= 20
    assert 10 <= dead_annotations < dead_tasks  # one dead version per answer, two per task

    # A threshold above both counts: nothing to do.
    assert upkeep.queue_vacuum(dead_rows=dead_tasks + 1) == []
    assert _stats(task_table)[1] == task_vacuums
    assert _stats(annotation_table)[1] == annotation_vacuums

    # Between the two counts: the task table only.
    assert upkeep.queue_vacuum(dead_rows=dead_annotations + 1) == [task_table]
    dead, vacuums = _stats(task_table)
    assert vacuums == task_vacuums + 1
    assert dead < dead_tasks
    assert _stats(annotation_table)[1] == annotation_vacuums


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_scheduled_job_vacuums_at_the_configured_threshold(admin, settings):
    project = make_project(admin, name="Upkeep job")
    make_texts(project, 10)
    _work_through(project, 8)
    dead, vacuums = _dead_at_least("labeling_annotation", 8)
    settings.QUEUE_VACUUM_DEAD_ROWS = dead
    assert "labeling_annotation" in queue_vacuum.delay().get()
    assert _stats("labeling_annotation")[1] == vacuums + 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_vacuum_refuses_to_run_inside_a_transaction():
    with transaction.atomic(), pytest.raises(RuntimeError, match="inside a transaction"):
        upkeep.queue_vacuum(dead_rows=1)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the SQLite case")
@pytest.mark.django_db
def test_sqlite_has_nothing_to_vacuum_and_beat_does_not_ask():
    assert upkeep.queue_vacuum(dead_rows=1) == []
    assert "queue-vacuum" not in settings.CELERY_BEAT_SCHEDULE


@postgres_only
def test_beat_runs_the_job_often_and_drops_runs_that_waited_too_long():
    entry = settings.CELERY_BEAT_SCHEDULE["queue-vacuum"]
    assert entry["task"] == "labeling.tasks.queue_vacuum"
    assert entry["schedule"] == float(settings.QUEUE_VACUUM_EVERY_SECONDS) == 15.0
    assert entry["options"]["expires"] == entry["schedule"]
