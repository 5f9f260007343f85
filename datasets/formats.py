"""Rows out of an uploaded file, read as a stream in constant memory.

The import job hands over the decrypted upload as a binary stream. ``open_text_source`` checks
that it is what its name promised (and unpacks gzip behind a size and ratio guard);
``read_records`` turns it into ``(where, record)`` pairs, listing the rows it cannot read and
rejecting the file when reading cannot go on. Messages give positions, sizes and reasons, never
the content.
"""

import codecs
import csv
import io
import json
import re
import zlib
from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import TYPE_CHECKING, Any, BinaryIO

from datasets.limits import ImportLimits
from datasets.problems import ImportRejected, Problem, ProblemLog

if TYPE_CHECKING:
    from _csv import Reader as CsvReader

    from _typeshed import WriteableBuffer

CHUNK_BYTES = 1024 * 1024
SNIFF_BYTES = 8 * 1024
# Small files compress well for innocent reasons; the ratio guard starts after this much output.
RATIO_GRACE_BYTES = 1024 * 1024
_GZIP_READ_BYTES = 64 * 1024
_UTF8_BOM = b"\xef\xbb\xbf"


class Format(StrEnum):
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    TSV = "tsv"


_EXTENSIONS = {
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".json": Format.JSON,
    ".csv": Format.CSV,
    ".tsv": Format.TSV,
}
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
)
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def max_line_bytes(limits: ImportLimits) -> int:
    """The longest JSONL line or JSON array element read: a full task, escaped, plus room for
    the reserved keys."""
    return limits.max_task_bytes * 4 + 64 * 1024


def _rejected(where: str, message: str, code: str, field: str | None = None) -> ImportRejected:
    return ImportRejected(Problem(where, message, code, field))


def format_from_name(filename: str) -> tuple[Format, bool]:
    """(format, gzip) from the upload's name; anything else is rejected as unknown_format."""
    name = filename.strip().lower()
    gzip = name.endswith(".gz")
    if gzip:
        name = name.removesuffix(".gz")
    for extension, fmt in _EXTENSIONS.items():
        if name.endswith(extension):
            return fmt, gzip
    accepted = ", ".join(_EXTENSIONS)
    raise _rejected(
        "file",
        f"unknown file type: the name must end in {accepted} (or those + .gz)",
        "unknown_format",
    )


