"""One-to-one matching and the F1 bookkeeping shared by span and box agreement."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class F1Score:
    """Matches between annotator A's ``n_a`` and annotator B's ``n_b`` items.

    Taking A as the reference: ``precision = matched / n_b``, ``recall = matched / n_a``;
    ``f1 = 2 * matched / (n_a + n_b)`` is symmetric. Each is ``None`` when its denominator is
    zero (``f1`` is ``None`` only when neither annotator marked anything).
    """

    matched: int
    n_a: int
    n_b: int
    precision: float | None = field(init=False)
    recall: float | None = field(init=False)
    f1: float | None = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "precision", _share(self.matched, self.n_b))
        object.__setattr__(self, "recall", _share(self.matched, self.n_a))
        object.__setattr__(self, "f1", _share(2 * self.matched, self.n_a + self.n_b))


@dataclass(frozen=True)
class MatchReport:
    """Micro-averaged F1 over all tasks, and the same restricted to each label."""

    overall: F1Score
    by_label: dict[str, F1Score]


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def max_matching(*, n_a: int, n_b: int, edges: Callable[[int, int], bool]) -> int:
    """Size of a maximum one-to-one matching of ``range(n_a)`` to ``range(n_b)``.

    ``edges(i, j)`` says whether A's item ``i`` may match B's item ``j``. Kuhn's augmenting
    paths, O(n_a * edges): fine for the items one task holds for one label.
    """
    neighbours = [[j for j in range(n_b) if edges(i, j)] for i in range(n_a)]
    owner: list[int | None] = [None] * n_b
    return sum(_augment(start=i, neighbours=neighbours, owner=owner) for i in range(n_a))


def _augment(*, start: int, neighbours: list[list[int]], owner: list[int | None]) -> bool:
    # Depth-first search for an augmenting path, with an explicit stack: a recursive one would
    # hit Python's recursion limit on a task with a thousand boxes of one label.
    seen: set[int] = set()
    stack = [(start, iter(neighbours[start]))]
    path: list[int] = []  # path[d] is the B item that frame d hands over to frame d + 1
    while stack:
        j = next((j for j in stack[-1][1] if j not in seen), None)
        if j is None:
            stack.pop()
            if path:
                path.pop()
            continue
        seen.add(j)
        path.append(j)
        current = owner[j]
        if current is None:
            for (i, _), claimed in zip(stack, path, strict=True):
                owner[claimed] = i
            return True
        stack.append((current, iter(neighbours[current])))
    return False


def report(*, counts: Iterable[tuple[str, int, int, int]]) -> MatchReport:
    """Sum ``(label, matched, n_a, n_b)`` rows (one per task and label) into a ``MatchReport``."""
    totals: dict[str, list[int]] = {}
    for label, matched, n_a, n_b in counts:
        row = totals.setdefault(label, [0, 0, 0])
        row[0] += matched
        row[1] += n_a
        row[2] += n_b
    by_label = {label: F1Score(*row) for label, row in sorted(totals.items())}
    overall = F1Score(*(sum(row[i] for row in totals.values()) for i in range(3)))
    return MatchReport(overall=overall, by_label=by_label)
