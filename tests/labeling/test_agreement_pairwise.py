"""Pairwise preference: agreement on the choice, and the position-bias test."""

import random

import krippendorff
import numpy as np
import pytest
from scipy.stats import binomtest  # type: ignore[import-untyped]
from statsmodels.stats.inter_rater import (  # type: ignore[import-untyped]
    fleiss_kappa as sm_fleiss_kappa,
)

from labeling.agreement import (
    Choice,
    PositionBias,
    ShownChoice,
    ShownJudgement,
    binomial_test_half,
    canonical_choice,
    position_bias,
    preference_agreement,
)


@pytest.mark.parametrize(
    ("swapped", "shown", "choice"),
    [
        (False, "first", "a"),
        (False, "second", "b"),
        (True, "first", "b"),
        (True, "second", "a"),
        (True, "tie", "tie"),
        (False, "tie", "tie"),
    ],
)
def test_canonical_choice_undoes_the_swap(swapped, shown, choice):
    assert canonical_choice(swapped=swapped, shown=shown) == choice


def test_preference_agreement_over_items_judged_at_least_twice():
    judgements: dict[str, dict[str, Choice | None]] = {
        "p1": {"ann": "a", "bob": "a", "cy": "a"},
        "p2": {"ann": "a", "bob": "b", "cy": "a"},
        "p3": {"ann": "tie", "bob": "tie", "cy": "b"},
        "p4": {"ann": "b", "bob": "b", "cy": "b"},
        "p5": {"ann": "b", "bob": None, "cy": None},  # judged once: not pairable
    }
    result = preference_agreement(judgements=judgements)
    assert result.n_items == 4
    assert result.percent_agreement == pytest.approx((1 + 1 / 3 + 1 / 3 + 1) / 4)
    table = np.array([[3, 0, 0], [2, 1, 0], [0, 1, 2], [0, 3, 0]])
    assert result.fleiss_kappa == pytest.approx(sm_fleiss_kappa(table), abs=1e-9)
    codes = {"a": 0.0, "b": 1.0, "tie": 2.0, None: np.nan}
    matrix = [[codes[by[who]] for by in judgements.values()] for who in ("ann", "bob", "cy")]
    expected = krippendorff.alpha(np.array(matrix, dtype=float), level_of_measurement="nominal")
    assert result.krippendorff_alpha == pytest.approx(expected, abs=1e-9)


def test_preference_fleiss_kappa_needs_the_same_number_of_judgements_per_item():
    result = preference_agreement(
        judgements={"p1": {"ann": "a", "bob": "a", "cy": "b"}, "p2": {"ann": "b", "bob": "a"}}
    )
    assert result.fleiss_kappa is None
    assert result.krippendorff_alpha is not None


def test_preference_agreement_is_undefined_without_pairable_items():
    result = preference_agreement(judgements={"p1": {"ann": "a"}})
    assert (result.n_items, result.percent_agreement) == (0, None)
    assert (result.fleiss_kappa, result.krippendorff_alpha) == (None, None)


def test_preference_agreement_refuses_an_unknown_choice():
    with pytest.raises(ValueError, match="outside"):
        preference_agreement(judgements={"p1": {"ann": "first", "bob": "a"}})  # type: ignore[dict-item]


def shown(*, swapped: bool, side: ShownChoice, times: int) -> list[ShownJudgement]:
    return [{"swapped": swapped, "shown": side} for _ in range(times)]


def test_position_bias_counts_decided_judgements_for_the_first_shown_side():
    judgements = [
        *shown(swapped=False, side="first", times=30),
        *shown(swapped=True, side="first", times=30),
        *shown(swapped=False, side="second", times=10),
        *shown(swapped=True, side="second", times=10),
        *shown(swapped=True, side="tie", times=5),
    ]
    result = position_bias(judgements=judgements)
    assert result == PositionBias(
        n_judgements=85,
        n_ties=5,
        n_first=60,
        n_second=20,
        n_swapped=45,
        first_share=0.75,
        p_value=result.p_value,
        first_share_unswapped=0.75,
        first_share_swapped=0.75,
    )
    assert result.p_value is not None
    assert result.p_value == pytest.approx(binomtest(60, 80).pvalue, rel=1e-9)
    assert result.p_value < 1e-5


def test_position_bias_is_undefined_when_nothing_was_decided():
    result = position_bias(judgements=[{"swapped": False, "shown": "tie"}])
    assert (result.first_share, result.p_value) == (None, None)
    assert result.first_share_swapped is None
    assert position_bias(judgements=[]).n_judgements == 0


def test_position_bias_refuses_an_unknown_side():
    with pytest.raises(ValueError, match="Unknown shown choice"):
        position_bias(judgements=[{"swapped": False, "shown": "left"}])  # type: ignore[typeddict-item]


@pytest.mark.parametrize("seed", range(200))
def test_binomial_test_matches_scipy(seed):
    rng = random.Random(seed)
    trials = rng.randint(1, 2000)
    successes = min(trials, max(0, round(rng.gauss(trials / 2, trials**0.5 * 2))))
    expected = binomtest(successes, trials).pvalue
    assert binomial_test_half(successes=successes, trials=trials) == pytest.approx(
        expected, rel=1e-9, abs=1e-300
    )


@pytest.mark.parametrize("successes", [0, 100, 49_000, 49_700, 49_999, 50_000, 50_321, 51_000])
def test_binomial_test_stays_accurate_for_a_hundred_thousand_trials(successes):
    ours = binomial_test_half(successes=successes, trials=100_000)
    assert ours == pytest.approx(binomtest(successes, 100_000).pvalue, rel=1e-8, abs=1e-300)


def test_binomial_test_edges():
    assert binomial_test_half(successes=0, trials=0) is None
    assert binomial_test_half(successes=1, trials=2) == 1.0
    assert binomial_test_half(successes=0, trials=1) == 1.0
    assert binomial_test_half(successes=0, trials=10) == pytest.approx(2 / 1024)
    with pytest.raises(ValueError, match="successes"):
        binomial_test_half(successes=3, trials=2)
