"""Rubric ratings as per-criterion scores, one JSON object per exported annotation:
``{"task_id", "prompt", "response", "annotator", "scores": {criterion: n}, "comments"}``.

``scores`` lists every criterion of the label schema in its order (null where an optional one
was not rated), then any criterion the schema no longer has. ``prompt`` and ``comments`` are
null when absent. With ``normalize: true`` a ``normalized`` object beside ``scores`` gives each
score as (n - min) / (max - min) on its criterion's scale, 0..1 (null where it cannot be said).
"""

from collections.abc import Iterable
from typing import Any, BinaryIO

from datasets.exports.formats.base import BaseFormat, Option, boolean, write_lines
from datasets.exports.rows import ExportContext, ExportRow
from projects.models import TaskType


class _Rubric:
    def __init__(self, label_schema: dict[str, Any], normalize: bool) -> None:
        criteria = label_schema.get("criteria", [])
        self.names = [criterion["name"] for criterion in criteria]
        self.scales = {criterion["name"]: criterion["scale"] for criterion in criteria}
        self.normalize = normalize

    def _scaled(self, name: str, value: Any) -> float | None:
        scale = self.scales.get(name)
        if scale is None or value is None:
            return None
        return float((value - scale["min"]) / (scale["max"] - scale["min"]))

    def record(self, row: ExportRow) -> dict[str, Any]:
        given = row.result.get("scores", {})
        scores = {name: given.get(name) for name in self.names}
        scores.update((name, value) for name, value in given.items() if name not in scores)
        record = {
            "task_id": row.task_id,
            "prompt": row.data.get("prompt"),
            "response": row.data.get("response"),
            "annotator": row.annotator,
            "scores": scores,
            "comments": row.result.get("comments"),
        }
        if self.normalize:
            record["normalized"] = {name: self._scaled(name, v) for name, v in scores.items()}
        return record


class Rubric(BaseFormat):
    name = "rubric"
    media_type = "application/x-ndjson"
    extension = "jsonl"
    task_types = frozenset({TaskType.RUBRIC.value})
    option_specs = {"normalize": Option(False, boolean)}

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        rubric = _Rubric(context.label_schema, self.context_options(context)["normalize"])
        return write_lines(map(rubric.record, rows), out, sort_keys=False)
