"""Tasks made directly (sealed through the vault as an import seals them) and API shortcuts
for the work's tests."""

import uuid
from typing import Any

from rest_framework.test import APIClient

import vault
from labeling.models import SEQ_IMPORT_SHIFT, Task
from projects.models import Project

_rows = iter(range(1, 1 << 31))


def make_task(
    project: Project,
    data: dict[str, Any],
    *,
    gold: Any = None,
    prediction: Any = None,
    priority: int = 0,
) -> Task:
    task_id = uuid.uuid4()
    oid = str(task_id)
    canonical = repr(sorted(data.items())) + oid  # unique per task, like a payload's fingerprint
    return Task.objects.create(
        id=task_id,
        project=project,
        seq=(1 << SEQ_IMPORT_SHIFT) + next(_rows),
        priority=priority,
        payload=vault.seal(project.pk, "task.payload", oid, {"data": data}),
        prediction=None
        if prediction is None
        else vault.seal(project.pk, "task.prediction", oid, prediction),
        gold=None if gold is None else vault.seal(project.pk, "task.gold", oid, gold),
        is_gold=gold is not None,
        fingerprint=vault.fingerprinter(project.pk, "task.payload").text(canonical),
        open_slots=0 if gold is not None else project.overlap,
        created_at=project.created_at,
    )


def make_texts(project: Project, count: int, **kwargs: Any) -> list[Task]:
    return [make_task(project, {"text": f"text {i}"}, **kwargs) for i in range(count)]


def base(project: Project) -> str:
    return f"/api/v1/projects/{project.pk}"


def next_task(client: APIClient, project: Project, **body: Any) -> Any:
    return client.post(f"{base(project)}/next", body, format="json")


def submit(client: APIClient, project: Project, task_id: Any, result: Any, **extra: Any) -> Any:
    return client.post(
        f"{base(project)}/tasks/{task_id}/annotations/",
        {"result": result, **extra},
        format="json",
    )


def label(name: str = "Positive") -> dict[str, Any]:
    return {"labels": [name]}


def annotate_all(project: Project, people: list[Any], answer: Any) -> None:
    """Each person takes every task the queue gives them and submits ``answer(n, task)``
    (n: the person's index); with overlap = len(people), everyone answers every task."""
    from audit.services import Actor
    from labeling import annotations, queue

    for n, person in enumerate(people):
        actor = Actor.system(user=person)
        while (work := queue.next_task(actor=actor, project=project)) is not None:
            annotations.annotation_submit(
                actor=actor, project=project, task_id=work.task.pk, result=answer(n, work.task)
            )