class _FillingRaw(io.RawIOBase):
    """Any binary stream as a raw stream whose reads fill the buffer unless at the end, so a
    buffered reader over it can peek a full sniffing window even from a short-reading source."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            data = self._source.read(len(view) - filled)
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled


class _GunzipRaw(io.RawIOBase):
    """Decompressed gzip (any number of members), checked against the size and ratio limits as
    it goes, so a bomb is stopped after a bounded amount of output rather than at the end."""

    def __init__(self, source: BinaryIO, limits: ImportLimits) -> None:
        super().__init__()
        self._source = source
        self._limits = limits
        self._inflater = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._in_member = False
        self._finished = False
        self.compressed_bytes = 0
        self.decompressed_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and not self._finished:
            data = self._inflate(len(view) - filled)
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled

    def _inflate(self, size: int) -> bytes:
        if not self._next_input():
            return b""
        self._in_member = True
        try:
            data = self._inflater.decompress(self._pending, size)
        except zlib.error:
            raise _rejected("file", "corrupt gzip data", "corrupt_gzip") from None
        if self._inflater.eof:
            self._pending = self._inflater.unused_data
            self._inflater = zlib.decompressobj(wbits=31)
            self._in_member = False
        else:
            self._pending = self._inflater.unconsumed_tail
        self._count(len(data))
        return data

    def _next_input(self) -> bool:
        """Makes ``_pending`` hold compressed input; False after the last member."""
        while True:
            if not self._in_member:
                # Another member may follow; zero padding after the last one is tolerated.
                self._pending = self._pending.lstrip(b"\x00")
            if self._pending:
                return True
            self._pending = self._source.read(_GZIP_READ_BYTES)
            self.compressed_bytes += len(self._pending)
            if self._pending:
                continue
            if self._in_member:
                raise _rejected("file", "corrupt gzip data: it ends early", "corrupt_gzip")
            self._finished = True
            return False

    def _count(self, produced: int) -> None:
        self.decompressed_bytes += produced
        limits = self._limits
        if self.decompressed_bytes > limits.max_uncompressed_bytes:
            raise _rejected(
                "file",
                f"over {limits.max_uncompressed_bytes:,} bytes once uncompressed",
                "too_large",
            )
        consumed = self.compressed_bytes - len(self._pending)
        ratio_exceeded = self.decompressed_bytes > limits.max_compression_ratio * consumed
        if self.decompressed_bytes > RATIO_GRACE_BYTES and ratio_exceeded:
            raise _rejected(
                "file",
                f"expands more than {limits.max_compression_ratio}:1 when uncompressed "
                "(a compression bomb?)",
                "compression_bomb",
            )


def open_text_source(stream: BinaryIO, *, gzip: bool, limits: ImportLimits) -> BinaryIO:
    """The stream to parse, after checking that its first bytes are what the name promised;
    reads no more than one buffer ahead."""
    compressed = io.BufferedReader(_FillingRaw(stream), CHUNK_BYTES)
    magic = compressed.peek(2)[:2]
    if not magic:
        return compressed  # read_records says it is empty
    is_gzip = magic == b"\x1f\x8b"
    if gzip and not is_gzip:
        raise _rejected("file", "named .gz but not gzip-compressed", "not_gzip")
    if is_gzip and not gzip:
        raise _rejected("file", "gzip-compressed but not named .gz", "unexpected_gzip")
    text = io.BufferedReader(_GunzipRaw(compressed, limits), CHUNK_BYTES) if gzip else compressed
    _check_text_head(text.peek(SNIFF_BYTES)[:SNIFF_BYTES])
    return text


def _check_text_head(head: bytes) -> None:
    for signature, looks_like in _SIGNATURES:
        if head.startswith(signature):
            raise _rejected("file", f"not a text file: looks like {looks_like}", "not_text")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise _rejected("file", "not a text file: looks like a WebP image", "not_text")
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            raise _rejected("file", f"encoded as {encoding}: must be UTF-8", "bad_encoding")
    if b"\x00" in head:
        raise _rejected("file", "not a text file: contains NUL bytes (binary data?)", "not_text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise _rejected(
            "file", f"not a text file: byte {error.start + 1} is not valid UTF-8", "not_text"
        ) from None


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NonFiniteNumber(text)
    return value


# Strict JSON: no NaN or Infinity, which our storage (and most consumers) cannot hold.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
# The decoder's C scanner, typed in typeshed only as a private attribute of JSONDecoder.
_scan_json: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def decode_json(text: str) -> Any:
    """One JSON document, strictly; raises ValueError or RecursionError (see json_error_reason)."""
    return _DECODER.decode(text)


def json_error_reason(error: ValueError | RecursionError) -> str:
    """Why decode_json failed, in words that quote none of the input."""
    if isinstance(error, json.JSONDecodeError):
        reason = error.msg.removesuffix(" at")
        return f"not valid JSON: {reason} at line {error.lineno} column {error.colno}"
    if isinstance(error, _NonFiniteNumber):
        return "not valid JSON: NaN, Infinity and numbers too large for a float are not allowed"
    if isinstance(error, RecursionError):
        return "not valid JSON: nested too deeply"
    return "not valid JSON: a number has too many digits"


def _too_many_rows(limits: ImportLimits) -> ImportRejected:
    return _rejected(
        "file", f"more than {limits.max_rows:,} rows, the limit for one import", "too_many_rows"
    )


def _empty(message: str = "the file is empty") -> ImportRejected:
    return _rejected("file", message, "empty")


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


def _jsonl_records(
    source: io.BufferedReader, limits: ImportLimits, problems: ProblemLog
) -> Iterator[tuple[str, dict[str, Any]]]:
    line_limit = max_line_bytes(limits)
    readline = source.readline
    line_number = rows = 0
    while line := readline(line_limit + 1):
        line_number += 1
        if len(line) > line_limit and not line.endswith(b"\n"):
            _skip_rest_of_line(source)
            record: Any = None
            reason: tuple[str, str] | None = (
                f"longer than {line_limit:,} bytes, the limit for one line",
                "too_long",
            )
        else:
            record, reason = _parse_line(line)
            if reason is None and record is None:
                continue
        rows += 1
        if rows > limits.max_rows:
            raise _too_many_rows(limits)
        if reason is not None:
            problems.add(f"line {line_number}", *reason)
        elif type(record) is dict:
            yield f"line {line_number}", record
        else:
            problems.add(f"line {line_number}", _not_object(record), "not_object")
    if not rows:
        raise _empty()


def _parse_line(line: bytes) -> tuple[Any, tuple[str, str] | None]:
    """(value, None), (None, None) for a blank line, or (None, (message, code))."""
    try:
        text = line.decode()
    except UnicodeDecodeError as error:
        return None, (f"not valid UTF-8 at byte {error.start + 1} of the line", "bad_encoding")
    try:
        # The scanner alone is twice as fast as decode(); the full decoder handles the rest
        # (surrounding whitespace, trailing data) and words the errors.
        value, end = _scan_json(text, 0)
        if end == len(text) or text[end:].isspace():
            return value, None
    except StopIteration:
        pass
    except (ValueError, RecursionError) as error:
        return None, (json_error_reason(error), "invalid_json")
    if text.isspace():
        return None, None
    try:
        return _DECODER.decode(text), None
    except (ValueError, RecursionError) as error:
        return None, (json_error_reason(error), "invalid_json")


def _skip_rest_of_line(source: io.BufferedReader) -> None:
    while chunk := source.readline(CHUNK_BYTES):
        if chunk.endswith(b"\n"):
            return


def json_type(value: Any) -> str:
    """A decoded JSON value's type as a message names it: "a string", "an object", ..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names = {dict: "an object", list: "an array", str: "a string", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _not_object(value: Any, what: str = "a record") -> str:
    return f"{what} must be a JSON object, got {json_type(value)}"


