"""Results of every task type: valid ones come back canonical, invalid ones name the field."""

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ValidationFailed
from labeling.results import MAX_BOXES, MAX_SPANS, validate_result
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
# The schemas as a project stores them: validated, defaults filled in.
SCHEMAS = {task_type: validate_label_schema(task_type, s) for task_type, s in VALID_SCHEMAS.items()}
MINIMAL = {
    task_type: validate_label_schema(task_type, s) for task_type, s in MINIMAL_SCHEMAS.items()
}
TEXT = "Ada Lovelace was born in London on 10 December 1815."
DATA: dict[str, dict[str, Any]] = {
    CLASSIFICATION: {"text": "Great product, would buy again."},
    NER: {"text": TEXT},
    BOXES: {"image": "street.jpg"},
    PAIRWISE: {"prompt": "Capital of France?", "response_a": "Paris.", "response_b": "Lyon."},
    RUBRIC: {"response": "Paris is the capital of France."},
    FREE_TEXT: {"prompt": "Fix this.", "response": "Me and him goes home."},
    CHAT: {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "content": "Hello!"},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
        ]
    },
}


def schema_with(task_type: str, **fields: Any) -> dict[str, Any]:
    return {**copy.deepcopy(SCHEMAS[task_type]), **fields}


def check(task_type: str, result: Any, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return validate_result(
        task_type=task_type,
        label_schema=SCHEMAS[task_type] if schema is None else schema,
        data=DATA[task_type],
        result=result,
    )


def refusal(task_type: str, result: Any, schema: dict[str, Any] | None = None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        check(task_type, result, schema)
    assert caught.value.code == "invalid_result"
    return caught.value


def span(start: int, end: int, label: str, span_id: str | None = None) -> dict[str, Any]:
    return {"start": start, "end": end, "label": label, **({"id": span_id} if span_id else {})}


def box(x: Any, y: Any, w: Any, h: Any, label: str = "Car") -> dict[str, Any]:
    return {"x": x, "y": y, "w": w, "h": h, "label": label}


ADA, LOVELACE = span(0, 12, "Person", "ada"), span(4, 12, "Person")
LONDON, DATE = span(25, 31, "Place", "london"), span(35, 51, "Date", "date")
MULTIPLE = schema_with(CLASSIFICATION, multiple=True)
OVERLAP = schema_with(NER, allow_overlap=True)
NO_RELATIONS = MINIMAL[NER]
SHORT_TEXT = {"mode": "write", "min_length": 5}
RATIONALE = "Paris is right; Lyon is not the capital."
CHAT_TURNS = {"2": {"rating": 4}, "4": {"rating": 5}}


def ok(task_type: str, name: str, result: Any, canonical: Any, schema: Any = None) -> Any:
    return pytest.param(task_type, result, canonical, schema, id=f"{task_type}: {name}")


VALID = [
    ok(CLASSIFICATION, "one label", {"labels": ["Negative"]}, {"labels": ["Negative"]}),
    ok(
        CLASSIFICATION,
        "several, in schema order",
        {"labels": ["Neutral", "Positive"]},
        {"labels": ["Positive", "Neutral"]},
        MULTIPLE,
    ),
    ok(
        CLASSIFICATION, "one of several", {"labels": ["Neutral"]}, {"labels": ["Neutral"]}, MULTIPLE
    ),
    ok(NER, "no spans", {"spans": []}, {"spans": []}),
    ok(
        NER,
        "spans sorted, relations too",
        {
            "spans": [DATE, LONDON, ADA],
            "relations": [
                {"from": "ada", "to": "london", "label": "born_in"},
                {"from": "ada", "to": "date", "label": "on"},
            ],
        },
        {
            "spans": [ADA, LONDON, DATE],
            "relations": [
                {"from": "ada", "to": "date", "label": "on"},
                {"from": "ada", "to": "london", "label": "born_in"},
            ],
        },
    ),
    ok(NER, "empty relations dropped", {"spans": [ADA], "relations": []}, {"spans": [ADA]}),
    ok(
        NER,
        "overlap where allowed, same place two labels",
        {"spans": [span(0, 12, "Place"), LOVELACE, ADA]},
        {"spans": [ADA, span(0, 12, "Place"), LOVELACE]},
        OVERLAP,
    ),
    ok(
        NER,
        "adjacent spans do not overlap",
        {"spans": [span(3, 5, "Date"), span(0, 3, "Date")]},
        {"spans": [span(0, 3, "Date"), span(3, 5, "Date")]},
    ),
    ok(
        NER,
        "a span up to the last character",
        {"spans": [span(51, 52, "Date")]},
        {"spans": [span(51, 52, "Date")]},
    ),
    ok(BOXES, "no boxes", {"boxes": []}, {"boxes": []}),
    ok(
        BOXES,
        "integers become floats, order kept",
        {"boxes": [box(0.5, 0.5, 0.5, 0.5), box(0, 0, 1, 1, "Pedestrian")]},
        {"boxes": [box(0.5, 0.5, 0.5, 0.5), box(0.0, 0.0, 1.0, 1.0, "Pedestrian")]},
    ),
    ok(
        BOXES,
        "edge a hair past 1 from float arithmetic, size exactly min_size",
        {"boxes": [box(0.1 + 0.2, 0.0, 0.7, 0.01)]},
        {"boxes": [box(0.1 + 0.2, 0.0, 0.7, 0.01)]},
    ),
    ok(
        PAIRWISE,
        "choice, strength, rationale",
        {"choice": "a", "strength": 3, "rationale": RATIONALE},
        {"choice": "a", "strength": 3, "rationale": RATIONALE},
    ),
    ok(
        PAIRWISE,
        "a tie needs no strength",
        {"choice": "tie", "rationale": RATIONALE},
        {"choice": "tie", "rationale": RATIONALE},
    ),
    ok(PAIRWISE, "minimal schema", {"choice": "b"}, {"choice": "b"}, MINIMAL[PAIRWISE]),
    ok(
        PAIRWISE,
        "optional rationale of any length",
        {"choice": "b", "rationale": ""},
        {"choice": "b", "rationale": ""},
        MINIMAL[PAIRWISE],
    ),
    ok(
        RUBRIC,
        "all criteria, schema order, comments",
        {"scores": {"Honesty": 0, "Harmlessness": -2, "Helpfulness": 5}, "comments": "Fine."},
        {"scores": {"Helpfulness": 5, "Harmlessness": -2, "Honesty": 0}, "comments": "Fine."},
    ),
    ok(
        RUBRIC,
        "optional criterion left out",
        {"scores": {"Helpfulness": 1, "Harmlessness": 2}},
        {"scores": {"Helpfulness": 1, "Harmlessness": 2}},
    ),
    ok(
        FREE_TEXT,
        "text kept as written",
        {"text": " He and I go home. "},
        {"text": " He and I go home. "},
    ),
    ok(FREE_TEXT, "empty when min_length is 0", {"text": ""}, {"text": ""}, MINIMAL[FREE_TEXT]),
    ok(
        CHAT,
        "turns by index, flags in schema order",
        {
            "turns": {
                "4": {"rating": 1, "flags": ["Made up", "Unsafe"]},
                "2": {"rating": 5, "flags": []},
            },
            "conversation": 7,
        },
        {
            "turns": {"2": {"rating": 5}, "4": {"rating": 1, "flags": ["Unsafe", "Made up"]}},
            "conversation": 7,
        },
    ),
    ok(
        CHAT,
        "minimal schema with comments",
        {"turns": {"2": {"rating": 0}, "4": {"rating": 1}}, "comments": "ok"},
        {"turns": {"2": {"rating": 0}, "4": {"rating": 1}}, "comments": "ok"},
        MINIMAL[CHAT],
    ),
]


@pytest.mark.parametrize(("task_type", "result", "canonical", "schema"), VALID)
def test_a_valid_result_comes_back_canonical_and_the_input_is_untouched(
    task_type, result, canonical, schema
):
    given = copy.deepcopy(result)
    assert check(task_type, result, schema) == canonical
    assert result == given


def test_the_canonical_result_is_a_new_object():
    result = {"spans": [ADA]}
    canonical = check(NER, result)
    canonical["spans"][0]["label"] = "Place"
    assert result == {"spans": [ADA]}
    assert ADA["label"] == "Person"


def test_box_coordinates_come_back_as_floats():
    (canonical,) = check(BOXES, {"boxes": [box(0, 0, 1, 1)]})["boxes"]
    assert all(type(canonical[key]) is float for key in "xywh")


def test_span_positions_count_code_points():
    data = {"text": "😀 Ada"}
    result = {"spans": [span(2, 5, "Person")]}
    assert validate_result(task_type=NER, label_schema=SCHEMAS[NER], data=data, result=result)


def test_a_schema_without_optional_keys_gets_their_documented_defaults():
    pairwise = {"strength": {"min": 1, "max": 2}}
    assert check(PAIRWISE, {"choice": "tie"}, pairwise) == {"choice": "tie"}
    rubric = {"criteria": [{"name": "C", "scale": {"min": 1, "max": 2}}]}
    with pytest.raises(ValidationFailed):
        check(RUBRIC, {"scores": {}}, rubric)
    assert check(RUBRIC, {"scores": {"C": 1}, "comments": "x"}, rubric)["comments"] == "x"


def test_the_largest_allowed_results_pass():
    text = "x" * MAX_SPANS
    spans = [span(index, index + 1, "Person") for index in reversed(range(MAX_SPANS))]
    data = {"text": text}
    result = validate_result(
        task_type=NER, label_schema=SCHEMAS[NER], data=data, result={"spans": spans}
    )
    assert result["spans"][0] == span(0, 1, "Person")
    boxes = [box(0, 0, 0.5, 0.5)] * MAX_BOXES
    assert len(check(BOXES, {"boxes": boxes})["boxes"]) == MAX_BOXES


def bad(
    task_type: str, name: str, result: Any, field: str, fragment: str, schema: Any = None
) -> Any:
    return pytest.param(task_type, result, field, fragment, schema, id=f"{task_type}: {name}")


def turns(**entries: Any) -> dict[str, Any]:
    return {"turns": {**CHAT_TURNS, **entries}, "conversation": 4}


def chat_turns(entries: dict[str, Any]) -> dict[str, Any]:
    return {"turns": entries, "conversation": 4}


NO_COMMENTS = schema_with(RUBRIC, comments=False)
NO_TIE = schema_with(PAIRWISE, choices=["a", "b"])
CHOICE_A = {"choice": "a", "strength": 2, "rationale": RATIONALE}
RUBRIC_SCORES = {"Helpfulness": 3, "Harmlessness": 0}

INVALID = [
    bad(CLASSIFICATION, "not an object", ["Positive"], "result", "must be an object."),
    bad(CLASSIFICATION, "labels missing", {}, "result", "'labels' is required."),
    bad(
        CLASSIFICATION,
        "unknown key",
        {"labels": ["Positive"], "label": "Positive"},
        "result.label",
        "unknown field; allowed: labels.",
    ),
    bad(
        CLASSIFICATION, "labels as text", {"labels": "Positive"}, "result.labels", "must be a list."
    ),
    bad(CLASSIFICATION, "no label", {"labels": []}, "result.labels", "at least 1 item"),
    bad(
        CLASSIFICATION, "label as number", {"labels": [1]}, "result.labels[0]", "must be a string."
    ),
    bad(
        CLASSIFICATION,
        "undefined label",
        {"labels": ["Positive", "Great"]},
        "result.labels[1]",
        "'Great' is not a label of this project.",
        MULTIPLE,
    ),
    bad(
        CLASSIFICATION,
        "label twice",
        {"labels": ["Neutral", "Neutral"]},
        "result.labels[1]",
        "'Neutral' is also result.labels[0].",
        MULTIPLE,
    ),
    bad(
        CLASSIFICATION,
        "two labels, single choice",
        {"labels": ["Positive", "Neutral"]},
        "result.labels",
        "must have exactly one label; got 2.",
    ),
    bad(NER, "spans missing", {"relations": []}, "result", "'spans' is required."),
    bad(
        NER,
        "end missing",
        {"spans": [{"start": 0, "label": "Person"}]},
        "result.spans[0]",
        "'end' is required.",
    ),
    bad(
        NER,
        "unknown span key",
        {"spans": [{**ADA, "text": "Ada"}]},
        "result.spans[0].text",
        "unknown field; allowed: end, id, label, start.",
    ),
    bad(
        NER,
        "negative start",
        {"spans": [span(-1, 3, "Date")]},
        "result.spans[0].start",
        "at least 0.",
    ),
    bad(
        NER,
        "float start",
        {"spans": [{**ADA, "start": 0.0}]},
        "result.spans[0].start",
        "whole number",
    ),
    bad(NER, "bool end", {"spans": [{**ADA, "end": True}]}, "result.spans[0].end", "whole number"),
    bad(
        NER,
        "empty span",
        {"spans": [ADA, span(5, 5, "Date")]},
        "result.spans[1].end",
        "greater than start.",
    ),
    bad(
        NER,
        "past the text",
        {"spans": [span(50, 53, "Date")]},
        "result.spans[0].end",
        "past the end of the text (52 characters).",
    ),
    bad(
        NER,
        "undefined label",
        {"spans": [span(0, 3, "Animal")]},
        "result.spans[0].label",
        "'Animal' is not a label of this project.",
    ),
    bad(NER, "long id", {"spans": [{**ADA, "id": "i" * 65}]}, "result.spans[0].id", "at most 64"),
    bad(
        NER,
        "overlap",
        {"spans": [LONDON, ADA, span(28, 40, "Date")]},
        "result.spans[2]",
        "overlaps result.spans[0]; this project does not allow overlaps.",
    ),
    bad(
        NER,
        "overlap inside a long span",
        {"spans": [span(0, 40, "Date"), LONDON]},
        "result.spans[1]",
        "overlaps result.spans[0]",
    ),
    bad(
        NER,
        "same span twice even where overlaps are allowed",
        {"spans": [LOVELACE, ADA, span(0, 12, "Person")]},
        "result.spans[2]",
        "the same start, end and label as result.spans[1].",
        OVERLAP,
    ),
    bad(
        NER,
        "id twice",
        {"spans": [ADA, {**LONDON, "id": "ada"}]},
        "result.spans[1].id",
        "is also the id of result.spans[0].",
    ),
    bad(
        NER,
        "relations the schema does not define",
        {
            "spans": [ADA, {**LONDON, "label": "Person"}],
            "relations": [{"from": "ada", "to": "london", "label": "x"}],
        },
        "result.relations",
        "this project defines no relation labels.",
        NO_RELATIONS,
    ),
    bad(
        NER,
        "relation to a missing span",
        {"spans": [ADA], "relations": [{"from": "ada", "to": "london", "label": "born_in"}]},
        "result.relations[0].to",
        "'london' is not the id of a span.",
    ),
    bad(
        NER,
        "relation to itself",
        {"spans": [ADA], "relations": [{"from": "ada", "to": "ada", "label": "born_in"}]},
        "result.relations[0].to",
        "a relation must join two different spans.",
    ),
    bad(
        NER,
        "undefined relation",
        {"spans": [ADA, LONDON], "relations": [{"from": "ada", "to": "london", "label": "in"}]},
        "result.relations[0].label",
        "'in' is not a relation label of this project.",
    ),
    bad(
        NER,
        "relation twice",
        {"spans": [ADA, LONDON], "relations": [{"from": "ada", "to": "london", "label": "on"}] * 2},
        "result.relations[1]",
        "the same relation as result.relations[0].",
    ),
    bad(
        NER,
        "relation without label",
        {"spans": [ADA, LONDON], "relations": [{"from": "ada", "to": "london"}]},
        "result.relations[0]",
        "'label' is required.",
    ),
    bad(
        NER,
        "too many spans",
        {"spans": [ADA] * (MAX_SPANS + 1)},
        "result.spans",
        "must have at most 10000 items.",
    ),
    bad(BOXES, "boxes missing", {}, "result", "'boxes' is required."),
    bad(
        BOXES,
        "x + w past 1",
        {"boxes": [box(0.6, 0, 0.5, 0.5)]},
        "result.boxes[0].w",
        "past the right edge",
    ),
    bad(
        BOXES,
        "y + h past 1",
        {"boxes": [box(0, 0.6, 0.5, 0.5)]},
        "result.boxes[0].h",
        "past the bottom edge",
    ),
    bad(
        BOXES, "negative x", {"boxes": [box(-0.1, 0, 0.5, 0.5)]}, "result.boxes[0].x", "at least 0."
    ),
    bad(BOXES, "x above 1", {"boxes": [box(1.5, 0, 0.5, 0.5)]}, "result.boxes[0].x", "at most 1."),
    bad(
        BOXES, "zero width", {"boxes": [box(0, 0, 0, 0.5)]}, "result.boxes[0].w", "greater than 0."
    ),
    bad(
        BOXES,
        "height as bool",
        {"boxes": [box(0, 0, 0.5, True)]},
        "result.boxes[0].h",
        "must be a number.",
    ),
    bad(
        BOXES,
        "y as text",
        {"boxes": [box(0, "0", 0.5, 0.5)]},
        "result.boxes[0].y",
        "must be a number.",
    ),
    bad(
        BOXES,
        "NaN",
        {"boxes": [box(float("nan"), 0, 0.5, 0.5)]},
        "result.boxes[0].x",
        "must be a number.",
    ),
    bad(
        BOXES,
        "infinity",
        {"boxes": [box(0, 0, float("inf"), 0.5)]},
        "result.boxes[0].w",
        "at most 1.",
    ),
    bad(
        BOXES,
        "huge integer",
        {"boxes": [box(10**400, 0, 0.5, 0.5)]},
        "result.boxes[0].x",
        "at most 1.",
    ),
    bad(
        BOXES,
        "below min_size",
        {"boxes": [box(0, 0, 0.5, 0.005)]},
        "result.boxes[0].h",
        "must be at least 0.01 (the project's min_size).",
    ),
    bad(
        BOXES,
        "undefined label",
        {"boxes": [box(0, 0, 0.5, 0.5, "Bus")]},
        "result.boxes[0].label",
        "'Bus' is not a label of this project.",
    ),
    bad(
        BOXES,
        "unknown box key",
        {"boxes": [{**box(0, 0, 0.5, 0.5), "score": 0.9}]},
        "result.boxes[0].score",
        "unknown field; allowed: h, label, w, x, y.",
    ),
    bad(
        BOXES,
        "too many boxes",
        {"boxes": [box(0, 0, 1, 1)] * 2001},
        "result.boxes",
        "at most 2000 items.",
    ),
    bad(PAIRWISE, "choice missing", {"strength": 1}, "result", "'choice' is required."),
    bad(
        PAIRWISE,
        "unknown choice",
        {**CHOICE_A, "choice": "c"},
        "result.choice",
        'must be one of "a", "b", "tie".',
    ),
    bad(
        PAIRWISE,
        "tie the project does not offer",
        {"choice": "tie", "rationale": RATIONALE},
        "result.choice",
        'must be one of "a", "b" in this project.',
        NO_TIE,
    ),
    bad(
        PAIRWISE,
        "strength missing",
        {"choice": "b", "rationale": RATIONALE},
        "result",
        "'strength' is required unless the choice is \"tie\".",
    ),
    bad(
        PAIRWISE,
        "strength above max",
        {**CHOICE_A, "strength": 4},
        "result.strength",
        "must be between 1 and 3.",
    ),
    bad(
        PAIRWISE,
        "strength as text",
        {**CHOICE_A, "strength": "2"},
        "result.strength",
        "whole number",
    ),
    bad(
        PAIRWISE,
        "strength with a tie",
        {"choice": "tie", "strength": 1, "rationale": RATIONALE},
        "result.strength",
        'a "tie" has no strength.',
    ),
    bad(
        PAIRWISE,
        "strength the project does not rate",
        {"choice": "a", "strength": 1},
        "result.strength",
        "this project does not rate strength.",
        MINIMAL[PAIRWISE],
    ),
    bad(
        PAIRWISE,
        "rationale missing",
        {"choice": "a", "strength": 1},
        "result",
        "'rationale' is required.",
    ),
    bad(
        PAIRWISE,
        "rationale short without its spaces",
        {**CHOICE_A, "rationale": "   Paris is right.        "},
        "result.rationale",
        "must be at least 20 character(s) long, not counting outer spaces.",
    ),
    bad(
        PAIRWISE,
        "rationale too long",
        {**CHOICE_A, "rationale": "r" * 20_001},
        "result.rationale",
        "must be at most 20000 characters long.",
    ),
    bad(
        PAIRWISE,
        "blank rationale where required with min_length 0",
        {"choice": "a", "rationale": "  "},
        "result.rationale",
        "at least 1 character(s)",
        {"rationale": {"required": True, "min_length": 0}},
    ),
    bad(RUBRIC, "scores missing", {"comments": "x"}, "result", "'scores' is required."),
    bad(
        RUBRIC,
        "undefined criterion",
        {"scores": {**RUBRIC_SCORES, "Tone": 3}},
        "result.scores.Tone",
        "'Tone' is not a criterion of this project.",
    ),
    bad(
        RUBRIC,
        "score outside the scale",
        {"scores": {**RUBRIC_SCORES, "Harmlessness": -3}},
        "result.scores.Harmlessness",
        "must be between -2 and 2.",
    ),
    bad(
        RUBRIC,
        "score as float",
        {"scores": {**RUBRIC_SCORES, "Helpfulness": 3.5}},
        "result.scores.Helpfulness",
        "must be a whole number.",
    ),
    bad(
        RUBRIC,
        "required criterion missing",
        {"scores": {"Helpfulness": 3}},
        "result.scores",
        "'Harmlessness' is required.",
    ),
    bad(
        RUBRIC,
        "comments the project does not take",
        {"scores": RUBRIC_SCORES, "comments": "x"},
        "result.comments",
        "this project does not take comments.",
        NO_COMMENTS,
    ),
    bad(
        RUBRIC,
        "comments too long",
        {"scores": RUBRIC_SCORES, "comments": "c" * 20_001},
        "result.comments",
        "at most 20000 characters",
    ),
    bad(FREE_TEXT, "text missing", {}, "result", "'text' is required."),
    bad(FREE_TEXT, "text as list", {"text": ["a"]}, "result.text", "must be a string."),
    bad(
        FREE_TEXT,
        "short without its spaces",
        {"text": "  Home    "},
        "result.text",
        "must be at least 5 character(s) long, not counting outer spaces.",
        SHORT_TEXT,
    ),
    bad(
        FREE_TEXT,
        "above max_length",
        {"text": "t" * 2001},
        "result.text",
        "at most 2000 characters long.",
    ),
    bad(
        FREE_TEXT,
        "above the absolute limit",
        {"text": "t" * 100_001},
        "result.text",
        "at most 100000 characters long.",
        SHORT_TEXT,
    ),
    bad(
        FREE_TEXT, "unknown key", {"text": "Home.", "mode": "write"}, "result.mode", "unknown field"
    ),
    bad(CHAT, "turns missing", {"conversation": 3}, "result", "'turns' is required."),
    bad(
        CHAT,
        "a user turn",
        turns(**{"1": {"rating": 3}}),
        "result.turns.1",
        "message 1 is a user message, not an assistant turn.",
    ),
    bad(
        CHAT,
        "a message past the end",
        turns(**{"5": {"rating": 3}}),
        "result.turns.5",
        "there is no such message; the conversation has 5 messages.",
    ),
    bad(
        CHAT,
        "an index with a leading zero",
        turns(**{"02": {"rating": 3}}),
        "result.turns.02",
        'is not a message index (a whole number written like "3").',
    ),
    bad(
        CHAT,
        "rating missing",
        turns(**{"2": {"flags": ["Unsafe"]}}),
        "result.turns.2",
        "'rating' is required.",
    ),
    bad(
        CHAT,
        "rating outside the scale",
        turns(**{"4": {"rating": 0}}),
        "result.turns.4.rating",
        "must be between 1 and 5.",
    ),
    bad(
        CHAT,
        "undefined flag",
        turns(**{"2": {"rating": 1, "flags": ["Unsafe", "Rude"]}}),
        "result.turns.2.flags[1]",
        "'Rude' is not a flag of this project.",
    ),
    bad(
        CHAT,
        "flag twice",
        turns(**{"2": {"rating": 1, "flags": ["Unsafe", "Unsafe"]}}),
        "result.turns.2.flags",
        "must not list an item twice.",
    ),
    bad(
        CHAT,
        "unknown key in a turn",
        turns(**{"2": {"rating": 1, "note": "x"}}),
        "result.turns.2.note",
        "unknown field; allowed: flags, rating.",
    ),
    bad(
        CHAT,
        "an assistant turn unrated",
        chat_turns({"2": {"rating": 3}}),
        "result.turns",
        "'4' is required: every assistant turn needs a rating.",
    ),
    bad(
        CHAT, "conversation missing", {"turns": CHAT_TURNS}, "result", "'conversation' is required."
    ),
    bad(
        CHAT,
        "conversation outside the scale",
        {"turns": CHAT_TURNS, "conversation": 8},
        "result.conversation",
        "must be between 1 and 7.",
    ),
    bad(
        CHAT,
        "conversation the project does not rate",
        {"turns": {"2": {"rating": 1}, "4": {"rating": 0}}, "conversation": 1},
        "result.conversation",
        "this project does not rate the conversation.",
        MINIMAL[CHAT],
    ),
    bad(
        CHAT,
        "comments the project does not take",
        {**turns(), "comments": "Nice."},
        "result.comments",
        "this project does not take comments.",
    ),
]


@pytest.mark.parametrize(("task_type", "result", "field", "fragment", "schema"), INVALID)
def test_an_invalid_result_is_refused_naming_the_field(task_type, result, field, fragment, schema):
    error = refusal(task_type, result, schema)
    assert error.details == {"field": field}
    assert error.message.startswith(f"{field}: ")
    assert fragment in error.message


def test_messages_do_not_echo_long_submitted_values():
    key = "secret" * 200
    error = refusal(CLASSIFICATION, {"labels": ["Positive"], key: 1})
    assert error.details["field"] == "result." + key[:64] + "..."
    assert key[:65] not in error.message
    long_label = refusal(CLASSIFICATION, {"labels": ["Confidential " * 100]})
    assert "Confidential" not in long_label.message
    rationale = refusal(PAIRWISE, {**CHOICE_A, "rationale": "Confidential " * 2000})
    assert "Confidential" not in rationale.message
    huge = refusal(PAIRWISE, {**CHOICE_A, "strength": 10**50})
    assert "0" * 50 not in huge.message


def test_control_characters_in_keys_are_not_echoed():
    error = refusal(RUBRIC, {"scores": {**RUBRIC_SCORES, "Tone\n[forged]": 3}})
    assert error.details["field"] == "result.scores.Tone?[forged]"
    assert "\n" not in error.message


def test_an_unknown_task_type_is_named():
    with pytest.raises(ValidationFailed) as caught:
        validate_result(task_type="video", label_schema={}, data={}, result={})
    assert (caught.value.code, caught.value.details) == (
        "invalid_task_type",
        {"field": "task_type"},
    )


@pytest.mark.parametrize("task_type", list(SCHEMAS))
def test_none_is_not_a_result_of_any_type(task_type):
    error = refusal(task_type, None)
    assert error.message == "result: must be an object."


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats()
    | st.sampled_from(["a", "tie", "Car", "Person", "Neutral", "Unsafe", "Helpfulness", "2"])
    | st.text(max_size=5)
)
KEYS = st.sampled_from(
    [
        "labels",
        "spans",
        "boxes",
        "choice",
        "strength",
        "rationale",
        "scores",
        "comments",
        "text",
        "turns",
        "conversation",
        "relations",
        "id",
        "start",
        "end",
        "label",
        "from",
        "to",
        "x",
        "y",
        "w",
        "h",
        "rating",
        "flags",
        "Helpfulness",
        "Harmlessness",
        "0",
        "1",
        "2",
        "4",
    ]
)
ANY = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS, inner, max_size=5),
    max_leaves=25,
)


def outcome(task_type: str, result: Any) -> dict[str, Any] | ValidationFailed:
    try:
        return check(task_type, result)
    except ValidationFailed as error:
        return error


@settings(max_examples=300, deadline=None)
@given(task_type=st.sampled_from(list(SCHEMAS)), result=ANY)
def test_any_submitted_value_is_accepted_or_refused_with_a_named_field(task_type, result):
    answer = outcome(task_type, result)
    if isinstance(answer, ValidationFailed):
        assert answer.details["field"].startswith("result")
        assert answer.message.startswith(answer.details["field"] + ": ")
    else:
        assert isinstance(answer, dict)
