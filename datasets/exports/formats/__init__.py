"""The formats a dataset version can be written in (docs/exports-formats.md).

Each format checks its own options when a version is created and writes the version's rows as
one file, streaming (memory does not grow with the rows) and deterministically (the same rows
and options give the same bytes).
"""

from collections.abc import Iterable, Mapping
from typing import Any, BinaryIO, Protocol

from core.errors import ValidationFailed
from datasets.exports.formats.base import ExportFailed
from datasets.exports.formats.coco import Coco
from datasets.exports.formats.conll import Conll
from datasets.exports.formats.hf import HuggingFace
from datasets.exports.formats.jsonl import JsonLines
from datasets.exports.formats.preference import Preference
from datasets.exports.formats.rubric import Rubric
from datasets.exports.formats.sft import Sft
from datasets.exports.formats.tabular import Csv, Parquet
from datasets.exports.rows import ExportContext, ExportRow

__all__ = ["FORMATS", "ExportFailed", "Format", "format_allows", "format_get"]


class Format(Protocol):
    name: str
    media_type: str
    extension: str

    @property
    def task_types(self) -> frozenset[str] | None:
        """The task types the format takes; None: every type."""
        ...

    def options(self, raw: Mapping[str, Any], task_type: str) -> dict[str, Any]:
        """The options with defaults filled in; a 400 ``invalid_export_options`` naming
        ``options.<name>`` for one that is wrong."""
        ...

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        """Write the whole file to ``out`` (write-only, not seekable); returns the rows written
        (after the format's own dropping, such as ties)."""
        ...


FORMATS: dict[str, Format] = {
    fmt.name: fmt
    for fmt in (
        JsonLines(),
        Csv(),
        Parquet(),
        HuggingFace(),
        Coco(),
        Conll(),
        Preference(),
        Sft(),
        Rubric(),
    )
}


def format_get(name: Any) -> Format:
    """The format of that name, or a 400 ``unknown_format`` listing the valid names."""
    fmt = FORMATS.get(name) if isinstance(name, str) else None
    if fmt is None:
        allowed = ", ".join(FORMATS)
        raise ValidationFailed(
            f"format: unknown format; one of: {allowed}.",
            code="unknown_format",
            details={"field": "format", "allowed": list(FORMATS)},
        )
    return fmt


def format_allows(fmt: Format, task_type: str) -> None:
    """A 400 ``format_not_for_task_type`` when the format cannot hold this task type."""
    if fmt.task_types is not None and task_type not in fmt.task_types:
        types = ", ".join(sorted(fmt.task_types))
        raise ValidationFailed(
            f"format: {fmt.name} is for {types} projects, not {task_type}.",
            code="format_not_for_task_type",
            details={"field": "format", "task_types": sorted(fmt.task_types)},
        )