_WHITESPACE = re.compile(r"[ \t\n\r]*")
_TRUNCATION_HINT = "Unterminated string"


class _JsonArrayReader:
    """The elements of a top-level JSON array, decoded one at a time from a sliding window of
    text that holds at most one element plus one read chunk."""

    def __init__(self, source: io.BufferedReader, limits: ImportLimits, problems: ProblemLog):
        self._read = source.read
        self._utf8 = codecs.getincrementaldecoder("utf-8")()
        self._limits = limits
        self._problems = problems
        self._max_chars = max_line_bytes(limits)
        self._buf = ""
        self._pos = 0
        self._eof = False
        # Newlines are counted lazily: ``_line`` is the line at buffer index ``_counted``.
        self._line = 1
        self._counted = 0
        # Characters of the current line that were dropped from the front of the buffer.
        self._column_base = 0

    def records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        first = self._next_char()
        if first == "":
            raise _empty()
        if first != "[":
            raise self._not_array(first)
        self._pos += 1
        if self._next_char() == "]":
            self._pos += 1
            self._expect_end()
            raise _empty("the file holds an empty array")
        index = 0
        while True:
            index += 1
            if index > self._limits.max_rows:
                raise _too_many_rows(self._limits)
            where, value = self._element(index)
            if type(value) is dict:
                yield where, value
            else:
                self._problems.add(where, _not_object(value, "an element"), "not_object")
            if self._after_element(index):
                return

    def _element(self, index: int) -> tuple[str, Any]:
        self._next_char()
        while len(self._buf) - self._pos <= self._max_chars and not self._eof:
            self._fill()
        start = self._pos
        where = f"element {index} (line {self._line_at(start)})"
        try:
            value, end = _DECODER.raw_decode(self._buf, start)
        except json.JSONDecodeError as error:
            truncated = error.pos >= len(self._buf) - 16 or error.msg.startswith(_TRUNCATION_HINT)
            if truncated and not self._eof:
                raise self._too_long(where) from None
            raise _rejected(where, self._describe(error), "invalid_json") from None
        except (ValueError, RecursionError) as error:
            raise _rejected(where, json_error_reason(error), "invalid_json") from None
        if end - start > self._max_chars:
            raise self._too_long(where)
        self._pos = end
        return where, value

    def _after_element(self, index: int) -> bool:
        """Steps over the ',' after element ``index``; True when it closed the array."""
        char = self._next_char()
        self._pos += 1
        if char == ",":
            return False
        if char == "]":
            self._expect_end()
            return True
        position = self._position(self._pos - 1)
        if char == "":
            raise _rejected(
                position,
                f"the array is not closed: the file ends after element {index}",
                "invalid_json",
            )
        raise _rejected(position, f"expected ',' or ']' after element {index}", "invalid_json")

    def _expect_end(self) -> None:
        if self._next_char() != "":
            raise _rejected(
                self._position(self._pos),
                "unexpected data after the array's closing ']'",
                "invalid_json",
            )

    def _next_char(self) -> str:
        """The next character that is not whitespace (not consumed); "" at the end."""
        while True:
            match = _WHITESPACE.match(self._buf, self._pos)
            self._pos = match.end() if match else self._pos
            if self._pos < len(self._buf):
                return self._buf[self._pos]
            if self._eof:
                return ""
            self._fill()

    def _fill(self) -> None:
        self._drop_consumed()
        chunk = self._read(CHUNK_BYTES)
        self._eof = not chunk
        pending = len(self._utf8.getstate()[0])
        try:
            self._buf += self._utf8.decode(chunk, final=self._eof)
        except UnicodeDecodeError as error:
            bad_line = self._line_at(len(self._buf)) + chunk.count(
                b"\n", 0, max(0, error.start - pending)
            )
            raise _rejected(f"line {bad_line}", "not valid UTF-8", "bad_encoding") from None

    def _drop_consumed(self) -> None:
        pos = self._pos
        if not pos:
            return
        self._line_at(pos)
        newline = self._buf.rfind("\n", 0, pos)
        self._column_base = pos - newline - 1 if newline >= 0 else self._column_base + pos
        self._buf = self._buf[pos:]
        self._pos = self._counted = 0

    def _line_at(self, index: int) -> int:
        self._line += self._buf.count("\n", self._counted, index)
        self._counted = index
        return self._line

    def _line_column(self, index: int) -> tuple[int, int]:
        line = self._line + self._buf.count("\n", self._counted, index)
        newline = self._buf.rfind("\n", 0, index)
        column = index - newline if newline >= 0 else self._column_base + index + 1
        return line, column

    def _position(self, index: int) -> str:
        line, column = self._line_column(index)
        return f"line {line} column {column}"

    def _describe(self, error: json.JSONDecodeError) -> str:
        line, column = self._line_column(error.pos)
        reason = error.msg.removesuffix(" at")
        return f"not valid JSON: {reason} at line {line} column {column}"

    def _too_long(self, where: str) -> ImportRejected:
        return _rejected(
            where,
            f"longer than {self._max_chars:,} characters, the limit for one element",
            "too_long",
        )

    def _not_array(self, first: str) -> ImportRejected:
        hint = " (for one object per line, name the file .jsonl)" if first == "{" else ""
        return _rejected(
            self._position(self._pos),
            f"the top level must be a JSON array of objects{hint}",
            "not_array",
        )


