"""Intraclass correlation: Shrout & Fleiss (1979) Table 2, and the two-way ANOVA it rests on
checked against statsmodels."""

import random

import pandas as pd  # type: ignore[import-untyped]
import pytest
from statsmodels.formula.api import ols  # type: ignore[import-untyped]
from statsmodels.stats.anova import anova_lm  # type: ignore[import-untyped]

from labeling.agreement import IccResult, icc

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges.
SHROUT_FLEISS: list[list[float | None]] = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]


def reference_icc(matrix) -> dict[str, float]:
    """The Shrout & Fleiss formulas over mean squares from statsmodels' two-way ANOVA."""
    n, k = len(matrix), len(matrix[0])
    frame = pd.DataFrame(
        [(t, r, score) for t, row in enumerate(matrix) for r, score in enumerate(row)],
        columns=["target", "rater", "score"],
    )
    table = anova_lm(ols("score ~ C(target) + C(rater)", data=frame).fit(), typ=1)
    bms = table.loc["C(target)", "mean_sq"]
    jms = table.loc["C(rater)", "mean_sq"]
    ems = table.loc["Residual", "mean_sq"]
    wms = (table.loc["C(rater)", "sum_sq"] + table.loc["Residual", "sum_sq"]) / (n * (k - 1))
    return {
        "icc1_1": (bms - wms) / (bms + (k - 1) * wms),
        "icc2_1": (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n),
        "icc3_1": (bms - ems) / (bms + (k - 1) * ems),
        "icc1_k": (bms - wms) / bms,
        "icc2_k": (bms - ems) / (bms + (jms - ems) / n),
        "icc3_k": (bms - ems) / bms,
    }


def test_icc_reproduces_shrout_and_fleiss_table_2():
    result = icc(SHROUT_FLEISS)
    published = {
        "icc1_1": 0.17,
        "icc2_1": 0.29,
        "icc3_1": 0.71,
        "icc1_k": 0.44,
        "icc2_k": 0.62,
        "icc3_k": 0.91,
    }
    assert {name: round(getattr(result, name), 2) for name in published} == published
    assert (result.n_targets, result.n_raters, result.n_dropped) == (6, 4, 0)


@pytest.mark.parametrize("seed", range(12))
def test_icc_matches_the_anova_of_statsmodels(seed):
    rng = random.Random(seed)
    n, k = rng.randint(2, 15), rng.randint(2, 5)
    offsets = [rng.uniform(-1, 1) for _ in range(k)]
    matrix = []
    for _ in range(n):
        truth = rng.uniform(0, 10)
        matrix.append([round(truth + offsets[r] + rng.gauss(0, 1), 2) for r in range(k)])
    result = icc(matrix)
    for name, value in reference_icc(matrix).items():
        assert getattr(result, name) == pytest.approx(value, abs=1e-9, rel=1e-9), name


def test_icc_drops_targets_with_a_missing_score():
    with_gaps: list[list[float | None]] = [
        *SHROUT_FLEISS,
        [3, None, 4, 5],
        [float("nan"), 1, 1, 1],
    ]
    result = icc(with_gaps)
    assert (result.n_targets, result.n_dropped) == (6, 2)
    assert result.icc2_1 == icc(SHROUT_FLEISS).icc2_1


def test_icc_is_one_for_perfect_agreement_and_consistency_ignores_rater_offsets():
    assert icc([[1, 1, 1], [2, 2, 2], [5, 5, 5]]).icc2_1 == 1.0
    offset = icc([[1, 2, 3], [2, 3, 4], [5, 6, 7]])
    assert offset.icc3_1 == 1.0  # consistency: a constant offset per rater is no disagreement
    assert offset.icc2_1 is not None
    assert offset.icc2_1 < 1.0  # absolute agreement: it is


def test_icc_is_none_where_undefined():
    empty = icc([])
    assert empty == IccResult(None, None, None, None, None, None, 0, 0, 0)
    assert icc([[1, 2, 3]]).icc1_1 is None  # one target
    assert icc([[1], [2], [3]]).icc3_1 is None  # one rater
    same = icc([[0.1, 0.1], [0.1, 0.1], [0.1, 0.1]])
    assert [same.icc1_1, same.icc2_1, same.icc3_1] == [None, None, None]  # no variance at all
    # Targets indistinguishable, raters differ by a constant: consistency is 0/0, exactly.
    assert icc([[0.1, 0.2, 0.3], [0.1, 0.2, 0.3]]).icc3_1 is None
    assert icc([[1, None], [None, 2]]).icc1_1 is None  # nothing complete


def test_icc_refuses_ragged_rows():
    with pytest.raises(ValueError, match="one entry per rater"):
        icc([[1, 2], [1]])
