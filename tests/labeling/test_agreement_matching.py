"""Span and box agreement: hand-computed cases."""

import pytest

from labeling.agreement import F1Score, box_agreement, iou, span_agreement
from labeling.agreement._matching import max_matching


def span(start, end, label):
    return {"start": start, "end": end, "label": label}


def box(x, y, w, h, label="car"):
    return {"x": x, "y": y, "w": w, "h": h, "label": label}


# --- spans ---------------------------------------------------------------------------------


def test_span_f1_is_micro_averaged_over_tasks_and_split_by_label():
    tasks = [
        (
            [span(0, 5, "PER"), span(10, 15, "ORG")],
            [span(0, 5, "PER"), span(11, 15, "ORG"), span(20, 25, "LOC")],
        ),
        ([span(3, 8, "PER")], []),
    ]
    result = span_agreement(tasks=tasks)
    # Exact: only the first PER span; A marked 3 spans, B 3.
    assert result.exact.overall == F1Score(matched=1, n_a=3, n_b=3)
    assert result.exact.overall.f1 == pytest.approx(1 / 3)
    assert result.exact.by_label == {
        "LOC": F1Score(matched=0, n_a=0, n_b=1),
        "ORG": F1Score(matched=0, n_a=1, n_b=1),
        "PER": F1Score(matched=1, n_a=2, n_b=1),
    }
    # Partial: the ORG spans overlap too.
    assert result.partial.overall == F1Score(matched=2, n_a=3, n_b=3)
    assert result.partial.by_label["ORG"].f1 == 1.0
    per = result.partial.by_label["PER"]
    assert (per.precision, per.recall) == (1.0, 0.5)
    assert per.f1 == pytest.approx(2 / 3)
    assert result.partial.by_label["LOC"].recall is None  # A marked no LOC at all


def test_overlapping_spans_with_different_labels_do_not_match():
    result = span_agreement(tasks=[([span(0, 10, "PER")], [span(0, 10, "ORG")])])
    assert result.exact.overall.matched == 0
    assert result.partial.overall.matched == 0
    assert result.partial.overall.f1 == 0.0


def test_touching_spans_do_not_overlap():
    result = span_agreement(tasks=[([span(0, 5, "X")], [span(5, 9, "X")])])
    assert result.partial.overall.matched == 0


def test_partial_matching_is_one_to_one_and_maximal():
    # One long span against two short ones inside it: one match, not two.
    split = span_agreement(tasks=[([span(0, 10, "X")], [span(0, 4, "X"), span(5, 10, "X")])])
    assert split.partial.overall == F1Score(matched=1, n_a=1, n_b=2)
    # Matching a1 with b1 first would leave a2 without a partner; the maximum pairs both.
    crossed = span_agreement(
        tasks=[([span(0, 10, "X"), span(8, 12, "X")], [span(5, 9, "X"), span(0, 3, "X")])]
    )
    assert crossed.partial.overall.matched == 2


def test_repeated_identical_spans_match_as_often_as_both_repeat_them():
    result = span_agreement(tasks=[([span(0, 5, "X"), span(0, 5, "X")], [span(0, 5, "X")])])
    assert result.exact.overall == F1Score(matched=1, n_a=2, n_b=1)
    assert result.partial.overall == F1Score(matched=1, n_a=2, n_b=1)


def test_span_f1_is_none_when_nobody_marked_anything():
    result = span_agreement(tasks=[([], []), ([], [])])
    assert result.exact.overall.f1 is None
    assert result.exact.by_label == {}
    assert span_agreement(tasks=[]).partial.overall.f1 is None


def test_a_span_ending_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="ends before it starts"):
        span_agreement(tasks=[([span(5, 4, "X")], [])])


