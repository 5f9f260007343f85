"""How a version's build reads the database: windows of tasks, read ahead by a thread outside
a transaction, ids and times as Python writes them, annotations found through an index; and the
build leaves the garbage collector as it found it."""

import contextlib
import gc
import math
import random
import signal
import threading
from collections.abc import Iterator
from datetime import UTC, timedelta
from datetime import timezone as tz
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from audit.services import Actor
from datasets.exports import versions, windows
from datasets.exports.filters import filter_parse
from datasets.exports.rows import RowReader
from datasets.models import DatasetVersion, VersionState
from labeling.models import Annotation
from projects import services
from tests.labeling.work import annotate_all, make_texts
from vault import config as vault_config


def _labelled(lab: Any, tasks: int) -> Any:
    services.project_update(
        actor=Actor.system(user=lab.admin), project=lab.project, changes={"overlap": 1}
    )
    make_texts(lab.project, tasks)
    annotate_all(lab.project, [lab.annotator], lambda _n, _task: {"labels": ["Positive"]})
    lab.project.refresh_from_db()
    return lab.project


def _filter(project: Any) -> Any:
    return filter_parse(None, project, now=timezone.now() + timedelta(seconds=1))


def test_rows_give_ids_and_times_as_python_writes_them(lab):
    project = _labelled(lab, 3)
    first, second, third = Annotation.objects.filter(project=project).order_by("task__seq")
    assert first.submitted_at
    assert second.submitted_at
    assert third.submitted_at
    whole_second = first.submitted_at.replace(microsecond=0)
    elsewhere = (second.submitted_at - timedelta(hours=1)).astimezone(tz(timedelta(hours=-7)))
    Annotation.objects.filter(pk=first.pk).update(submitted_at=whole_second)
    Annotation.objects.filter(pk=second.pk).update(submitted_at=elsewhere)
    rows = list(RowReader(project, _filter(project)))
    assert [row.annotation_id for row in rows] == [str(a.pk) for a in (first, second, third)]
    assert [row.task_id for row in rows] == [str(a.task_id) for a in (first, second, third)]
    assert [row.submitted_at for row in rows] == [
        windows.iso(moment) for moment in (whole_second, elsewhere, third.submitted_at)
    ]
    assert rows[0].submitted_at.endswith(".000000Z")
    assert rows[1].submitted_at == elsewhere.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.django_db(transaction=True)
def test_windows_read_ahead_are_the_windows_read_in_line(lab):
    project = _labelled(lab, 7)
    flt = _filter(project)
    in_line = list(windows.read_windows(project, flt, batch=3))
    assert not connection.in_atomic_block
    ahead = windows.windows(project, flt, batch=3)
    assert [len(rows) for rows in in_line] == [3, 3, 1]
    assert list(ahead) == in_line
    assert not [t for t in threading.enumerate() if t.name == "version-windows"]


def test_windows_inside_a_transaction_are_read_in_line(lab):
    project = _labelled(lab, 2)
    assert connection.in_atomic_block  # the test's transaction
    read = windows.windows(project, _filter(project), batch=1)
    assert read.__name__ == "read_windows"  # type: ignore[attr-defined]
    assert [len(rows) for rows in read] == [1, 1, 0]  # the last: tasks after the second


def test_an_error_while_reading_ahead_reaches_the_caller():
    def failing() -> Iterator[int]:
        yield 1
        raise LookupError("the store is down")

    read = windows.read_ahead(failing())
    assert next(read) == 1
    with pytest.raises(LookupError, match="the store is down"):
        next(read)


def test_a_caller_that_stops_early_stops_the_reader():
    made: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            made.append(n)
            yield n
            n += 1

    read = windows.read_ahead(endless())
    assert [next(read), next(read)] == [0, 1]
    read.close()
    assert not [t for t in threading.enumerate() if t.name == "version-windows"]
    assert len(made) <= 4  # the caller's, one waiting, one being made, at most


# Times that sit on, or a rounding error away from, a half millisecond (1.0005 is stored as
# 1.000499999..., 0.0625 exactly), tiny and large ones, and ones already rounded.
_TRICKY_TIMES = [
    0.0,
    0.0005,
    0.0625,
    1.0005,
    2.675,
    1.0015,
    0.1235,
    12.3455,
    0.001,
    0.0004999,
    56.976,
    3599.9995,
    86399.99949,
    1e-9,
    123456789.1235,
    7.0,
]


def _times_near_halves(rng: random.Random) -> list[float]:
    """Doubles at, and a few ulps either side of, half-milliseconds of every magnitude."""
    values: list[float] = []
    for _ in range(2000):
        half = (rng.randrange(0, 10 ** rng.randrange(1, 12)) + 0.5) / 1000
        values += [half, math.nextafter(half, 0), math.nextafter(half, math.inf)]
        below = half
        for _step in range(3):
            below = math.nextafter(below, 0)
        values.append(below)
    return values


