"""JSONL lines and the elements of a JSON array, decoded one at a time in bounded memory."""

import codecs
import io
import json
import re
from collections.abc import Iterator
from typing import Any

from datasets.formats.json_values import _DECODER, _not_object, _scan_json, json_error_reason
from datasets.formats.rejections import _empty, _rejected, _too_many_rows
from datasets.formats.sources import CHUNK_BYTES
from datasets.limits import ImportLimits
from datasets.problems import ImportRejected, ProblemLog


def max_line_bytes(limits: ImportLimits) -> int:
    """The longest JSONL line or JSON array element read: a full task, escaped, plus room for
    the reserved keys."""
    return limits.max_task_bytes * 4 + 64 * 1024


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
