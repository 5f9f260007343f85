"""JSONL: the canonical, lossless format. One object per exported annotation, every field."""

from collections.abc import Iterable
from typing import Any, BinaryIO

from datasets.exports.formats.base import BaseFormat, image_record, write_lines
from datasets.exports.rows import ExportContext, ExportRow


def row_record(row: ExportRow) -> dict[str, Any]:
    """Every field of the row, the image as an object (or null)."""
    return {
        "task_id": row.task_id,
        "external_id": row.external_id,
        "data": row.data,
        "metadata": row.metadata,
        "annotation_id": row.annotation_id,
        "annotator": row.annotator,
        "result": row.result,
        "review_state": row.review_state,
        "revision": row.revision,
        "time_spent": row.time_spent,
        "submitted_at": row.submitted_at,
        "agreement": row.agreement,
        "is_gold": row.is_gold,
        "image": image_record(row.image),
    }


class JsonLines(BaseFormat):
    name = "jsonl"
    media_type = "application/x-ndjson"
    extension = "jsonl"

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        return write_lines(map(row_record, rows), out)
