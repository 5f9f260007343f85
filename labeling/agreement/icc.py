"""Intraclass correlation of rubric scores (Shrout & Fleiss 1979, McGraw & Wong 1996).

The six coefficients come from one two-way ANOVA of a complete targets x raters matrix:
BMS (between targets), WMS (within targets), JMS (between raters) and EMS (residual) mean
squares. Shrout & Fleiss name them ICC(form, k) by design; McGraw & Wong's names are given with
each field of ``IccResult``.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class IccResult:
    """ICCs of a targets x raters matrix; a coefficient is ``None`` where it is undefined."""

    # ICC(1,1), McGraw & Wong ICC(1): one-way random effects, absolute agreement, one rater.
    icc1_1: float | None
    # ICC(2,1), McGraw & Wong ICC(A,1): two-way random effects, absolute agreement, one rater.
    icc2_1: float | None
    # ICC(3,1), McGraw & Wong ICC(C,1): two-way mixed effects, consistency, one rater.
    icc3_1: float | None
    # ICC(1,k), McGraw & Wong ICC(k): as ICC(1,1) for the mean of the k raters.
    icc1_k: float | None
    # ICC(2,k), McGraw & Wong ICC(A,k): as ICC(2,1) for the mean of the k raters.
    icc2_k: float | None
    # ICC(3,k), McGraw & Wong ICC(C,k): as ICC(3,1) for the mean of the k raters.
    icc3_k: float | None
    n_targets: int  # targets used (complete rows)
    n_raters: int
    n_dropped: int  # targets left out because a rating was missing


# Exact arithmetic: a zero variance must come out as exactly zero (an undefined ICC), not as
# rounding noise that turns 0/0 into an arbitrary coefficient.
@dataclass(frozen=True)
class _MeanSquares:
    between_targets: Fraction  # BMS
    within_targets: Fraction  # WMS
    between_raters: Fraction  # JMS
    residual: Fraction  # EMS


def icc(matrix: Sequence[Sequence[float | None]]) -> IccResult:
    """Intraclass correlations of ``matrix[target][rater]`` scores.

    Every row needs one entry per rater; ``None`` (or a float NaN) marks a missing score, and a
    target with any missing score is dropped entirely (counted in ``n_dropped``) because the
    ANOVA needs a complete matrix. Coefficients are ``None`` with fewer than two complete
    targets, fewer than two raters, or a zero denominator (e.g. every score the same).
    Raises ``ValueError`` for rows of different lengths.
    """
    widths = {len(row) for row in matrix}
    if len(widths) > 1:
        raise ValueError("Every target needs one entry per rater (None when missing).")
    complete = [[Fraction(x) for x in row if x is not None and not math.isnan(x)] for row in matrix]
    k = widths.pop() if widths else 0
    complete = [row for row in complete if len(row) == k]
    n = len(complete)
    squares = _mean_squares(rows=complete) if n >= 2 and k >= 2 else None
    return _result(squares=squares, n=n, k=k, dropped=len(matrix) - n)


def _mean_squares(*, rows: list[list[Fraction]]) -> _MeanSquares:
    n, k = len(rows), len(rows[0])
    grand = sum((sum(row, Fraction(0)) for row in rows), Fraction(0)) / (n * k)
    row_means = [sum(row, Fraction(0)) / k for row in rows]
    col_means = [sum((row[j] for row in rows), Fraction(0)) / n for j in range(k)]
    total = sum(((x - grand) ** 2 for row in rows for x in row), Fraction(0))
    between_targets = k * sum(((m - grand) ** 2 for m in row_means), Fraction(0))
    between_raters = n * sum(((m - grand) ** 2 for m in col_means), Fraction(0))
    residual = total - between_targets - between_raters
    return _MeanSquares(
        between_targets=between_targets / (n - 1),
        within_targets=(total - between_targets) / (n * (k - 1)),
        between_raters=between_raters / (k - 1),
        residual=residual / ((n - 1) * (k - 1)),
    )


def _result(*, squares: _MeanSquares | None, n: int, k: int, dropped: int) -> IccResult:
    if squares is None:
        return IccResult(None, None, None, None, None, None, n, k, dropped)
    bms, wms, jms, ems = (
        squares.between_targets,
        squares.within_targets,
        squares.between_raters,
        squares.residual,
    )
    return IccResult(
        icc1_1=_ratio(bms - wms, bms + (k - 1) * wms),
        icc2_1=_ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        icc3_1=_ratio(bms - ems, bms + (k - 1) * ems),
        icc1_k=_ratio(bms - wms, bms),
        icc2_k=_ratio(bms - ems, bms + (jms - ems) / n),
        icc3_k=_ratio(bms - ems, bms),
        n_targets=n,
        n_raters=k,
        n_dropped=dropped,
    )


def _ratio(numerator: Fraction, denominator: Fraction) -> float | None:
    return None if denominator == 0 else float(numerator / denominator)
