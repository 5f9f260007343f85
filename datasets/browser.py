"""The data browser: a project's tasks listed without their content, and one task opened.

Listing shows only what is stored in clear (state, priority, counts, where the task came from):
no content is read, so nothing is unsealed. Opening a task unseals it and records a
``task.read`` event in the same transaction, so no one reads content without a trace.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

import vault
from audit.services import Actor, record
from core.errors import NotFound, ValidationFailed
from datasets.models import Import
from datasets.writers import seq_range
from labeling.models import SEQ_IMPORT_SHIFT, Task, TaskState
from projects.models import Project

LISTED_STATES = (TaskState.OPEN, TaskState.COMPLETE)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def import_get(project: Project, import_id: Any) -> Import:
    """An import of the project (scoped by its parent); NotFound alike for missing and foreign."""
    pk = _uuid_or_none(import_id)
    imp = None if pk is None else Import.objects.filter(project=project, pk=pk).first()
    if imp is None:
        raise NotFound("Import not found.", code="import_not_found")
    imp.project = project
    return imp


def import_choices(project: Project) -> list[Import]:
    """The project's imports, newest first, with what a filter or a list row shows."""
    return list(
        Import.objects.filter(project=project)
        .only("id", "number", "file_name", "state", "tasks_created", "deleted_tasks_at")
        .order_by("-number")
    )


def import_or_none(project: Project, import_id: uuid.UUID | None) -> Import | None:
    if import_id is None:
        return None
    return Import.objects.filter(project=project, pk=import_id).first()


def import_list(project: Project) -> QuerySet[Import]:
    return Import.objects.filter(project=project).select_related("created_by")


def task_list(
    project: Project,
    *,
    state: str | None = None,
    import_id: uuid.UUID | None = None,
    gold: bool | None = None,
) -> QuerySet[Task]:
    """The project's published tasks (never those of an import still running), in seq order."""
    tasks = Task.objects.filter(project=project).defer("payload", "prediction", "gold")
    if state is not None:
        if state not in LISTED_STATES:
            raise ValidationFailed(
                f"state must be one of: {', '.join(LISTED_STATES)}.",
                code="invalid_filter",
                details={"field": "state"},
            )
        tasks = tasks.filter(state=state)
    else:
        tasks = tasks.filter(state__in=LISTED_STATES)
    if import_id is not None:
        imp = Import.objects.filter(project=project, pk=import_id).first()
        if imp is None:
            raise ValidationFailed(
                "No import of this project has that id.",
                code="invalid_filter",
                details={"field": "import"},
            )
        low, high = seq_range(imp)
        tasks = tasks.filter(seq__gte=low, seq__lte=high)
    if gold is not None:
        tasks = tasks.filter(is_gold=gold)
    return tasks


def import_ids_by_number(project: Project, tasks: list[Task]) -> dict[int, uuid.UUID]:
    numbers = {task.seq >> SEQ_IMPORT_SHIFT for task in tasks}
    rows = Import.objects.filter(project=project, number__in=numbers).values_list("number", "pk")
    return dict(rows)


@dataclass(frozen=True)
class TaskContent:
    task: Task
    import_id: uuid.UUID | None
    data: Any
    external_id: str | None
    metadata: dict[str, Any] | None
    prediction: Any
    gold: Any


def _task_get(project: Project, task_id: Any) -> Task:
    pk = _uuid_or_none(task_id)
    task = (
        None
        if pk is None
        else Task.objects.filter(project=project, pk=pk, state__in=LISTED_STATES).first()
    )
    if task is None:
        raise NotFound("Task not found.", code="task_not_found")
    return task


def task_open(*, actor: Actor, project: Project, task_id: Any) -> TaskContent:
    """One task with its content, unsealed for a manager; recorded as ``task.read``."""
    task = _task_get(project, task_id)
    object_id = str(task.pk)
    payload = vault.unseal(project.pk, "task.payload", object_id, task.payload)
    content = TaskContent(
        task=task,
        import_id=import_ids_by_number(project, [task]).get(task.import_number),
        data=payload["data"],
        external_id=payload.get("external_id"),
        metadata=payload.get("metadata"),
        prediction=None
        if task.prediction is None
        else vault.unseal(project.pk, "task.prediction", object_id, task.prediction),
        gold=None
        if task.gold is None
        else vault.unseal(project.pk, "task.gold", object_id, task.gold),
    )
    with transaction.atomic():
        record(
            actor=actor,
            action="task.read",
            project_id=project.pk,
            object_type="task",
            object_id=object_id,
            details={"with_gold": task.is_gold},
        )
    return content
