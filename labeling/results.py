"""Annotation results: a JSON Schema per task type for the shape, then the checks against the
project's label schema and the task's data that JSON Schema cannot express.

``validate_result`` is the API contract for what an annotator submits. Errors name the field
the way the API reports it (``result.spans[2].end``) and say what is wrong. They quote a
submitted value only when it is short by construction (a label name, at most 100 characters);
free text and numbers are never quoted.

The result returned is canonical, so the same answer always has the same form: spans and
relations sorted, multi-select labels, rubric scores and chat flags in the label schema's order,
chat turns by index, box coordinates as floats, empty optional lists dropped.
"""

import re
from collections.abc import Callable
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from core.errors import ValidationFailed
from projects.models import TaskType
from projects.schemas import StrictValidator, error_reason, list_schema, object_schema

MAX_SPANS = 10_000
MAX_RELATIONS = 10_000
MAX_BOXES = 2_000
MAX_NOTE_CHARS = 20_000
MAX_TEXT_CHARS = 100_000
# Box edges computed from floats (0.1 + 0.2) may land a hair past the image.
BOX_SLACK = 1e-9
PAIRWISE_CHOICES = ("a", "b", "tie")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TURN_KEY = re.compile(r"0|[1-9][0-9]{0,3}")

_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
_SPAN_ID = {"type": "string", "minLength": 1, "maxLength": 64}
_INT = {"type": "integer"}
_NOTE = {"type": "string", "maxLength": MAX_NOTE_CHARS}
# Bounded above by 1 here so that later sums never meet a huge integer or an infinity.
_COORD = {"type": "number", "minimum": 0, "maximum": 1}
_SIZE = {"type": "number", "exclusiveMinimum": 0, "maximum": 1}
_POSITION = {"type": "integer", "minimum": 0}

_SPAN = object_schema(
    {"id": _SPAN_ID, "start": _POSITION, "end": _POSITION, "label": _NAME}, "start", "end", "label"
)
_RELATION = object_schema({"from": _SPAN_ID, "to": _SPAN_ID, "label": _NAME}, "from", "to", "label")
_BOX = object_schema(
    {"x": _COORD, "y": _COORD, "w": _SIZE, "h": _SIZE, "label": _NAME}, "x", "y", "w", "h", "label"
)

CLASSIFICATION = object_schema({"labels": list_schema(_NAME, 1, 500)}, "labels")
NER = object_schema(
    {
        "spans": list_schema(_SPAN, 0, MAX_SPANS),
        "relations": list_schema(_RELATION, 0, MAX_RELATIONS),
    },
    "spans",
)
BOXES = object_schema({"boxes": list_schema(_BOX, 0, MAX_BOXES)}, "boxes")
PAIRWISE = object_schema(
    {"choice": {"enum": list(PAIRWISE_CHOICES)}, "strength": _INT, "rationale": _NOTE}, "choice"
)
RUBRIC = object_schema(
    {
        "scores": {"type": "object", "maxProperties": 50, "additionalProperties": _INT},
        "comments": _NOTE,
    },
    "scores",
)
FREE_TEXT = object_schema({"text": {"type": "string", "maxLength": MAX_TEXT_CHARS}}, "text")
_TURN = object_schema(
    {"rating": _INT, "flags": {**list_schema(_NAME, 0, 50), "uniqueItems": True}}, "rating"
)
CHAT = object_schema(
    {
        "turns": {"type": "object", "maxProperties": 500, "additionalProperties": _TURN},
        "conversation": _INT,
        "comments": _NOTE,
    },
    "turns",
)

SCHEMAS: dict[str, dict[str, Any]] = {
    TaskType.CLASSIFICATION: CLASSIFICATION,
    TaskType.NER: NER,
    TaskType.BOXES: BOXES,
    TaskType.PAIRWISE: PAIRWISE,
    TaskType.RUBRIC: RUBRIC,
    TaskType.FREE_TEXT: FREE_TEXT,
    TaskType.CHAT: CHAT,
}
_VALIDATORS = {task_type: StrictValidator(schema) for task_type, schema in SCHEMAS.items()}


def _shown(key: str) -> str:
    """A submitted key or name as it appears in a message: short and printable."""
    shown = _CONTROL.sub("?", key[:64])
    return shown + "..." if len(key) > 64 else shown


def _path(parts: Any) -> str:
    out = "result"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{_shown(str(part))}"
    return out


def _fail(message: str, path: str) -> ValidationFailed:
    return ValidationFailed(f"{path}: {message}", code="invalid_result", details={"field": path})


