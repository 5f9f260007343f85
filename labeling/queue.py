"""The work queue: one task leased to one annotator at a time, by one indexed query.

``next_task`` hands the annotator the highest-priority, oldest task that still has a free slot
(overlap k = k slots) and that this annotator has never been given. The query walks the partial
index ``task_ready`` (only tasks with a free slot are in it) and stops at the first row this
annotator has no annotation for, so its cost does not grow with the project. On PostgreSQL the
row is taken with ``FOR UPDATE SKIP LOCKED``: concurrent annotators never wait for one another
and never take the same slot. On SQLite the transaction is ``IMMEDIATE`` (config/settings.py),
which serializes claims.

A slot is held by an annotation that is leased, or submitted and not rejected in review. Every
change of that is one guarded update of ``Task.open_slots`` in the same transaction, and an
annotation row exists at most once per (task, annotator), so no slot is handed out twice and
no annotator gets a task twice, whatever the interleaving. A lease that runs out returns its
slot: each claim first expires the project's overdue leases (an index range that is empty
when nothing is overdue), and a periodic job does the same for idle projects.
"""

import random
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

import vault
from audit.services import Actor, record
from core import sql
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from labeling.models import Annotation, AnnotationStatus, SkipReason, Task
from labeling.presentation import is_swapped, present
from projects.models import Project
from projects.services import require_active

# An annotator holds at most this many live leases: the task in hand and prefetched ones.
MAX_LEASES = 3
# How many overdue leases one claim returns to the queue (the periodic job does the rest).
EXPIRE_BATCH = 100

# Take one slot of the first ready task this annotator never had, and return the task: one
# statement. The partial index task_ready is walked in order; on PostgreSQL rows another claim
# holds are skipped (FOR UPDATE SKIP LOCKED, added by _claim), so claims never wait.
_CLAIM = (
    "UPDATE labeling_task SET open_slots = open_slots - 1"
    " WHERE open_slots > 0 AND id = (SELECT t.id FROM labeling_task t"
    " WHERE t.project_id = %s AND t.state = 'open' AND t.open_slots > 0"
    " AND NOT EXISTS (SELECT 1 FROM labeling_annotation a"
    " WHERE a.task_id = t.id AND a.annotator_id = %s)"
    " ORDER BY t.priority DESC, t.seq LIMIT 1{lock})"
    " RETURNING {columns}"
)
_LOCK = " FOR UPDATE OF t SKIP LOCKED"
# What a claim needs to know first, in one round trip: whether the caller is paused, whether
# any lease of the project is overdue (one probe of the partial index annotation_lease), and
# the leases the caller holds (how many, and the oldest). Parameters: project, caller, project,
# now, caller, project, caller, project.
_BEFORE_CLAIM = (
    "SELECT EXISTS (SELECT 1 FROM labeling_standing WHERE project_id = %s"
    " AND annotator_id = %s AND paused_at IS NOT NULL),"
    " EXISTS (SELECT 1 FROM labeling_annotation WHERE project_id = %s AND status = 'leased'"
    " AND lease_expires_at < %s),"
    " (SELECT COUNT(*) FROM labeling_annotation WHERE annotator_id = %s AND project_id = %s"
    " AND status = 'leased'),"
    " (SELECT id FROM labeling_annotation WHERE annotator_id = %s AND project_id = %s"
    " AND status = 'leased' ORDER BY created_at LIMIT 1)"
)
# An annotation with its task, in the order _with_task reads them; locked (on PostgreSQL) when
# {lock} says so, the annotation's row only: the task's row stays free for the queue's claims.
# Found by keys alone (the task's id and the annotator, or the annotation's id), and scoped to
# the project by _with_task, which drops a row of another project before anything reads it.
# A project condition in the query gave a planner without statistics (a new table, autovacuum
# behind) an index on the project to choose instead: annotation_mine (annotator, project) took
# 1.5 ms to filter an annotator's 4,500 annotations in a benchmark, and task_seq (project,
# seq) was chosen for the task in a test; the unique entries take 0.07 ms.
_WITH_TASK = (
    "SELECT {annotation}, {task} FROM labeling_annotation a"
    " JOIN labeling_task t ON t.id = a.task_id WHERE {where}{lock}"
)
_OWN = "t.id = %s AND a.annotator_id = %s"
_BY_ID = "a.id = %s"
_OVERDUE = (
    "SELECT id, task_id, annotator_id FROM labeling_annotation"
    " WHERE project_id = %s AND status = 'leased' AND lease_expires_at < %s"
    " ORDER BY lease_expires_at LIMIT %s{lock}"
)
_GOLD_TOP = "SELECT MAX(seq) FROM labeling_task WHERE project_id = %s AND is_gold"
_GOLD = (
    "SELECT t.id FROM labeling_task t"
    " WHERE t.project_id = %s AND t.is_gold AND t.state = 'open' AND t.seq {op} %s"
    " AND NOT EXISTS (SELECT 1 FROM labeling_annotation a"
    " WHERE a.task_id = t.id AND a.annotator_id = %s)"
    " ORDER BY t.seq LIMIT 1"
)


