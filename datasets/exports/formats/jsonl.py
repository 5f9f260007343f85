"""JSONL: the canonical, lossless format. One object per exported annotation, every field."""

from collections.abc import Iterable
from itertools import chain
from typing import Any, BinaryIO

from datasets.exports.formats.base import BaseFormat, write_lines
from datasets.exports.rows import ExportContext, ExportRow, row_record

__all__ = ["JsonLines", "row_record"]


class JsonLines(BaseFormat):
    name = "jsonl"
    media_type = "application/x-ndjson"
    extension = "jsonl"

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        # A version's reader hands records over a window at a time (RowReader.records).
        records: Any = getattr(rows, "records", None)
        if records is not None:
            return write_lines(chain.from_iterable(records()), out)
        return write_lines(map(row_record, rows), out)
