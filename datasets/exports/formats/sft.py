"""Supervised fine-tuning data as chat ``messages``, the conversational shape TRL's SFT trainer
reads, for free-text and chat projects. One JSON object per line.

- free_text: ``{"messages": [{"role": "user", "content": prompt}, {"role": "assistant",
  "content": text}], "task_id", "annotator"}``. In a rewrite project the original response is
  not in the messages: the annotator's text is the answer to the prompt.
- chat: ``{"messages": [the conversation, each {"role", "content"}], "ratings", "flags",
  "conversation_rating", "task_id", "annotator"}``, where ``ratings`` and ``flags`` run beside
  ``messages`` (the assistant turns' rating and flags, null and [] for other messages).

Options, chat only: an assistant turn is *bad* when its rating is below ``min_turn_rating`` or
it carries a flag of ``exclude_flags``. With ``on_bad_turn: "drop_conversation"`` (default) a
conversation with a bad turn is left out; with ``"truncate"`` it is kept up to its last good
assistant turn before the first bad one (left out when none is left). A conversation rated below
``min_conversation_rating``, or not rated while that option is set, is left out.
"""

from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from datasets.exports.formats.base import (
    BaseFormat,
    Option,
    choice,
    names,
    whole_number,
    write_lines,
)
from datasets.exports.rows import ExportContext, ExportRow
from projects.models import TaskType

_CHAT = frozenset({TaskType.CHAT.value})


def _free_text(row: ExportRow) -> dict[str, Any]:
    return {
        "messages": [
            {"role": "user", "content": row.data.get("prompt", "")},
            {"role": "assistant", "content": row.result.get("text", "")},
        ],
        "task_id": row.task_id,
        "annotator": row.annotator,
    }


class _Conversations:
    def __init__(self, options: dict[str, Any]) -> None:
        self.min_turn = options["min_turn_rating"]
        self.min_conversation = options["min_conversation_rating"]
        self.excluded = set(options["exclude_flags"])
        self.truncate = options["on_bad_turn"] == "truncate"

    def _bad(self, turn: dict[str, Any]) -> bool:
        if self.min_turn is not None and turn.get("rating", self.min_turn) < self.min_turn:
            return True
        return not self.excluded.isdisjoint(turn.get("flags", ()))

    def _length(self, messages: list[dict[str, Any]], turns: dict[str, Any]) -> int:
        """How many messages to keep: all, up to the last good turn before a bad one, or 0."""
        last_good = 0
        for index, message in enumerate(messages):
            if message.get("role") != "assistant":
                continue
            if self._bad(turns.get(str(index), {})):
                return last_good if self.truncate else 0
            last_good = index + 1
        return len(messages)

    def record(self, row: ExportRow) -> dict[str, Any] | None:
        conversation = row.result.get("conversation")
        if self.min_conversation is not None and (
            conversation is None or conversation < self.min_conversation
        ):
            return None
        messages, turns = row.data.get("messages", []), row.result.get("turns", {})
        keep = self._length(messages, turns)
        if keep == 0:
            return None
        kept = messages[:keep]
        rated = [turns.get(str(index), {}) for index in range(keep)]
        return {
            "messages": [{"role": m["role"], "content": m["content"]} for m in kept],
            "ratings": [turn.get("rating") for turn in rated],
            "flags": [list(turn.get("flags", [])) for turn in rated],
            "conversation_rating": conversation,
            "task_id": row.task_id,
            "annotator": row.annotator,
        }

    def records(self, rows: Iterable[ExportRow]) -> Iterator[dict[str, Any]]:
        for row in rows:
            record = self.record(row)
            if record is not None:
                yield record


class Sft(BaseFormat):
    name = "sft"
    media_type = "application/x-ndjson"
    extension = "jsonl"
    task_types = frozenset({TaskType.FREE_TEXT.value, TaskType.CHAT.value})
    option_specs = {
        "min_turn_rating": Option(None, whole_number(-100, 100, nullable=True), _CHAT),
        "min_conversation_rating": Option(None, whole_number(-100, 100, nullable=True), _CHAT),
        "exclude_flags": Option([], names, _CHAT),
        "on_bad_turn": Option("drop_conversation", choice("drop_conversation", "truncate"), _CHAT),
    }

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        if context.task_type != TaskType.CHAT:
            return write_lines(map(_free_text, rows), out, sort_keys=False)
        conversations = _Conversations(self.context_options(context))
        return write_lines(conversations.records(rows), out, sort_keys=False)
