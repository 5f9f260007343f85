"""CSV and Parquet: one row per exported annotation, in columns fixed by the task type.

The columns never depend on the rows, so every file of a version (and every version of a
project) has the same header: the annotation's own fields, the task type's data fields, the
image of a box task, then the metadata and the result as JSON text.
"""

import csv
import io
import os
from collections.abc import Iterable
from typing import Any, BinaryIO, Literal

# Arrow's allocator is chosen once, when pyarrow loads. jemalloc hands freed memory back sooner
# than the default (mimalloc): a million-row Parquet build peaked 15 MB lower. An operator's own
# setting of the variable wins.
os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "jemalloc")

import pyarrow as pa
import pyarrow.parquet as pq

from datasets.exports.formats.base import (
    BATCH_BYTES,
    BaseFormat,
    Option,
    choice,
    image_record,
    json_text,
)
from datasets.exports.rows import ExportContext, ExportRow
from datasets.records import DATA_FIELDS
from projects.models import TaskType

FIXED_COLUMNS = (
    "task_id",
    "external_id",
    "annotation_id",
    "annotator",
    "review_state",
    "revision",
    "time_spent",
    "submitted_at",
    "agreement",
    "is_gold",
)
IMAGE_COLUMNS = ("image.id", "image.file_name", "image.width", "image.height")
# A row group is flushed at this many rows, or sooner once its JSON text passes ROW_GROUP_BYTES,
# so that long texts do not make a row group (and the writer's memory) large. pyarrow holds a
# whole row group as Arrow arrays while it encodes it: with 300-character texts Arrow's peak is
# 12 MB at 16,384 rows against 36 MB at 65,536, and the process's 40 MB against 89 (its
# allocator keeps spare room in proportion). A million rows read as fast from 62 row groups.
ROW_GROUP_ROWS = 16_384
ROW_GROUP_BYTES = 8 << 20
# Rows are turned into Arrow arrays this many (or this many bytes of JSON text) at a time.
ARROW_BATCH_ROWS = 4_096
ARROW_BATCH_BYTES = 4 << 20
COMPRESSIONS: dict[str, Literal["zstd", "snappy"]] = {"zstd": "zstd", "snappy": "snappy"}
# OWASP's list of what makes a spreadsheet read a cell as a formula (or hide it behind one).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")


def data_keys(task_type: str) -> tuple[str, ...]:
    return tuple(field.name for field in DATA_FIELDS.get(task_type, ()))


def neutralize(text: str) -> str:
    """A text cell a spreadsheet shows as text: a leading ' before a formula trigger."""
    return "'" + text if text.startswith(FORMULA_TRIGGERS) else text


# --- CSV -----------------------------------------------------------------------------------------


def csv_columns(task_type: str) -> list[str]:
    image = list(IMAGE_COLUMNS) if task_type == TaskType.BOXES else []
    data = [f"data.{key}" for key in data_keys(task_type)]
    return [*FIXED_COLUMNS, *data, *image, "metadata", "result"]


def _text_cell(value: Any) -> str | None:
    if value is None:
        return None
    return neutralize(value if isinstance(value, str) else json_text(value))


def _csv_cells(row: ExportRow, keys: tuple[str, ...], boxes: bool) -> list[Any]:
    # Numbers we write ourselves stay numbers: they are never negative and never text.
    cells: list[Any] = [
        neutralize(row.task_id),
        _text_cell(row.external_id),
        neutralize(row.annotation_id),
        neutralize(row.annotator),
        neutralize(row.review_state),
        row.revision,
        row.time_spent,
        neutralize(row.submitted_at),
        row.agreement,
        "true" if row.is_gold else "false",
    ]
    cells.extend(_text_cell(row.data.get(key)) for key in keys)
    if boxes:
        image = row.image
        if image is None:
            cells.extend((None, None, None, None))
        else:
            cells.extend(
                (neutralize(image.id), neutralize(image.file_name), image.width, image.height)
            )
    cells.append(_text_cell(row.metadata))
    cells.append(_text_cell(row.result))
    return cells


class Csv(BaseFormat):
    name = "csv"
    media_type = "text/csv"
    extension = "csv"

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        keys, boxes = data_keys(context.task_type), context.task_type == TaskType.BOXES
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(csv_columns(context.task_type))
        count = 0
        for row in rows:
            writer.writerow(_csv_cells(row, keys, boxes))
            count += 1
            if buffer.tell() >= BATCH_BYTES:
                out.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
        out.write(buffer.getvalue().encode())
        return count


# --- Parquet -------------------------------------------------------------------------------------

_IMAGE_TYPE = pa.struct(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("file_name", pa.string(), nullable=False),
        pa.field("width", pa.int32(), nullable=False),
        pa.field("height", pa.int32(), nullable=False),
    ]
)


# Columns whose values are unique per task (ids, the task's data) or nearly so: a dictionary of
# them is only an index more to store, so they are written plain.
_PLAIN_COLUMNS = frozenset({"task_id", "external_id", "annotation_id", "time_spent", "data"})


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    """The leaf columns (``image.id`` for a struct's field) that keep dictionary encoding."""
    paths: list[str] = []
    for field in schema:
        if pa.types.is_struct(field.type):
            paths.extend(f"{field.name}.{child.name}" for child in field.type)
        elif field.name not in _PLAIN_COLUMNS:
            paths.append(field.name)
    return paths