def test_times_spent_are_rounded_as_python_rounds_them(lab):
    project = _labelled(lab, len(_TRICKY_TIMES))
    annotations = Annotation.objects.filter(project=project).order_by("task__seq")
    for annotation, spent in zip(annotations, _TRICKY_TIMES, strict=True):
        Annotation.objects.filter(pk=annotation.pk).update(time_spent=spent)
    rows = list(RowReader(project, _filter(project)))
    records = [
        record for window in RowReader(project, _filter(project)).records() for record in window
    ]
    expected = [round(spent, 3) for spent in _TRICKY_TIMES]
    assert [row.time_spent for row in rows] == expected
    assert [record["time_spent"] for record in records] == expected
    assert [repr(record["time_spent"]) for record in records] == [repr(e) for e in expected]


@pytest.mark.skipif("connection.vendor != 'postgresql'")
@pytest.mark.django_db
def test_the_database_rounds_times_to_the_double_python_gives_or_leaves_them_to_it():
    rng = random.Random(20261127)
    spread = [rng.uniform(0, 10 ** rng.randrange(-3, 9)) for _ in range(20000)]
    values = _TRICKY_TIMES + _times_near_halves(rng) + spread
    expression = windows._MILLIS.replace("a.time_spent", "x")
    with connection.cursor() as cursor:  # PostgreSQL writes doubles exactly (shortest form)
        sql = f"SELECT x, {expression} FROM unnest(%s::float8[]) AS x"  # noqa: S608 -- constant
        cursor.execute(sql, [values])
        got = cursor.fetchall()
    assert len(got) == len(values)
    left = 0
    for spent, rounded in got:
        if rounded < 0:
            assert rounded == -spent  # left to Python, unchanged
            left += 1
        else:
            assert rounded == round(spent, 3), spent
    assert left >= 2000  # every value on a half, at least, is left to Python
    # Of times not chosen to sit near a half, hardly any.
    assert sum(1 for spent, rounded in got[-len(spread) :] if rounded < 0) < len(spread) / 100


@pytest.mark.skipif("connection.vendor != 'postgresql'")
def test_the_window_query_finds_annotations_through_an_index(lab):
    project = _labelled(lab, 4)
    with connection.cursor() as cursor:  # small tables, and the planner knows: it would scan
        cursor.execute("ANALYZE labeling_annotation, labeling_task")
    plans: list[str] = []

    def explain(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if "labeling_annotation" in sql and "to_char(" in sql:  # the window's query
            raw = context["cursor"].cursor  # psycopg's, past the wrappers; same transaction
            raw.execute("EXPLAIN " + sql, params)
            plans.append("\n".join(str(line[0]) for line in raw.fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain):
        assert len(list(RowReader(project, _filter(project)))) == 4
    assert len(plans) == 1
    plan = plans[0]
    # The window's tasks first (the outer side, on an index of the project's tasks), each
    # one's annotations on an index that takes the task (which one depends on the planner's
    # statistics: (task, annotator), or (project, status, task)).
    lines = [line.strip() for line in plan.splitlines()]
    assert lines[0].startswith("Nested Loop"), plan
    assert lines[1].startswith("->  Index Scan using task_"), plan
    assert " on labeling_task t " in lines[1], plan
    inner = next(n for n, line in enumerate(lines) if " on labeling_annotation" in line)
    assert lines[inner].startswith("->  Index Scan using "), plan
    assert lines[inner + 1].startswith("Index Cond: "), plan
    assert "task_id = t.id" in lines[inner + 1], plan
    for other in ("Seq Scan", "Bitmap Heap Scan", "Hash Join", "Merge Join", "labeling_task_pkey"):
        assert other not in plan, plan


def _version(lab: Any, project: Any, fmt: str) -> DatasetVersion:
    """A version as version_create records one, for a format the project may not take (the
    API refuses it; the build must still end cleanly)."""
    return DatasetVersion.objects.create(
        project=project,
        number=DatasetVersion.objects.filter(project=project).count() + 1,
        name=f"v-{fmt}",
        format=fmt,
        filter=_filter(project).as_json(),
        options={},
        created_by=lab.admin,
    )


@contextlib.contextmanager
def _within(seconds: int) -> Iterator[None]:
    """Fail, rather than hang, when the block takes longer (a thread join is interruptible)."""

    def expire(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_build_whose_writer_fails_ends_failed_without_a_file(lab):
    project = _labelled(lab, 2)
    version = _version(lab, project, "coco")  # a text task has no image: missing_image
    with _within(60):
        built = versions.version_build(version_id=version.pk)
    assert (built.state, built.error) == (VersionState.FAILED, "missing_image")
    names = vault_config.blob_store().names(project_id=project.pk)
    assert not [name for name in names if name.startswith(f"versions/{version.pk}/")]


def test_a_build_leaves_the_collector_as_it_found_it(lab):
    project = _labelled(lab, 2)
    before = gc.get_threshold()
    for fmt, state in (("jsonl", VersionState.SUCCEEDED), ("coco", VersionState.FAILED)):
        with _within(60):
            built = versions.version_build(version_id=_version(lab, project, fmt).pk)
        assert built.state == state
        assert gc.get_threshold() == before
