"""Gold scoring: hand-computed scores per task type; a gold answer of any shape scores or is
refused with ValueError, never anything else."""

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labeling.scoring import score_gold
from projects.models import TaskType
from projects.schemas import validate_label_schema
from tests.projects.test_label_schemas import MINIMAL_SCHEMAS, VALID_SCHEMAS

CLASSIFICATION, NER, BOXES = TaskType.CLASSIFICATION, TaskType.NER, TaskType.BOXES
PAIRWISE, RUBRIC, FREE_TEXT, CHAT = (
    TaskType.PAIRWISE,
    TaskType.RUBRIC,
    TaskType.FREE_TEXT,
    TaskType.CHAT,
)
SCHEMAS = {task_type: validate_label_schema(task_type, s) for task_type, s in VALID_SCHEMAS.items()}
MULTIPLE = {**SCHEMAS[CLASSIFICATION], "multiple": True}


def score(task_type: str, result: Any, gold: Any, schema: dict[str, Any] | None = None) -> float:
    return score_gold(
        task_type=task_type,
        label_schema=SCHEMAS[task_type] if schema is None else schema,
        result=result,
        gold=gold,
    )


def labels(*names: str) -> dict[str, Any]:
    return {"labels": list(names)}


def spans(*items: tuple[Any, Any, str]) -> dict[str, Any]:
    return {"spans": [{"start": s, "end": e, "label": label} for s, e, label in items]}


def boxes(*items: tuple[float, float, float, float, str]) -> dict[str, Any]:
    return {"boxes": [{"x": x, "y": y, "w": w, "h": h, "label": lab} for x, y, w, h, lab in items]}


def scores(**values: int) -> dict[str, Any]:
    return {"scores": values}


def chat(ratings: dict[str, int], conversation: int | None = None) -> dict[str, Any]:
    turns = {key: {"rating": value} for key, value in ratings.items()}
    return {"turns": turns, **({} if conversation is None else {"conversation": conversation})}