@dataclass(frozen=True)
class Work:
    """A task as its annotator sees it: the data (pairwise sides as shown to them), the
    pre-annotation if any, and their annotation (lease, draft, result)."""

    task: Task
    annotation: Annotation
    data: dict[str, Any]
    prediction: dict[str, Any] | None
    draft: Any
    result: dict[str, Any] | None


def db_id(value: uuid.UUID) -> Any:
    # Raw SQL sees ids as the database stores them: SQLite keeps UUIDs as 32 hex characters.
    return value.hex if connection.vendor == "sqlite" else value


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _as_uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _skip_locked() -> str:
    return " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""


def _first_id(sql: str, params: list[Any]) -> uuid.UUID | None:
    rows = _rows(sql, params)
    return _as_uuid(rows[0][0]) if rows else None


def return_slots(task_id: uuid.UUID, count: int = 1) -> None:
    """Give slots back to a task (a gold task has none: the gold mix hands it out)."""
    Task.objects.filter(pk=task_id, is_gold=False).update(open_slots=F("open_slots") + count)


def lease_until(project: Project, now: datetime) -> datetime:
    return now + timedelta(seconds=project.lease_seconds)


def leases_expire(*, project_id: uuid.UUID, now: datetime, limit: int = EXPIRE_BATCH) -> int:
    """Return the slots of overdue leases to the queue. Safe to run concurrently: each lease
    is taken by one caller (rows locked by another are skipped), and its slot returned once.

    Runs before every claim, so it is plain SQL: when nothing is overdue (nearly always) it is
    one probe of the partial index ``annotation_lease``.
    """
    when = connection.ops.adapt_datetimefield_value(now)
    # Inside a claim's transaction no savepoint is needed (a failure fails the claim).
    with transaction.atomic(savepoint=False):
        taken = [
            (_as_uuid(pk), _as_uuid(task), _as_uuid(who))
            for pk, task, who in _rows(
                _OVERDUE.format(lock=_skip_locked()), [db_id(project_id), when, limit]
            )
        ]
        if not taken:
            return 0
        Annotation.objects.filter(pk__in=[pk for pk, _, _ in taken]).update(
            status=AnnotationStatus.EXPIRED, lease_expires_at=None, updated_at=now
        )
        for task_id, count in sorted(Counter(task for _, task, _ in taken).items()):
            return_slots(task_id, count)
        for pk, task_id, annotator_id in taken:
            record(
                actor=Actor.system("lease-expiry"),
                action="annotation.lease_expired",
                project_id=project_id,
                object_type="annotation",
                object_id=str(pk),
                details={"task_id": str(task_id), "annotator_id": str(annotator_id)},
            )
    return len(taken)


def _pick_gold(project: Project, user: Any) -> uuid.UUID | None:
    """A gold task this annotator has not had, from a random point of the gold range, so that
    annotators do not all meet the gold tasks in the same order."""
    # Only the partial index task_gold fits this query, whatever the planner's statistics.
    top = _rows(_GOLD_TOP, [db_id(project.pk)])[0][0]
    if top is None:
        return None
    pivot = random.randint(0, top)  # noqa: S311 (a mix, not a secret)
    params = [db_id(project.pk), pivot, db_id(user.pk)]
    return _first_id(_GOLD.format(op=">="), params) or _first_id(_GOLD.format(op="<"), params)


