"""Categorical agreement (Cohen, Fleiss, Krippendorff) against the reference implementations and
the published worked examples."""

import math
import random
import subprocess
import sys
import warnings
from pathlib import Path

import krippendorff
import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score  # type: ignore[import-untyped]
from statsmodels.stats.inter_rater import (  # type: ignore[import-untyped]
    fleiss_kappa as sm_fleiss_kappa,
)

from labeling.agreement import (
    Level,
    Units,
    cohen_kappa,
    fleiss_kappa,
    fleiss_table,
    krippendorff_alpha,
    multi_rater_agreement,
    percent_agreement,
)

TOLERANCE = 1e-9
LEVELS: list[Level] = ["nominal", "ordinal", "interval", "ratio"]

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: 4 coders x 12
# units with missing values.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]

# Fleiss' kappa worked example on Wikipedia: 10 subjects, 14 raters, 5 categories.
WIKIPEDIA_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def reference_kappa(a, b, **kwargs) -> float | None:
    with warnings.catch_warnings():
        # scikit-learn warns and returns NaN where kappa is undefined; we return None.
        warnings.simplefilter("ignore")
        value = float(cohen_kappa_score(a, b, **kwargs))
    return None if math.isnan(value) else value


def reference_fleiss(table) -> float | None:
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(sm_fleiss_kappa(np.array(table), method="fleiss"))
    return None if math.isnan(value) or math.isinf(value) else value


def reference_alpha(matrix, level: Level, value_domain=None) -> float | None:
    data = np.array([[np.nan if x is None else x for x in row] for row in matrix], dtype=float)
    try:
        value = float(
            krippendorff.alpha(data, level_of_measurement=level, value_domain=value_domain)
        )
    except ValueError:
        # The package refuses data with one value or no pairable unit; alpha is undefined there.
        return None
    return None if math.isnan(value) else value


def assert_close(ours: float | None, reference: float | None) -> None:
    if reference is None:
        assert ours is None
    else:
        assert ours is not None
        assert ours == pytest.approx(reference, abs=TOLERANCE, rel=TOLERANCE)


# --- Cohen's kappa -------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(40))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_scikit_learn_on_random_ratings(seed, weights):
    rng = random.Random(seed)
    labels = list(range(rng.randint(1, 6)))
    n = rng.randint(1, 60)
    a = [rng.choice(labels) for _ in range(n)]
    # Correlated second rater, so kappa ranges over negative, small and large values.
    b = [x if rng.random() < rng.random() else rng.choice(labels) for x in a]
    assert_close(cohen_kappa(a, b, weights=weights), reference_kappa(a, b, weights=weights))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_matches_scikit_learn_with_string_labels(seed, weights):
    rng = random.Random(seed)
    a = [rng.choice("abcd") for _ in range(30)]
    b = [rng.choice("abcd") for _ in range(30)]
    assert_close(cohen_kappa(a, b, weights=weights), reference_kappa(a, b, weights=weights))


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("weights", [None, "linear", "quadratic"])
def test_cohen_kappa_with_given_labels_matches_scikit_learn(seed, weights):
    # Explicit labels fix the scale (an unused 6 widens the weights) and drop pairs outside it.
    rng = random.Random(seed)
    a = [rng.randint(0, 4) for _ in range(40)]
    b = [rng.randint(0, 4) for _ in range(40)]
    labels = [a[0], *sorted({1, 2, 6} - {a[0]})]
    assert_close(
        cohen_kappa(a, b, weights=weights, labels=labels),
        reference_kappa(a, b, weights=weights, labels=labels),
    )


def test_cohen_kappa_on_the_wikipedia_example():
    # 50 proposals: both yes 20, both no 15, A yes B no 5, A no B yes 10: p_o 0.7, p_e 0.5.
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4, abs=TOLERANCE)


def test_cohen_kappa_is_none_when_both_raters_use_one_label():
    assert reference_kappa([2, 2, 2], [2, 2, 2]) is None  # NaN in scikit-learn
    assert cohen_kappa([2, 2, 2], [2, 2, 2]) is None
    assert cohen_kappa([2, 2, 2], [2, 2, 2], weights="quadratic") is None


def test_cohen_kappa_is_none_without_items():
    assert cohen_kappa([], []) is None
    assert cohen_kappa(["x"], ["y"], labels=["z"]) is None


def test_cohen_kappa_of_one_item_matches_scikit_learn():
    assert_close(cohen_kappa(["x"], ["y"]), reference_kappa(["x"], ["y"]))
    assert cohen_kappa(["x"], ["x"]) is None


