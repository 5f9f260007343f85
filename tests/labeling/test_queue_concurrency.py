"""Concurrency on PostgreSQL: 32 annotators, each on its own connection, drain a project.

Every annotator loops "next, then submit" (sometimes "next, then release") until no task of
the project is open (a task another annotator holds may come back). Afterwards no slot was
handed out twice, no annotator had a task twice, no task is stranded, and every task has
exactly k annotations.
"""

import random
import threading
import time
from collections import Counter

import pytest
from django.db import connection, connections

from audit.services import Actor
from labeling import annotations, queue
from labeling.models import Annotation, AnnotationStatus, Task
from projects.models import Role
from tests.conftest import add_member, make_project
from tests.factories import make_user
from tests.labeling.work import make_texts

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="SKIP LOCKED concurrency needs PostgreSQL"
    ),
]

ANNOTATORS = 32
TASKS = 120


def _work(project, person, seed: int, errors: list[BaseException]) -> None:
    rng = random.Random(seed)
    actor = Actor.system(user=person)
    deadline = time.monotonic() + 240
    try:
        while True:
            work = queue.next_task(actor=actor, project=project)
            if work is None:
                # Nothing for this annotator now; a task another holds may yet be released.
                unfinished = Task.objects.filter(project=project, state="open").exists()
                if not unfinished or time.monotonic() > deadline:
                    return
                time.sleep(0.01)
                continue
            task_id = work.task.pk
            if rng.random() < 0.1:
                queue.task_release(actor=actor, project=project, task_id=task_id)
                continue
            annotations.annotation_submit(
                actor=actor, project=project, task_id=task_id, result={"labels": ["Positive"]}
            )
    except BaseException as error:  # noqa: BLE001 (reported by the test)
        errors.append(error)
    finally:
        connections.close_all()


@pytest.mark.parametrize("overlap", [1, 3])
def test_concurrent_annotators_drain_a_project_exactly(admin, overlap):
    project = make_project(admin, name=f"Drain {overlap}", overlap=overlap)
    people = [add_member(project, make_user(), Role.ANNOTATOR) for _ in range(ANNOTATORS)]
    tasks = make_texts(project, TASKS)
    errors: list[BaseException] = []
    threads = [
        threading.Thread(target=_work, args=(project, person, n, errors))
        for n, person in enumerate(people)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not errors, errors[:3]
    submitted = Annotation.objects.filter(project=project, status=AnnotationStatus.SUBMITTED)
    per_task = Counter(submitted.values_list("task_id", flat=True))
    assert set(per_task) == {task.pk for task in tasks}, "stranded tasks"
    assert set(per_task.values()) == {overlap}, "a task got more or fewer than k annotations"
    pairs = Counter(Annotation.objects.filter(project=project).values_list("task", "annotator"))
    assert max(pairs.values()) == 1, "an annotator had a task twice"
    states = Counter(Task.objects.filter(project=project).values_list("state", "open_slots"))
    assert states == {("complete", 0): TASKS}
    assert not Annotation.objects.filter(project=project, status=AnnotationStatus.LEASED).exists()