SQUARE = (0.0, 0.0, 0.5, 0.5, "Car")
CASES = [
    pytest.param(
        CLASSIFICATION, labels("Positive"), labels("Positive"), None, 1.0, id="one label, same"
    ),
    pytest.param(
        CLASSIFICATION, labels("Positive"), labels("Neutral"), None, 0.0, id="one label, other"
    ),
    pytest.param(
        CLASSIFICATION,
        labels("Positive", "Negative"),
        labels("Negative", "Neutral"),
        MULTIPLE,
        1 / 3,
        id="multiple: Jaccard 1/3",
    ),
    pytest.param(
        CLASSIFICATION,
        labels("Positive"),
        labels("Positive", "Neutral"),
        MULTIPLE,
        0.5,
        id="multiple: subset",
    ),
    pytest.param(
        CLASSIFICATION, labels("Positive"), labels("Great"), None, 0.0, id="gold label undefined"
    ),
    pytest.param(CLASSIFICATION, labels(), labels(), MULTIPLE, 1.0, id="multiple: both empty"),
    pytest.param(
        NER,
        spans((0, 12, "Person"), (25, 31, "Place"), (35, 51, "Date")),
        spans((0, 12, "Person"), (25, 31, "Person")),
        None,
        0.4,
        id="span F1: 1 of 3 found, 1 of 2 expected",
    ),
    pytest.param(NER, spans(), spans(), None, 1.0, id="no spans on either side"),
    pytest.param(NER, spans(), spans((0, 3, "Date")), None, 0.0, id="nothing found"),
    pytest.param(NER, spans((0, 3, "Date")), spans(), None, 0.0, id="found where none expected"),
    pytest.param(
        NER, spans((0, 3, "Date")), spans((0.0, 3.0, "Date")), None, 1.0, id="gold 3.0 is 3"
    ),
    pytest.param(
        NER,
        spans((0, 4, "Date")),
        spans((0, 3, "Date")),
        None,
        0.0,
        id="spans match exactly or not",
    ),
    pytest.param(
        BOXES, boxes(SQUARE), boxes((0.1, 0.0, 0.5, 0.5, "Car")), None, 1.0, id="IoU 2/3 matches"
    ),
    pytest.param(
        BOXES, boxes(SQUARE), boxes((0.25, 0.0, 0.5, 0.5, "Car")), None, 0.0, id="IoU 1/3 does not"
    ),
    pytest.param(
        BOXES, boxes(SQUARE), boxes((0.0, 0.0, 0.5, 0.5, "Pedestrian")), None, 0.0, id="other label"
    ),
    pytest.param(
        BOXES, boxes(SQUARE, SQUARE), boxes(SQUARE), None, 2 / 3, id="one gold box matches once"
    ),
    pytest.param(
        BOXES,
        boxes(SQUARE, (0.5, 0.5, 0.5, 0.5, "Pedestrian")),
        boxes(
            (0.5, 0.5, 0.5, 0.5, "Pedestrian"),
            (0.05, 0.0, 0.5, 0.5, "Car"),
            (0.0, 0.6, 0.1, 0.1, "Car"),
        ),
        None,
        0.8,
        id="two of two found, two of three expected",
    ),
    pytest.param(BOXES, boxes(), boxes(), None, 1.0, id="no boxes on either side"),
    pytest.param(
        BOXES, boxes(SQUARE), boxes((0.0, 0.0, -0.5, 0.5, "Car")), None, 0.0, id="negative size"
    ),
    pytest.param(
        PAIRWISE,
        {"choice": "a", "strength": 3},
        {"choice": "a", "strength": 1},
        None,
        1.0,
        id="same choice",
    ),
    pytest.param(PAIRWISE, {"choice": "a"}, {"choice": "tie"}, None, 0.0, id="other choice"),
    pytest.param(
        RUBRIC,
        scores(Helpfulness=4, Harmlessness=2, Honesty=5),
        scores(Helpfulness=5, Harmlessness=0),
        None,
        0.625,
        id="mean of 1 - 1/4 and 1 - 2/4; criteria gold leaves out are not scored",
    ),
    pytest.param(
        RUBRIC,
        scores(Helpfulness=5, Harmlessness=0),
        scores(Helpfulness=5, Honesty=10),
        None,
        0.5,
        id="a criterion the result leaves out counts 0",
    ),
    pytest.param(
        RUBRIC,
        scores(Helpfulness=5),
        scores(Helpfulness=5, Tone=1),
        None,
        1.0,
        id="undefined criterion skipped",
    ),
    pytest.param(
        RUBRIC,
        scores(Helpfulness=1),
        scores(Helpfulness=9),
        None,
        0.0,
        id="gold off the scale floors at 0",
    ),
    pytest.param(
        FREE_TEXT,
        {"text": "The cat sat on the mat."},
        {"text": "the cat, sat"},
        None,
        2 / 3,
        id="token F1: 3 common of 6 and 3",
    ),
    pytest.param(
        FREE_TEXT,
        {"text": "don't snake_case"},
        {"text": "DON T snake case"},
        None,
        1.0,
        id="punctuation splits",
    ),
    pytest.param(
        FREE_TEXT,
        {"text": "the the cat"},
        {"text": "the cat cat"},
        None,
        2 / 3,
        id="tokens count with multiplicity",
    ),
    pytest.param(FREE_TEXT, {"text": " ... "}, {"text": ""}, None, 1.0, id="both without tokens"),
    pytest.param(FREE_TEXT, {"text": "Paris"}, {"text": ""}, None, 0.0, id="gold without tokens"),
    pytest.param(
        CHAT,
        chat({"2": 4, "4": 5}, conversation=7),
        {"turns": {"2": {"rating": 5}, "4": {"flags": ["Unsafe"]}}, "conversation": 4},
        None,
        0.625,
        id="mean of turn 2 (1 - 1/4) and the conversation (1 - 3/6); unrated gold turn skipped",
    ),
    pytest.param(
        CHAT,
        chat({"2": 4}),
        chat({"2": 4, "4": 1}),
        None,
        0.5,
        id="a turn the result lacks counts 0",
    ),
    pytest.param(
        CHAT,
        chat({"2": 1, "4": 0}),
        chat({"2": 1, "4": 1}, conversation=3),
        MINIMAL_SCHEMAS[CHAT],
        0.5,
        id="conversation skipped where the schema has no scale",
    ),
]


@pytest.mark.parametrize(("task_type", "result", "gold", "schema", "expected"), CASES)
def test_scores_match_the_hand_computed_values(task_type, result, gold, schema, expected):
    assert score(task_type, result, gold, schema) == pytest.approx(expected)


SELF = {
    CLASSIFICATION: labels("Neutral"),
    NER: spans((0, 3, "Person"), (4, 9, "Place")),
    BOXES: boxes(SQUARE, (0.5, 0.5, 0.25, 0.25, "Pedestrian")),
    PAIRWISE: {"choice": "tie"},
    RUBRIC: scores(Helpfulness=2, Harmlessness=-1, Honesty=10),
    FREE_TEXT: {"text": "He and I go home."},
    CHAT: chat({"2": 3, "4": 4}, conversation=5),
}


