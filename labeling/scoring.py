"""Gold scoring: how well a submitted result matches a task's gold answer, from 0.0 to 1.0.

The result is canonical (``labeling.results.validate_result``); the gold answer was imported
in the result's shape but never validated against the project, so it is read defensively.
What each task type scores:

- classification: single choice, 1.0 if the label sets are equal else 0.0; with ``multiple``,
  the Jaccard index of the two label sets (1.0 when both are empty).
- ner: F1 over exact (start, end, label) spans (1.0 when both have no spans). Relations and
  span ids are not scored.
- boxes: F1 over boxes matched one to one, greedily by highest IoU first, a pair counting when
  the labels are equal and IoU >= 0.5 (1.0 when both have no boxes).
- pairwise: 1.0 if the choices are equal else 0.0; strength and rationale are not scored.
- rubric: the mean, over the criteria the gold answer scores, of 1 - |difference| / (max - min)
  of that criterion's scale; a criterion the result leaves out counts 0.0. Comments are not
  scored.
- free_text: SQuAD-style token F1: lowercase, tokens are runs of letters and digits (spaces,
  punctuation and underscores split them), counted with multiplicity; 1.0 when both have no
  tokens. Articles are kept (SQuAD drops them; that is English-only).
- chat: the mean, over the turns the gold answer rates and its conversation rating if it has
  one, of 1 - |difference| / (max - min) of the scale; a rating the result lacks counts 0.0.
  Flags and comments are not scored.

A gold answer that deviates from the result shape is scored where the meaning is still clear:
unknown keys are ignored; labels, criteria and flags the project does not define are compared
like any other (so they simply do not match); integral floats equal their integers (3.0 is 3);
a rating outside its scale scores at most 1 and at least 0; a box with a negative size has no
area; a gold rubric criterion or conversation rating that the project's schema does not define
is skipped (it has no scale). When what is needed is missing or of the wrong type, or nothing
is left to compare, ``score_gold`` raises ValueError, and the caller records the gold answer as
unscorable. It raises nothing else.
"""

import math
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, NamedTuple

from projects.models import TaskType

# Boxes this much overlapped (intersection over union) may be the same object.
MIN_IOU = 0.5
_TOKEN = re.compile(r"[^\W_]+")


class _Box(NamedTuple):
    x: float
    y: float
    w: float
    h: float
    label: str


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"{where} is not an object.")
    return value


def _field(answer: Any, key: str, where: str) -> Any:
    answer = _object(answer, where)
    if key not in answer:
        raise ValueError(f"{where} has no '{key}'.")
    return answer[key]


def _items(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"{where} is not a list.")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where} is not a string.")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} is not a number.")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{where} is too large.") from None
    if not math.isfinite(number):
        raise ValueError(f"{where} is not a finite number.")
    return number


def _f1(matched: int, found: int, expected: int) -> float:
    """F1 from counts; two empty answers agree perfectly."""
    if found == expected == 0:
        return 1.0
    return 2 * matched / (found + expected)


def _closeness(value: float, expected: float, scale: Any) -> float:
    span = _number(scale["max"], "scale") - _number(scale["min"], "scale")
    return max(0.0, 1.0 - abs(value - expected) / span)


def _labels(answer: Any, where: str) -> set[str]:
    labels = _items(_field(answer, "labels", where), f"{where}.labels")
    return {_text(label, f"{where}.labels[{index}]") for index, label in enumerate(labels)}


def _classification(schema: dict[str, Any], result: Any, gold: Any) -> float:
    found, expected = _labels(result, "result"), _labels(gold, "gold")
    if not schema.get("multiple", False):
        return float(found == expected)
    if not found and not expected:
        return 1.0
    return len(found & expected) / len(found | expected)


def _spans(answer: Any, where: str) -> set[tuple[float, float, str]]:
    spans = set()
    for index, span in enumerate(_items(_field(answer, "spans", where), f"{where}.spans")):
        at = f"{where}.spans[{index}]"
        start = _number(_field(span, "start", at), f"{at}.start")
        end = _number(_field(span, "end", at), f"{at}.end")
        spans.add((start, end, _text(_field(span, "label", at), f"{at}.label")))
    return spans


def _ner(_schema: dict[str, Any], result: Any, gold: Any) -> float:
    found, expected = _spans(result, "result"), _spans(gold, "gold")
    return _f1(len(found & expected), len(found), len(expected))