class _Columns:
    """Where each CSV column goes: a record field, a key of record["metadata"], or nowhere."""

    def __init__(self, header: list[str], mapping: dict[str, str | None]) -> None:
        names = [name.strip() for name in header]
        _check_header(names)
        unknown = [name for name in mapping if name not in names]
        if unknown:
            raise _rejected(
                "line 1",
                "the mapping names a column that is not in the header",
                "bad_mapping",
                unknown[0],
            )
        self.fields: list[tuple[int, str]] = []
        self.metadata: list[tuple[int, str]] = []
        for index, name in enumerate(names):
            target = mapping.get(name, name)
            if target is None:
                continue
            if target.startswith("metadata."):
                self.metadata.append((index, _metadata_key(target)))
            else:
                self.fields.append((index, target))
        self._check_targets()

    def _check_targets(self) -> None:
        targets = [target for _, target in self.fields]
        keys = [key for _, key in self.metadata]
        for seen, what in ((targets, "field"), (keys, "metadata key")):
            repeated = sorted({name for name in seen if seen.count(name) > 1})
            if repeated:
                raise _rejected(
                    "line 1", f"two columns map to the same {what}", "bad_mapping", repeated[0]
                )
        if keys and "metadata" in targets:
            raise _rejected(
                "line 1",
                "a 'metadata' column and 'metadata.<key>' columns cannot be combined",
                "bad_mapping",
                "metadata",
            )

    def record(self, row: list[str]) -> dict[str, Any]:
        record: dict[str, Any] = {target: row[i] for i, target in self.fields if row[i]}
        if self.metadata:
            metadata = {key: row[i] for i, key in self.metadata if row[i]}
            if metadata:
                record["metadata"] = metadata
        return record


