"""Records checked against their project's task type: every type, every reserved key."""

import json
from typing import Any

import pytest

from datasets.limits import ImportLimits
from datasets.problems import ProblemLog
from datasets.records import DATA_FIELDS, CleanRecord, RecordChecker, describe_fields
from projects.models import TaskType

LIMITS = ImportLimits()


def check(
    task_type: str, record: dict[str, Any], *, cells: bool = False, limits: ImportLimits = LIMITS
):
    problems = ProblemLog()
    checker = RecordChecker(task_type, limits, problems, from_text_cells=cells)
    clean = checker.check("line 7", record)
    found = [(p.where, p.code, p.field) for p in problems.listed]
    assert (clean is None) == bool(found)
    return clean, found


def problems_of(task_type: str, record: dict[str, Any], **options) -> list[tuple[str, str | None]]:
    _, found = check(task_type, record, **options)
    assert found, "the record was accepted"
    assert {where for where, _, _ in found} == {"line 7"}
    return [(code, field) for _, code, field in found]


def messages_of(task_type: str, record: dict[str, Any], **options) -> list[str]:
    problems = ProblemLog()
    RecordChecker(task_type, LIMITS, problems, **options).check("line 7", record)
    return [p.message for p in problems.listed]


def canonical(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


CHAT = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello."},
]
VALID_DATA: dict[str, dict[str, Any]] = {
    TaskType.CLASSIFICATION: {"text": "I loved it"},
    TaskType.NER: {"text": "Ada Lovelace was born in London."},
    TaskType.BOXES: {"image": "images/cat.png"},
    TaskType.PAIRWISE: {"prompt": "Say hi", "response_a": "Hi", "response_b": "Hello"},
    TaskType.RUBRIC: {"response": "An answer", "prompt": "A question"},
    TaskType.FREE_TEXT: {"prompt": "Rewrite politely", "response": "Do it now."},
    TaskType.CHAT: {"messages": CHAT},
}


def test_every_task_type_has_a_valid_example():
    assert set(VALID_DATA) == set(TaskType.values) == set(DATA_FIELDS)


@pytest.mark.parametrize("task_type", list(TaskType))
def test_a_valid_record_of_each_type_is_accepted_with_canonical_json(task_type):
    clean, _ = check(task_type, dict(VALID_DATA[task_type]))
    assert clean == CleanRecord(
        where="line 7",
        data=VALID_DATA[task_type],
        data_json=canonical(VALID_DATA[task_type]),
        external_id=None,
        priority=0,
        metadata=None,
        prediction=None,
        gold=None,
    )


@pytest.mark.parametrize("task_type", list(TaskType))
def test_each_required_field_missing_is_reported_by_name(task_type):
    required = [field.name for field in DATA_FIELDS[task_type] if field.required]
    for name in required:
        record = {key: value for key, value in VALID_DATA[task_type].items() if key != name}
        assert problems_of(task_type, record) == [("missing_field", name)]
        assert problems_of(task_type, {**record, name: None}) == [("missing_field", name)]
    assert messages_of(task_type, {})[0] == f"'{required[0]}' is required"


@pytest.mark.parametrize(
    ("task_type", "optional"), [(TaskType.RUBRIC, "prompt"), (TaskType.FREE_TEXT, "response")]
)
def test_optional_data_fields_may_be_absent_or_null(task_type, optional):
    data = {k: v for k, v in VALID_DATA[task_type].items() if k != optional}
    assert check(task_type, data)[0].data == data
    assert check(task_type, {**data, optional: None})[0].data == data


STRING_FIELDS = [
    (task_type, field.name)
    for task_type, fields in DATA_FIELDS.items()
    for field in fields
    if field.kind == "string"
]


