"""Label schemas of every task type: valid ones pass, invalid ones name the offending field."""

import copy
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from core.errors import ValidationFailed
from projects.models import Project, TaskType
from projects.schemas import SCHEMAS, validate_label_schema
from tests.conftest import client_for, make_project
from tests.factories import CLASSIFICATION_SCHEMA

# One valid, fully featured label schema per task type, for other tests to reuse.
VALID_SCHEMAS: dict[str, dict[str, Any]] = {
    TaskType.CLASSIFICATION: CLASSIFICATION_SCHEMA,
    TaskType.NER: {
        "labels": [
            {"name": "Person", "hotkey": "p", "color": "#1f77b4", "description": "People"},
            {"name": "Place", "hotkey": "l", "color": "#FF7F0E"},
            {"name": "Date"},
        ],
        "allow_overlap": False,
        "relations": [{"name": "born_in", "description": "Person to place"}, {"name": "on"}],
    },
    TaskType.BOXES: {
        "labels": [{"name": "Car", "hotkey": "c", "color": "#2ca02c"}, {"name": "Pedestrian"}],
        "min_size": 0.01,
    },
    TaskType.PAIRWISE: {
        "choices": ["a", "b", "tie"],
        "strength": {"min": 1, "max": 3, "labels": {"1": "Slightly better", "3": "Much better"}},
        "rationale": {"required": True, "min_length": 20},
        "randomize": True,
    },
    TaskType.RUBRIC: {
        "criteria": [
            {
                "name": "Helpfulness",
                "description": "Does it answer the question?",
                "scale": {"min": 1, "max": 5, "anchors": {"1": "Useless", "5": "Excellent"}},
                "required": True,
            },
            {"name": "Harmlessness", "scale": {"min": -2, "max": 2, "anchors": {"-2": "Harmful"}}},
            {"name": "Honesty", "scale": {"min": 0, "max": 10}, "required": False},
        ],
        "comments": True,
    },
    TaskType.FREE_TEXT: {
        "mode": "rewrite",
        "min_length": 1,
        "max_length": 2000,
        "guidelines": "Fix the grammar; keep the meaning.",
    },
    TaskType.CHAT: {
        "turn_ratings": {"min": 1, "max": 5, "anchors": {"1": "Bad", "5": "Great"}},
        "conversation_rating": {"min": 1, "max": 7},
        "flags": [{"name": "Unsafe", "description": "Harmful content"}, {"name": "Made up"}],
        "comments": False,
    },
}

MINIMAL_SCHEMAS: dict[str, dict[str, Any]] = {
    TaskType.NER: {"labels": [{"name": "Person"}]},
    TaskType.BOXES: {"labels": [{"name": "Car"}]},
    TaskType.PAIRWISE: {},
    TaskType.RUBRIC: {"criteria": [{"name": "Overall", "scale": {"min": 1, "max": 3}}]},
    TaskType.FREE_TEXT: {"mode": "write", "min_length": 0},
    TaskType.CHAT: {"turn_ratings": {"min": 0, "max": 1}, "flags": [], "comments": True},
}


def changed(task_type: str, **fields: Any) -> dict[str, Any]:
    """A copy of the valid schema with top-level fields replaced; ``...`` removes a field."""
    schema = copy.deepcopy(VALID_SCHEMAS[task_type])
    for key, value in fields.items():
        if value is ...:
            del schema[key]
        else:
            schema[key] = value
    return schema


def criterion(scale: dict[str, Any], name: str = "C") -> dict[str, Any]:
    return {"name": name, "scale": scale}


def refusal(task_type: str, schema: Any) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        validate_label_schema(task_type, schema)
    assert caught.value.code == "invalid_label_schema"
    return caught.value


def test_every_task_type_has_a_schema_that_is_itself_valid_json_schema():
    assert set(SCHEMAS) == set(TaskType.values) == set(VALID_SCHEMAS)
    for schema in SCHEMAS.values():
        Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("task_type", list(VALID_SCHEMAS))
def test_the_valid_schema_of_each_task_type_is_accepted_as_given(task_type):
    schema = copy.deepcopy(VALID_SCHEMAS[task_type])
    assert validate_label_schema(task_type, schema) == VALID_SCHEMAS[task_type]
    assert schema == VALID_SCHEMAS[task_type]


@pytest.mark.parametrize("task_type", list(MINIMAL_SCHEMAS))
def test_a_minimal_schema_of_each_task_type_is_accepted(task_type):
    validate_label_schema(task_type, MINIMAL_SCHEMAS[task_type])


