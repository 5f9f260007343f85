"""Chance-corrected agreement on categorical labels: Cohen's kappa, Fleiss' kappa, raw agreement.

Every function returns ``None`` where the statistic is undefined (no items, a single category,
a single rater) instead of raising ``ZeroDivisionError`` or returning NaN, so a report can show
"not enough data" rather than a number that is not one.
"""

from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

KappaWeights = Literal["linear", "quadratic"] | None

# {unit: {coder: label}}; None marks a coder who did not rate that unit. The keys are Any because
# Mapping is invariant in its key: a dict[int, ...] of task ids is no Mapping[Hashable, ...].
Units = Mapping[Any, Mapping[Any, Hashable | None]]


def _ordered_labels(values: Iterable[Hashable]) -> list[Hashable]:
    """The distinct values, sorted when they can be (else in first-seen order)."""
    distinct = list(dict.fromkeys(values))
    try:
        # Hashable does not promise an ordering; mixed or unorderable labels keep their order.
        return sorted(distinct, key=_sort_key)
    except TypeError:
        return distinct


def _sort_key(value: Hashable) -> Any:
    return value


def cohen_kappa(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    *,
    weights: KappaWeights = None,
    labels: Sequence[Hashable] | None = None,
) -> float | None:
    """Cohen's kappa between two raters, as scikit-learn's ``cohen_kappa_score``.

    ``a[i]`` and ``b[i]`` are the two raters' labels for item ``i``. ``labels`` fixes the label
    set and its order; pairs where either label is outside it are ignored. By default the labels
    are those seen, sorted. Weighted kappa ("linear": ``|i - j|``, "quadratic": ``(i - j)**2``)
    weighs disagreements by the distance between the labels' *positions* in that order (as
    scikit-learn does), which equals the value distance for consecutive integer scores.

    Returns ``None`` for no (kept) items and when chance disagreement is zero, e.g. both raters
    used one and the same label throughout (scikit-learn returns NaN there).
    Raises ``ValueError`` if ``a`` and ``b`` differ in length, ``labels`` repeats a label, or
    weights are asked for on labels that cannot be ordered and no ``labels`` order is given.
    """
    if len(a) != len(b):
        raise ValueError(f"The raters labelled different numbers of items ({len(a)}, {len(b)}).")
    order = _kappa_labels(a=a, b=b, labels=labels, weighted=weights is not None)
    index = {label: position for position, label in enumerate(order)}
    pairs = [(index[x], index[y]) for x, y in zip(a, b, strict=True) if x in index and y in index]
    if not pairs:
        return None
    rows = Counter(i for i, _ in pairs)
    cols = Counter(j for _, j in pairs)
    observed = sum(_weight(i=i, j=j, weights=weights) for i, j in pairs) / len(pairs)
    expected = sum(
        rows[i] * cols[j] * _weight(i=i, j=j, weights=weights) for i in rows for j in cols
    ) / (len(pairs) * len(pairs))
    if expected == 0:
        return None
    return 1 - observed / expected


def _kappa_labels(
    *,
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    labels: Sequence[Hashable] | None,
    weighted: bool,
) -> list[Hashable]:
    if labels is not None:
        if len(set(labels)) != len(labels):
            raise ValueError("`labels` repeats a label.")
        return list(labels)
    order = _ordered_labels([*a, *b])
    if weighted and not _is_sorted(order):
        raise ValueError("These labels cannot be ordered; pass `labels` in the intended order.")
    return order


def _is_sorted(values: list[Hashable]) -> bool:
    try:
        return values == sorted(values, key=_sort_key)
    except TypeError:
        return False


def _weight(*, i: int, j: int, weights: KappaWeights) -> int:
    if weights is None:
        return 0 if i == j else 1
    if weights == "linear":
        return abs(i - j)
    return (i - j) ** 2


def fleiss_kappa(table: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' kappa from a subjects x categories count table (statsmodels, ``method="fleiss"``).

    ``table[s][c]`` is how many raters put subject ``s`` in category ``c``; every subject must
    have the same number of raters (build the table with ``fleiss_table``).

    Returns ``None`` for no subjects, fewer than two raters per subject, or when all ratings fall
    in a single category (expected agreement 1). Raises ``ValueError`` for negative counts, rows
    of different lengths or subjects with different numbers of raters.
    """
    if not table:
        return None
    width = len(table[0])
    if any(len(row) != width for row in table) or any(n < 0 for row in table for n in row):
        raise ValueError("The table needs rows of equal length with non-negative counts.")
    raters = {sum(row) for row in table}
    if len(raters) != 1:
        raise ValueError("Fleiss' kappa needs the same number of raters for every subject.")
    (per_subject,) = raters
    if per_subject < 2:
        return None
    total = per_subject * len(table)
    category_share = [sum(row[c] for row in table) / total for c in range(width)]
    mean_agreement = sum(
        (sum(n * n for n in row) - per_subject) / (per_subject * (per_subject - 1)) for row in table
    ) / len(table)
    chance = sum(p * p for p in category_share)
    if chance >= 1:
        return None
    return (mean_agreement - chance) / (1 - chance)


def fleiss_table(
    units: Units, *, categories: Sequence[Hashable] | None = None
) -> tuple[list[Hashable], list[list[int]]]:
    """The categories and the subjects x categories count table of ``units``.

    ``units`` maps each unit to ``{coder: label}`` (``None`` = not rated). Units with no rating
    are left out. ``categories`` fixes the columns (default: the labels seen, sorted); a label
    outside it raises ``ValueError``.
    """
    counts = [Counter(v for v in by_coder.values() if v is not None) for by_coder in units.values()]
    counts = [c for c in counts if c]
    seen = _ordered_labels(label for c in counts for label in c)
    columns = list(categories) if categories is not None else seen
    unknown = set(seen) - set(columns)
    if unknown:
        raise ValueError(f"Labels outside `categories`: {sorted(map(repr, unknown))}.")
    return columns, [[c[label] for label in columns] for c in counts]


def percent_agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Share of items on which two raters gave the same label (``a[i] == b[i]``).

    Returns ``None`` for no items. Raises ``ValueError`` if the lengths differ.
    """
    if len(a) != len(b):
        raise ValueError(f"The raters labelled different numbers of items ({len(a)}, {len(b)}).")
    if not a:
        return None
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a)


def multi_rater_agreement(units: Units) -> float | None:
    """Mean share of agreeing rater pairs per unit, over units rated at least twice.

    ``units`` maps each unit to ``{coder: label}`` (``None`` = not rated). With two raters this
    is ``percent_agreement``; with a fixed number of raters it is Fleiss' observed agreement.
    Returns ``None`` when no unit has two ratings.
    """
    shares = []
    for by_coder in units.values():
        counts = Counter(v for v in by_coder.values() if v is not None)
        m = sum(counts.values())
        if m >= 2:
            shares.append(sum(n * (n - 1) for n in counts.values()) / (m * (m - 1)))
    if not shares:
        return None
    return sum(shares) / len(shares)