def _schema_error(error: ValidationError) -> ValidationFailed:
    """The error for a shape problem; an unknown key is named in the path itself."""
    path = _path(error.absolute_path)
    if error.validator == "additionalProperties" and error.validator_value is False:
        allowed = ", ".join(sorted(error.schema["properties"]))
        unknown = sorted(set(error.instance) - set(error.schema["properties"]))[0]
        return _fail(f"unknown field; allowed: {allowed}.", f"{path}.{_shown(unknown)}")
    if error.validator == "exclusiveMinimum":
        return _fail(f"must be greater than {error.validator_value}.", path)
    if error.validator == "maxProperties":
        return _fail(f"must have at most {error.validator_value} entries.", path)
    return _fail(error_reason(error), path)


def _refuse_oversized(schema: dict[str, Any], result: dict[str, Any]) -> None:
    """Refuse a too-long list before the schema walks every one of its items."""
    for key, spec in schema["properties"].items():
        value, limit = result.get(key), spec.get("maxItems", spec.get("maxProperties"))
        if isinstance(value, list | dict) and limit is not None and len(value) > limit:
            unit = "items" if isinstance(value, list) else "entries"
            raise _fail(f"must have at most {limit} {unit}.", f"result.{key}")


def _require_known(name: str, known: Any, path: str, what: str) -> None:
    if name not in known:
        raise _fail(f"'{_shown(name)}' is not {what} of this project.", path)


def _require_in_scale(value: int, scale: dict[str, Any], path: str) -> None:
    if not scale["min"] <= value <= scale["max"]:
        raise _fail(f"must be between {scale['min']} and {scale['max']}.", path)


def _comments(result: dict[str, Any], allowed: bool, canonical: dict[str, Any]) -> None:
    if "comments" not in result:
        return
    if not allowed:
        raise _fail("this project does not take comments.", "result.comments")
    canonical["comments"] = result["comments"]


def _classification(result: dict[str, Any], schema: dict[str, Any], _data: Any) -> dict[str, Any]:
    names = [label["name"] for label in schema["labels"]]
    chosen: dict[str, int] = {}
    for index, name in enumerate(result["labels"]):
        _require_known(name, names, f"result.labels[{index}]", "a label")
        if name in chosen:
            raise _fail(
                f"'{_shown(name)}' is also result.labels[{chosen[name]}].",
                f"result.labels[{index}]",
            )
        chosen[name] = index
    if not schema.get("multiple", False) and len(chosen) != 1:
        raise _fail(f"must have exactly one label; got {len(chosen)}.", "result.labels")
    return {"labels": [name for name in names if name in chosen]}


def _span(span: dict[str, Any], path: str, text_length: int, labels: set[str]) -> None:
    if span["end"] <= span["start"]:
        raise _fail("must be greater than start.", f"{path}.end")
    if span["end"] > text_length:
        raise _fail(f"is past the end of the text ({text_length} characters).", f"{path}.end")
    _require_known(span["label"], labels, f"{path}.label", "a label")


def _position(span: dict[str, Any]) -> tuple[int, int, str]:
    return span["start"], span["end"], span["label"]


def _span_order(spans: list[dict[str, Any]], allow_overlap: bool) -> list[int]:
    """Indices of the spans sorted by (start, end, label); refuses repeats and overlaps."""
    order = sorted(range(len(spans)), key=lambda i: _position(spans[i]))
    previous, furthest = None, None
    for index in order:
        span = spans[index]
        if previous is not None and _position(span) == _position(spans[previous]):
            message = f"the same start, end and label as result.spans[{previous}]."
            raise _fail(message, f"result.spans[{index}]")
        if not allow_overlap and furthest is not None and span["start"] < spans[furthest]["end"]:
            message = f"overlaps result.spans[{furthest}]; this project does not allow overlaps."
            raise _fail(message, f"result.spans[{index}]")
        if furthest is None or span["end"] > spans[furthest]["end"]:
            furthest = index
        previous = index
    return order


def _span_ids(spans: list[dict[str, Any]]) -> set[str]:
    seen: dict[str, int] = {}
    for index, span in enumerate(spans):
        span_id = span.get("id")
        if span_id is None:
            continue
        if span_id in seen:
            raise _fail(
                f"is also the id of result.spans[{seen[span_id]}].", f"result.spans[{index}].id"
            )
        seen[span_id] = index
    return set(seen)


