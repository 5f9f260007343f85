"""Reading a version's annotations from the database, a window of tasks at a time.

A window is a run of 5,000 tasks in import order (one query finds where it ends on the
``(project, seq)`` index) and the submitted annotations of its exportable tasks, with the
task's payload (one query: the window's tasks on that index, each one's annotations on the
``(task, annotator)`` index). Rows stay sealed here; ``rows.py`` judges and opens them.
Outside a transaction the next window is read by a thread while the caller works on the
current one, so that the database and this process work at the same time (or, for JSON Lines
on PostgreSQL, by the build's helpers: ``parallel.py``).
"""

import queue
import threading
from collections.abc import Generator, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import BooleanField, ExpressionWrapper, Q, Value

from datasets.exports.filters import ExportFilter
from labeling.models import Annotation, AnnotationStatus, Task, TaskState
from projects.models import Project

# Tasks per window.
BATCH = 5000

# A submitted annotation as a window holds it: task id, sealed payload, id, annotator, sealed
# result, review state, revision, time spent (seconds, as ``round(x, 3)`` rounds them),
# submitted at (ISO text, as ``iso`` writes it),
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

    On PostgreSQL the window's tasks are read on the ``(project, seq)`` index and each one's
    annotations found on the ``(task, annotator)`` index (``_postgres``), and the ids and the
    time come as text and the ``until``/``since`` checks as booleans, which costs the database
    less than parsing them costs here.
    """
    states = (TaskState.COMPLETE,) if flt.complete_only else (TaskState.OPEN, TaskState.COMPLETE)
    if postgres:
        return _postgres(project, flt, after, upto, states)
    rows = Annotation.objects.filter(
        project=project,
        status=AnnotationStatus.SUBMITTED,
        task__project=project,
        task__seq__gt=after,
        task__state__in=states,
    )
    if upto is not None:
        rows = rows.filter(task__seq__lte=upto)
    if not flt.include_gold:
        rows = rows.filter(task__is_gold=False)
    rows = rows.annotate(
        late=ExpressionWrapper(Q(updated_at__gt=flt.until), output_field=BooleanField()),
        early=Value(False)
        if flt.since is None
        else ExpressionWrapper(Q(submitted_at__lt=flt.since), output_field=BooleanField()),
    )
    # SQLite walks the window's tasks on their index and joins each one's annotations.
    return [
        _portable(row)
        for row in rows.values_list(
            "task_id", "task__payload", "pk", "annotator_id", "result", "review_state",
            "revision", "time_spent", "submitted_at", "late", "early", "task__seq",
            "task__is_gold",
        )
    ]  # fmt: skip


# A window on PostgreSQL: its tasks in ``seq`` order on their index, and for each one (LATERAL,
# kept a subquery of its own by OFFSET 0) its submitted annotations on the (task, annotator)
# index. Written out because the ORM's join leaves the planner free to start from the
# annotations instead: for small or freshly filled tables it reads every annotation of the
# table on an index and looks each one's task up again, a scan per window.
#
# The time spent is rounded to the millisecond here (``_MILLIS``), not in Python.
_WINDOW = """
SELECT a.task_id::text, t.payload, a.id::text, a.annotator_id::text, a.result, a.review_state,
       a.revision, {millis},
       to_char(a.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
       a.updated_at > %(until)s, {early}, t.seq, t.is_gold
FROM {task} t
CROSS JOIN LATERAL (
    SELECT id, task_id, annotator_id, result, review_state, revision, time_spent,
           submitted_at, updated_at
    FROM {annotation}
    WHERE task_id = t.id AND project_id = %(project)s AND status = %(submitted)s
    OFFSET 0
) a
WHERE t.project_id = %(project)s AND t.seq > %(after)s AND t.state = ANY(%(states)s){more}
"""


# ``round(x, 3)`` in the database, to the same double as Python's, or -x where it cannot tell.
# Python rounds x's exact binary value to 3 decimals (half to even) and returns the double
# nearest n / 1000. Here y = x * 1000 in double precision is within 2^-53 |y| of the exact
# product, under 2^-13 for x < 10^9; so where y is more than 0.499 from a half, the exact
# product rounds to the same integer n = rint(y), and n / 1000, one IEEE division of exact
# integers, is that nearest double. The rare x that is within 0.001 of a half (0.0625, say)
# comes back negated (times are never negative) for ``_round_rest`` to round in Python.
# Python's round costs a build about a twentieth of its CPU; this, next to nothing.
_MILLIS = (
    "CASE WHEN a.time_spent < 1e9"
    " AND abs(a.time_spent * 1000 - round(a.time_spent * 1000)) < 0.499"
    " THEN round(a.time_spent * 1000) / 1000 ELSE -a.time_spent END"
)


def _postgres(
    project: Project, flt: ExportFilter, after: int, upto: int | None, states: tuple[str, ...]
) -> list[Row]:
    params: dict[str, Any] = {
        "project": project.pk,
        "submitted": str(AnnotationStatus.SUBMITTED.value),
        "after": after,
        "states": [str(getattr(state, "value", state)) for state in states],
        "until": flt.until,
    }
    more = ""
    if upto is not None:
        more += " AND t.seq <= %(upto)s"
        params["upto"] = upto
    if not flt.include_gold:
        more += " AND NOT t.is_gold"
    early = "false"
    if flt.since is not None:
        early = "a.submitted_at < %(since)s"
        params["since"] = flt.since
    sql = _WINDOW.format(
        task=Task._meta.db_table,
        annotation=Annotation._meta.db_table,
        millis=_MILLIS,
        early=early,
        more=more,
    )
    return _fetch(sql, params)


def _fetch(sql: str, params: dict[str, Any]) -> list[Row]:
    """A window's rows from PostgreSQL, found through the indexes, in the binary protocol.

    Left to itself the planner reads a window's 5,000 annotations by scanning all of the
    project's when it has fewer than about half a million (its cost model takes every index
    probe for a disk seek): a scan per window, a build quadratic in the project's size (at
    100,000 annotations, 160 ms a window against 18 ms through the index). So the window's
    transaction rules scans out. (Finding the annotations by the window's task ids first, then
    their tasks again by primary key, as builds did before, cost a quarter more per window:
    59-64 ms against 43-47, rows fetched.) The binary protocol hands bytea, numbers and
    booleans over without spelling them out in text.
    """
    import psycopg  # PostgreSQL only
    from psycopg import pq

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
            return _round_rest(cursor.fetchall())


def _round_rest(rows: list[Row]) -> list[Row]:
    """The rows with the times the query left to Python (negated, ``_MILLIS``) rounded."""
    if not any(row[7] < 0 for row in rows):
        return rows
    return [row if row[7] >= 0 else (*row[:7], round(-row[7], 3), *row[8:]) for row in rows]


def _portable(row: tuple[Any, ...]) -> Row:
    """A window row read without PostgreSQL's help: ids and the time made text here."""
    task_id, payload, pk, annotator, result, review, revision, spent, at, *rest = row
    late, early, seq, gold = rest
    return (
        str(task_id), payload, str(pk), str(annotator), result, review, revision, round(spent, 3),
        None if at is None else iso(at), late, early, seq, gold,
    )  # fmt: skip


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
