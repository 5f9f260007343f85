"""JSON Lines records read in one pass (``RowReader.records``) are exactly the generic rows
(``row_record`` of each ExportRow), in the same order, with the same provenance counts, for
every filter: windows the one pass cannot take fall back to the generic reading."""

from collections import Counter
from datetime import timedelta
from functools import partial
from itertools import chain
from typing import Any

import pytest
from django.utils import timezone

from audit.services import Actor
from datasets.exports import rows as rows_module
from datasets.exports import windows
from datasets.exports.filters import filter_parse
from datasets.exports.rows import RowReader, row_record
from datasets.exports.windows import iso
from labeling import annotations
from labeling.models import Annotation
from projects import services
from projects.models import Role
from tests.conftest import add_member
from tests.factories import make_user
from tests.labeling.work import annotate_all, make_texts


class CountingReader(RowReader):
    """Counts the windows read in one pass."""

    one_pass = 0

    def _records(self, rows: list[Any]) -> list[dict[str, Any]]:
        self.one_pass += 1
        return super()._records(rows)


@pytest.fixture
def two_opinions(lab, monkeypatch):
    """Ten tasks answered by two annotators (overlap 2), who agree on every other task, read
    in windows of three tasks."""
    monkeypatch.setattr(rows_module, "windows", partial(windows.windows, batch=3))
    project = lab.project
    services.project_update(
        actor=Actor.system(user=lab.admin), project=project, changes={"overlap": 2}
    )
    second = add_member(project, make_user(), Role.ANNOTATOR)
    make_texts(project, 10)
    labels = ("Positive", "Negative")
    annotate_all(
        project,
        [lab.annotator, second],
        lambda n, task: {"labels": [labels[(n * (task.seq % 2)) % 2]]},
    )
    project.refresh_from_db()
    return project


def _both(project: Any, raw: Any, *, now: Any = None) -> tuple[list[Any], list[Any], int]:
    flt = filter_parse(raw, project, now=now or timezone.now() + timedelta(seconds=1))
    generic = RowReader(project, flt)
    expected = [row_record(row) for row in generic]
    fast = CountingReader(project, flt)
    records = list(chain.from_iterable(fast.records()))
    assert fast.annotators == generic.annotators
    return records, expected, fast.one_pass


@pytest.mark.parametrize(
    "raw", [None, {"status": "submitted"}, {"include_gold": True, "complete_only": True}]
)
def test_one_pass_gives_the_generic_records(two_opinions, raw):
    records, expected, one_pass = _both(two_opinions, raw)
    assert records == expected
    assert len(records) == 20
    assert one_pass == 4  # windows of 3, 3, 3, 1 tasks, and none of them needs the generic way
    agreements = Counter(record["agreement"] for record in records)
    assert agreements == {1.0: 10, 0.0: 10}  # computed per task, as the generic rows do
    assert [record["task_id"] for record in records[:2]] == [records[0]["task_id"]] * 2
    assert records[0]["annotator"] < records[1]["annotator"]  # a task's rows by pseudonym


def test_since_leaves_out_the_earlier_submissions_in_one_pass(two_opinions):
    mine = Annotation.objects.filter(project=two_opinions).order_by("task__seq", "submitted_at")
    cut = timezone.now()
    early = list(mine[:6])
    Annotation.objects.filter(pk__in=[a.pk for a in early]).update(
        submitted_at=cut - timedelta(hours=1)
    )
    records, expected, one_pass = _both(two_opinions, {"since": iso(cut - timedelta(minutes=1))})
    assert records == expected
    assert len(records) == 14
    assert one_pass == 4


def test_windows_with_changes_after_until_take_the_generic_way(two_opinions, lab):
    until = timezone.now()
    first = Annotation.objects.filter(project=two_opinions, annotator=lab.annotator).order_by(
        "task__seq"
    )[0]
    annotations.annotation_revise(
        actor=Actor.system(user=lab.annotator),
        project=two_opinions,
        task_id=first.task_id,
        result={"labels": ["Negative"]},
    )
    records, expected, one_pass = _both(
        two_opinions, {"until": iso(until)}, now=timezone.now() + timedelta(seconds=1)
    )
    assert records == expected
    assert len(records) == 20
    assert one_pass == 3  # the first window holds the revised annotation
    revised = next(r for r in records if r["annotation_id"] == str(first.pk))
    assert revised["revision"] == 1  # as it stood at until


def test_a_label_filter_reads_the_generic_way(two_opinions):
    records, expected, one_pass = _both(two_opinions, {"labels": ["Negative"]})
    assert records == expected
    assert 0 < len(records) < 20
    assert one_pass == 0
