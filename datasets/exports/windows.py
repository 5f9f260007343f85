"""Reading a version's annotations from the database, a window of tasks at a time.

A window is a run of 5,000 tasks in import order (one query finds where it ends on the
``(project, seq)`` index) and the submitted annotations of its exportable tasks, with the
task's payload (one query; on PostgreSQL it finds them by task id on the ``(task, annotator)``
index). Rows stay sealed here; ``rows.py`` judges and opens them. Outside a transaction the
next window is read by a thread while the caller works on the current one, so that the
database and this process work at the same time.
"""

import queue
import threading
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper
from django.db.models import (
    BooleanField,
    ExpressionWrapper,
    F,
    Func,
    Q,
    Subquery,
    TextField,
    Value,
)
from django.db.models.functions import Cast
from django.db.models.sql.compiler import SQLCompiler

from datasets.exports.filters import ExportFilter
from labeling.models import Annotation, AnnotationStatus, Task, TaskState
from projects.models import Project

# Tasks per window.
BATCH = 5000

# A submitted annotation as a window holds it: task id, sealed payload, id, annotator, sealed
# result, review state, revision, time spent, submitted at (ISO text, as ``iso`` writes it),
# whether it changed after ``until``, whether it was submitted before ``since``, the task's
# sequence number and gold flag. Ids are text, as ``str`` writes them.
Row = tuple[str, Any, str, str, Any, str, int, float, str | None, bool, bool, int, bool]
# A window's annotations, in no particular order.
Window = list[Row]


def iso(moment: datetime) -> str:
    """A moment as the rows give it: ISO 8601, UTC, microseconds, with Z."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:26] + "Z"


def windows(project: Project, flt: ExportFilter, *, batch: int = BATCH) -> Iterator[Window]:
    """The project's windows for the filter, in order, ``batch`` tasks each.

    Inside a transaction (a build run eagerly, as tests do) they are read in line by the
    caller's connection: another connection would not see the transaction's writes.
    """
    read = read_windows(project, flt, batch=batch)
    return read if connection.in_atomic_block else read_ahead(read)


def read_windows(project: Project, flt: ExportFilter, *, batch: int = BATCH) -> Iterator[Window]:
    """The windows, read in line by this thread's connection."""
    for after, upto in window_bounds(project, batch=batch):
        yield read_window(project, flt, after, upto)


def window_bounds(project: Project, *, batch: int = BATCH) -> Iterator[tuple[int, int | None]]:
    """Each window's bounds, ``(after, upto)``: its tasks are those with ``after < seq <=
    upto``; the last window's ``upto`` is None (every task after ``after``)."""
    seqs = Task.objects.filter(project=project).order_by("seq").values_list("seq", flat=True)
    last = -1
    while True:
        bound = list(seqs.filter(seq__gt=last)[batch - 1 : batch])
        upto = bound[0] if bound else None
        yield last, upto
        if upto is None:
            return
        last = upto


def read_window(project: Project, flt: ExportFilter, after: int, upto: int | None) -> Window:
    """One window, read by this thread's connection."""
    return _annotations(project, flt, after, upto, postgres=connection.vendor == "postgresql")


def _annotations(
    project: Project, flt: ExportFilter, after: int, upto: int | None, *, postgres: bool
) -> Window:
    """The submitted annotations of the exportable tasks with ``after < seq <= upto``, with
    their task's payload, sequence number and gold flag.

    On PostgreSQL they are found by their task ids (see ``_fetch``), and the ids and the time
    come as text and the ``until``/``since`` checks as booleans, which costs the database
    less than parsing them costs here.
    """
    tasks = Task.objects.filter(project=project, seq__gt=after)
    rows = Annotation.objects.filter(
        project=project,
        status=AnnotationStatus.SUBMITTED,
        task__project=project,
        task__seq__gt=after,
    )
    if upto is not None:
        tasks = tasks.filter(seq__lte=upto)
        rows = rows.filter(task__seq__lte=upto)
    states = (TaskState.COMPLETE,) if flt.complete_only else (TaskState.OPEN, TaskState.COMPLETE)
    tasks = tasks.filter(state__in=states)
    rows = rows.filter(task__state__in=states)
    if not flt.include_gold:
        tasks = tasks.filter(is_gold=False)
        rows = rows.filter(task__is_gold=False)
    rows = rows.annotate(
        late=ExpressionWrapper(Q(updated_at__gt=flt.until), output_field=BooleanField()),
        early=Value(False)
        if flt.since is None
        else ExpressionWrapper(Q(submitted_at__lt=flt.since), output_field=BooleanField()),
    )
    if postgres:
        text = TextField()
        return _fetch(
            rows.filter(_AnyOf(F("task_id"), tasks.values("pk"))).values_list(
                Cast("task_id", text), "task__payload", Cast("pk", text),
                Cast("annotator_id", text), "result", "review_state", "revision",
                "time_spent", _UtcIso("submitted_at"), "late", "early", "task__seq",
                "task__is_gold",
            )
        )  # fmt: skip
    # SQLite walks the window's tasks on their index and joins each one's annotations.
    return [
        _portable(row)
        for row in rows.values_list(
            "task_id", "task__payload", "pk", "annotator_id", "result", "review_state",
            "revision", "time_spent", "submitted_at", "late", "early", "task__seq",
            "task__is_gold",
        )
    ]  # fmt: skip


