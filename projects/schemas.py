"""Label schemas: a JSON Schema per task type, plus the checks JSON Schema cannot express.

Errors name the offending path the way the API reports it (``label_schema.labels[3].name``)
and say what is wrong without echoing the submitted value, which may be a list of hundreds of
labels. Later task types add an entry to ``SCHEMAS`` and, if needed, a semantic checker.
"""

import copy
import json
from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from core.errors import ValidationFailed
from projects.models import TaskType

# A rating scale has at most this many steps (eleven points, e.g. 0..10).
MAX_SCALE_SPAN = 10

_HOTKEY_PATTERN = "^[0-9a-z]$"
_COLOR_PATTERN = "^#[0-9a-fA-F]{6}$"
# Anchor keys are JSON object keys, so integers arrive as strings; one spelling per number.
_INT_KEY_PATTERN = "^(0|-?[1-9][0-9]{0,2})$"

_HOTKEY = {"type": "string", "pattern": _HOTKEY_PATTERN}
_NAME = {"type": "string", "minLength": 1, "maxLength": 100}
_DESCRIPTION = {"type": "string", "maxLength": 1000}

CLASSIFICATION = {
    "type": "object",
    "additionalProperties": False,
    "required": ["labels"],
    "properties": {
        "multiple": {"type": "boolean"},
        "labels": {
            "type": "array",
            "minItems": 2,
            "maxItems": 500,
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 100},
                    "hotkey": _HOTKEY,
                    "parent": {"type": "string", "minLength": 1, "maxLength": 100},
                    "description": {"type": "string", "maxLength": 1000},
                },
            },
        },
    },
}


def object_schema(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": list(required),
        "properties": properties,
    }


def list_schema(items: dict[str, Any], low: int, high: int) -> dict[str, Any]:
    return {"type": "array", "minItems": low, "maxItems": high, "items": items}


def _scale(anchors_key: str) -> dict[str, Any]:
    """Integer points min..max; anchors map some points (as string keys) to their meaning."""
    bound = {"type": "integer", "minimum": -100, "maximum": 100}
    anchors = {
        "type": "object",
        "maxProperties": MAX_SCALE_SPAN + 1,
        "propertyNames": {"pattern": _INT_KEY_PATTERN},
        "additionalProperties": {"type": "string", "minLength": 1, "maxLength": 500},
    }
    return object_schema({"min": bound, "max": bound, anchors_key: anchors}, "min", "max")


_SPAN_LABEL = object_schema(
    {
        "name": _NAME,
        "hotkey": _HOTKEY,
        "color": {"type": "string", "pattern": _COLOR_PATTERN},
        "description": _DESCRIPTION,
    },
    "name",
)
_NAMED = object_schema({"name": _NAME, "description": _DESCRIPTION}, "name")

NER = object_schema(
    {
        "labels": list_schema(_SPAN_LABEL, 1, 200),
        "allow_overlap": {"type": "boolean", "default": False},
        "relations": list_schema(_NAMED, 0, 50),
    },
    "labels",
)

BOXES = object_schema(
    {
        "labels": list_schema(_SPAN_LABEL, 1, 200),
        "min_size": {"type": "number", "minimum": 0, "maximum": 1},
    },
    "labels",
)

PAIRWISE = object_schema(
    {
        "choices": {
            "type": "array",
            "items": {"enum": ["a", "b", "tie"]},
            "uniqueItems": True,
            "allOf": [{"contains": {"const": "a"}}, {"contains": {"const": "b"}}],
            "default": ["a", "b", "tie"],
        },
        "strength": _scale("labels"),
        "rationale": object_schema(
            {
                "required": {"type": "boolean"},
                "min_length": {"type": "integer", "minimum": 0, "maximum": 10_000},
            },
            "required",
            "min_length",
        ),
        "randomize": {"type": "boolean", "default": True},
    }
)