def _claim(project: Project, user: Any) -> Task | None:
    """Take one slot: a gold task at the project's rate, else the queue's first ready task."""
    if project.gold_rate > 0 and random.random() < project.gold_rate:  # noqa: S311
        gold_id = _pick_gold(project, user)
        if gold_id is not None:
            return Task.objects.get(pk=gold_id)
    lock = _LOCK if connection.vendor == "postgresql" else ""
    claim = _CLAIM.format(lock=lock, columns=sql.columns(Task))
    claimed = _rows(claim, [db_id(project.pk), db_id(user.pk)])
    return sql.loaded(Task, claimed[0]) if claimed else None


def _new_lease(project: Project, task: Task, user: Any, now: datetime) -> Annotation:
    annotation = Annotation(
        project=project,
        task=task,
        annotator=user,
        status=AnnotationStatus.LEASED,
        lease_expires_at=lease_until(project, now),
        is_gold=task.is_gold,
        swapped=is_swapped(
            task_type=project.task_type,
            label_schema=project.label_schema,
            task_id=task.pk,
            annotator_id=user.pk,
        ),
        created_at=now,
        updated_at=now,
    )
    sql.insert(annotation)
    return annotation


def next_task(*, actor: Actor, project: Project, resume: bool = True) -> Work | None:
    """Lease the annotator a task (or, with ``resume``, renew the oldest one they hold).

    None when nothing is left for them. Reading the task is recorded as ``task.read``.
    """
    require_active(project)
    now = timezone.now()
    for attempt in range(2):
        try:
            with transaction.atomic():
                annotation = _lease(project, actor.user, now, resume=resume)
                if annotation is None:
                    return None
                return _open_work(actor, project, annotation, via="queue")
        except IntegrityError:
            # The same annotator claimed the same task in a parallel request: that request
            # holds it now; take another.
            if attempt:
                raise
    return None


def _held(project: Project, user: Any, now: datetime) -> tuple[int, Any]:
    """How many leases the caller holds and the oldest one's id, once the project's overdue
    leases are returned to the queue; refused if the caller is paused."""
    project_id, user_id = db_id(project.pk), db_id(user.pk)
    when = connection.ops.adapt_datetimefield_value(now)
    params = [project_id, user_id, project_id, when, user_id, project_id, user_id, project_id]
    paused, overdue, count, oldest = _rows(_BEFORE_CLAIM, params)[0]
    if paused:
        raise PermissionDenied(
            "You are paused on this project (gold accuracy below the project's threshold); "
            "a manager can resume you.",
            code="annotator_paused",
        )
    if overdue and leases_expire(project_id=project.pk, now=now):
        # Some may have been the caller's own.
        _, _, count, oldest = _rows(_BEFORE_CLAIM, params)[0]
    return count, oldest


def _lease(project: Project, user: Any, now: datetime, *, resume: bool) -> Annotation | None:
    held, oldest = _held(project, user, now)
    if resume and held:
        annotation = _with_task(project, _BY_ID, [oldest], lock=False)
        assert annotation is not None  # held by the caller, in this transaction
        annotation.lease_expires_at = lease_until(project, now)
        annotation.updated_at = now
        sql.update(annotation, ["lease_expires_at", "updated_at"])
        return annotation
    if held >= MAX_LEASES:
        raise Conflict(
            f"You already hold {MAX_LEASES} tasks; submit, skip or release one first.",
            code="too_many_leases",
        )
    task = _claim(project, user)
    if task is None:
        return None
    annotation = _new_lease(project, task, user, now)
    annotation.task = task
    return annotation


def _open_work(actor: Actor, project: Project, annotation: Annotation, *, via: str) -> Work:
    """Unseal what the annotator may see of a task (never its gold answer) and record the read."""
    task = annotation.task
    object_id = str(task.pk)
    payload = vault.unseal(project.pk, "task.payload", object_id, task.payload)
    prediction = (
        None
        if task.prediction is None
        else vault.unseal(project.pk, "task.prediction", object_id, task.prediction)
    )
    data, shown_prediction = present(
        task_type=project.task_type,
        data=payload["data"],
        result=prediction,
        swapped=annotation.swapped,
    )
    result = None
    if annotation.result is not None:
        sealed = vault.unseal(
            project.pk, "annotation.result", str(annotation.pk), annotation.result
        )
        result = present(
            task_type=project.task_type, data={}, result=sealed, swapped=annotation.swapped
        )[1]
    draft = (
        None
        if annotation.draft is None
        else vault.unseal(project.pk, "annotation.draft", str(annotation.pk), annotation.draft)
    )
    record(
        actor=actor,
        action="task.read",
        project_id=project.pk,
        object_type="task",
        object_id=object_id,
        details={"via": via, "annotation_id": str(annotation.pk)},
    )
    return Work(
        task=task,
        annotation=annotation,
        data=data,
        prediction=shown_prediction,
        draft=draft,
        result=result,
    )


