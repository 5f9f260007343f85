"""The Parquet writer's memory: row groups bounded in rows and in bytes, Arrow's peak measured in
a process of its own, and files of many row groups that read back with the same rows."""

import dataclasses
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from datasets.exports.formats import FORMATS
from datasets.exports.formats.tabular import (
    ARROW_BATCH_BYTES,
    ROW_GROUP_BYTES,
    ROW_GROUP_ROWS,
    parquet_schema,
)
from datasets.exports.rows import ExportContext, ExportRow, ImageInfo

ROOT = Path(__file__).resolve().parents[2]
LABELS = ("positive", "negative", "neutral")


def context(task_type: str) -> ExportContext:
    return ExportContext(
        project_name="Memory",
        task_type=task_type,
        label_schema={"labels": [{"name": name} for name in LABELS]},
        instructions="",
        version_name="v1",
        options={},
    )


def make_row(index: int, text: str, *, boxes: bool = False) -> ExportRow:
    return ExportRow(
        task_id=f"00000000-0000-4000-8000-{index:012d}",
        external_id=None if index % 7 == 0 else f"t{index}",
        data={"image": f"img-{index}.png"} if boxes else {"text": text},
        metadata=None if index % 5 == 0 else {"priority": index % 5, "big": 2**70 + index},
        annotation_id=f"10000000-0000-4000-8000-{index:012d}",
        annotator=f"ann-{index % 8}",
        result={"labels": [LABELS[index % 3]]},
        review_state="accepted" if index % 2 else "",
        revision=1 + index % 3,
        time_spent=index / 8,
        submitted_at=f"2026-11-27T10:{index // 60 % 60:02d}:{index % 60:02d}Z",
        agreement=None if index % 4 == 0 else (index % 100) / 100,
        is_gold=index % 11 == 0,
        image=ImageInfo(f"file-{index % 3}", f"img-{index}.png", 640, 480 + index % 2)
        if boxes and index % 6
        else None,
    )


def rows(count: int, *, length: int = 40, boxes: bool = False) -> Iterator[ExportRow]:
    for index in range(count):
        yield make_row(index, f"Zoë {index} " + "x" * length, boxes=boxes)


def write(task_type: str, source: Iterator[ExportRow]) -> bytes:
    out = io.BytesIO()
    FORMATS["parquet"].write(source, out, context(task_type))
    return out.getvalue()


def json_cell(value: Any) -> str | None:
    """The JSON text the writer stores: sorted keys, compact, UTF-8 as is."""
    return (
        None
        if value is None
        else json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    )


def expected(row: ExportRow, *, boxes: bool = False) -> dict[str, Any]:
    record: dict[str, Any] = {
        "task_id": row.task_id,
        "external_id": row.external_id,
        "annotation_id": row.annotation_id,
        "annotator": row.annotator,
        "review_state": row.review_state,
        "revision": row.revision,
        "time_spent": row.time_spent,
        "submitted_at": row.submitted_at,
        "agreement": row.agreement,
        "is_gold": row.is_gold,
        "data": json_cell(row.data),
        "metadata": json_cell(row.metadata),
        "result": json_cell(row.result),
    }
    if boxes:
        image = row.image
        record["image"] = None if image is None else dataclasses.asdict(image)
    return record


def decoded(data: bytes) -> list[dict[str, Any]]:
    return pq.read_table(io.BytesIO(data)).to_pylist()


def test_many_row_groups_read_back_with_the_same_rows_and_schema():
    count = 2 * ROW_GROUP_ROWS + 123
    data = write("classification", rows(count))
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [
        ROW_GROUP_ROWS,
        ROW_GROUP_ROWS,
        123,
    ]
    assert pq.read_schema(io.BytesIO(data)) == parquet_schema("classification")
    assert decoded(data) == [expected(row) for row in rows(count)]


def test_box_rows_across_row_groups_keep_their_images():
    count = ROW_GROUP_ROWS + 50
    data = write("boxes", rows(count, boxes=True))
    assert pq.read_schema(io.BytesIO(data)) == parquet_schema("boxes")
    assert decoded(data) == [expected(row, boxes=True) for row in rows(count, boxes=True)]


def test_long_texts_close_a_row_group_by_its_bytes():
    # 4,000 characters a row: 20 MB of text, more than one row group may hold.
    data = write("classification", rows(5_000, length=4_000))
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    sizes = [metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups)]
    assert len(sizes) >= 2
    assert max(sizes) < ROW_GROUP_BYTES + ARROW_BATCH_BYTES + (1 << 20), sizes
    assert sum(metadata.row_group(i).num_rows for i in range(len(sizes))) == 5_000
    assert decoded(data) == [expected(row) for row in rows(5_000, length=4_000)]


def test_ids_and_texts_are_written_without_a_dictionary():
    data = write("boxes", rows(2_000, boxes=True))
    group = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)
    encodings = {
        group.column(i).path_in_schema: group.column(i).encodings for i in range(group.num_columns)
    }
    for plain in ("task_id", "external_id", "annotation_id", "time_spent", "data"):
        assert "RLE_DICTIONARY" not in encodings[plain], plain
    for coded in ("annotator", "review_state", "result", "image.id", "image.file_name"):
        assert "RLE_DICTIONARY" in encodings[coded], coded


MEASURE = """
import json, sys
import django
django.setup()
import pyarrow as pa
from tests.datasets.test_export_parquet_memory import context, rows
from datasets.exports.formats import FORMATS
from datasets.exports.formats.tabular import ROW_GROUP_ROWS

class Discard:
    size = 0
    def write(self, data):
        self.size += len(data)
        return len(data)

out = Discard()
count = FORMATS["parquet"].write(rows(int(sys.argv[1]), length=300), out, context("classification"))
print(json.dumps({"count": count, "size": out.size, "peak": pa.default_memory_pool().max_memory(),
                  "row_group_rows": ROW_GROUP_ROWS}))
"""


def test_arrow_holds_one_small_row_group_at_a_time():
    # In a process of its own, so that the pool's peak is this writer's alone. 40,000 rows of
    # 300-character texts are about 22 MB as Arrow arrays, all of which a row group of 65,536
    # rows held at once; one of 16,384 rows peaks at about 12 MB.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, "40000"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    assert figures["count"] == 40_000
    assert figures["size"] > 0
    assert figures["peak"] < 16 << 20, figures