def _relations(
    relations: list[dict[str, Any]], schema: dict[str, Any], ids: set[str]
) -> list[dict[str, Any]]:
    names = {relation["name"] for relation in schema.get("relations", [])}
    if relations and not names:
        raise _fail("this project defines no relation labels.", "result.relations")
    seen: dict[tuple[str, str, str], int] = {}
    for index, relation in enumerate(relations):
        path = f"result.relations[{index}]"
        for end in ("from", "to"):
            if relation[end] not in ids:
                raise _fail(f"'{_shown(relation[end])}' is not the id of a span.", f"{path}.{end}")
        if relation["from"] == relation["to"]:
            raise _fail("a relation must join two different spans.", f"{path}.to")
        _require_known(relation["label"], names, f"{path}.label", "a relation label")
        key = (relation["from"], relation["to"], relation["label"])
        if key in seen:
            raise _fail(f"the same relation as result.relations[{seen[key]}].", path)
        seen[key] = index
    return [{"from": a, "to": b, "label": label} for a, b, label in sorted(seen)]


def _ner(result: dict[str, Any], schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    spans = result["spans"]
    text_length = len(data.get("text") or "")
    labels = {label["name"] for label in schema["labels"]}
    for index, span in enumerate(spans):
        _span(span, f"result.spans[{index}]", text_length, labels)
    order = _span_order(spans, allow_overlap=schema.get("allow_overlap", False))
    ids = _span_ids(spans)
    canonical: dict[str, Any] = {"spans": [dict(spans[index]) for index in order]}
    relations = _relations(result.get("relations", []), schema, ids)
    if relations:
        canonical["relations"] = relations
    return canonical


def _box(box: dict[str, Any], path: str, min_size: float, labels: set[str]) -> dict[str, Any]:
    for key in ("x", "y", "w", "h"):
        # NaN passes every comparison the schema makes (and Python's json reads NaN).
        if box[key] != box[key]:
            raise _fail("must be a number.", f"{path}.{key}")
    for start, size, edge in (("x", "w", "right"), ("y", "h", "bottom")):
        if box[start] + box[size] > 1 + BOX_SLACK:
            raise _fail(
                f"{start} + {size} is past the {edge} edge of the image (1).", f"{path}.{size}"
            )
        if box[size] < min_size - BOX_SLACK:
            raise _fail(f"must be at least {min_size} (the project's min_size).", f"{path}.{size}")
    _require_known(box["label"], labels, f"{path}.label", "a label")
    # + 0.0 turns -0.0 into 0.0, so equal boxes compare and serialize alike.
    return {**{key: float(box[key]) + 0.0 for key in ("x", "y", "w", "h")}, "label": box["label"]}


def _boxes(result: dict[str, Any], schema: dict[str, Any], _data: Any) -> dict[str, Any]:
    labels = {label["name"] for label in schema["labels"]}
    min_size = schema.get("min_size", 0)
    boxes = [
        _box(box, f"result.boxes[{index}]", min_size, labels)
        for index, box in enumerate(result["boxes"])
    ]
    return {"boxes": boxes}


def _strength(result: dict[str, Any], schema: dict[str, Any]) -> int | None:
    scale, given = schema.get("strength"), result.get("strength")
    if scale is None:
        if given is not None:
            raise _fail("this project does not rate strength.", "result.strength")
        return None
    if result["choice"] == "tie":
        if given is not None:
            raise _fail('a "tie" has no strength.', "result.strength")
        return None
    if given is None:
        raise _fail("'strength' is required unless the choice is \"tie\".", "result")
    _require_in_scale(given, scale, "result.strength")
    return int(given)


def _pairwise(result: dict[str, Any], schema: dict[str, Any], _data: Any) -> dict[str, Any]:
    choices = schema.get("choices", PAIRWISE_CHOICES)
    if result["choice"] not in choices:
        allowed = ", ".join(f'"{choice}"' for choice in choices)
        raise _fail(f"must be one of {allowed} in this project.", "result.choice")
    canonical: dict[str, Any] = {"choice": result["choice"]}
    strength = _strength(result, schema)
    if strength is not None:
        canonical["strength"] = strength
    rules, rationale = schema.get("rationale"), result.get("rationale")
    if rules is not None and rules["required"]:
        least = max(1, rules["min_length"])
        if rationale is None:
            raise _fail("'rationale' is required.", "result")
        if len(rationale.strip()) < least:
            message = f"must be at least {least} character(s) long, not counting outer spaces."
            raise _fail(message, "result.rationale")
    if rationale is not None:
        canonical["rationale"] = rationale
    return canonical


def _rubric(result: dict[str, Any], schema: dict[str, Any], _data: Any) -> dict[str, Any]:
    criteria = {criterion["name"]: criterion for criterion in schema["criteria"]}
    scores = result["scores"]
    for name, value in scores.items():
        path = f"result.scores.{_shown(name)}"
        _require_known(name, criteria, path, "a criterion")
        _require_in_scale(value, criteria[name]["scale"], path)
    for name, criterion in criteria.items():
        if criterion.get("required", True) and name not in scores:
            raise _fail(f"'{name}' is required.", "result.scores")
    canonical = {"scores": {name: scores[name] for name in criteria if name in scores}}
    _comments(result, schema.get("comments", True), canonical)
    return canonical


def _free_text(result: dict[str, Any], schema: dict[str, Any], _data: Any) -> dict[str, Any]:
    text = result["text"]
    least, most = schema.get("min_length", 0), schema.get("max_length", MAX_TEXT_CHARS)
    if len(text.strip()) < least:
        message = f"must be at least {least} character(s) long, not counting outer spaces."
        raise _fail(message, "result.text")
    if len(text) > most:
        raise _fail(f"must be at most {most} characters long.", "result.text")
    return {"text": text}


def _turn_index(key: str, path: str, messages: list[Any]) -> int:
    if _TURN_KEY.fullmatch(key) is None:
        raise _fail('is not a message index (a whole number written like "3").', path)
    index = int(key)
    if index >= len(messages):
        raise _fail(
            f"there is no such message; the conversation has {len(messages)} messages.", path
        )
    role = messages[index].get("role")
    if role != "assistant":
        raise _fail(f"message {index} is a {role} message, not an assistant turn.", path)
    return index


def _turn(entry: dict[str, Any], path: str, schema: dict[str, Any]) -> dict[str, Any]:
    _require_in_scale(entry["rating"], schema["turn_ratings"], f"{path}.rating")
    names = [flag["name"] for flag in schema["flags"]]
    flags = entry.get("flags", [])
    for index, flag in enumerate(flags):
        _require_known(flag, names, f"{path}.flags[{index}]", "a flag")
    turn: dict[str, Any] = {"rating": entry["rating"]}
    if flags:
        turn["flags"] = [name for name in names if name in flags]
    return turn


def _chat(result: dict[str, Any], schema: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    messages = data.get("messages") or []
    turns: dict[int, dict[str, Any]] = {}
    for key, entry in result["turns"].items():
        path = f"result.turns.{_shown(key)}"
        turns[_turn_index(key, path, messages)] = _turn(entry, path, schema)
    for index, message in enumerate(messages):
        if message.get("role") == "assistant" and index not in turns:
            raise _fail(
                f"'{index}' is required: every assistant turn needs a rating.", "result.turns"
            )
    canonical: dict[str, Any] = {"turns": {str(index): turns[index] for index in sorted(turns)}}
    scale, conversation = schema.get("conversation_rating"), result.get("conversation")
    if scale is None and conversation is not None:
        raise _fail("this project does not rate the conversation.", "result.conversation")
    if scale is not None:
        if conversation is None:
            raise _fail("'conversation' is required.", "result")
        _require_in_scale(conversation, scale, "result.conversation")
        canonical["conversation"] = conversation
    _comments(result, schema.get("comments", False), canonical)
    return canonical


_SEMANTIC: dict[str, Callable[[dict[str, Any], dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    TaskType.CLASSIFICATION: _classification,
    TaskType.NER: _ner,
    TaskType.BOXES: _boxes,
    TaskType.PAIRWISE: _pairwise,
    TaskType.RUBRIC: _rubric,
    TaskType.FREE_TEXT: _free_text,
    TaskType.CHAT: _chat,
}


def validate_result(
    *, task_type: str, label_schema: dict[str, Any], data: dict[str, Any], result: Any
) -> dict[str, Any]:
    """The result in canonical form (a new dict), or ValidationFailed naming the bad field.

    ``label_schema`` is the project's stored (validated) schema and ``data`` the task's data.
    """
    if task_type not in SCHEMAS:
        raise ValidationFailed(
            f"Unknown task type '{task_type}'.",
            code="invalid_task_type",
            details={"field": "task_type"},
        )
    if isinstance(result, dict):
        _refuse_oversized(SCHEMAS[task_type], result)
    error = best_match(_VALIDATORS[task_type].iter_errors(result))
    if error is not None:
        raise _schema_error(error)
    return _SEMANTIC[task_type](result, label_schema, data)
