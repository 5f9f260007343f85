"""Agreement and position bias for pairwise preference judgements (A vs B, or a tie)."""

import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from labeling.agreement.krippendorff import krippendorff_alpha
from labeling.agreement.nominal import fleiss_kappa, fleiss_table, multi_rater_agreement

Choice = Literal["a", "b", "tie"]
ShownChoice = Literal["first", "second", "tie"]
CHOICES: tuple[Choice, ...] = ("a", "b", "tie")

# Below this share of the running sum a further tail term cannot change a float result.
_NEGLIGIBLE = 1e-17


@dataclass(frozen=True)
class PreferenceAgreement:
    """How often annotators made the same choice on the same item; ``None`` = undefined."""

    n_items: int  # items judged at least twice
    percent_agreement: float | None  # mean share of agreeing annotator pairs per item
    # Over the items judged at least twice; None unless they all have the same number of
    # judgements (Fleiss' requirement; Krippendorff's alpha has none).
    fleiss_kappa: float | None
    krippendorff_alpha: float | None  # nominal level


def preference_agreement(
    *, judgements: Mapping[Any, Mapping[Any, Choice | None]]
) -> PreferenceAgreement:
    """Agreement of ``{item: {annotator: choice}}`` choices between annotators.

    Choices must be in the items' own terms ("a", "b", "tie"), not as shown on screen: convert
    shown choices with ``canonical_choice`` first. ``None`` means the annotator did not judge
    the item. Raises ``ValueError`` for a choice outside "a", "b", "tie".
    """
    pairable = {
        item: {who: c for who, c in by_annotator.items() if c is not None}
        for item, by_annotator in judgements.items()
    }
    pairable = {item: choices for item, choices in pairable.items() if len(choices) >= 2}
    _, table = fleiss_table(pairable, categories=CHOICES)
    same_count = len({sum(row) for row in table}) == 1
    return PreferenceAgreement(
        n_items=len(pairable),
        percent_agreement=multi_rater_agreement(pairable),
        fleiss_kappa=fleiss_kappa(table) if same_count else None,
        krippendorff_alpha=krippendorff_alpha(pairable, level="nominal"),
    )


def canonical_choice(*, swapped: bool, shown: ShownChoice) -> Choice:
    """The item's side ("a"/"b"/"tie") chosen as ``shown``; ``swapped`` = B was shown first."""
    if shown == "tie":
        return "tie"
    return "a" if (shown == "first") != swapped else "b"


class ShownJudgement(TypedDict):
    """One judgement as the annotator saw it: were the sides swapped, which side was chosen."""

    swapped: bool
    shown: ShownChoice


@dataclass(frozen=True)
class PositionBias:
    """Share of decided (non-tie) judgements that went to the side shown first.

    ``p_value`` is the two-sided exact binomial test of that share against 0.5. The test is fair
    when the sides were swapped about half the time; otherwise a true preference for one item
    looks like position bias, which the per-arm shares (swapped or not) make visible.
    """

    n_judgements: int
    n_ties: int
    n_first: int
    n_second: int
    n_swapped: int
    first_share: float | None  # None when every judgement was a tie
    p_value: float | None
    first_share_unswapped: float | None
    first_share_swapped: float | None


def position_bias(*, judgements: Iterable[ShownJudgement]) -> PositionBias:
    """Test whether annotators favour the side shown first (see ``PositionBias``).

    Shares and the p-value are ``None`` when there is no decided judgement to count.
    Raises ``ValueError`` for a ``shown`` other than "first", "second" or "tie".
    """
    tally: Counter[tuple[bool, str]] = Counter()
    for judgement in judgements:
        if judgement["shown"] not in ("first", "second", "tie"):
            raise ValueError(f"Unknown shown choice: {judgement['shown']!r}.")
        tally[bool(judgement["swapped"]), judgement["shown"]] += 1
    first = {arm: tally[arm, "first"] for arm in (False, True)}
    decided = {arm: first[arm] + tally[arm, "second"] for arm in (False, True)}
    n_first, n_decided = sum(first.values()), sum(decided.values())
    n_judgements = tally.total()
    return PositionBias(
        n_judgements=n_judgements,
        n_ties=n_judgements - n_decided,
        n_first=n_first,
        n_second=n_decided - n_first,
        n_swapped=sum(n for (swapped, _), n in tally.items() if swapped),
        first_share=_share(n_first, n_decided),
        p_value=binomial_test_half(successes=n_first, trials=n_decided),
        first_share_unswapped=_share(first[False], decided[False]),
        first_share_swapped=_share(first[True], decided[True]),
    )


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def binomial_test_half(*, successes: int, trials: int) -> float | None:
    """Two-sided exact binomial p-value of ``successes`` in ``trials`` against p = 0.5.

    As scipy's ``binomtest(...).pvalue``: the distribution is symmetric, so the p-value is twice
    the smaller tail, capped at 1. Summed in log space from the tail's largest term, so it stays
    accurate (about 1e-10 relative) and never overflows for trials in the hundreds of thousands.
    Returns ``None`` for no trials; raises ``ValueError`` unless 0 <= successes <= trials.
    """
    if not 0 <= successes <= trials:
        raise ValueError(f"Need 0 <= successes <= trials, got {successes} of {trials}.")
    if trials == 0:
        return None
    tail_end = min(successes, trials - successes)
    if 2 * tail_end == trials:
        return 1.0
    # P(X = i - 1) / P(X = i) = i / (n - i + 1) < 1 below the mean, so terms shrink toward 0.
    total, term = 0.0, 1.0
    for i in range(tail_end, -1, -1):
        total += term
        term *= i / (trials - i + 1)
        if term < total * _NEGLIGIBLE:
            break
    log_largest = (
        math.lgamma(trials + 1)
        - math.lgamma(tail_end + 1)
        - math.lgamma(trials - tail_end + 1)
        - trials * math.log(2)
    )
    return min(1.0, 2 * math.exp(log_largest + math.log(total)))