def _fetch(query: Any) -> list[Row]:
    """A window's rows from PostgreSQL, found through the indexes, in the binary protocol.

    Left to itself the planner reads a window's 5,000 annotations by scanning all of the
    project's when it has fewer than about half a million (its cost model takes every index
    probe for a disk seek): a scan per window, a build quadratic in the project's size (at
    100,000 annotations, 160 ms a window against 18 ms through the index). So the window's
    transaction rules scans out. The binary protocol hands bytea, numbers and booleans over
    without spelling them out in text.
    """
    import psycopg  # PostgreSQL only
    from psycopg import pq

    sql, params = query.query.sql_with_params()
    with transaction.atomic():
        connection.ensure_connection()
        # A cursor binding its parameters on the server, whatever the connection's default
        # (Django's client-side cursors cannot ask for binary results). It shares the
        # connection's adapters, so values load as through Django's own cursors, and Django's
        # wrapper, so the statement passes its execute wrappers as any other.
        raw = psycopg.Cursor(connection.connection)
        raw.format = pq.Format.BINARY
        with CursorWrapper(raw, connection) as cursor:
            cursor.execute(
                "SELECT set_config('enable_seqscan', 'off', true), "
                "set_config('enable_bitmapscan', 'off', true)"
            )
            cursor.execute(sql, params)
            return cursor.fetchall()  # type: ignore[no-any-return]


def _portable(row: tuple[Any, ...]) -> Row:
    """A window row read without PostgreSQL's help: ids and the time made text here."""
    task_id, payload, pk, annotator, result, review, revision, spent, at, *rest = row
    late, early, seq, gold = rest
    return (
        str(task_id), payload, str(pk), str(annotator), result, review, revision, spent,
        None if at is None else iso(at), late, early, seq, gold,
    )  # fmt: skip


class _UtcIso(Func):
    """A timestamp as ``iso`` writes it, written by PostgreSQL."""

    template = "to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    output_field = TextField()


class _AnyOf(Func):
    """``expression = ANY(ARRAY(subquery))``: the subquery's ids as one array, which an index
    scan takes as its condition (``IN (subquery)`` would be planned as a join)."""

    output_field = BooleanField()

    def __init__(self, expression: Any, queryset: Any) -> None:
        super().__init__(expression, Subquery(queryset))

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        column, column_params = compiler.compile(self.source_expressions[0])
        subquery, subquery_params = compiler.compile(self.source_expressions[1])
        return f"{column} = ANY(ARRAY{subquery})", (*column_params, *subquery_params)


_DONE = object()
T = TypeVar("T")


def read_ahead(source: Iterator[T]) -> Generator[T, None, None]:
    """``source``'s items, made by a thread (with its own connection) one item ahead.

    At most three items are held: the caller's, one waiting, one being made. An error while
    making them is raised to the caller; when the caller stops, the thread stops after the
    item it is making.
    """
    ready: queue.Queue[Any] = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand(item: Any) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for item in source:
                if not hand(item):
                    return
            hand(_DONE)
        except BaseException as exc:  # noqa: BLE001 -- raised again in the caller's thread
            hand(exc)
        finally:
            connection.close()  # this thread's own

    thread = threading.Thread(target=read, name="version-windows", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join()
