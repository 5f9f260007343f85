"""What the export formats share: option checking, JSON encoding, batched writes, the errors.

Every writer streams: it keeps at most a batch of encoded rows (about a megabyte) or, for the
columnar formats, one row group, and writes it to the stream before taking more rows.
"""

import copy
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO

import orjson

from core.errors import ApplicationError, ValidationFailed
from datasets.exports.rows import ExportContext, ExportRow, image_record

__all__ = ["image_record"]  # where the formats take it from

# Encoded bytes kept before they are handed to the stream.
BATCH_BYTES = 1 << 20

# orjson is about five times faster than the standard library's encoder (measured in
# docs/exports-formats.md). It refuses integers beyond 64 bits, which a task's metadata may hold;
# those rows take the standard library's path, which is just as deterministic.
_SORTED = orjson.OPT_SORT_KEYS
_STDLIB_SORTED = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)
_STDLIB_ORDERED = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)


class ExportFailed(ApplicationError):
    """The rows cannot be written in this format; the version's job fails with this code."""

    code = "export_failed"


def json_bytes(value: Any, *, sort_keys: bool = True) -> bytes:
    """Compact UTF-8 JSON; with ``sort_keys`` the same value always gives the same bytes."""
    try:
        return orjson.dumps(value, option=_SORTED if sort_keys else 0)
    except orjson.JSONEncodeError:
        encoder = _STDLIB_SORTED if sort_keys else _STDLIB_ORDERED
        return encoder.encode(value).encode()


def json_text(value: Any) -> str:
    """A nested value as JSON text (keys sorted), for a CSV cell or a Parquet string column."""
    return json_bytes(value).decode()


class Batched:
    """Collects encoded pieces and hands them to ``out`` about a megabyte at a time.

    Pieces are copied into one buffer at once: orjson's results keep a few kilobytes of spare
    room each, so holding thousands of them would take many times their size.
    """

    def __init__(self, out: BinaryIO) -> None:
        self._out = out
        self._buffer = bytearray()

    def add(self, data: bytes) -> None:
        self._buffer += data
        if len(self._buffer) >= BATCH_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            # A new buffer rather than clear(): the stream may keep what it was handed.
            self._out.write(self._buffer)
            self._buffer = bytearray()


def write_lines(records: Iterable[Any], out: BinaryIO, *, sort_keys: bool = True) -> int:
    """Write each record as one line of JSON; returns how many lines were written."""
    count = 0
    for chunk, lines in _encoded(records, sort_keys=sort_keys, batch=BATCH_BYTES):
        out.write(chunk)
        count += lines
    return count


def encode_lines(records: Iterable[Any]) -> bytearray:
    """The records as ``write_lines`` writes them (keys sorted), as one piece."""
    for chunk, _lines in _encoded(records, sort_keys=True, batch=0):
        return chunk
    return bytearray()


def _encoded(
    records: Iterable[Any], *, sort_keys: bool, batch: int
) -> Iterator[tuple[bytearray, int]]:
    """The records as lines of JSON, in pieces of about ``batch`` bytes (0: one piece), each
    with how many lines it holds."""
    # The hot loop of the JSON-lines formats: no call per line beyond the encoder.
    dumps, option = orjson.dumps, (_SORTED if sort_keys else 0) | orjson.OPT_APPEND_NEWLINE
    buffer = bytearray()
    count = 0
    for record in records:
        try:
            buffer += dumps(record, option=option)
        except orjson.JSONEncodeError:
            buffer += json_bytes(record, sort_keys=sort_keys) + b"\n"
        count += 1
        if batch and len(buffer) >= batch:
            yield buffer, count
            buffer = bytearray()
            count = 0
    if buffer:
        yield buffer, count


# --- Options -------------------------------------------------------------------------------------


def invalid_option(name: str, message: str) -> ValidationFailed:
    path = f"options.{name}" if name else "options"
    return ValidationFailed(
        f"{path}: {message}", code="invalid_export_options", details={"field": path}
    )


@dataclass(frozen=True)
class Option:
    """One option of a format: its default, and a check that returns the normalized value."""

    default: Any
    check: Callable[[str, Any], Any]
    # Task types the option applies to; None: every type the format takes.
    task_types: frozenset[str] | None = None


def check_options(
    raw: Mapping[str, Any], task_type: str, specs: Mapping[str, Option]
) -> dict[str, Any]:
    """The options with defaults filled in, or a 400 naming the first option at fault."""
    if not isinstance(raw, Mapping):
        raise invalid_option("", "must be an object.")
    known = {name: spec for name, spec in specs.items() if _applies(spec, task_type)}
    for name in sorted(raw):
        if name not in known:
            allowed = ", ".join(sorted(known)) or "none"
            shown = str(name)[:64]
            raise invalid_option(shown, f"unknown option for this format; allowed: {allowed}.")
    return {
        name: spec.check(name, raw[name]) if name in raw else copy.deepcopy(spec.default)
        for name, spec in sorted(known.items())
    }


def _applies(spec: Option, task_type: str) -> bool:
    return spec.task_types is None or task_type in spec.task_types


def choice(*values: str) -> Callable[[str, Any], str]:
    def check(name: str, value: Any) -> str:
        if value not in values:
            raise invalid_option(name, "must be one of " + ", ".join(map(json.dumps, values)) + ".")
        return str(value)

    return check


def fraction_or_null(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise invalid_option(name, "must be a number from 0 to 1, or null.")
    return float(value)


def whole_number(low: int, high: int, *, nullable: bool = False) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> int | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            extra = ", or null" if nullable else ""
            raise invalid_option(name, f"must be a whole number from {low} to {high}{extra}.")
        return value

    return check


def boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise invalid_option(name, "must be true or false.")
    return value


def names(name: str, value: Any) -> list[str]:
    """A list of distinct names (labels, flags), 1 to 100 characters each, kept sorted."""
    if not isinstance(value, list) or len(value) > 50:
        raise invalid_option(name, "must be a list of at most 50 names.")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not 1 <= len(item) <= 100:
            raise invalid_option(f"{name}[{index}]", "must be a name of 1 to 100 characters.")
    return sorted(set(value))


# --- Formats -------------------------------------------------------------------------------------


class BaseFormat(ABC):
    """The parts of the Format protocol that every format shares."""

    name: str
    media_type: str
    extension: str
    task_types: frozenset[str] | None = None
    option_specs: Mapping[str, Option] = {}

    def options(self, raw: Mapping[str, Any], task_type: str) -> dict[str, Any]:
        return check_options(raw, task_type, self.option_specs)

    @abstractmethod
    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        """Write the whole file to ``out``; returns the number of rows written."""

    def context_options(self, context: ExportContext) -> dict[str, Any]:
        """The context's options checked again, so a writer never meets a missing default."""
        return self.options(context.options, context.task_type)