RUBRIC = object_schema(
    {
        "criteria": list_schema(
            object_schema(
                {
                    "name": _NAME,
                    "description": _DESCRIPTION,
                    "scale": _scale("anchors"),
                    "required": {"type": "boolean"},
                },
                "name",
                "scale",
            ),
            1,
            50,
        ),
        "comments": {"type": "boolean", "default": True},
    },
    "criteria",
)

FREE_TEXT = object_schema(
    {
        "mode": {"enum": ["write", "rewrite"]},
        "min_length": {"type": "integer", "minimum": 0, "maximum": 100_000},
        "max_length": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "guidelines": {"type": "string", "maxLength": 5000},
    },
    "mode",
    "min_length",
)

CHAT = object_schema(
    {
        "turn_ratings": _scale("anchors"),
        "conversation_rating": _scale("anchors"),
        "flags": list_schema(_NAMED, 0, 50),
        "comments": {"type": "boolean"},
    },
    "turn_ratings",
    "flags",
    "comments",
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


def _is_strict_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


# JSON Schema counts 3.0 as an integer; a stored 3.0 would break range(min, max + 1) later.
StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_strict_integer),
)
_VALIDATORS = {task_type: StrictValidator(schema) for task_type, schema in SCHEMAS.items()}
_DEFAULTS = {
    task_type: {
        key: spec["default"] for key, spec in schema["properties"].items() if "default" in spec
    }
    for task_type, schema in SCHEMAS.items()
}

_TYPE_NAMES = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
}
_PATTERN_REASONS = {
    _HOTKEY_PATTERN: "must be one character, 0-9 or a-z.",
    _COLOR_PATTERN: "must be a color written #rrggbb.",
    _INT_KEY_PATTERN: 'has a key that is not a whole number written like "3" or "-1".',
}


def _path(parts: Any) -> str:
    out = "label_schema"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _fail(message: str, path: str) -> ValidationFailed:
    return ValidationFailed(
        f"{path}: {message}", code="invalid_label_schema", details={"field": path}
    )


def _keys_reason(error: ValidationError) -> str:
    if error.validator == "required":
        missing = next(key for key in error.validator_value if key not in error.instance)
        return f"'{missing}' is required."
    allowed = ", ".join(sorted(error.schema.get("properties", {})))
    unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
    return f"unknown field '{unknown[0]}'; allowed: {allowed}."


_REASONS: dict[str, Callable[[Any], str]] = {
    "type": lambda value: f"must be {_TYPE_NAMES[value]}.",
    "minItems": lambda value: f"must have at least {value} item(s).",
    "maxItems": lambda value: f"must have at most {value} items.",
    "maxProperties": lambda value: f"must have at most {value} keys.",
    "minLength": lambda value: f"must be at least {value} character(s) long.",
    "maxLength": lambda value: f"must be at most {value} characters long.",
    "minimum": lambda value: f"must be at least {value}.",
    "maximum": lambda value: f"must be at most {value}.",
    "pattern": lambda value: _PATTERN_REASONS.get(value, "has the wrong format."),
    "enum": lambda value: "must be one of " + ", ".join(json.dumps(v) for v in value) + ".",
    "uniqueItems": lambda _value: "must not list an item twice.",
    "contains": lambda value: f"must include {json.dumps(value.get('const'))}.",
}


def error_reason(error: ValidationError) -> str:
    """Say what is wrong from the rule that failed, never from the submitted value."""
    if error.validator in {"required", "additionalProperties"}:
        return _keys_reason(error)
    if error.validator in _REASONS:
        return _REASONS[error.validator](error.validator_value)
    return f"is not valid ({error.validator})."


def _require_unique(items: list[dict[str, Any]], field: str, where: str, message: str) -> None:
    """Raise at the second occurrence of a value; ``message`` has one ``{}`` for the value."""
    seen: set[str] = set()
    for index, item in enumerate(items):
        value = item.get(field)
        if value is None:
            continue
        value = value.strip()
        if value in seen:
            raise _fail(message.format(value), f"label_schema.{where}[{index}].{field}")
        seen.add(value)