# --- boxes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (box(0, 0, 0.5, 0.5), box(0, 0, 0.5, 0.5), 1.0),
        (box(0, 0, 0.5, 0.5), box(0.25, 0.25, 0.5, 0.5), 0.0625 / 0.4375),
        (box(0, 0, 1, 1), box(0, 0, 0.5, 0.5), 0.25),
        (box(0, 0, 0.25, 0.25), box(0.5, 0.5, 0.25, 0.25), 0.0),
        (box(0, 0, 0.25, 0.25), box(0.25, 0, 0.25, 0.25), 0.0),  # sharing an edge
        (box(0.1, 0.1, 0, 0), box(0.1, 0.1, 0, 0), 0.0),  # no area at all
    ],
)
def test_iou(a, b, expected):
    assert iou(a, b) == pytest.approx(expected)
    assert iou(b, a) == pytest.approx(expected)


def test_box_f1_matches_same_label_boxes_at_the_threshold():
    tasks = [
        (
            # IoU exactly 0.5 matches (the threshold is inclusive); the person box has no partner.
            [box(0, 0, 0.5, 0.5), box(0.5, 0.5, 0.25, 0.25, "person")],
            [box(0, 0, 0.25, 0.5), box(0.5, 0.5, 0.25, 0.25, "dog")],
        ),
        ([box(0, 0, 0.5, 0.5)], [box(0.25, 0.25, 0.5, 0.5)]),  # IoU 1/7: no match
    ]
    result = box_agreement(tasks=tasks)
    assert result.overall == F1Score(matched=1, n_a=3, n_b=3)
    assert result.by_label["car"] == F1Score(matched=1, n_a=2, n_b=2)
    assert result.by_label["dog"] == F1Score(matched=0, n_a=0, n_b=1)
    assert result.by_label["person"] == F1Score(matched=0, n_a=1, n_b=0)
    strict = box_agreement(tasks=tasks, threshold=0.75)
    assert strict.overall.matched == 0
    loose = box_agreement(tasks=tasks, threshold=0.1)
    assert loose.overall.matched == 2


def test_box_matching_is_one_to_one_and_finds_more_pairs_than_greedy():
    # IoUs: a1-b1 0.9, a1-b2 0.67, a2-b1 0.55, a2-b2 0.29. Greedy by IoU pairs a1-b1 and
    # leaves a2 alone; the maximum matching pairs a1-b2 and a2-b1.
    a = [box(0.1, 0, 0.5, 1), box(0.0, 0, 0.4, 1)]
    b = [box(0.1, 0, 0.45, 1), box(0.2, 0, 0.5, 1)]
    assert box_agreement(tasks=[(a, b)]).overall == F1Score(matched=2, n_a=2, n_b=2)
    # Two identical boxes against one: only one of them matches.
    twice = box_agreement(tasks=[([a[0], a[0]], [a[0]])]).overall
    assert twice == F1Score(matched=1, n_a=2, n_b=1)
    assert (twice.precision, twice.recall) == (1.0, 0.5)


def test_box_f1_is_none_without_boxes():
    assert box_agreement(tasks=[([], [])]).overall.f1 is None
    assert box_agreement(tasks=[]).by_label == {}


def test_box_agreement_refuses_bad_input():
    with pytest.raises(ValueError, match="negative size"):
        box_agreement(tasks=[([box(0, 0, -0.1, 0.2)], [])])
    with pytest.raises(ValueError, match="threshold"):
        box_agreement(tasks=[], threshold=0)


def test_box_matching_handles_a_crowded_task():
    a = [box(i / 400, 0, 0.5, 0.5) for i in range(200)]
    b = list(reversed(a))
    assert box_agreement(tasks=[(a, b)]).overall.matched == 200


def test_maximum_matching_follows_augmenting_paths_deeper_than_the_recursion_limit():
    # A chain: A's item i may match B's items n-1-i and n-2-i, and takes the second first, so
    # the last item of A can only be placed by shifting every earlier pair along the chain.
    n = 1500
    matched = max_matching(n_a=n, n_b=n, edges=lambda i, j: j in {n - 1 - i, n - 2 - i})
    assert matched == n