@pytest.mark.parametrize("task_type", list(SELF))
def test_a_result_equal_to_the_gold_answer_scores_one(task_type):
    assert score(task_type, SELF[task_type], SELF[task_type]) == 1.0


def test_unknown_keys_in_a_gold_answer_are_ignored():
    gold = {"labels": ["Neutral"], "confidence": 0.9, "annotator": "expert"}
    assert score(CLASSIFICATION, labels("Neutral"), gold) == 1.0


UNSCORABLE: list[tuple[str, Any]] = [
    (CLASSIFICATION, None),
    (CLASSIFICATION, ["Positive"]),
    (CLASSIFICATION, {"label": "Positive"}),
    (CLASSIFICATION, {"labels": "Positive"}),
    (CLASSIFICATION, {"labels": [["Positive"]]}),
    (NER, {"spans": [{"start": 0, "end": 3}]}),
    (NER, {"spans": [{"start": "0", "end": 3, "label": "Date"}]}),
    (NER, {"spans": [{"start": 10**400, "end": 3, "label": "Date"}]}),
    (NER, {"spans": [[0, 3, "Date"]]}),
    (BOXES, {"boxes": [{"x": math.nan, "y": 0, "w": 1, "h": 1, "label": "Car"}]}),
    (BOXES, {"boxes": [{"x": 0, "y": 0, "w": math.inf, "h": 1, "label": "Car"}]}),
    (BOXES, {"boxes": [{"x": True, "y": 0, "w": 1, "h": 1, "label": "Car"}]}),
    (PAIRWISE, {"choice": 1}),
    (PAIRWISE, {}),
    (RUBRIC, {"scores": [5]}),
    (RUBRIC, {"scores": {"Helpfulness": "5"}}),
    (RUBRIC, {"scores": {"Tone": 3}}),
    (RUBRIC, {"scores": {}}),
    (FREE_TEXT, {"text": None}),
    (FREE_TEXT, "the answer"),
    (CHAT, {"turns": {"2": 5}}),
    (CHAT, {"turns": {"2": {"rating": "5"}}}),
    (CHAT, {"turns": {}}),
    (CHAT, {"turns": {"2": {"flags": ["Unsafe"]}}}),
]


@pytest.mark.parametrize(("task_type", "gold"), UNSCORABLE)
def test_a_gold_answer_that_cannot_be_compared_raises_value_error(task_type, gold):
    with pytest.raises(ValueError, match=r"\S"):
        score(task_type, SELF[task_type], gold)


def test_an_unknown_task_type_raises_value_error():
    with pytest.raises(ValueError, match="video"):
        score_gold(task_type="video", label_schema={}, result={}, gold={})


KEYS = st.sampled_from(
    [
        "labels",
        "spans",
        "boxes",
        "choice",
        "scores",
        "text",
        "turns",
        "conversation",
        "start",
        "end",
        "label",
        "x",
        "y",
        "w",
        "h",
        "rating",
        "flags",
        "2",
        "4",
        "Helpfulness",
        "Honesty",
    ]
) | st.text(max_size=3)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()
    | st.sampled_from(["a", "b", "tie", "Car", "Neutral", "Date", ""])
    | st.text(max_size=8)
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=30,
)


# The answer's own key with values of any type, so the scorers' inner checks are reached.
TOP = {
    CLASSIFICATION: "labels",
    NER: "spans",
    BOXES: "boxes",
    PAIRWISE: "choice",
    RUBRIC: "scores",
    FREE_TEXT: "text",
    CHAT: "turns",
}
NUMBERS = st.integers(min_value=-3, max_value=12) | st.floats(min_value=-0.5, max_value=1.5)
ITEM = st.dictionaries(KEYS, NUMBERS | SCALARS, max_size=6)
INNER = (
    st.lists(ITEM | SCALARS, max_size=3)
    | st.dictionaries(KEYS, NUMBERS | ITEM | SCALARS, max_size=4)
    | SCALARS
)


@settings(max_examples=400, deadline=None)
@given(data=st.data())
def test_any_gold_answer_scores_in_range_or_raises_value_error(data):
    task_type = data.draw(st.sampled_from(list(SELF)))
    shaped = st.fixed_dictionaries({TOP[task_type]: INNER}, optional={"conversation": NUMBERS})
    gold = data.draw(shaped | JSON)
    try:
        value = score(task_type, SELF[task_type], gold)
    except ValueError:
        return
    assert 0.0 <= value <= 1.0