def _boxes_of(answer: Any, where: str) -> list[_Box]:
    boxes = []
    for index, box in enumerate(_items(_field(answer, "boxes", where), f"{where}.boxes")):
        at = f"{where}.boxes[{index}]"
        x, y, w, h = (_number(_field(box, key, at), f"{at}.{key}") for key in "xywh")
        label = _text(_field(box, "label", at), f"{at}.label")
        boxes.append(_Box(x, y, max(w, 0.0), max(h, 0.0), label))
    return boxes


def _iou(a: _Box, b: _Box) -> float:
    across = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    down = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    overlap = across * down
    union = a.w * a.h + b.w * b.h - overlap
    return overlap / union if union > 0 else 0.0


def _boxes(_schema: dict[str, Any], result: Any, gold: Any) -> float:
    found, expected = _boxes_of(result, "result"), _boxes_of(gold, "gold")
    pairs = [
        (iou, i, j)
        for i, a in enumerate(found)
        for j, b in enumerate(expected)
        if a.label == b.label and (iou := _iou(a, b)) >= MIN_IOU
    ]
    pairs.sort(key=lambda pair: (-pair[0], pair[1], pair[2]))
    used_found: set[int] = set()
    used_expected: set[int] = set()
    for _iou_value, i, j in pairs:
        if i not in used_found and j not in used_expected:
            used_found.add(i)
            used_expected.add(j)
    return _f1(len(used_found), len(found), len(expected))


def _pairwise(_schema: dict[str, Any], result: Any, gold: Any) -> float:
    found = _text(_field(result, "choice", "result"), "result.choice")
    return float(found == _text(_field(gold, "choice", "gold"), "gold.choice"))


def _rating(answer: dict[str, Any], key: str, where: str) -> float | None:
    return None if answer.get(key) is None else _number(answer[key], f"{where}.{key}")


def _mean(parts: list[float]) -> float:
    if not parts:
        raise ValueError("gold rates nothing this project can compare.")
    return sum(parts) / len(parts)


def _rubric(schema: dict[str, Any], result: Any, gold: Any) -> float:
    scales = {criterion["name"]: criterion["scale"] for criterion in schema["criteria"]}
    found = _object(_field(result, "scores", "result"), "result.scores")
    expected = _object(_field(gold, "scores", "gold"), "gold.scores")
    parts = []
    for name, value in expected.items():
        if name not in scales:
            continue
        score = _rating(found, name, "result.scores")
        target = _number(value, f"gold.scores.{name}")
        parts.append(0.0 if score is None else _closeness(score, target, scales[name]))
    return _mean(parts)


def _tokens(answer: Any, where: str) -> list[str]:
    return _TOKEN.findall(_text(_field(answer, "text", where), f"{where}.text").lower())


def _free_text(_schema: dict[str, Any], result: Any, gold: Any) -> float:
    found, expected = _tokens(result, "result"), _tokens(gold, "gold")
    matched = sum((Counter(found) & Counter(expected)).values())
    return _f1(matched, len(found), len(expected))


def _chat(schema: dict[str, Any], result: Any, gold: Any) -> float:
    found = _object(_field(result, "turns", "result"), "result.turns")
    parts = []
    for key, entry in _object(_field(gold, "turns", "gold"), "gold.turns").items():
        target = _rating(_object(entry, f"gold.turns.{key}"), "rating", f"gold.turns.{key}")
        if target is None:
            continue
        turn = found.get(key)
        score = _rating(turn, "rating", f"result.turns.{key}") if isinstance(turn, dict) else None
        parts.append(0.0 if score is None else _closeness(score, target, schema["turn_ratings"]))
    target = _rating(_object(gold, "gold"), "conversation", "gold")
    if target is not None and "conversation_rating" in schema:
        score = _rating(_object(result, "result"), "conversation", "result")
        scale = schema["conversation_rating"]
        parts.append(0.0 if score is None else _closeness(score, target, scale))
    return _mean(parts)


_SCORERS: dict[str, Callable[[dict[str, Any], Any, Any], float]] = {
    TaskType.CLASSIFICATION: _classification,
    TaskType.NER: _ner,
    TaskType.BOXES: _boxes,
    TaskType.PAIRWISE: _pairwise,
    TaskType.RUBRIC: _rubric,
    TaskType.FREE_TEXT: _free_text,
    TaskType.CHAT: _chat,
}


def score_gold(
    *, task_type: str, label_schema: dict[str, Any], result: dict[str, Any], gold: Any
) -> float:
    """How well ``result`` matches ``gold``, in [0, 1]; ValueError if they cannot be compared."""
    scorer = _SCORERS.get(task_type)
    if scorer is None:
        raise ValueError(f"Unknown task type '{task_type}'.")
    return min(1.0, max(0.0, scorer(label_schema, result, gold)))
