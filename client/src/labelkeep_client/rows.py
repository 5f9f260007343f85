"""Rows of a verified file: JSONL lines as dicts, CSV records as dicts (csv.DictReader).

Which reader applies is decided by the signed manifest's file (its name and media type), so
that every row-shaped format the server writes as JSONL (preference pairs, SFT messages, ...)
reads without the client knowing each format's name.
"""

import csv
import json
import shutil
import weakref
from collections.abc import Callable, Generator, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from labelkeep_client.errors import UnsupportedFormat

_JSONL_TYPES = {"application/jsonl", "application/x-ndjson", "application/jsonlines"}
_CSV_TYPES = {"text/csv"}


def row_kind(manifest: Mapping[str, Any]) -> str | None:
    """The reader of the file's rows ("jsonl" or "csv"), or None for a file that is not rows
    (Parquet, an archive, COCO, ...)."""
    file = manifest["file"]
    name = str(file.get("name", "")).lower()
    media = str(file.get("media_type", "")).lower().split(";")[0].strip()
    if name.endswith(".jsonl") or media in _JSONL_TYPES:
        return "jsonl"
    if name.endswith(".csv") or media in _CSV_TYPES:
        return "csv"
    return None


def check_rows(manifest: Mapping[str, Any]) -> str:
    kind = row_kind(manifest)
    if kind is None:
        raise UnsupportedFormat(
            f"Version format {manifest.get('format')!r} ({manifest['file'].get('name')}) is "
            "not rows; pass dest= (or -o) to write it to a file or folder."
        )
    return kind


class Rows(Iterator[dict[str, Any]]):
    """An iterator over a verified file's rows; its temporary folder goes when the iterator is
    exhausted, closed, left as a context manager, or collected. ``manifest`` is the verified
    manifest the rows belong to."""

    def __init__(self, path: Path, manifest: dict[str, Any], *, workdir: Path) -> None:
        self.manifest = manifest
        self._reader = _read(path, check_rows(manifest))
        self._cleanup: Callable[[], None] = weakref.finalize(
            self, shutil.rmtree, workdir, ignore_errors=True
        )

    def __iter__(self) -> "Rows":
        return self

    def __next__(self) -> dict[str, Any]:
        try:
            return next(self._reader)
        except StopIteration:
            self.close()
            raise

    def close(self) -> None:
        self._reader.close()
        self._cleanup()

    def __enter__(self) -> "Rows":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _read(path: Path, kind: str) -> Generator[dict[str, Any], None, None]:
    return _read_jsonl(path) if kind == "jsonl" else _read_csv(path)


def _read_jsonl(path: Path) -> Generator[dict[str, Any], None, None]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row: dict[str, Any] = json.loads(line)
                yield row


def _read_csv(path: Path) -> Generator[dict[str, Any], None, None]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        yield from csv.DictReader(handle)
