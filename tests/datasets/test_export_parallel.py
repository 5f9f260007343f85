"""A version built by helper processes (datasets/exports/parallel.py): the same bytes and the
same provenance as one process writes; a helper that dies or fails fails the version with what
a single process would say; no helper outlives its build.

PostgreSQL only: the helpers read through connections of their own, which an embedded SQLite
database under test (in memory) cannot give them. CI runs these on PostgreSQL.
"""

import json
import os
import signal
from functools import partial
from itertools import islice
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from audit.services import Actor
from datasets.exports import parallel, versions, windows
from datasets.exports import rows as rows_module
from datasets.exports.filters import filter_parse
from datasets.exports.formats.base import encode_lines
from datasets.exports.rows import RowReader
from datasets.models import DatasetVersion
from labeling.models import Annotation
from projects import services
from projects.models import Role
from tests.conftest import add_member
from tests.factories import make_user
from tests.labeling.work import annotate_all, make_texts
from vault import config

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="helpers read through their own connections"
    ),
]

TASKS = 10


@pytest.fixture
def answered(lab, monkeypatch):
    """Ten tasks answered by two annotators (overlap 2), read in windows of three tasks (four
    windows: more than the helpers, so each takes more than one)."""
    monkeypatch.setattr(rows_module, "windows", partial(windows.windows, batch=3))
    monkeypatch.setattr(parallel, "window_bounds", partial(windows.window_bounds, batch=3))
    project = lab.project
    services.project_update(
        actor=Actor.system(user=lab.admin), project=project, changes={"overlap": 2}
    )
    second = add_member(project, make_user(), Role.ANNOTATOR)
    make_texts(project, TASKS)
    labels = ("Positive", "Negative")
    annotate_all(
        project, [lab.annotator, second], lambda n, task: {"labels": [labels[(n + task.seq) % 2]]}
    )
    project.refresh_from_db()
    return project


@pytest.fixture
def forks(monkeypatch):
    """The helpers' process ids, as the build forks them."""
    pids: list[int] = []
    fork = parallel._fork

    def counted(*args: Any) -> Any:
        helper = fork(*args)
        pids.append(helper.pid)
        return helper

    monkeypatch.setattr(parallel, "_fork", counted)
    return pids


def _build(lab: Any, project: Any, settings: Any, processes: int) -> DatasetVersion:
    settings.EXPORT_PROCESSES = processes
    version = versions.version_create(
        actor=Actor.system(user=lab.admin), project=project, format_name="jsonl"
    )
    version.refresh_from_db()
    return version


def _file(version: DatasetVersion) -> bytes:
    return b"".join(config.blob_store().read(project_id=version.project_id, name=version.blob))


def _reaped(pids: list[int]) -> bool:
    """Every helper has ended and been waited for (no zombie left)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            continue
        return False
    return True


@pytest.mark.parametrize("processes", [2, 3])
def test_helpers_write_the_bytes_one_process_writes(answered, lab, settings, forks, processes):
    alone = _build(lab, answered, settings, 1)
    assert forks == []
    helped = _build(lab, answered, settings, processes)
    assert len(forks) == processes
    assert _reaped(forks)
    for version in (alone, helped):
        assert version.state == "succeeded", version.error_message
    assert helped.row_count == alone.row_count == 2 * TASKS
    assert helped.sha256 == alone.sha256
    assert _file(helped) == _file(alone)
    provenance = [json.loads(v.manifest)["annotators"] for v in (alone, helped)]
    assert provenance[0] == provenance[1]
    assert sorted(entry["rows"] for entry in provenance[0]) == [TASKS, TASKS]


def test_a_single_window_is_built_without_helpers(lab, settings, forks):
    make_texts(lab.project, 2)
    annotate_all(lab.project, [lab.annotator], lambda n, task: {"labels": ["Positive"]})
    version = _build(lab, lab.project, settings, 2)
    assert version.state == "succeeded"
    assert version.row_count == 2
    assert forks == []


def test_a_build_left_half_read_ends_its_helpers(answered, settings, forks):
    settings.EXPORT_PROCESSES = 2
    reader = RowReader(answered, filter_parse(None, answered, now=timezone.now()))
    lines = reader.lines(encode_lines)
    first = list(islice(lines, 1))
    assert first[0][1] == 6  # three tasks, two annotations each
    assert len(forks) == 2
    lines.close()  # the job failed or stopped reading
    assert _reaped(forks)


def test_a_helper_killed_fails_the_version_and_takes_the_others_down(
    answered, lab, settings, forks, monkeypatch
):
    job = os.getpid()
    window_records = RowReader.window_records
    read = {"windows": 0}

    def dying(self: RowReader, rows: list[Any]) -> list[dict[str, Any]]:
        if os.getpid() != job:  # in a helper (each has its own copy of the count)
            read["windows"] += 1
            if read["windows"] == 2:
                os.kill(os.getpid(), signal.SIGKILL)
        return window_records(self, rows)

    monkeypatch.setattr(RowReader, "window_records", dying)
    version = _build(lab, answered, settings, 2)
    assert version.state == "failed"
    assert version.error == "interrupted"
    assert "was killed (SIGKILL)" in version.error_message
    assert version.sha256 == ""
    assert _reaped(forks)


def test_an_error_in_a_helper_fails_the_version_as_in_one_process(answered, lab, settings, forks):
    # A sealed result tampered with in the database: the vault refuses to open it.
    annotation = Annotation.objects.filter(project=answered).order_by("task__seq").last()
    assert annotation is not None
    sealed = bytearray(bytes(annotation.result or b""))
    sealed[-1] ^= 1
    Annotation.objects.filter(pk=annotation.pk).update(result=bytes(sealed))
    alone = _build(lab, answered, settings, 1)
    helped = _build(lab, answered, settings, 2)
    assert len(forks) == 2
    assert _reaped(forks)
    assert alone.state == helped.state == "failed"
    assert alone.error != "internal"
    assert (helped.error, helped.error_message) == (alone.error, alone.error_message)
