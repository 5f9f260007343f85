"""Rows of a verified file: the reader follows the manifest's file, and the temporary folder
goes as soon as the rows are read, closed or dropped."""

import gc

import pytest
from labelkeep_client import UnsupportedFormat
from labelkeep_client.rows import Rows, row_kind

JSONL = b'{"task_id":"1","result":{"labels":["Positive"]}}\n{"task_id":"2","result":null}\n'
CSV = b'task_id,label\r\n1,Positive\r\n2,"Neg, ""quoted"""\r\n'


def manifest(name, media_type):
    return {"format": name.rsplit(".", 1)[-1], "file": {"name": name, "media_type": media_type}}


def rows_of(tmp_path, data, name, media_type):
    workdir = tmp_path / "work"
    workdir.mkdir()
    path = workdir / name
    path.write_bytes(data)
    return Rows(path, manifest(name, media_type), workdir=workdir), workdir


@pytest.mark.parametrize(
    ("name", "media_type", "kind"),
    [
        ("p-v1.jsonl", "application/x-ndjson", "jsonl"),
        ("p-v1.txt", "application/jsonl", "jsonl"),
        ("p-v1.csv", "text/csv; charset=utf-8", "csv"),
        ("p-v1.parquet", "application/vnd.apache.parquet", None),
        ("p-v1.tar", "application/x-tar", None),
        ("p-v1.json", "application/json", None),
    ],
)
def test_the_reader_follows_the_file_name_and_media_type(name, media_type, kind):
    assert row_kind(manifest(name, media_type)) == kind


def test_jsonl_rows_are_dicts_and_the_folder_goes_when_they_are_read(tmp_path):
    rows, workdir = rows_of(tmp_path, JSONL, "p-v1.jsonl", "application/x-ndjson")
    assert list(rows) == [
        {"task_id": "1", "result": {"labels": ["Positive"]}},
        {"task_id": "2", "result": None},
    ]
    assert not workdir.exists()


def test_csv_rows_are_dicts_by_header(tmp_path):
    rows, workdir = rows_of(tmp_path, CSV, "p-v1.csv", "text/csv")
    with rows:
        assert list(rows) == [
            {"task_id": "1", "label": "Positive"},
            {"task_id": "2", "label": 'Neg, "quoted"'},
        ]
    assert not workdir.exists()


def test_rows_closed_early_leave_no_folder(tmp_path):
    rows, workdir = rows_of(tmp_path, JSONL, "p-v1.jsonl", "application/x-ndjson")
    with rows:
        assert next(rows)["task_id"] == "1"
    assert not workdir.exists()


def test_rows_dropped_unread_leave_no_folder(tmp_path):
    rows, workdir = rows_of(tmp_path, JSONL, "p-v1.jsonl", "application/x-ndjson")
    assert workdir.exists()
    del rows
    gc.collect()
    assert not workdir.exists()


def test_a_file_that_is_not_rows_asks_for_a_destination(tmp_path):
    with pytest.raises(UnsupportedFormat, match="dest"):
        rows_of(tmp_path, b"PAR1", "p-v1.parquet", "application/vnd.apache.parquet")
