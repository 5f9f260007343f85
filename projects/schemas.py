"""Label schemas: a JSON Schema per task type, plus the checks JSON Schema cannot express.

Errors name the offending path the way the API reports it (``label_schema.labels[3].name``).
Later task types add an entry to ``SCHEMAS`` and, if needed, a semantic checker.
"""

from collections.abc import Callable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from core.errors import ValidationFailed
from projects.models import TaskType

_HOTKEY = {"type": "string", "pattern": "^[0-9a-z]$"}

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

SCHEMAS: dict[str, dict[str, Any]] = {TaskType.CLASSIFICATION: CLASSIFICATION}


def _path(parts: Any) -> str:
    out = "label_schema"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def _fail(message: str, path: str) -> ValidationFailed:
    return ValidationFailed(
        f"{path}: {message}", code="invalid_label_schema", details={"field": path}
    )


def _check_classification(schema: dict[str, Any]) -> None:
    seen_names: dict[str, int] = {}
    seen_keys: dict[str, int] = {}
    for index, label in enumerate(schema["labels"]):
        name = label["name"].strip()
        if name in seen_names:
            raise _fail(f"Label '{name}' is defined twice.", f"label_schema.labels[{index}].name")
        seen_names[name] = index
        key = label.get("hotkey")
        if key is not None and key in seen_keys:
            raise _fail(f"Hotkey '{key}' is used twice.", f"label_schema.labels[{index}].hotkey")
        if key is not None:
            seen_keys[key] = index
    for index, label in enumerate(schema["labels"]):
        parent = label.get("parent")
        if parent is not None and parent not in seen_names:
            raise _fail(
                f"Parent '{parent}' is not a label.", f"label_schema.labels[{index}].parent"
            )


_SEMANTIC: dict[str, Callable[[dict[str, Any]], None]] = {
    TaskType.CLASSIFICATION: _check_classification
}


def validate_label_schema(task_type: str, schema: Any) -> dict[str, Any]:
    """Validate a label schema for a task type; raise ValidationFailed naming the bad field."""
    if task_type not in SCHEMAS:
        raise ValidationFailed(
            f"Unknown task type '{task_type}'.",
            code="invalid_task_type",
            details={"field": "task_type"},
        )
    validator = Draft202012Validator(SCHEMAS[task_type])
    error = best_match(validator.iter_errors(schema))
    if error is not None:
        raise _fail(error.message, _path(error.absolute_path))
    assert isinstance(schema, dict)
    _SEMANTIC[task_type](schema)
    return schema