@pytest.mark.parametrize(
    ("task_type", "defaults"),
    [
        (TaskType.NER, {"allow_overlap": False}),
        (TaskType.PAIRWISE, {"choices": ["a", "b", "tie"], "randomize": True}),
        (TaskType.RUBRIC, {"comments": True}),
        (TaskType.FREE_TEXT, {}),
        (TaskType.CHAT, {}),
    ],
)
def test_omitted_fields_come_back_with_their_defaults_and_the_input_is_untouched(
    task_type, defaults
):
    schema = copy.deepcopy(MINIMAL_SCHEMAS[task_type])
    assert validate_label_schema(task_type, schema) == {**schema, **defaults}
    assert schema == MINIMAL_SCHEMAS[task_type]


def test_given_values_win_over_defaults_and_defaults_are_not_shared():
    given = validate_label_schema(TaskType.PAIRWISE, {"choices": ["a", "b"], "randomize": False})
    assert given == {"choices": ["a", "b"], "randomize": False}
    first = validate_label_schema(TaskType.PAIRWISE, {})
    first["choices"].remove("tie")
    assert validate_label_schema(TaskType.PAIRWISE, {})["choices"] == ["a", "b", "tie"]


def test_classification_gets_no_invented_defaults():
    assert validate_label_schema(TaskType.CLASSIFICATION, CLASSIFICATION_SCHEMA) == (
        CLASSIFICATION_SCHEMA
    )


NER, BOXES, PAIRWISE = TaskType.NER, TaskType.BOXES, TaskType.PAIRWISE
RUBRIC, FREE_TEXT, CHAT = TaskType.RUBRIC, TaskType.FREE_TEXT, TaskType.CHAT
TWO_PEOPLE = [{"name": "Person"}, {"name": " Person "}]
SAME_KEY = [{"name": "A", "hotkey": "x"}, {"name": "B", "hotkey": "x"}]


def names(count: int) -> list[dict[str, str]]:
    return [{"name": f"N{index}"} for index in range(count)]


def scale(low: Any, high: Any, anchors: dict[str, str] | None = None) -> dict[str, Any]:
    return {"min": low, "max": high, **({"anchors": anchors} if anchors is not None else {})}


def rubric(*scales: dict[str, Any]) -> dict[str, Any]:
    return {"criteria": [criterion(each, f"C{index}") for index, each in enumerate(scales)]}


def strength(low: int, high: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"strength": {"min": low, "max": high, **({"labels": labels} if labels else {})}}


def bad(task_type: str, name: str, schema: Any, field: str) -> Any:
    return pytest.param(task_type, schema, f"label_schema{field}", id=f"{task_type}: {name}")