def own_annotation(project: Project, user: Any, task_id: Any, *, lock: bool) -> Annotation:
    """The caller's annotation of a task, which exists only if the queue gave them the task;
    NotFound alike for a task that is missing, foreign, or never given to them."""
    try:
        pk = task_id if isinstance(task_id, uuid.UUID) else uuid.UUID(str(task_id))
    except ValueError:
        raise NotFound("Task not found.", code="task_not_found") from None
    annotation = _with_task(project, _OWN, [db_id(pk), db_id(user.pk)], lock=lock)
    if annotation is None:
        raise NotFound("Task not found.", code="task_not_found")
    return annotation


def _with_task(project: Project, where: str, params: list[Any], *, lock: bool) -> Annotation | None:
    """One annotation of the project, with its task, found by ``where``."""
    statement = _WITH_TASK.format(
        annotation=sql.columns(Annotation, "a"),
        task=sql.columns(Task, "t"),
        where=where,
        lock=" FOR UPDATE OF a" if lock and connection.vendor == "postgresql" else "",
    )
    found = _rows(statement, params)
    if not found:
        return None
    width = len(Annotation._meta.concrete_fields)
    annotation = sql.loaded(Annotation, found[0][:width])
    task = sql.loaded(Task, found[0][width:])
    if annotation.project_id != project.pk or task.project_id != project.pk:
        return None  # another project's: as missing as a row that does not exist
    annotation.task = task
    return annotation


def work_open(*, actor: Actor, project: Project, task_id: Any) -> Work:
    """A task the queue gave the caller (at any time), as their workspace shows it."""
    annotation = own_annotation(project, actor.user, task_id, lock=False)
    with transaction.atomic():
        return _open_work(actor, project, annotation, via="work")


def _give_back(
    *, actor: Actor, project: Project, task_id: Any, action: str, **changes: Any
) -> Annotation:
    require_active(project)
    now = timezone.now()
    with transaction.atomic():
        annotation = own_annotation(project, actor.user, task_id, lock=True)
        if annotation.status != AnnotationStatus.LEASED:
            raise Conflict(
                f"Only a task you hold can be given back; this one is {annotation.status}.",
                code="not_leased",
            )
        for name, value in {**changes, "lease_expires_at": None, "updated_at": now}.items():
            setattr(annotation, name, value)
        annotation.save()
        return_slots(annotation.task_id)
        details = {"task_id": str(annotation.task_id)}
        if "skip_reason" in changes:
            details["reason"] = changes["skip_reason"]
        record(
            actor=actor,
            action=action,
            project_id=project.pk,
            object_type="annotation",
            object_id=str(annotation.pk),
            details=details,
        )
    return annotation


def task_skip(
    *, actor: Actor, project: Project, task_id: Any, reason: str, note: str = ""
) -> Annotation:
    """Skip a held task with a reason: its slot goes to someone else, never back to the caller."""
    if reason not in SkipReason.values:
        raise ValidationFailed(
            f"reason must be one of: {', '.join(SkipReason.values)}.",
            code="invalid_reason",
            details={"field": "reason"},
        )
    annotation_id = own_annotation(project, actor.user, task_id, lock=False).pk
    sealed_note = (
        vault.seal(project.pk, "annotation.skip_note", str(annotation_id), note) if note else None
    )
    return _give_back(
        actor=actor,
        project=project,
        task_id=task_id,
        action="annotation.skipped",
        status=AnnotationStatus.SKIPPED,
        skip_reason=reason,
        skip_note=sealed_note,
    )


def task_release(*, actor: Actor, project: Project, task_id: Any) -> Annotation:
    """Give a held task back without an answer. The queue hands it to others; the caller can
    still open it, and submit it while a slot is free (their draft is kept)."""
    return _give_back(
        actor=actor,
        project=project,
        task_id=task_id,
        action="annotation.released",
        status=AnnotationStatus.RELEASED,
    )
