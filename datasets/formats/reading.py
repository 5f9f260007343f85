"""One entry point for every format: the reader that the upload's format calls for."""

import io
from collections.abc import Iterator
from typing import Any, BinaryIO

from datasets.formats.csv_reader import _csv_records
from datasets.formats.json_readers import _JsonArrayReader, _jsonl_records
from datasets.formats.rejections import _rejected
from datasets.formats.sources import CHUNK_BYTES, Format, _FillingRaw
from datasets.limits import ImportLimits
from datasets.problems import ProblemLog

_UTF8_BOM = b"\xef\xbb\xbf"


def _as_buffered(stream: BinaryIO) -> io.BufferedReader:
    if isinstance(stream, io.BufferedReader):
        return stream
    return io.BufferedReader(_FillingRaw(stream), CHUNK_BYTES)


def read_records(
    stream: BinaryIO,
    fmt: Format,
    *,
    limits: ImportLimits,
    problems: ProblemLog,
    mapping: dict[str, str | None] | None = None,
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, record) for each readable row; unreadable rows go to ``problems``, and what stops
    the reading raises ImportRejected. ``mapping`` (CSV/TSV only) renames or drops columns."""
    source = _as_buffered(stream)
    if mapping and fmt not in (Format.CSV, Format.TSV):
        raise _rejected("file", "a column mapping applies only to CSV and TSV", "bad_mapping")
    if source.peek(3)[:3] == _UTF8_BOM:
        source.read(3)
    if fmt is Format.JSONL:
        return _jsonl_records(source, limits, problems)
    if fmt is Format.JSON:
        return _JsonArrayReader(source, limits, problems).records()
    return _csv_records(source, fmt, limits, problems, mapping or {})