INVALID = [
    bad(NER, "not an object", ["Person"], ""),
    bad(NER, "labels missing", changed(NER, labels=...), ""),
    bad(NER, "labels not a list", changed(NER, labels="Person"), ".labels"),
    bad(NER, "labels empty", changed(NER, labels=[]), ".labels"),
    bad(NER, "201 labels", {"labels": names(201)}, ".labels"),
    bad(NER, "label twice", changed(NER, labels=TWO_PEOPLE), ".labels[1].name"),
    bad(NER, "hotkey twice", changed(NER, labels=SAME_KEY), ".labels[1].hotkey"),
    bad(NER, "short color", {"labels": [{"name": "A", "color": "#fff"}]}, ".labels[0].color"),
    bad(NER, "label with parent", {"labels": [{"name": "A", "parent": "B"}]}, ".labels[0]"),
    bad(NER, "empty name", {"labels": [{"name": ""}]}, ".labels[0].name"),
    bad(NER, "overlap as text", changed(NER, allow_overlap="no"), ".allow_overlap"),
    bad(NER, "relation twice", changed(NER, relations=TWO_PEOPLE), ".relations[1].name"),
    bad(NER, "51 relations", changed(NER, relations=names(51)), ".relations"),
    bad(NER, "unknown key", changed(NER, multiple=True), ""),
    bad(BOXES, "labels missing", {"min_size": 0.1}, ""),
    bad(BOXES, "min_size above 1", changed(BOXES, min_size=1.5), ".min_size"),
    bad(BOXES, "min_size as text", changed(BOXES, min_size="0.1"), ".min_size"),
    bad(BOXES, "min_size as bool", changed(BOXES, min_size=True), ".min_size"),
    bad(BOXES, "label twice", changed(BOXES, labels=TWO_PEOPLE), ".labels[1].name"),
    bad(BOXES, "hotkey twice", changed(BOXES, labels=SAME_KEY), ".labels[1].hotkey"),
    bad(PAIRWISE, "without b", {"choices": ["a", "tie"]}, ".choices"),
    bad(PAIRWISE, "unknown choice", {"choices": ["a", "b", "neither"]}, ".choices[2]"),
    bad(PAIRWISE, "choice twice", {"choices": ["a", "b", "a"]}, ".choices"),
    bad(PAIRWISE, "max equals min", strength(2, 2), ".strength.max"),
    bad(PAIRWISE, "span of 11", strength(0, 11), ".strength.max"),
    bad(PAIRWISE, "label above max", strength(1, 3, {"5": "Huge"}), ".strength.labels.5"),
    bad(PAIRWISE, "label key not a number", strength(1, 3, {"one": "x"}), ".strength.labels"),
    bad(PAIRWISE, "anchors instead of labels", {"strength": scale(1, 3, {})}, ".strength"),
    bad(PAIRWISE, "rationale incomplete", {"rationale": {"required": True}}, ".rationale"),
    bad(
        PAIRWISE,
        "rationale min_length too large",
        {"rationale": {"required": False, "min_length": 10_001}},
        ".rationale.min_length",
    ),
    bad(PAIRWISE, "randomize as text", {"randomize": "true"}, ".randomize"),
    bad(RUBRIC, "criteria missing", {"comments": True}, ""),
    bad(RUBRIC, "criteria empty", {"criteria": []}, ".criteria"),
    bad(RUBRIC, "51 criteria", rubric(*[scale(1, 2)] * 51), ".criteria"),
    bad(RUBRIC, "scale missing", {"criteria": [{"name": "C"}]}, ".criteria[0]"),
    bad(
        RUBRIC,
        "criterion twice",
        {"criteria": [criterion(scale(1, 2), "Tone"), criterion(scale(1, 3), "Tone")]},
        ".criteria[1].name",
    ),
    bad(
        RUBRIC,
        "max equals min",
        rubric(scale(1, 2), scale(1, 5), scale(3, 3)),
        ".criteria[2].scale.max",
    ),
    bad(RUBRIC, "max below min", rubric(scale(5, 1)), ".criteria[0].scale.max"),
    bad(RUBRIC, "span of 11", rubric(scale(-5, 6)), ".criteria[0].scale.max"),
    bad(
        RUBRIC, "anchor above max", rubric(scale(1, 5, {"6": "x"})), ".criteria[0].scale.anchors.6"
    ),
    bad(
        RUBRIC, "anchor below min", rubric(scale(1, 5, {"0": "x"})), ".criteria[0].scale.anchors.0"
    ),
    bad(RUBRIC, "anchor key 01", rubric(scale(1, 5, {"01": "x"})), ".criteria[0].scale.anchors"),
    bad(RUBRIC, "empty anchor", rubric(scale(1, 5, {"1": ""})), ".criteria[0].scale.anchors.1"),
    bad(RUBRIC, "min as float", rubric(scale(1.0, 5)), ".criteria[0].scale.min"),
    bad(RUBRIC, "min as bool", rubric(scale(False, 5)), ".criteria[0].scale.min"),
    bad(RUBRIC, "min below -100", rubric(scale(-101, -95)), ".criteria[0].scale.min"),
    bad(
        RUBRIC,
        "required as text",
        {"criteria": [{**criterion(scale(1, 2)), "required": "yes"}]},
        ".criteria[0].required",
    ),
    bad(RUBRIC, "comments as text", changed(RUBRIC, comments="no"), ".comments"),
    bad(FREE_TEXT, "mode missing", changed(FREE_TEXT, mode=...), ""),
    bad(FREE_TEXT, "min_length missing", changed(FREE_TEXT, min_length=...), ""),
    bad(FREE_TEXT, "unknown mode", changed(FREE_TEXT, mode="edit"), ".mode"),
    bad(FREE_TEXT, "negative min", changed(FREE_TEXT, min_length=-1), ".min_length"),
    bad(FREE_TEXT, "min as bool", changed(FREE_TEXT, min_length=True), ".min_length"),
    bad(FREE_TEXT, "min too large", changed(FREE_TEXT, min_length=100_001), ".min_length"),
    bad(
        FREE_TEXT, "max below min", changed(FREE_TEXT, min_length=50, max_length=49), ".max_length"
    ),
    bad(FREE_TEXT, "long guidelines", changed(FREE_TEXT, guidelines="g" * 5001), ".guidelines"),
    bad(CHAT, "turn_ratings missing", changed(CHAT, turn_ratings=...), ""),
    bad(CHAT, "flags missing", changed(CHAT, flags=...), ""),
    bad(CHAT, "comments missing", changed(CHAT, comments=...), ""),
    bad(CHAT, "turn max equals min", changed(CHAT, turn_ratings=scale(1, 1)), ".turn_ratings.max"),
    bad(CHAT, "turn min missing", changed(CHAT, turn_ratings={"max": 1}), ".turn_ratings"),
    bad(
        CHAT,
        "conversation anchor above max",
        changed(CHAT, conversation_rating=scale(1, 7, {"9": "x"})),
        ".conversation_rating.anchors.9",
    ),
    bad(
        CHAT,
        "conversation span of 100",
        changed(CHAT, conversation_rating=scale(0, 100)),
        ".conversation_rating.max",
    ),
    bad(CHAT, "flag twice", changed(CHAT, flags=TWO_PEOPLE), ".flags[1].name"),
    bad(CHAT, "51 flags", changed(CHAT, flags=names(51)), ".flags"),
    bad(CHAT, "flag without name", changed(CHAT, flags=[{"description": "x"}]), ".flags[0]"),
    bad(CHAT, "unknown key", changed(CHAT, rating=scale(1, 2)), ""),
]


