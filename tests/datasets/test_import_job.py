"""The import job with real commits (no test transaction around it): all or nothing at a
million rows, cancel while running, and the writer's own thread and connection."""

import io
import threading
import time

import pytest
from django.db import connection

from audit.services import Actor
from core.errors import ValidationFailed
from datasets import imports
from datasets.models import Import, ImportState
from labeling.models import Task
from tests.conftest import make_project
from tests.factories import make_user
from vault import config

pytestmark = pytest.mark.django_db(transaction=True)


def _import(project, body: bytes, file_name: str = "tasks.jsonl") -> Import:
    """Upload as the API does; on commit, the job runs (eagerly, as in every test)."""
    options = imports.import_options(project, file_name=file_name)
    actor = Actor.system(user=project.created_by)
    imp = imports.import_create(
        actor=actor, project=project, options=options, source=io.BytesIO(body)
    )
    imp.refresh_from_db()
    return imp


@pytest.fixture
def project(db):
    return make_project(make_user(email="admin@lab.test", is_staff=True))


def _lines(count: int, bad_at: int | None = None) -> bytes:
    out = io.BytesIO()
    for i in range(1, count + 1):
        if i == bad_at:
            out.write(b'{"text": 42}\n')
        else:
            out.write(b'{"text": "task number %d", "external_id": "e%d"}\n' % (i, i))
    return out.getvalue()


def test_an_import_runs_on_its_own_writer_and_publishes_everything(project):
    imp = _import(project, _lines(12_345))
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    assert imp.tasks_created == 12_345
    assert Task.objects.filter(project=project, state="open").count() == 12_345
    assert config.blob_store().names(project_id=project.pk) == []


@pytest.mark.slow
def test_an_import_failing_at_row_999_999_of_a_million_leaves_zero_tasks(project):
    imp = _import(project, _lines(1_000_000, bad_at=999_999))
    assert imp.state == ImportState.FAILED
    assert imp.problem_count == 1
    assert [(p["where"], p["code"], p["field"]) for p in imp.problems] == [
        ("line 999999", "wrong_type", "text")
    ]
    assert imp.rows_read == 1_000_000
    assert Task.objects.filter(project=project).count() == 0
    assert imp.tasks_created == 0


@pytest.mark.skipif(
    connection.vendor == "sqlite", reason="SQLite in memory cannot be shared by two writers"
)
def test_cancelling_a_running_import_stops_it_and_leaves_nothing(project):
    outcome: dict[str, Import] = {}

    def run() -> None:
        try:
            outcome["import"] = _import(project, _lines(400_000))
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while not Import.objects.filter(project=project, rows_read__gt=0).exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    imp = Import.objects.get(project=project)
    imports.import_cancel(actor=Actor.system(user=project.created_by), imp=imp)
    worker.join(timeout=120)
    finished = outcome["import"]
    assert finished.state == ImportState.CANCELLED
    assert 0 < finished.rows_read < 400_000
    assert Task.objects.filter(project=project).count() == 0
    assert config.blob_store().names(project_id=project.pk) == []


def test_a_second_delivery_of_the_job_finds_it_finished(project):
    imp = _import(project, _lines(10))
    assert imp.state == ImportState.SUCCEEDED
    again = imports.import_run(import_id=imp.pk)
    assert again.state == ImportState.SUCCEEDED
    assert again.attempts == 1
    assert Task.objects.filter(project=project).count() == 10


def test_a_repeated_external_id_fails_the_whole_transaction_and_is_named(project):
    body = _lines(20_000) + b'{"text": "the same id again", "external_id": "e7"}\n'
    imp = _import(project, body)
    assert imp.state == ImportState.FAILED
    assert [(p["where"], p["code"]) for p in imp.problems] == [
        ("line 20001", "duplicate_external_id")
    ]
    assert Task.objects.filter(project=project).count() == 0


def test_an_upload_cut_short_is_refused_and_leaves_nothing(project):
    options = imports.import_options(project, file_name="a.jsonl")
    body = _lines(100)
    with pytest.raises(ValidationFailed) as refused:
        imports.import_create(
            actor=Actor.system(user=project.created_by),
            project=project,
            options=options,
            source=io.BytesIO(body[:-10]),
            declared_size=len(body),
        )
    assert refused.value.code == "incomplete_upload"
    assert Import.objects.count() == 0
    assert config.blob_store().names(project_id=project.pk) == []
