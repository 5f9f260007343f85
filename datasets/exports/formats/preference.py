"""Preference pairs for pairwise projects, in the shape TRL's DPO and reward trainers read.

One JSON object per line: ``prompt``, ``chosen``, ``rejected`` (strings, or with ``style:
"conversational"`` lists of ``{"role", "content"}`` messages), then a few keys of provenance.

Options:
- ``aggregate``: ``"annotation"`` (default) writes one pair per judgement, with ``task_id``,
  ``annotator``, ``strength`` and ``rationale`` (null when absent); ``"majority"`` writes one
  pair per task, the choice most of its judgements made (a strict plurality among a, b and tie;
  anything else is a tie), with ``task_id``, ``votes`` (``{"chosen", "rejected", "tie"}``)
  and ``agreement``.
- ``ties``: a tie says neither response is better, which no pairwise trainer can learn from, so
  ties are dropped (``"drop"``, default) or make the export fail (``"error"``, code
  ``ties_present``) for pipelines that must know none was there.
- ``min_agreement`` (0..1, default null): drop the tasks whose agreement is below it, or unknown
  (fewer than two annotations).
"""

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from datasets.exports.formats.base import (
    BaseFormat,
    ExportFailed,
    Option,
    choice,
    fraction_or_null,
    write_lines,
)
from datasets.exports.rows import ExportContext, ExportRow
from projects.models import TaskType

_SIDES = {"a": ("response_a", "response_b"), "b": ("response_b", "response_a")}


def plurality(choices: Iterable[str]) -> tuple[str, Counter[str]]:
    """The choice strictly more judgements made than any other, else ``"tie"``."""
    votes = Counter(choices)
    ranked = votes.most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return "tie", votes
    return ranked[0][0], votes


class _Pairs:
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.conversational = options["style"] == "conversational"

    def keep(self, row: ExportRow) -> bool:
        least = self.options["min_agreement"]
        return least is None or (row.agreement is not None and row.agreement >= least)

    def pair(self, row: ExportRow, winner: str) -> dict[str, Any] | None:
        """The prompt, chosen and rejected of a task, or None for a tie that is dropped."""
        if winner not in _SIDES:
            if self.options["ties"] == "error":
                raise ExportFailed(
                    "A task's judgement is a tie, and this version's options refuse ties.",
                    code="ties_present",
                    details={"task_id": row.task_id},
                )
            return None
        chosen, rejected = (row.data[key] for key in _SIDES[winner])
        if not self.conversational:
            return {"prompt": row.data["prompt"], "chosen": chosen, "rejected": rejected}
        return {
            "prompt": [{"role": "user", "content": row.data["prompt"]}],
            "chosen": [{"role": "assistant", "content": chosen}],
            "rejected": [{"role": "assistant", "content": rejected}],
        }

    def by_annotation(self, rows: Iterable[ExportRow]) -> Iterator[dict[str, Any]]:
        for row in rows:
            pair = self.pair(row, row.result.get("choice", "tie")) if self.keep(row) else None
            if pair is not None:
                yield {
                    **pair,
                    "task_id": row.task_id,
                    "annotator": row.annotator,
                    "strength": row.result.get("strength"),
                    "rationale": row.result.get("rationale"),
                }

    def by_majority(self, rows: Iterable[ExportRow]) -> Iterator[dict[str, Any]]:
        # The rows come task by task, so a task's judgements are consecutive.
        for _task, group in itertools.groupby(rows, key=lambda row: row.task_id):
            judgements = list(group)
            first = judgements[0]
            if not self.keep(first):
                continue
            winner, votes = plurality(row.result.get("choice", "tie") for row in judgements)
            pair = self.pair(first, winner)
            if pair is not None:
                loser = "b" if winner == "a" else "a"
                yield {
                    **pair,
                    "task_id": first.task_id,
                    "votes": {
                        "chosen": votes[winner],
                        "rejected": votes[loser],
                        "tie": votes["tie"],
                    },
                    "agreement": first.agreement,
                }


class Preference(BaseFormat):
    name = "preference"
    media_type = "application/x-ndjson"
    extension = "jsonl"
    task_types = frozenset({TaskType.PAIRWISE.value})
    option_specs = {
        "aggregate": Option("annotation", choice("annotation", "majority")),
        "ties": Option("drop", choice("drop", "error")),
        "min_agreement": Option(None, fraction_or_null),
        "style": Option("standard", choice("standard", "conversational")),
    }

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        options = self.context_options(context)
        pairs = _Pairs(options)
        records = (
            pairs.by_majority(rows)
            if options["aggregate"] == "majority"
            else pairs.by_annotation(rows)
        )
        return write_lines(records, out, sort_keys=False)
