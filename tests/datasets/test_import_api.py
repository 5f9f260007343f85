"""Imports through the API: every format in, precise problems out, and all or nothing."""

import csv
import io
import json
import random
from typing import Any

import pytest

import vault
from audit.models import AuditEvent
from bench.textgen import sentence
from datasets.models import Import, ImportState
from labeling.models import Task
from tests.conftest import client_for, make_project
from tests.datasets.helpers import (
    gz,
    jsonl,
    payloads,
    post_raw,
    problems_of,
    published,
    run_upload,
    upload,
)
from vault import config

pytestmark = pytest.mark.django_db


def _records(count: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    return [
        {"text": sentence(rng), "external_id": f"doc-{seed}-{i}", "priority": i % 3}
        for i in range(count)
    ]


def _csv(records: list[dict[str, Any]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(records[0]), delimiter=delimiter)
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue().encode()


FORMATS = {
    "tasks.jsonl": jsonl,
    "tasks.json": lambda records: json.dumps(records).encode(),
    "tasks.csv": _csv,
    "tasks.tsv": lambda records: _csv(records, "\t"),
    "tasks.jsonl.gz": lambda records: gz(jsonl(records)),
    "tasks.json.gz": lambda records: gz(json.dumps(records).encode()),
    "tasks.csv.gz": lambda records: gz(_csv(records)),
    "tasks.tsv.gz": lambda records: gz(_csv(records, "\t")),
}


@pytest.mark.parametrize("file_name", FORMATS)
def test_each_format_imports_every_row_encrypted(
    project, manager, file_name, django_capture_on_commit_callbacks
):
    records = _records(40)
    imp = run_upload(
        client_for(manager),
        project,
        file_name,
        FORMATS[file_name](records),
        django_capture_on_commit_callbacks,
    )
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    assert (imp.rows_read, imp.tasks_created, imp.problem_count) == (40, 40, 0)
    assert published(project).count() == 40
    assert payloads(project) == [{"text": r["text"]} for r in records]
    priorities = list(
        Task.objects.filter(project=project).order_by("seq").values_list("priority", flat=True)
    )
    assert priorities == [r["priority"] for r in records]
    # The upload itself is gone once the import finished; only tasks remain.
    assert config.blob_store().names(project_id=project.pk) == []


def test_the_answer_is_202_with_the_import_and_its_job(project, manager):
    response = upload(client_for(manager), project, "a.jsonl", jsonl(_records(3)))
    assert response.status_code == 202
    body = response.json()
    imp = body["import"]
    assert imp["state"] == "queued"
    assert imp["file_name"] == "a.jsonl"
    assert imp["format"] == "jsonl"
    assert body["job"]["id"] == imp["id"]
    assert body["job"]["url"].endswith(f"/api/v1/jobs/{imp['id']}")
    assert response["Location"] == f"/api/v1/projects/{project.pk}/imports/{imp['id']}"


def test_progress_and_counts_are_read_back_from_the_import_and_its_job(
    project, manager, django_capture_on_commit_callbacks
):
    client = client_for(manager)
    imp = run_upload(
        client, project, "a.jsonl", jsonl(_records(25)), django_capture_on_commit_callbacks
    )
    body = client.get(f"/api/v1/projects/{project.pk}/imports/{imp.pk}").json()
    assert body["state"] == "succeeded"
    assert body["progress"] == 1.0
    assert body["tasks_created"] == 25
    assert body["rows_read"] == 25
    assert body["bytes_read"] == body["upload_bytes"] > 0
    job = client.get(f"/api/v1/jobs/{imp.pk}").json()
    assert job["kind"] == "import"
    assert job["state"] == "succeeded"
    assert job["counts"]["tasks_created"] == 25
    listing = client.get(f"/api/v1/projects/{project.pk}/imports/").json()
    assert [row["id"] for row in listing["results"]] == [str(imp.pk)]


def test_the_data_browser_lists_without_content_and_opening_a_task_is_audited(
    project, manager, django_capture_on_commit_callbacks
):
    client = client_for(manager)
    records: list[dict[str, Any]] = [
        {
            "text": "first",
            "external_id": "a-1",
            "metadata": {"source": "ward 3"},
            "prediction": {"result": {"label": "positive"}, "model": "m-1", "score": 0.8},
            "gold": {"label": "negative"},
        },
        {"text": "second"},
    ]
    imp = run_upload(client, project, "a.jsonl", jsonl(records), django_capture_on_commit_callbacks)
    listing = client.get(f"/api/v1/projects/{project.pk}/tasks/").json()["results"]
    assert [row["row"] for row in listing] == [1, 2]
    assert listing[0]["is_gold"]
    assert listing[0]["has_prediction"]
    assert not listing[1]["is_gold"]
    assert not listing[1]["has_prediction"]
    assert all(row["import_id"] == str(imp.pk) for row in listing)
    assert "first" not in json.dumps(listing)
    reads = AuditEvent.objects.filter(action="task.read").count()
    task = client.get(f"/api/v1/projects/{project.pk}/tasks/{listing[0]['id']}").json()
    assert task["data"] == {"text": "first"}
    assert task["external_id"] == "a-1"
    assert task["metadata"] == {"source": "ward 3"}
    assert task["prediction"] == records[0]["prediction"]
    assert task["gold"] == {"label": "negative"}
    assert AuditEvent.objects.filter(action="task.read").count() == reads + 1
    gold_only = client.get(f"/api/v1/projects/{project.pk}/tasks/?gold=true").json()["results"]
    assert [row["id"] for row in gold_only] == [listing[0]["id"]]
    by_import = client.get(f"/api/v1/projects/{project.pk}/tasks/?import={imp.pk}").json()
    assert len(by_import["results"]) == 2


def test_csv_columns_are_mapped_to_fields(project, manager, django_capture_on_commit_callbacks):
    body = b"review,id,stars,source\nnice work,r1,5,web\nslow,r2,1,app\n"
    imp = run_upload(
        client_for(manager),
        project,
        "reviews.csv",
        body,
        django_capture_on_commit_callbacks,
        mapping=json.dumps(
            {"review": "text", "id": "external_id", "stars": None, "source": "metadata.source"}
        ),
    )
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    assert payloads(project) == [{"text": "nice work"}, {"text": "slow"}]
    task = Task.objects.filter(project=project).order_by("seq")[0]
    payload = vault.unseal(project.pk, "task.payload", str(task.pk), task.payload)
    assert payload == {
        "data": {"text": "nice work"},
        "external_id": "r1",
        "metadata": {"source": "web"},
    }


def test_an_unmapped_csv_column_fails_the_import_naming_it(
    project, manager, django_capture_on_commit_callbacks
):
    imp = run_upload(
        client_for(manager),
        project,
        "reviews.csv",
        b"text,stars\nnice,5\n",
        django_capture_on_commit_callbacks,
    )
    assert imp.state == ImportState.FAILED
    assert [p["field"] for p in imp.problems] == ["stars"]
    assert published(project).count() == 0


# --- Duplicates -------------------------------------------------------------------------------


def test_duplicates_are_skipped_within_the_file_and_against_the_project(
    project, manager, django_capture_on_commit_callbacks
):
    client = client_for(manager)
    first = run_upload(
        client,
        project,
        "a.jsonl",
        jsonl([{"text": "one"}, {"text": "two"}, {"text": "one"}]),
        django_capture_on_commit_callbacks,
    )
    assert (first.tasks_created, first.duplicates_skipped) == (2, 1)
    second = run_upload(
        client,
        project,
        "b.jsonl",
        jsonl([{"text": "two"}, {"text": "three"}]),
        django_capture_on_commit_callbacks,
    )
    assert (second.tasks_created, second.duplicates_skipped) == (1, 1)
    assert sorted(p["text"] for p in payloads(project)) == ["one", "three", "two"]


def test_duplicates_fail_the_import_when_asked_to(
    project, manager, django_capture_on_commit_callbacks
):
    client = client_for(manager)
    run_upload(
        client, project, "a.jsonl", jsonl([{"text": "one"}]), django_capture_on_commit_callbacks
    )
    imp = run_upload(
        client,
        project,
        "b.jsonl",
        jsonl([{"text": "new"}, {"text": "new"}, {"text": "one"}]),
        django_capture_on_commit_callbacks,
        on_duplicate="reject",
    )
    assert imp.state == ImportState.FAILED
    assert problems_of(imp) == [
        ("line 2", "duplicate_task", None),
        ("line 3", "duplicate_task", None),
    ]
    assert published(project).count() == 1


def test_duplicate_fingerprints_are_keyed_not_plain_hashes(
    project, manager, django_capture_on_commit_callbacks
):
    import hashlib

    run_upload(
        client_for(manager),
        project,
        "a.jsonl",
        jsonl([{"text": "one"}]),
        django_capture_on_commit_callbacks,
    )
    task = Task.objects.get(project=project)
    plain = hashlib.sha256(b'{"text":"one"}').digest()
    assert bytes(task.fingerprint) not in (plain, plain[:16])
    other = make_project(project.created_by, name="Other")
    assert vault.fingerprinter(other.pk, "task.payload").digest(b'{"text":"one"}') != bytes(
        task.fingerprint
    )


def test_external_ids_are_unique_per_project(project, manager, django_capture_on_commit_callbacks):
    client = client_for(manager)
    run_upload(
        client,
        project,
        "a.jsonl",
        jsonl([{"text": "one", "external_id": "x"}]),
        django_capture_on_commit_callbacks,
    )
    imp = run_upload(
        client,
        project,
        "b.jsonl",
        jsonl(
            [
                {"text": "two", "external_id": "y"},
                {"text": "three", "external_id": "y"},
                {"text": "four", "external_id": "x"},
            ]
        ),
        django_capture_on_commit_callbacks,
    )
    assert imp.state == ImportState.FAILED
    assert problems_of(imp) == [
        ("line 2", "duplicate_external_id", "external_id"),
        ("line 3", "duplicate_external_id", "external_id"),
    ]
    assert published(project).count() == 1


# --- Bad input ----------------------------------------------------------------------------------

BAD = [
    ("bad.jsonl", b'{"text": "ok"}\n{"text": \n', [("line 2", "invalid_json", None)]),
    ("bad.jsonl", b'{"text": "ok"}\n{"txt": "x"}\n', None),
    ("bad.jsonl", b'{"text": 5}\n', [("line 1", "wrong_type", "text")]),
    ("bad.jsonl", b'{"text": "a", "priority": "high"}\n', [("line 1", "wrong_type", "priority")]),
    ("bad.csv", b"text,external_id\nok,1\nragged\n", [("line 3", "ragged_row", None)]),
    ("bad.csv", "text\nok\n".encode("utf-16"), None),
    ("bad.jsonl", b'{"text": "caf\xe9"}\n', None),
    ("bad.json", b'[{"text": "a"}, {"text": ', None),
    ("bad.csv", b"\x89PNG\r\n\x1a\n" + bytes(200), None),
    ("bad.jsonl.gz", b'{"text": "not compressed"}\n', None),
]


@pytest.mark.parametrize(("file_name", "body", "expected"), BAD)
def test_bad_input_fails_the_import_precisely_and_creates_nothing(
    project, manager, file_name, body, expected, django_capture_on_commit_callbacks
):
    imp = run_upload(
        client_for(manager), project, file_name, body, django_capture_on_commit_callbacks
    )
    assert imp.state == ImportState.FAILED
    assert imp.problem_count >= 1
    assert imp.problems
    assert imp.error == imp.problems[0]["code"]
    if expected is not None:
        assert problems_of(imp) == expected
    assert Task.objects.filter(project=project).count() == 0
    assert config.blob_store().names(project_id=project.pk) == []


def test_missing_field_and_over_long_value_are_named(
    project, manager, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_TASK_BYTES = 1024
    body = jsonl([{"text": "fine"}, {"priority": 1}, {"text": "x" * 2000}])
    imp = run_upload(
        client_for(manager), project, "a.jsonl", body, django_capture_on_commit_callbacks
    )
    assert problems_of(imp) == [("line 2", "missing_field", "text"), ("line 3", "too_long", "text")]


def test_the_first_hundred_problems_are_listed_and_all_are_counted(
    project, manager, django_capture_on_commit_callbacks
):
    body = b"".join(b'{"text": 1}\n' for _ in range(250))
    imp = run_upload(
        client_for(manager), project, "a.jsonl", body, django_capture_on_commit_callbacks
    )
    assert imp.problem_count == 250
    assert len(imp.problems) == 100
    assert imp.problems[99]["where"] == "line 100"
    assert "250 problems" in imp.error_message


def test_a_file_over_the_row_limit_is_refused(
    project, manager, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_ROWS = 10
    imp = run_upload(
        client_for(manager),
        project,
        "a.jsonl",
        jsonl(_records(11)),
        django_capture_on_commit_callbacks,
    )
    assert imp.state == ImportState.FAILED
    assert imp.error == "too_many_rows"
    assert Task.objects.filter(project=project).count() == 0


def test_an_upload_over_the_size_limit_is_413_and_leaves_nothing(project, manager, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 2048
    response = upload(client_for(manager), project, "a.jsonl", jsonl(_records(40)))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "upload_too_large"
    assert Import.objects.count() == 0
    assert config.blob_store().names(project_id=project.pk) == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"file_name": "tasks.xlsx"}, "file_name"),
        ({"file_name": "tasks.zip"}, "file_name"),
        ({"file_name": "a.jsonl", "on_duplicate": "merge"}, "on_duplicate"),
        ({"file_name": "a.jsonl", "mapping": '{"a": "text"}'}, "mapping"),
        ({"file_name": "a.csv", "mapping": "[1]"}, "mapping"),
        ({}, "file_name"),
    ],
)
def test_bad_parameters_are_400_before_anything_is_stored(project, manager, params, field):
    from urllib.parse import urlencode

    response = post_raw(
        client_for(manager),
        f"/api/v1/projects/{project.pk}/imports/?{urlencode(params)}",
        b'{"text": "a"}\n',
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["field"] == field
    assert Import.objects.count() == 0


def test_an_empty_upload_and_a_form_upload_are_refused(project, manager):
    client = client_for(manager)
    assert upload(client, project, "a.jsonl", b"").status_code == 400
    response = client.post(
        f"/api/v1/projects/{project.pk}/imports/?file_name=a.jsonl",
        {"file": io.BytesIO(b'{"text": "a"}\n')},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "raw_body_expected"


# --- Cancel and delete --------------------------------------------------------------------------


def test_a_queued_import_is_cancelled_at_once_and_its_upload_deleted(project, manager):
    client = client_for(manager)
    imp_id = upload(client, project, "a.jsonl", jsonl(_records(3))).json()["import"]["id"]
    response = client.post(f"/api/v1/projects/{project.pk}/imports/{imp_id}/cancel")
    assert response.status_code == 202
    assert response.json()["state"] == "cancelled"
    assert config.blob_store().names(project_id=project.pk) == []
    again = client.post(f"/api/v1/projects/{project.pk}/imports/{imp_id}/cancel")
    assert again.status_code == 409
    from datasets.imports import import_run

    assert import_run(import_id=Import.objects.get(pk=imp_id).pk).state == "cancelled"
    assert Task.objects.count() == 0


def test_deleting_an_imports_tasks_leaves_the_other_imports(
    project, manager, django_capture_on_commit_callbacks
):
    client = client_for(manager)
    first = run_upload(
        client, project, "a.jsonl", jsonl(_records(5, seed=1)), django_capture_on_commit_callbacks
    )
    run_upload(
        client, project, "b.jsonl", jsonl(_records(3, seed=2)), django_capture_on_commit_callbacks
    )
    response = client.delete(f"/api/v1/projects/{project.pk}/imports/{first.pk}/tasks")
    assert response.status_code == 200
    assert response.json() == {"deleted": 5}
    assert Task.objects.filter(project=project).count() == 3
    assert AuditEvent.objects.filter(action="import.tasks_deleted").count() == 1
    body = client.get(f"/api/v1/projects/{project.pk}/imports/{first.pk}").json()
    assert body["tasks_deleted_at"] is not None


def test_annotators_cannot_import_nor_browse(project, annotator, reviewer, viewer):
    for user in (annotator, reviewer, viewer):
        client = client_for(user)
        assert upload(client, project, "a.jsonl", jsonl(_records(1))).status_code == 403
        assert client.get(f"/api/v1/projects/{project.pk}/tasks/").status_code == 403
        assert client.get(f"/api/v1/projects/{project.pk}/imports/").status_code == 403
    assert Import.objects.count() == 0


def test_audit_events_tell_the_story_of_an_import(
    project, manager, django_capture_on_commit_callbacks
):
    run_upload(
        client_for(manager),
        project,
        "a.jsonl",
        jsonl(_records(4)),
        django_capture_on_commit_callbacks,
    )
    run_upload(
        client_for(manager),
        project,
        "b.jsonl",
        b'{"text": 1}\n',
        django_capture_on_commit_callbacks,
    )
    events = list(
        AuditEvent.objects.filter(action__startswith="import.")
        .order_by("seq")
        .values_list("action", "outcome")
    )
    assert events == [
        ("import.created", "success"),
        ("import.succeeded", "success"),
        ("import.created", "success"),
        ("import.failed", "failure"),
    ]
    succeeded = AuditEvent.objects.get(action="import.succeeded")
    assert succeeded.details["tasks_created"] == 4


def test_an_imports_tasks_are_deleted_once(project, manager, django_capture_on_commit_callbacks):
    client = client_for(manager)
    imp = run_upload(
        client, project, "a.jsonl", jsonl(_records(2)), django_capture_on_commit_callbacks
    )
    url = f"/api/v1/projects/{project.pk}/imports/{imp.pk}/tasks"
    assert client.delete(url).status_code == 200
    again = client.delete(url)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "tasks_deleted"
    assert AuditEvent.objects.filter(action="import.tasks_deleted").count() == 1


def test_a_repeated_external_id_in_a_valid_file_is_named_by_its_line(
    project, manager, django_capture_on_commit_callbacks
):
    body = jsonl(
        [{"text": "a", "external_id": "e"}, {"text": "b"}, {"text": "c", "external_id": "e"}]
    )
    imp = run_upload(
        client_for(manager), project, "a.jsonl", body, django_capture_on_commit_callbacks
    )
    assert imp.state == ImportState.FAILED
    assert problems_of(imp) == [("line 3", "duplicate_external_id", "external_id")]
    assert Task.objects.filter(project=project).count() == 0