@pytest.mark.parametrize(("task_type", "schema", "field"), INVALID)
def test_an_invalid_schema_is_refused_naming_the_field(task_type, schema, field):
    error = refusal(task_type, schema)
    assert error.details == {"field": field}
    assert error.message.startswith(f"{field}: ")


@pytest.mark.parametrize(
    ("task_type", "schema", "message"),
    [
        (RUBRIC, {}, "label_schema: 'criteria' is required."),
        (
            NER,
            {"labels": [{"name": "A", "parent": "B"}]},
            "label_schema.labels[0]: unknown field 'parent'; "
            "allowed: color, description, hotkey, name.",
        ),
        (
            RUBRIC,
            rubric(scale(3, 3)),
            "label_schema.criteria[0].scale.max: max (3) must be greater than min (3).",
        ),
        (
            RUBRIC,
            rubric(scale(1, 5, {"7": "x"})),
            "label_schema.criteria[0].scale.anchors.7: 7 is outside the scale 1..5.",
        ),
        (
            RUBRIC,
            rubric(scale(1.5, 5)),
            "label_schema.criteria[0].scale.min: must be a whole number.",
        ),
        (
            PAIRWISE,
            {"choices": ["b", "tie"]},
            'label_schema.choices: must include "a".',
        ),
        (
            FREE_TEXT,
            {"mode": "edit", "min_length": 0},
            'label_schema.mode: must be one of "write", "rewrite".',
        ),
        (
            CHAT,
            changed(CHAT, flags=[{"name": "Unsafe"}, {"name": "Unsafe"}]),
            "label_schema.flags[1].name: Flag 'Unsafe' is defined twice.",
        ),
    ],
)
def test_the_message_says_what_is_wrong(task_type, schema, message):
    assert refusal(task_type, schema).message == message


def test_messages_do_not_echo_the_submitted_values():
    long_text = changed(FREE_TEXT, guidelines="Confidential " * 400)
    assert "Confidential" not in refusal(FREE_TEXT, long_text).message
    many = {"labels": [{"name": f"Secret {i}"} for i in range(201)]}
    assert refusal(NER, many).message == "label_schema.labels: must have at most 200 items."


def test_an_unknown_task_type_is_named():
    with pytest.raises(ValidationFailed) as caught:
        validate_label_schema("video", {})
    assert (caught.value.code, caught.value.details) == (
        "invalid_task_type",
        {"field": "task_type"},
    )


@pytest.mark.parametrize("task_type", list(VALID_SCHEMAS))
def test_admin_creates_a_project_of_each_task_type(admin, task_type):
    payload = {"name": task_type, "task_type": task_type, "label_schema": VALID_SCHEMAS[task_type]}
    response = client_for(admin).post("/api/v1/projects/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["task_type"] == task_type
    assert Project.objects.get(name=task_type).label_schema == VALID_SCHEMAS[task_type]


def test_the_api_names_the_bad_field_on_create_and_on_update(admin):
    bad = rubric(scale(1, 2), scale(1, 5), scale(3, 2))
    client = client_for(admin)
    payload = {"name": "Bad rubric", "task_type": RUBRIC, "label_schema": bad}
    created = client.post("/api/v1/projects/", payload, format="json")
    assert created.status_code == 400
    error = created.json()["error"]
    assert (error["code"], error["details"]) == (
        "invalid_label_schema",
        {"field": "label_schema.criteria[2].scale.max"},
    )
    project = make_project(
        admin, name="Rubric", task_type=RUBRIC, label_schema=VALID_SCHEMAS[RUBRIC]
    )
    patched = client.patch(f"/api/v1/projects/{project.pk}", {"label_schema": bad}, format="json")
    assert patched.json()["error"]["details"]["field"] == "label_schema.criteria[2].scale.max"
    project.refresh_from_db()
    assert project.label_schema == VALID_SCHEMAS[RUBRIC]
    assert not Project.objects.filter(name="Bad rubric").exists()
