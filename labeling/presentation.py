"""What an annotator is shown of a task, and how their answer maps back to the task.

A pairwise task may be shown with its two responses exchanged, so that a preference for the
first (left) response does not become a preference for ``response_a`` in the data. The
exchange is fixed per (task, annotator): stable, so a draft reloads the way it was written, and
different across annotators, so the position bias averages out. It is not a secret: knowing it
tells an annotator nothing about which response is better.

Results, predictions and gold answers are stored in the task's own orientation; only what
crosses to and from the annotator's screen is exchanged. (A draft kept exactly as its author
saw it is shown back as it is.)
"""

import hashlib
import uuid
from typing import Any

from projects.models import TaskType

_EXCHANGED = {"a": "b", "b": "a"}


def is_swapped(
    *,
    task_type: str,
    label_schema: dict[str, Any],
    task_id: uuid.UUID,
    annotator_id: int | uuid.UUID,
) -> bool:
    """Whether this annotator sees this task's responses exchanged (pairwise, randomized)."""
    if task_type != TaskType.PAIRWISE or not label_schema.get("randomize", True):
        return False
    digest = hashlib.sha256(f"{task_id}:{annotator_id}".encode()).digest()
    return bool(digest[-1] & 1)


def _exchanged(result: dict[str, Any]) -> dict[str, Any]:
    if (
        isinstance(result, dict)
        and "choice" not in result
        and isinstance(result.get("result"), dict)
    ):
        # A prediction: {"result": {...}, "model"?, "score"?}; its result is what is shown.
        return {**result, "result": _exchanged(result["result"])}
    # A prediction is imported in any shape; one without a plain a/b choice passes as is.
    choice = result.get("choice") if isinstance(result, dict) else None
    if not isinstance(choice, str) or choice not in _EXCHANGED:
        return result
    return {**result, "choice": _EXCHANGED[choice]}


def present(
    *, task_type: str, data: dict[str, Any], result: dict[str, Any] | None, swapped: bool
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The data and result (a draft or a prediction) as the annotator is to see them."""
    if task_type != TaskType.PAIRWISE or not swapped:
        return data, result
    shown = dict(data)
    if "response_a" in data and "response_b" in data:
        shown["response_a"], shown["response_b"] = data["response_b"], data["response_a"]
    return shown, None if result is None else _exchanged(result)


def canonical_result(*, task_type: str, result: dict[str, Any], swapped: bool) -> dict[str, Any]:
    """A result submitted as presented, in the task's own orientation (a and b as stored)."""
    if task_type != TaskType.PAIRWISE or not swapped:
        return result
    return _exchanged(result)