def parquet_schema(task_type: str) -> pa.Schema:
    fields: list[pa.Field[Any]] = [
        pa.field("task_id", pa.string(), nullable=False),
        pa.field("external_id", pa.string()),
        pa.field("annotation_id", pa.string(), nullable=False),
        pa.field("annotator", pa.string(), nullable=False),
        pa.field("review_state", pa.string(), nullable=False),
        pa.field("revision", pa.int64(), nullable=False),
        pa.field("time_spent", pa.float64(), nullable=False),
        pa.field("submitted_at", pa.string(), nullable=False),
        pa.field("agreement", pa.float64()),
        pa.field("is_gold", pa.bool_(), nullable=False),
        pa.field("data", pa.string(), nullable=False),
        pa.field("metadata", pa.string()),
        pa.field("result", pa.string(), nullable=False),
    ]
    if task_type == TaskType.BOXES:
        fields.append(pa.field("image", _IMAGE_TYPE))
    return pa.schema(fields)


class PositionSink(io.RawIOBase):
    """The write-only stream as pyarrow needs it: it asks where it is, never seeks.

    Writes are gathered about a megabyte at a time, since pyarrow writes page by page.
    """

    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self._out = out
        self._buffer = bytearray()
        self.position = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        size = len(memoryview(data).cast("B"))
        self._buffer += data
        self.position += size
        if len(self._buffer) >= BATCH_BYTES:
            self.flush()
        return size

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        if self._buffer:
            self._out.write(bytes(self._buffer))
            self._buffer.clear()


def _json_column(values: list[Any]) -> list[str | None]:
    return [None if value is None else json_text(value) for value in values]


def _image_column(rows: list[ExportRow]) -> list[dict[str, Any] | None]:
    return [image_record(row.image) for row in rows]


class ParquetStream:
    """Rows into a Parquet file on a write-only stream, one bounded row group at a time.

    Rows are gathered a few thousand at a time (their JSON text already encoded, so that long
    texts are counted), then turned into Arrow batches, column by column, until the row group
    is full.
    """

    def __init__(self, out: BinaryIO, *, task_type: str, compression: str) -> None:
        self._sink = PositionSink(out)
        self._schema = parquet_schema(task_type)
        self._boxes = task_type == TaskType.BOXES
        self._writer = pq.ParquetWriter(
            pa.PythonFile(self._sink, mode="w"),
            self._schema,
            compression=COMPRESSIONS[compression],
            # pyarrow takes a list of columns here too; its stubs only know a bool.
            use_dictionary=_dictionary_columns(self._schema),  # type: ignore[arg-type]
        )
        self._rows: list[ExportRow] = []
        # Text rather than orjson's bytes, which keep kilobytes of spare room each.
        self._data: list[str] = []
        self._results: list[str] = []
        self._pending_bytes = 0
        self._batches: list[pa.RecordBatch] = []
        self._group_rows = 0
        self._group_bytes = 0
        self.count = 0

    def add(self, row: ExportRow) -> None:
        data, result = json_text(row.data), json_text(row.result)
        self._rows.append(row)
        self._data.append(data)
        self._results.append(result)
        self.count += 1
        self._pending_bytes += len(data) + len(result)
        if len(self._rows) >= ARROW_BATCH_ROWS or self._pending_bytes >= ARROW_BATCH_BYTES:
            self._to_arrow()
            if self._group_rows >= ROW_GROUP_ROWS or self._group_bytes >= ROW_GROUP_BYTES:
                self.flush_group()

    def _columns(self) -> list[list[Any]]:
        rows = self._rows
        columns: list[list[Any]] = [
            [row.task_id for row in rows],
            [row.external_id for row in rows],
            [row.annotation_id for row in rows],
            [row.annotator for row in rows],
            [row.review_state for row in rows],
            [row.revision for row in rows],
            [row.time_spent for row in rows],
            [row.submitted_at for row in rows],
            [row.agreement for row in rows],
            [row.is_gold for row in rows],
            self._data,
            _json_column([row.metadata for row in rows]),
            self._results,
        ]
        if self._boxes:
            columns.append(_image_column(rows))
        return columns

    def _to_arrow(self) -> None:
        if not self._rows:
            return
        arrays = [
            pa.array(column, type=field.type)
            for column, field in zip(self._columns(), self._schema, strict=True)
        ]
        self._batches.append(pa.RecordBatch.from_arrays(arrays, schema=self._schema))
        self._group_rows += len(self._rows)
        self._group_bytes += self._pending_bytes
        self._rows, self._data, self._results = [], [], []
        self._pending_bytes = 0

    def flush_group(self) -> None:
        """Write what is gathered as one row group."""
        self._to_arrow()
        if self._batches:
            self._writer.write_table(pa.Table.from_batches(self._batches, schema=self._schema))
            self._batches.clear()
            self._group_rows = self._group_bytes = 0

    @property
    def size(self) -> int:
        """Bytes written so far (whole row groups only)."""
        return self._sink.position

    def close(self) -> None:
        self.flush_group()
        self._writer.close()
        self._sink.flush()
        # The allocator's spare room goes back to the system: the worker lives on between builds.
        pa.default_memory_pool().release_unused()


COMPRESSION = Option("zstd", choice(*COMPRESSIONS))


class Parquet(BaseFormat):
    name = "parquet"
    media_type = "application/vnd.apache.parquet"
    extension = "parquet"
    option_specs = {"compression": COMPRESSION}

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        options = self.context_options(context)
        stream = ParquetStream(out, task_type=context.task_type, compression=options["compression"])
        for row in rows:
            stream.add(row)
        stream.close()
        return stream.count
