"""A rolled-back action leaves no event: real services that record, then fail in the same
transaction. The tests run in real transactions (not the test's savepoint), so what is checked
is what a commit or a ROLLBACK leaves in the database.
"""

from typing import Any

import pytest
from django.db import connection, transaction
from rest_framework.test import APIClient

from audit import chain
from audit.models import AuditChainHead, AuditEvent
from audit.services import Actor
from audit.verify import verify
from labeling import annotations, queue
from labeling.models import Annotation, AnnotationStatus
from projects import services
from projects.models import Project, Role
from tests.conftest import add_member, make_project
from tests.factories import CLASSIFICATION_SCHEMA, make_user
from tests.labeling.work import make_task
from vault import config
from vault.errors import KeyProviderUnavailable

pytestmark = pytest.mark.django_db(transaction=True)


class Inserts:
    """Watches the statements the connection runs: the audit events it inserts, by action."""

    def __init__(self) -> None:
        self.actions: list[str] = []
        self.table = AuditEvent._meta.db_table

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        result = execute(sql, params, many, context)
        # A plain INSERT (SQLite), or the statement that appends in one go (PostgreSQL), which
        # inserts nothing when it finds no chain head to lock.
        if f"INSERT INTO {self.table} " in sql and context["cursor"].rowcount == 1:
            if isinstance(params, dict):
                self.actions.append(params["action"])
            else:
                columns = [field.attname for field in AuditEvent._meta.concrete_fields]
                self.actions.append(params[columns.index("action")])
        return result


def _heads() -> list[tuple[int, int, str]]:
    return list(AuditChainHead.objects.order_by("chain").values_list("chain", "length", "hash"))


@pytest.fixture
def key_provider_down(settings, vault_dirs):
    """The master keyring is configured, but missing: every key operation fails (503)."""
    settings.LABELKEEP_MASTER_KEY_GENERATE = False
    settings.LABELKEEP_MASTER_KEY_FILE = vault_dirs / "absent"
    config.reset()


def test_a_project_whose_key_cannot_be_made_leaves_no_event(admin, key_provider_down):
    # project_create records project.created, then creates the project's key (outside the
    # database), which fails: the event was written (on PostgreSQL it waits for the commit,
    # so it never reaches the database), and goes with the rollback.
    heads = _heads()
    inserts = Inserts()
    with connection.execute_wrapper(inserts), pytest.raises(KeyProviderUnavailable):
        services.project_create(
            actor=Actor.system(user=admin), name="Doomed", label_schema=CLASSIFICATION_SCHEMA
        )
    deferred = connection.vendor == "postgresql" and chain._process.heads_created
    assert inserts.actions == ([] if deferred else ["project.created"])
    assert not AuditEvent.objects.filter(action="project.created").exists()
    assert not Project.objects.filter(name="Doomed").exists()
    assert _heads() == heads
    assert verify().ok


def test_the_api_answers_503_and_records_nothing_when_the_action_rolls_back(
    admin, key_provider_down
):
    client = APIClient()
    client.force_login(admin)
    body = {"name": "Doomed", "label_schema": CLASSIFICATION_SCHEMA}
    response = client.post("/api/v1/projects/", body, format="json")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "key_provider_unavailable"
    # Not a refusal either: nothing at all is on the record.
    assert list(AuditEvent.objects.values_list("action", flat=True)) == []


@transaction.atomic
def _submit_then_fail(actor: Actor, project: Project, task_id: Any, seen: list[int]) -> None:
    result = {"labels": ["Positive"]}
    annotations.annotation_submit(actor=actor, project=project, task_id=task_id, result=result)
    seen.append(AuditEvent.objects.filter(action="annotation.submitted").count())
    raise RuntimeError("a later step of the same transaction failed")


def test_a_submit_whose_transaction_fails_later_leaves_no_event(admin):
    project = make_project(admin)
    annotator = add_member(project, make_user(email="ann@lab.test"), Role.ANNOTATOR)
    actor = Actor.system(user=annotator)
    task = make_task(project, {"text": "a task"})
    queue.next_task(actor=actor, project=project)
    heads, before = _heads(), AuditEvent.objects.count()
    seen: list[int] = []
    with pytest.raises(RuntimeError, match="later step"):
        _submit_then_fail(actor, project, task.pk, seen)
    assert seen == [1]  # recorded inside the transaction, with the answer...
    # ...and gone with it: the answer, its event, and the chain's move.
    assert not AuditEvent.objects.filter(action="annotation.submitted").exists()
    assert AuditEvent.objects.count() == before
    assert Annotation.objects.get(task=task, annotator=annotator).status == AnnotationStatus.LEASED
    assert _heads() == heads
    # The chain goes on from where it was, and verifies.
    annotations.annotation_submit(
        actor=actor, project=project, task_id=task.pk, result={"labels": ["Positive"]}
    )
    assert AuditEvent.objects.filter(action="annotation.submitted").count() == 1
    assert verify().ok