@pytest.mark.parametrize(("task_type", "name"), STRING_FIELDS)
@pytest.mark.parametrize(
    ("value", "code"),
    [
        (3, "wrong_type"),
        (True, "wrong_type"),
        (["a"], "wrong_type"),
        ({"a": 1}, "wrong_type"),
        ("", "empty_value"),
        (" \n\t ", "empty_value"),
        ("a\x00b", "bad_character"),
        ("a\ud800b", "bad_character"),
    ],
)
def test_string_data_fields_must_be_non_empty_text(task_type, name, value, code):
    record = {**VALID_DATA[task_type], name: value}
    assert problems_of(task_type, record) == [(code, name)]


def test_a_wrong_type_says_what_it_got():
    assert messages_of(TaskType.CLASSIFICATION, {"text": 3}) == [
        "'text' must be a string, got a number"
    ]
    assert messages_of(TaskType.CLASSIFICATION, {"text": [1]}) == [
        "'text' must be a string, got an array"
    ]


def test_a_data_field_over_the_task_limit_in_utf8_bytes_is_too_long():
    limits = ImportLimits(max_task_bytes=100)
    assert check(TaskType.CLASSIFICATION, {"text": "x" * 80}, limits=limits)[0] is not None
    # 51 characters, 102 bytes.
    found = problems_of(TaskType.CLASSIFICATION, {"text": "é" * 51}, limits=limits)
    assert found == [("too_long", "text")]


def test_data_over_the_task_limit_as_json_is_too_long():
    limits = ImportLimits(max_task_bytes=100)
    record = {"prompt": "p" * 40, "response_a": "a" * 40, "response_b": "b" * 40}
    assert problems_of(TaskType.PAIRWISE, record, limits=limits) == [("too_long", None)]


@pytest.mark.parametrize(
    "text",
    ['quote " and \\ backslash', "tab\tnewline\n\r", "é中🙂", "a\u2028\u2029", "\x01\x1f\x7f"],
)
def test_data_json_is_the_canonical_json_of_the_data(text):
    record = {"prompt": text, "response_a": "z", "response_b": text + "!"}
    clean, _ = check(TaskType.PAIRWISE, record)
    assert clean.data_json == canonical(record)
    assert json.loads(clean.data_json) == record


def test_chat_data_json_is_canonical_too():
    messages = [{"content": "é\n", "role": "user"}, {"role": "assistant", "content": "ok"}]
    clean, _ = check(TaskType.CHAT, {"messages": messages})
    assert clean.data_json == canonical({"messages": messages})


# Chat


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ("hello", [("wrong_type", "messages")]),
        ([], [("out_of_range", "messages")]),
        ([CHAT[2]] * 501, [("out_of_range", "messages")]),
        ([CHAT[1], "hi"], [("wrong_type", "messages[1]"), ("invalid_value", "messages")]),
        ([CHAT[2], {"role": "bot", "content": "x"}], [("invalid_value", "messages[1].role")]),
        ([CHAT[2], {"content": "x"}], [("missing_field", "messages[1].role")]),
        ([{"role": "assistant"}], [("missing_field", "messages[0].content")]),
        ([{"role": "assistant", "content": 5}], [("wrong_type", "messages[0].content")]),
        ([{"role": "assistant", "content": " "}], [("empty_value", "messages[0].content")]),
        ([{"role": "assistant", "content": "a\x00"}], [("bad_character", "messages[0].content")]),
        (
            [{"role": "assistant", "content": "x", "name": "bot"}],
            [("unknown_field", "messages[0].name")],
        ),
        (CHAT[:2], [("invalid_value", "messages")]),
    ],
)
def test_chat_messages_are_checked_one_by_one(messages, expected):
    assert problems_of(TaskType.CHAT, {"messages": messages}) == expected


def test_chat_limits_are_inclusive():
    assert check(TaskType.CHAT, {"messages": [CHAT[2]] * 500})[0] is not None
    assert check(TaskType.CHAT, {"messages": [CHAT[2]]})[0] is not None


