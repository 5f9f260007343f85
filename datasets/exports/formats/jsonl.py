"""JSONL: the canonical, lossless format. One object per exported annotation, every field."""

from collections.abc import Iterable
from typing import Any, BinaryIO

from datasets.exports.formats.base import BATCH_BYTES, BaseFormat, encode_lines, write_lines
from datasets.exports.rows import ExportContext, ExportRow, row_record

__all__ = ["JsonLines", "row_record"]


class JsonLines(BaseFormat):
    name = "jsonl"
    media_type = "application/x-ndjson"
    extension = "jsonl"

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        # A version's reader hands the lines over a window at a time, encoded by helper
        # processes where it can (RowReader.lines).
        lines: Any = getattr(rows, "lines", None)
        if lines is None:
            return write_lines(map(row_record, rows), out)
        count = 0
        for data, records in lines(encode_lines):
            # A window is a few megabytes: handed on in pieces of the size the other writers
            # use, so that what waits to be encrypted stays as small as theirs.
            view = memoryview(data)
            for start in range(0, len(view), BATCH_BYTES):
                out.write(view[start : start + BATCH_BYTES])
            count += records
        return count
