"""CSV and TSV rows as records, the header naming (or the mapping renaming) each column."""

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from datasets.formats.rejections import _empty, _rejected, _too_many_rows
from datasets.formats.sources import Format
from datasets.limits import ImportLimits
from datasets.problems import ImportRejected, ProblemLog

if TYPE_CHECKING:
    from _csv import Reader as CsvReader


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