def test_chat_messages_say_what_is_wrong():
    assert messages_of(TaskType.CHAT, {"messages": [CHAT[1]]}) == [
        "'messages' needs at least one assistant turn"
    ]
    assert messages_of(TaskType.CHAT, {"messages": [CHAT[2]] * 501}) == [
        "'messages' must hold 1 to 500 messages, got 501"
    ]


def test_chat_messages_from_a_csv_cell_are_json_text():
    clean, _ = check(TaskType.CHAT, {"messages": json.dumps(CHAT)}, cells=True)
    assert clean.data == {"messages": CHAT}
    assert problems_of(TaskType.CHAT, {"messages": "[{"}, cells=True) == [
        ("invalid_json", "messages")
    ]


# Unknown keys and the Label Studio form


def test_an_unknown_key_is_reported_with_a_hint():
    record = {"text": "a", "label": "pos", "source": "web"}
    assert problems_of(TaskType.CLASSIFICATION, record) == [
        ("unknown_field", "label"),
        ("unknown_field", "source"),
    ]
    assert messages_of(TaskType.CLASSIFICATION, {"text": "a", "label": "x"}) == [
        "unknown field 'label'; put extra fields under 'metadata'"
    ]


def test_a_long_unknown_key_is_shortened_and_its_control_characters_hidden():
    key = "\n" + "k" * 100
    assert problems_of(TaskType.CLASSIFICATION, {"text": "a", key: 1}) == [
        ("unknown_field", "?" + "k" * 63 + "...")
    ]


def test_a_data_field_of_another_task_type_is_unknown():
    assert problems_of(TaskType.CLASSIFICATION, {"text": "a", "image": "x.png"}) == [
        ("unknown_field", "image")
    ]


def test_label_studio_records_carry_data_fields_under_data():
    record = {"data": {"text": "hi"}, "external_id": "e1", "priority": 2, "gold": {"l": 1}}
    clean, _ = check(TaskType.CLASSIFICATION, record)
    assert (clean.data, clean.data_json) == ({"text": "hi"}, b'{"text":"hi"}')
    assert (clean.external_id, clean.priority, clean.gold) == ("e1", 2, {"l": 1})


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        ({"data": "hi"}, [("wrong_type", "data")]),
        ({"data": {}}, [("missing_field", "text")]),
        ({"data": {"text": "a", "label": 1}}, [("unknown_field", "data.label")]),
        ({"data": {"text": "a"}, "text": "b"}, [("duplicate_field", "text")]),
        ({"data": {"text": "a"}, "meta": {}}, [("unknown_field", "meta")]),
    ],
)
def test_label_studio_records_are_checked_too(record, expected):
    assert problems_of(TaskType.CLASSIFICATION, record) == expected


# Reserved keys


def ok(record: dict[str, Any], **options) -> CleanRecord:
    clean, found = check(TaskType.CLASSIFICATION, {"text": "t", **record}, **options)
    assert clean is not None, found
    return clean


def bad(record: dict[str, Any], **options) -> list[tuple[str, str | None]]:
    return problems_of(TaskType.CLASSIFICATION, {"text": "t", **record}, **options)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc-1", "abc-1"),
        ("  padded \t", "padded"),
        (42, "42"),
        (-7, "-7"),
        ("é" * 255, "é" * 255),
        (None, None),
    ],
)
def test_external_id_is_kept_as_a_stripped_string(value, expected):
    assert ok({"external_id": value}).external_id == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (True, "wrong_type"),
        (1.5, "wrong_type"),
        ({"id": 1}, "wrong_type"),
        ("", "empty_value"),
        ("   ", "empty_value"),
        ("x" * 256, "too_long"),
        (10**300, "too_long"),
        ("a\nb", "bad_character"),
        ("a\x00b", "bad_character"),
        ("a\x85b", "bad_character"),
    ],
)
def test_a_bad_external_id_is_reported(value, code):
    assert bad({"external_id": value}) == [(code, "external_id")]