def _check_header(names: list[str]) -> None:
    if not names or not all(names):
        column = names.index("") + 1 if names else 1
        raise _rejected(
            "line 1",
            f"the first line must be the header naming every column; column {column} has no name",
            "missing_header",
        )
    first_seen: dict[str, int] = {}
    for column, name in enumerate(names, start=1):
        if name in first_seen:
            raise _rejected(
                "line 1",
                f"columns {first_seen[name]} and {column} have the same name",
                "duplicate_header",
                name,
            )
        first_seen[name] = column


def _metadata_key(target: str) -> str:
    key = target.removeprefix("metadata.")
    if not key:
        raise _rejected("line 1", "'metadata.' needs a key after the dot", "bad_mapping", target)
    return key


def _csv_records(
    source: io.BufferedReader,
    fmt: Format,
    limits: ImportLimits,
    problems: ProblemLog,
    mapping: dict[str, str | None],
) -> Iterator[tuple[str, dict[str, Any]]]:
    csv.field_size_limit(limits.max_task_bytes)
    text = io.TextIOWrapper(source, encoding="utf-8", errors="strict", newline="")
    reader = csv.reader(text, csv.excel_tab if fmt is Format.TSV else csv.excel)
    try:
        yield from _csv_rows(reader, limits, problems, mapping)
    except UnicodeDecodeError as error:
        # The text layer decodes a chunk ahead: count the lines up to the bad byte in it.
        ahead = error.object.count(b"\n", 0, error.start) if isinstance(error.object, bytes) else 0
        raise _rejected(
            f"line {reader.line_num + 1 + ahead}", "not valid UTF-8", "bad_encoding"
        ) from None
    except csv.Error as error:
        raise _csv_error(reader.line_num, str(error), limits) from None
    finally:
        # Keep the caller's stream open: the text wrapper would close it when collected.
        text.detach()


def _csv_rows(
    reader: "CsvReader",
    limits: ImportLimits,
    problems: ProblemLog,
    mapping: dict[str, str | None],
) -> Iterator[tuple[str, dict[str, Any]]]:
    header = next(reader, None)
    if header is None:
        raise _empty()
    columns = _Columns(header, mapping)
    width = len(header)
    start = reader.line_num + 1
    rows = 0
    for row in reader:
        where = f"line {start}"
        start = reader.line_num + 1
        if not row:
            continue
        rows += 1
        if rows > limits.max_rows:
            raise _too_many_rows(limits)
        if len(row) == width:
            yield where, columns.record(row)
        else:
            cells = f"{len(row)} cell" if len(row) == 1 else f"{len(row)} cells"
            problems.add(where, f"{cells}, but the header has {width}", "ragged_row")
    if not rows:
        raise _empty("the file has a header but no rows")


def _csv_error(line: int, reason: str, limits: ImportLimits) -> ImportRejected:
    if reason.startswith("field larger than field limit"):
        return _rejected(
            f"line {line}",
            f"a cell is longer than {limits.max_task_bytes:,} "
            "characters (or a quote is never closed)",
            "too_long",
        )
    return _rejected(f"line {line}", f"not valid CSV: {reason}", "invalid_csv")