def test_cohen_kappa_refuses_ratings_of_different_lengths():
    with pytest.raises(ValueError, match="different numbers"):
        cohen_kappa([1, 2], [1])


def test_weighted_cohen_kappa_needs_an_order_for_unorderable_labels():
    assert cohen_kappa([1, "x"], ["x", 1]) is not None
    with pytest.raises(ValueError, match="ordered"):
        cohen_kappa([1, "x"], ["x", 1], weights="linear")
    assert cohen_kappa([1, "x"], ["x", 1], weights="linear", labels=[1, "x"]) is not None


# --- Fleiss' kappa and raw agreement -------------------------------------------------------


def test_fleiss_kappa_on_the_wikipedia_example():
    ours = fleiss_kappa(WIKIPEDIA_FLEISS)
    assert ours is not None
    assert round(ours, 3) == 0.210
    assert_close(fleiss_kappa(WIKIPEDIA_FLEISS), reference_fleiss(WIKIPEDIA_FLEISS))


@pytest.mark.parametrize("seed", range(40))
def test_fleiss_kappa_matches_statsmodels_on_random_tables(seed):
    rng = random.Random(seed)
    subjects, raters, categories = rng.randint(1, 25), rng.randint(2, 9), rng.randint(2, 5)
    table = []
    for _ in range(subjects):
        leaning = rng.randrange(categories)
        row = [0] * categories
        for _ in range(raters):
            row[leaning if rng.random() < 0.6 else rng.randrange(categories)] += 1
        table.append(row)
    assert_close(fleiss_kappa(table), reference_fleiss(table))


def test_fleiss_kappa_is_none_when_undefined():
    assert fleiss_kappa([]) is None
    assert fleiss_kappa([[3, 0], [3, 0]]) is None  # one category: no chance disagreement
    assert reference_fleiss([[3, 0], [3, 0]]) is None
    assert fleiss_kappa([[1, 0], [0, 1]]) is None  # one rater per subject


def test_fleiss_kappa_refuses_subjects_with_different_numbers_of_raters():
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa([[2, 1], [1, 1]])
    with pytest.raises(ValueError, match="non-negative"):
        fleiss_kappa([[3, -1], [1, 1]])


def test_fleiss_table_counts_each_units_labels():
    units: Units = {
        "t1": {"ann": "cat", "bob": "dog", "cy": "cat"},
        "t2": {"ann": "dog", "bob": None, "cy": "dog"},
        "t3": {"ann": None},
    }
    assert fleiss_table(units) == (["cat", "dog"], [[2, 1], [0, 2]])
    assert fleiss_table(units, categories=["dog", "cat", "bird"]) == (
        ["dog", "cat", "bird"],
        [[1, 2, 0], [2, 0, 0]],
    )
    with pytest.raises(ValueError, match="outside"):
        fleiss_table(units, categories=["cat"])


def test_percent_agreement_counts_equal_pairs():
    assert percent_agreement(["a", "b", "a", "c"], ["a", "b", "b", "c"]) == 0.75
    assert percent_agreement([], []) is None
    with pytest.raises(ValueError, match="different numbers"):
        percent_agreement(["a"], [])


def test_multi_rater_agreement_averages_agreeing_pairs_per_unit():
    units: Units = {
        "t1": {"ann": "x", "bob": "x", "cy": "y"},  # 1 agreeing pair of 3
        "t2": {"ann": "x", "bob": "x"},  # 1 of 1
        "t3": {"ann": "x", "bob": None},  # one rating: not pairable
    }
    assert multi_rater_agreement(units) == pytest.approx((1 / 3 + 1) / 2)
    assert multi_rater_agreement({"t3": units["t3"]}) is None
    assert multi_rater_agreement({}) is None


# --- Krippendorff's alpha ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_on_krippendorffs_own_example(level, published):
    ours = krippendorff_alpha(KRIPPENDORFF_2011, level=level)
    assert ours is not None
    assert round(ours, 3) == published
    assert_close(ours, reference_alpha(KRIPPENDORFF_2011, level))


def test_krippendorff_alpha_on_krippendorffs_binary_example():
    # Krippendorff (2011), section A: two observers, ten units, binary values: alpha = 0.095.
    coder_a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    coder_b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    ours = krippendorff_alpha([coder_a, coder_b])
    assert ours is not None
    assert round(ours, 3) == 0.095