@pytest.mark.parametrize("value", [-32768, 0, 5, 32767])
def test_priority_is_a_small_integer(value):
    assert ok({"priority": value}).priority == value


def test_priority_defaults_to_zero():
    assert ok({}).priority == 0
    assert ok({"priority": None}).priority == 0


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (-32769, "out_of_range"),
        (32768, "out_of_range"),
        (True, "wrong_type"),
        (1.0, "wrong_type"),
        ("3", "wrong_type"),
    ],
)
def test_a_bad_priority_is_reported(value, code):
    assert bad({"priority": value}) == [(code, "priority")]


@pytest.mark.parametrize(("cell", "expected"), [("12", 12), (" -3 ", -3), ("+7", 7)])
def test_priority_from_a_csv_cell_is_parsed(cell, expected):
    assert ok({"priority": cell}, cells=True).priority == expected


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("high", "wrong_type"),
        ("1.5", "wrong_type"),
        ("٣", "wrong_type"),
        ("1_0", "wrong_type"),
        ("40000", "out_of_range"),
        ("9" * 5000, "out_of_range"),
    ],
)
def test_a_bad_priority_cell_is_reported(cell, code):
    assert bad({"priority": cell}, cells=True) == [(code, "priority")]


def test_metadata_is_an_object():
    assert ok({"metadata": {"source": "web", "n": [1, 2]}}).metadata == {
        "source": "web",
        "n": [1, 2],
    }
    assert ok({"metadata": '{"source": "web"}'}, cells=True).metadata == {"source": "web"}
    assert ok({"metadata": {"source": "web"}}, cells=True).metadata == {"source": "web"}


@pytest.mark.parametrize(
    ("value", "code", "options"),
    [
        ([1], "wrong_type", {}),
        ("web", "wrong_type", {}),
        ("{not json", "invalid_json", {"cells": True}),
        ("[1]", "wrong_type", {"cells": True}),
        ('{"n": NaN}', "invalid_json", {"cells": True}),
        ({"k": "a\x00"}, "bad_character", {}),
        ({"a\x00": 1}, "bad_character", {}),
        ({"k": "\udc00"}, "bad_character", {}),
        ({"k": float("nan")}, "bad_character", {}),
        ({"k": "x" * 70_000}, "too_long", {}),
    ],
)
def test_bad_metadata_is_reported(value, code, options):
    assert bad({"metadata": value}, **options) == [(code, "metadata")]


def nested(depth: int) -> dict[str, Any]:
    """An object ``depth`` levels deep, counting itself."""
    value: Any = []
    for _ in range(depth - 2):
        value = [value]
    return {"k": value}


@pytest.mark.parametrize("key", ["metadata", "gold"])
def test_json_values_may_nest_64_levels_but_no_deeper(key):
    assert ok({key: nested(64)}) is not None
    assert bad({key: nested(65)}) == [("too_deep", key)]
    assert messages_of(TaskType.CLASSIFICATION, {"text": "t", key: nested(65)}) == [
        f"'{key}' nests more than 64 levels deep"
    ]


def test_a_value_nested_deeper_than_the_stack_is_reported_not_raised():
    assert bad({"metadata": nested(5000)}) == [("too_deep", "metadata")]
    assert bad({"prediction": {"result": nested(5000)}}) == [("too_deep", "prediction")]


def test_a_literal_backslash_u0000_in_metadata_is_fine():
    assert ok({"metadata": {"k": "\\u0000"}}).metadata == {"k": "\\u0000"}


def test_invalid_json_in_a_cell_names_the_field_and_position():
    assert messages_of(
        TaskType.CLASSIFICATION, {"text": "t", "gold": "[1,"}, from_text_cells=True
    ) == ["'gold' is not valid JSON: Expecting value at line 1 column 4"]


