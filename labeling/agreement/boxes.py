"""Bounding-box agreement between two annotators: IoU-matched F1."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TypedDict

from labeling.agreement._matching import MatchReport, max_matching, report


class Box(TypedDict):
    """A box with top-left corner (``x``, ``y``), width ``w`` and height ``h``, normalized."""

    x: float
    y: float
    w: float
    h: float
    label: str


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two boxes (labels are ignored).

    Returns 0.0 when the union has no area (both boxes are degenerate): such boxes never match.
    """
    width = min(a["x"] + a["w"], b["x"] + b["w"]) - max(a["x"], b["x"])
    height = min(a["y"] + a["h"], b["y"] + b["h"]) - max(a["y"], b["y"])
    intersection = max(width, 0.0) * max(height, 0.0)
    union = a["w"] * a["h"] + b["w"] * b["h"] - intersection
    return 0.0 if union <= 0 else intersection / union


def box_agreement(
    *, tasks: Iterable[tuple[Sequence[Box], Sequence[Box]]], threshold: float = 0.5
) -> MatchReport:
    """Micro-averaged F1 between annotator A's and B's boxes, over all tasks and per label.

    ``tasks`` yields, per task, ``(boxes_a, boxes_b)``. Two boxes may match when they have the
    same label and ``iou >= threshold``; within a task and label the boxes are matched one to
    one by a maximum matching (the most matched pairs possible, which greedy matching by
    descending IoU can miss when boxes crowd). F1 and precision/recall follow ``F1Score`` (A is
    the reference); they are ``None`` when neither annotator drew a box.
    Raises ``ValueError`` for a negative width or height, or a threshold outside (0, 1].
    """
    if not 0 < threshold <= 1:
        raise ValueError(f"The IoU threshold must be in (0, 1], got {threshold}.")
    counts: list[tuple[str, int, int, int]] = []
    for boxes_a, boxes_b in tasks:
        by_label_a, by_label_b = _by_label(boxes_a), _by_label(boxes_b)
        for label in sorted(by_label_a.keys() | by_label_b.keys()):
            a, b = by_label_a[label], by_label_b[label]
            counts.append((label, _matches(a=a, b=b, threshold=threshold), len(a), len(b)))
    return report(counts=counts)


def _matches(*, a: list[Box], b: list[Box], threshold: float) -> int:
    return max_matching(n_a=len(a), n_b=len(b), edges=lambda i, j: iou(a[i], b[j]) >= threshold)


def _by_label(boxes: Sequence[Box]) -> defaultdict[str, list[Box]]:
    grouped: defaultdict[str, list[Box]] = defaultdict(list)
    for box in boxes:
        if box["w"] < 0 or box["h"] < 0:
            raise ValueError(f"A box has a negative size: {box!r}.")
        grouped[box["label"]].append(box)
    return grouped
