"""Span-level agreement between two annotators' named-entity spans (F1, exact and overlap)."""

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TypedDict

from labeling.agreement._matching import MatchReport, max_matching, report


class Span(TypedDict):
    """Characters ``start`` (inclusive) to ``end`` (exclusive) carry ``label``."""

    start: int
    end: int
    label: str


@dataclass(frozen=True)
class SpanAgreement:
    """``exact``: same start, end and label. ``partial``: same label and overlapping text."""

    exact: MatchReport
    partial: MatchReport


def span_agreement(*, tasks: Iterable[tuple[Sequence[Span], Sequence[Span]]]) -> SpanAgreement:
    """Micro-averaged F1 between annotator A's and B's spans, over all tasks and per label.

    ``tasks`` yields, per task, ``(spans_a, spans_b)``. Spans are matched one to one within a
    task and a label: exactly (a repeated identical span matches as often as both repeat it), or
    partially when the half-open ranges share a character (or are the same empty range), with a
    maximum matching so that a span never counts twice. F1 and precision/recall follow
    ``F1Score`` (A is the reference); they are ``None`` when nothing was marked at all.
    Raises ``ValueError`` for a span whose ``end`` is before its ``start``.
    """
    exact: list[tuple[str, int, int, int]] = []
    partial: list[tuple[str, int, int, int]] = []
    for spans_a, spans_b in tasks:
        by_label_a, by_label_b = _by_label(spans_a), _by_label(spans_b)
        for label in sorted(by_label_a.keys() | by_label_b.keys()):
            a, b = by_label_a[label], by_label_b[label]
            exact.append((label, _exact_matches(a=a, b=b), len(a), len(b)))
            partial.append((label, _overlap_matches(a=a, b=b), len(a), len(b)))
    return SpanAgreement(exact=report(counts=exact), partial=report(counts=partial))


def _by_label(spans: Sequence[Span]) -> defaultdict[str, list[tuple[int, int]]]:
    grouped: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
    for span in spans:
        if span["end"] < span["start"]:
            raise ValueError(f"A span ends before it starts: {span!r}.")
        grouped[span["label"]].append((span["start"], span["end"]))
    return grouped


def _exact_matches(*, a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    return sum((Counter(a) & Counter(b)).values())


def _overlap_matches(*, a: list[tuple[int, int]], b: list[tuple[int, int]]) -> int:
    return max_matching(n_a=len(a), n_b=len(b), edges=lambda i, j: _overlap(a[i], b[j]))


def _overlap(x: tuple[int, int], y: tuple[int, int]) -> bool:
    return x == y or min(x[1], y[1]) > max(x[0], y[0])