def test_a_prediction_has_a_result_and_optionally_model_and_score():
    prediction = {"result": [{"label": "pos"}], "model": "m-1", "score": 0.93}
    assert ok({"prediction": prediction}).prediction == prediction
    assert ok({"prediction": {"result": {}}}).prediction == {"result": {}}
    assert ok({"prediction": {"result": [], "score": 1}}).prediction == {"result": [], "score": 1}
    cell = json.dumps(prediction)
    assert ok({"prediction": cell}, cells=True).prediction == prediction


@pytest.mark.parametrize(
    ("prediction", "expected"),
    [
        ([], [("wrong_type", "prediction")]),
        ({}, [("missing_field", "prediction.result")]),
        ({"result": "pos"}, [("wrong_type", "prediction.result")]),
        ({"result": [], "model": 3}, [("wrong_type", "prediction.model")]),
        ({"result": [], "model": "m" * 201}, [("too_long", "prediction.model")]),
        ({"result": [], "score": "high"}, [("wrong_type", "prediction.score")]),
        ({"result": [], "score": True}, [("wrong_type", "prediction.score")]),
        ({"result": [], "by": "me"}, [("unknown_field", "prediction.by")]),
        ({"result": ["x" * 70_000]}, [("too_long", "prediction")]),
    ],
)
def test_a_bad_prediction_is_reported(prediction, expected):
    assert bad({"prediction": prediction}) == expected


def test_a_prediction_model_of_200_characters_is_fine():
    assert ok({"prediction": {"result": [], "model": "m" * 200}}).prediction is not None


@pytest.mark.parametrize("gold", [{"label": "pos"}, [{"start": 0, "end": 3}], []])
def test_gold_is_an_object_or_an_array(gold):
    assert ok({"gold": gold}).gold == gold
    assert ok({"gold": json.dumps(gold)}, cells=True).gold == gold


@pytest.mark.parametrize(
    ("gold", "code", "options"),
    [
        ("pos", "wrong_type", {}),
        (3, "wrong_type", {}),
        ('"pos"', "wrong_type", {"cells": True}),
        ("{", "invalid_json", {"cells": True}),
        ({"l": "x" * 70_000}, "too_long", {}),
    ],
)
def test_a_bad_gold_answer_is_reported(gold, code, options):
    assert bad({"gold": gold}, **options) == [(code, "gold")]


def test_every_problem_of_a_record_is_reported():
    record = {
        "text": "",
        "external_id": "",
        "priority": 99999,
        "metadata": [],
        "prediction": {},
        "gold": "x",
        "extra": 1,
    }
    assert problems_of(TaskType.CLASSIFICATION, record) == [
        ("unknown_field", "extra"),
        ("empty_value", "text"),
        ("empty_value", "external_id"),
        ("out_of_range", "priority"),
        ("wrong_type", "metadata"),
        ("missing_field", "prediction.result"),
        ("wrong_type", "gold"),
    ]


def test_problems_beyond_the_log_limit_are_counted():
    problems = ProblemLog(limit=2)
    checker = RecordChecker(TaskType.CLASSIFICATION, LIMITS, problems)
    assert checker.check("line 1", {"a": 1, "b": 2, "c": 3}) is None
    assert (len(problems.listed), problems.total) == (2, 4)


def test_an_unknown_task_type_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown task type"):
        RecordChecker("poetry", LIMITS, ProblemLog())


def test_fields_are_described_for_the_ui():
    assert describe_fields(TaskType.RUBRIC)[:2] == [
        {"name": "response", "required": True, "kind": "string"},
        {"name": "prompt", "required": False, "kind": "string"},
    ]
    assert describe_fields(TaskType.CHAT)[0] == {
        "name": "messages",
        "required": True,
        "kind": "messages",
    }
    reserved = [field["name"] for field in describe_fields(TaskType.BOXES)[1:]]
    assert reserved == ["external_id", "priority", "metadata", "prediction", "gold"]