@pytest.mark.parametrize("seed", range(30))
@pytest.mark.parametrize("level", LEVELS)
def test_krippendorff_alpha_matches_the_krippendorff_package_with_missing_data(seed, level):
    rng = random.Random(seed)
    domain = rng.sample(range(12), rng.randint(2, 6))
    missing = rng.choice([0.0, 0.2, 0.5])
    matrix = []
    truth = [rng.choice(domain) for _ in range(rng.randint(1, 30))]
    for _ in range(rng.randint(2, 5)):
        matrix.append(
            [
                None
                if rng.random() < missing
                else (t if rng.random() < 0.6 else rng.choice(domain))
                for t in truth
            ]
        )
    assert_close(krippendorff_alpha(matrix, level=level), reference_alpha(matrix, level))


@pytest.mark.parametrize("level", ["interval", "ratio"])
def test_krippendorff_alpha_matches_the_package_on_real_valued_scores(level):
    rng = random.Random(7)
    truth = [rng.uniform(0, 10) for _ in range(20)]
    matrix = [[round(t + rng.gauss(0, 1), 1) if rng.random() > 0.2 else None for t in truth]]
    matrix += [[round(t + rng.gauss(0, 1), 1) for t in truth] for _ in range(2)]
    assert_close(krippendorff_alpha(matrix, level=level), reference_alpha(matrix, level))


def test_krippendorff_alpha_takes_units_by_coder_like_the_matrix():
    units = {
        f"unit{u}": {f"coder{c}": row[u] for c, row in enumerate(KRIPPENDORFF_2011)}
        for u in range(12)
    }
    for level in LEVELS:
        assert krippendorff_alpha(units, level=level) == pytest.approx(
            krippendorff_alpha(KRIPPENDORFF_2011, level=level), abs=TOLERANCE
        )


def test_ordinal_alpha_ranks_labels_by_the_given_order():
    names = {1: "very low", 2: "low", 3: "mid", 4: "high", 5: "very high"}
    order = list(names.values())
    labelled = [[None if x is None else names[x] for x in row] for row in KRIPPENDORFF_2011]
    assert krippendorff_alpha(labelled, level="ordinal", order=order) == pytest.approx(
        reference_alpha(KRIPPENDORFF_2011, "ordinal"), abs=TOLERANCE
    )
    # Only the order counts for the ordinal metric, not the values' spacing.
    stretched = [[None if x is None else x**3 for x in row] for row in KRIPPENDORFF_2011]
    assert krippendorff_alpha(stretched, level="ordinal") == pytest.approx(
        krippendorff_alpha(KRIPPENDORFF_2011, level="ordinal"), abs=TOLERANCE
    )
    with pytest.raises(ValueError, match="missing from `order`"):
        krippendorff_alpha(labelled, level="ordinal", order=order[:-1])


def test_krippendorff_alpha_treats_nan_as_missing():
    with_nan = [[math.nan if x is None else x for x in row] for row in KRIPPENDORFF_2011]
    assert krippendorff_alpha(with_nan, level="interval") == pytest.approx(0.849, abs=5e-4)


def test_krippendorff_alpha_drops_units_with_fewer_than_two_values():
    # The third unit has one value: not pairable, so it changes nothing.
    assert krippendorff_alpha([[1, 2, 3], [1, 1, None]]) == krippendorff_alpha([[1, 2], [1, 1]])


def test_krippendorff_alpha_is_none_when_undefined():
    assert krippendorff_alpha([]) is None
    assert krippendorff_alpha({}) is None
    assert krippendorff_alpha([[1, None], [None, 2]]) is None  # no unit has two values
    assert krippendorff_alpha([[3, 3], [3, 3]], level="interval") is None  # one value only
    assert krippendorff_alpha([[3, 4], [3, None]], level="ordinal") is None  # 4 is unpairable


def test_krippendorff_alpha_of_one_unit_matches_the_package():
    for level in LEVELS:
        assert_close(
            krippendorff_alpha([[1], [2]], level=level), reference_alpha([[1], [2]], level)
        )


def test_krippendorff_alpha_refuses_bad_input():
    with pytest.raises(ValueError, match="one entry per unit"):
        krippendorff_alpha([[1, 2], [1]])
    with pytest.raises(ValueError, match="need numbers"):
        krippendorff_alpha([["a", "b"], ["a", "a"]], level="interval")
    with pytest.raises(ValueError, match="sortable"):
        krippendorff_alpha([["a", 1], ["a", 1]], level="ordinal")


def test_the_package_needs_neither_django_nor_numpy():
    # The statistics run inside the product; the reference libraries are test-only.
    code = (
        "import sys, labeling.agreement; "
        "assert not {'django', 'numpy'} & set(sys.modules), sorted(sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)
