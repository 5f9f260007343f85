"""Krippendorff's alpha by the coincidence-matrix method.

Follows Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability": values a unit got
from ``m_u >= 2`` coders contribute ``1 / (m_u - 1)`` to the coincidence count of every ordered
pair of them; units with fewer than two values are not pairable and are dropped. Then
``alpha = 1 - (n - 1) * sum(o_ck * d_ck) / sum(n_c * n_k * d_ck)`` with ``n_c`` the pairable
values equal to ``c`` and ``d`` the level's squared difference. The cost grows with the square
of the number of distinct values, which suits label sets and rubric scales, not raw floats.
"""

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from itertools import accumulate
from typing import Any, Literal

Level = Literal["nominal", "ordinal", "interval", "ratio"]

# Either {unit: {coder: value}} or a coders x units matrix; None (or NaN) marks a missing value.
# Unit and coder keys are Any because Mapping is invariant in its key: a dict[int, ...] of task
# ids would not be a Mapping[Hashable, ...].
ReliabilityData = Mapping[Any, Mapping[Any, Hashable | None]] | Sequence[Sequence[Hashable | None]]

Distance = Callable[[Hashable, Hashable], float]


def krippendorff_alpha(
    data: ReliabilityData,
    *,
    level: Level = "nominal",
    order: Sequence[Hashable] | None = None,
) -> float | None:
    """Krippendorff's alpha of ``data`` at the given level of measurement.

    ``data`` is ``{unit: {coder: value}}`` or a coders x units matrix (rows of equal length);
    ``None`` or a float NaN is a missing value. "interval" and "ratio" need numbers. "ordinal"
    ranks the values by ``order`` when given (e.g. ``["low", "mid", "high"]``), else by sorting
    them; the distance counts the pairable values ranked between two values (Krippendorff's
    rank-based metric), so only the order of the values matters, not their spacing.

    Returns ``None`` when alpha is undefined: no unit has two values, or all pairable values are
    equal (no expected disagreement). Raises ``ValueError`` for ragged matrices, non-numeric
    interval/ratio values, ordinal values that cannot be ordered or are missing from ``order``.
    """
    pairable = [values for values in _units(data) if len(values) >= 2]
    totals = Counter(value for values in pairable for value in values)
    n = sum(totals.values())
    if n < 2:
        return None
    distance = _distance(level=level, totals=totals, order=order)
    observed = sum(
        share * distance(c, k) for (c, k), share in _coincidences(pairable=pairable).items()
    )
    expected = sum(
        n_c * n_k * distance(c, k) for c, n_c in totals.items() for k, n_k in totals.items()
    ) / (n - 1)
    if expected == 0:
        return None
    return 1 - observed / expected


def _units(data: ReliabilityData) -> list[list[Hashable]]:
    if isinstance(data, Mapping):
        columns = [list(by_coder.values()) for by_coder in data.values()]
    else:
        widths = {len(row) for row in data}
        if len(widths) > 1:
            raise ValueError("Every coder's row needs one entry per unit (None when missing).")
        columns = [list(column) for column in zip(*data, strict=True)]
    return [[v for v in column if not _is_missing(v)] for column in columns]


def _is_missing(value: Hashable | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _coincidences(*, pairable: list[list[Hashable]]) -> dict[tuple[Hashable, Hashable], float]:
    coincidences: dict[tuple[Hashable, Hashable], float] = defaultdict(float)
    for values in pairable:
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * n_k - (n_c if c == k else 0)
                if pairs:
                    coincidences[c, k] += pairs / (len(values) - 1)
    return coincidences


def _distance(
    *, level: Level, totals: Counter[Hashable], order: Sequence[Hashable] | None
) -> Distance:
    if level == "nominal":
        return _nominal
    if level == "ordinal":
        return _ordinal(totals=totals, order=order)
    numbers = {value: _number(value) for value in totals}
    if level == "interval":
        return lambda c, k: (numbers[c] - numbers[k]) ** 2
    if level == "ratio":
        return lambda c, k: _ratio(numbers[c], numbers[k])
    raise ValueError(f"Unknown level of measurement: {level!r}.")


def _nominal(c: Hashable, k: Hashable) -> float:
    return 0.0 if c == k else 1.0


def _ordinal(*, totals: Counter[Hashable], order: Sequence[Hashable] | None) -> Distance:
    ranked = _ranked(values=list(totals), order=order)
    rank = {value: position for position, value in enumerate(ranked)}
    # cumulative[i] = pairable values ranked below position i, so a range sum is one subtraction.
    cumulative = [0, *accumulate(totals[value] for value in ranked)]

    def distance(c: Hashable, k: Hashable) -> float:
        low, high = sorted((rank[c], rank[k]))
        between = cumulative[high + 1] - cumulative[low]
        return float((between - (totals[c] + totals[k]) / 2) ** 2)

    return distance


def _ranked(*, values: list[Hashable], order: Sequence[Hashable] | None) -> list[Hashable]:
    if order is not None:
        known = set(order)
        outside = [v for v in values if v not in known]
        if outside:
            raise ValueError(f"Values missing from `order`: {sorted(map(repr, outside))}.")
        return list(dict.fromkeys(order))
    try:
        return sorted(values, key=_as_sortable)
    except TypeError as error:
        raise ValueError("Ordinal values must be sortable, or ranked by `order`.") from error


def _as_sortable(value: Hashable) -> Any:
    # Hashable promises no ordering; sorted() raises TypeError when the values have none.
    return value


def _number(value: Hashable) -> float:
    if isinstance(value, int | float):
        return float(value)
    raise ValueError(f"Interval and ratio levels need numbers, got {value!r}.")


def _ratio(c: float, k: float) -> float:
    total = c + k
    return 0.0 if total == 0 else ((c - k) / total) ** 2