def _check_labels(labels: list[dict[str, Any]]) -> None:
    _require_unique(labels, "name", "labels", "Label '{}' is defined twice.")
    _require_unique(labels, "hotkey", "labels", "Hotkey '{}' is used twice.")


def _check_scale(scale: dict[str, Any], path: str, anchors_key: str = "anchors") -> None:
    low, high = scale["min"], scale["max"]
    if high <= low:
        raise _fail(f"max ({high}) must be greater than min ({low}).", f"{path}.max")
    if high - low > MAX_SCALE_SPAN:
        raise _fail(
            f"max - min is {high - low}; a scale spans at most {MAX_SCALE_SPAN}.", f"{path}.max"
        )
    for key in scale.get(anchors_key, {}):
        if not low <= int(key) <= high:
            raise _fail(f"{key} is outside the scale {low}..{high}.", f"{path}.{anchors_key}.{key}")


def _check_classification(schema: dict[str, Any]) -> None:
    _check_labels(schema["labels"])
    names = {label["name"].strip() for label in schema["labels"]}
    for index, label in enumerate(schema["labels"]):
        parent = label.get("parent")
        if parent is not None and parent not in names:
            raise _fail(
                f"Parent '{parent}' is not a label.", f"label_schema.labels[{index}].parent"
            )


def _check_ner(schema: dict[str, Any]) -> None:
    _check_labels(schema["labels"])
    relations = schema.get("relations", [])
    _require_unique(relations, "name", "relations", "Relation '{}' is defined twice.")


def _check_boxes(schema: dict[str, Any]) -> None:
    _check_labels(schema["labels"])


def _check_pairwise(schema: dict[str, Any]) -> None:
    if "strength" in schema:
        _check_scale(schema["strength"], "label_schema.strength", anchors_key="labels")


def _check_rubric(schema: dict[str, Any]) -> None:
    criteria = schema["criteria"]
    _require_unique(criteria, "name", "criteria", "Criterion '{}' is defined twice.")
    for index, criterion in enumerate(criteria):
        _check_scale(criterion["scale"], f"label_schema.criteria[{index}].scale")


def _check_free_text(schema: dict[str, Any]) -> None:
    low, high = schema["min_length"], schema.get("max_length")
    if high is not None and high < low:
        raise _fail(
            f"max_length ({high}) must be at least min_length ({low}).", "label_schema.max_length"
        )


def _check_chat(schema: dict[str, Any]) -> None:
    _check_scale(schema["turn_ratings"], "label_schema.turn_ratings")
    if "conversation_rating" in schema:
        _check_scale(schema["conversation_rating"], "label_schema.conversation_rating")
    _require_unique(schema["flags"], "name", "flags", "Flag '{}' is defined twice.")


_SEMANTIC: dict[str, Callable[[dict[str, Any]], None]] = {
    TaskType.CLASSIFICATION: _check_classification,
    TaskType.NER: _check_ner,
    TaskType.BOXES: _check_boxes,
    TaskType.PAIRWISE: _check_pairwise,
    TaskType.RUBRIC: _check_rubric,
    TaskType.FREE_TEXT: _check_free_text,
    TaskType.CHAT: _check_chat,
}


def validate_label_schema(task_type: str, schema: Any) -> dict[str, Any]:
    """Validate a label schema for a task type; raise ValidationFailed naming the bad field.

    Returns a copy with the documented top-level defaults filled in, so a caller that stores
    it freezes today's defaults into the project instead of depending on them later.
    """
    if task_type not in SCHEMAS:
        raise ValidationFailed(
            f"Unknown task type '{task_type}'.",
            code="invalid_task_type",
            details={"field": "task_type"},
        )
    error = best_match(_VALIDATORS[task_type].iter_errors(schema))
    if error is not None:
        raise _fail(error_reason(error), _path(error.absolute_path))
    assert isinstance(schema, dict)
    _SEMANTIC[task_type](schema)
    return {**copy.deepcopy(_DEFAULTS[task_type]), **schema}
