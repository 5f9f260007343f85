"""The queue's lookups take the index that makes them constant-time, as PostgreSQL plans a
prepared statement (without its values) on tables that may have no statistics yet (new, or
autovacuum behind).

On a benchmark's database (24,000 annotations by 16 annotators, never analyzed) the earlier
form of the submit's lookup, scoped by ``a.project_id``, was planned on the index
annotation_mine (annotator, project) and filtered all 4,500 of the caller's annotations:
1.5 ms instead of 0.07 ms; scoped by ``t.project_id``, it was planned on task_seq (project,
seq) in a test run. Which index such a planner picks depends on the indexes' sizes, so this
test pins the plan of the current form (keys only) rather than reproducing those databases."""

import json
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from audit.services import Actor
from core import sql
from labeling import annotations, queue
from labeling.models import Annotation, AnnotationStatus, Task
from projects.models import Role
from tests.conftest import add_member, make_project
from tests.factories import make_user
from tests.labeling.work import label, make_texts

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans"),
]


def _nodes(plan: Any) -> list[Any]:
    """The plan's nodes, the root first."""
    found = [plan]
    for child in plan.get("Plans", []):
        found += _nodes(child)
    return found


def _indexes(plan: Any) -> set[str]:
    return {node["Index Name"] for node in _nodes(plan) if "Index Name" in node}


def _history(project: Any, people: list[Any], count: int) -> None:
    """``count`` submitted annotations of each person's, on tasks of their own, in bulk."""
    now = timezone.now()
    tasks = [
        Task(
            project=project,
            seq=n + 1,
            payload=b"-",
            fingerprint=n.to_bytes(16, "big"),
            created_at=now,
        )
        for n in range(count * len(people))
    ]
    Task.objects.bulk_create(tasks, batch_size=500)
    Annotation.objects.bulk_create(
        [
            Annotation(
                project=project,
                task=task,
                annotator=people[n % len(people)],
                status=AnnotationStatus.SUBMITTED,
                created_at=now,
                updated_at=now,
            )
            for n, task in enumerate(tasks)
        ],
        batch_size=500,
    )


def test_an_annotators_own_annotation_is_found_by_its_unique_entry(admin):
    project = make_project(admin)
    person = add_member(project, make_user(), Role.ANNOTATOR)
    actor = Actor.system(user=person)
    others = [add_member(project, make_user(), Role.ANNOTATOR) for _ in range(7)]
    _history(project, [person, *others], 500)
    (task,) = make_texts(project, 1)
    work = queue.next_task(actor=actor, project=project)
    assert work is not None
    assert work.task.pk == task.pk
    statement = queue._WITH_TASK.format(
        annotation=sql.columns(Annotation, "a"),
        task=sql.columns(Task, "t"),
        where=queue._OWN,
        lock=" FOR UPDATE OF a",
    )
    numbered = statement.replace("%s", "$1", 1).replace("%s", "$2", 1)
    with connection.cursor() as cursor:
        # As the server plans a statement prepared for the fifth time: without the values.
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute(f"PREPARE own_plan AS {numbered}")
        try:
            values = ", ".join(f"'{pk}'::uuid" for pk in (task.pk, person.pk))
            cursor.execute(f"EXPLAIN (FORMAT JSON) EXECUTE own_plan({values})")
            (found,) = cursor.fetchone()
        finally:
            cursor.execute("DEALLOCATE own_plan")
    plan = json.loads(found) if isinstance(found, str) else found
    assert _indexes(plan[0]["Plan"]) == {"annotation_one_each", "labeling_task_pkey"}
    # And the services find it.
    done = annotations.annotation_submit(
        actor=actor, project=project, task_id=task.pk, result=label()
    )
    assert done.status == AnnotationStatus.SUBMITTED


def test_the_queue_tables_are_vacuumed_by_count_with_their_indexes():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, reloptions FROM pg_class"
            " WHERE relname IN ('labeling_task', 'labeling_annotation')"
        )
        options = {name: set(found or []) for name, found in cursor.fetchall()}
    expected = {
        "autovacuum_vacuum_scale_factor=0",
        "autovacuum_vacuum_threshold=10000",
        "vacuum_index_cleanup=on",
    }
    assert options == {"labeling_task": expected, "labeling_annotation": expected}


def _ready_walk(project: Any, person: Any) -> int:
    """Pages a claim reads in the ready index (and the heap rows it checks) to find a task."""
    with connection.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)"
            f" {queue._CLAIM.format(lock=queue._LOCK, columns='id')}",
            [project.pk, person.pk],
        )
        (found,) = cursor.fetchone()
        cursor.execute("ROLLBACK")
    plan = json.loads(found) if isinstance(found, str) else found
    (scan,) = [n for n in _nodes(plan[0]["Plan"]) if n.get("Index Name") == "task_ready"]
    return int(scan["Shared Hit Blocks"] + scan.get("Shared Read Blocks", 0))


@pytest.mark.django_db(transaction=True)
def test_claims_step_over_claimed_tasks_until_a_vacuum(admin):
    """Each claim leaves a dead entry where the next claim's walk starts; a vacuum removes
    them (which the settings above make autovacuum do every 10,000 changed rows)."""
    project = make_project(admin)
    person = add_member(project, make_user(), Role.ANNOTATOR)
    now = timezone.now()
    Task.objects.bulk_create(
        [
            Task(
                project=project,
                seq=n + 1,
                payload=b"-",
                fingerprint=n.to_bytes(16, "big"),
                open_slots=1,
                created_at=now,
            )
            for n in range(20_000)
        ],
        batch_size=2000,
    )
    for _ in range(1000):
        assert queue._claim(project, person) is not None
    before = _ready_walk(project, person)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM labeling_task")
    after = _ready_walk(project, person)
    assert after <= 4
    assert before > 2 * after
