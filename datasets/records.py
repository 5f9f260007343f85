"""Each imported record checked against what the project's task type needs.

A record is accepted whole or not at all: ``RecordChecker.check`` lists every problem it finds
(by field, never quoting the value) and returns a ``CleanRecord`` only when there were none.
"""

import json
import re
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any, Literal, NamedTuple

from datasets.formats import decode_json, json_error_reason, json_type
from datasets.limits import ImportLimits
from datasets.problems import ProblemLog
from projects.models import TaskType

FieldKind = Literal["string", "messages"]
MAX_MESSAGES = 500
MAX_EXTERNAL_ID_CHARS = 255
MAX_MODEL_CHARS = 200
# metadata, prediction and gold are re-encoded (sealed, exported) deeper in the stack.
MAX_JSON_DEPTH = 64
PRIORITY_RANGE = range(-32768, 32768)
CHAT_ROLES = ("system", "user", "assistant")
PREDICTION_KEYS = frozenset({"result", "model", "score"})
RESERVED_KEYS = frozenset({"external_id", "priority", "metadata", "prediction", "gold"})
_JSON_KEYS = frozenset({"metadata", "prediction", "gold"})
_MESSAGE_KEYS = frozenset({"role", "content"})
# C0 and C1 controls and DEL: invisible in lists and exports, and a way to forge log lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_INTEGER = re.compile(r"[+-]?[0-9]+")
# The payload's canonical form: the same data always gives the same bytes (and fingerprint).
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


class DataField(NamedTuple):
    name: str
    required: bool
    kind: FieldKind


DATA_FIELDS: dict[str, tuple[DataField, ...]] = {
    TaskType.CLASSIFICATION: (DataField("text", True, "string"),),
    TaskType.NER: (DataField("text", True, "string"),),
    TaskType.BOXES: (DataField("image", True, "string"),),
    TaskType.PAIRWISE: (
        DataField("prompt", True, "string"),
        DataField("response_a", True, "string"),
        DataField("response_b", True, "string"),
    ),
    TaskType.RUBRIC: (DataField("response", True, "string"), DataField("prompt", False, "string")),
    TaskType.FREE_TEXT: (
        DataField("prompt", True, "string"),
        DataField("response", False, "string"),
    ),
    TaskType.CHAT: (DataField("messages", True, "messages"),),
}
_RESERVED_KINDS = (
    ("external_id", "string"),
    ("priority", "integer"),
    ("metadata", "object"),
    ("prediction", "prediction"),
    ("gold", "object or array"),
)


def describe_fields(task_type: str) -> list[dict[str, Any]]:
    """The fields a record of this task type may have: its data fields, then the reserved."""
    data = [
        {"name": field.name, "required": field.required, "kind": field.kind}
        for field in DATA_FIELDS[task_type]
    ]
    reserved = [{"name": name, "required": False, "kind": kind} for name, kind in _RESERVED_KINDS]
    return data + reserved


@dataclass(slots=True)
class CleanRecord:
    where: str
    data: dict[str, Any]
    # Canonical JSON of ``data`` (sorted keys, compact, UTF-8): fingerprinted and sealed as is.
    data_json: bytes
    external_id: str | None
    priority: int
    metadata: dict[str, Any] | None
    prediction: dict[str, Any] | None
    gold: Any | None
    # Set by importers that fingerprint something other than data_json (an image's content).
    fingerprint: bytes | None = None


def _label(name: str) -> str:
    """A key as shown in a message: short and printable whatever the upload holds."""
    shown = _CONTROL.sub("?", name[:64])
    return shown + "..." if len(name) > 64 else shown


def _nesting_and_nul(value: Any) -> tuple[int, bool]:
    """(How deep objects and arrays nest, whether a string or key holds NUL), by a loop:
    JSON may nest deeper than Python's stack allows."""
    deepest, nul = 0, False
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            nul = nul or "\x00" in item
        elif isinstance(item, dict | list):
            deepest = max(deepest, depth)
            children = [*item, *item.values()] if isinstance(item, dict) else item
            pending.extend((child, depth + 1) for child in children)
    return deepest, nul


class RecordChecker:
    """Checks records of one import; problems go to the import's log."""

    def __init__(
        self,
        task_type: str,
        limits: ImportLimits,
        problems: ProblemLog,
        *,
        from_text_cells: bool = False,
    ) -> None:
        if task_type not in DATA_FIELDS:
            raise ValueError(f"unknown task type {task_type!r}")
        self._fields = DATA_FIELDS[task_type]
        self._limits = limits
        self._problems = problems
        self._text_cells = from_text_cells
        self._data_names = frozenset(field.name for field in self._fields)
        self._top_names = self._data_names | RESERVED_KEYS
        self._nested_top_names = RESERVED_KEYS | {"data"}
        # Building the canonical JSON of string fields by hand is 2.5x faster than the encoder.
        # Data field name -> its JSON key and colon, in sorted order (None: not all strings).
        self._string_keys: dict[str, str] | None = None
        if all(field.kind == "string" for field in self._fields):
            names = sorted(self._data_names)
            self._string_keys = {name: encode_basestring(name) + ":" for name in names}
        # Below this many characters a string cannot exceed the byte limit (4 bytes a char).
        self._safe_chars = limits.max_task_bytes // 4

    def check(self, where: str, record: dict[str, Any]) -> CleanRecord | None:
        """The record made clean, or None after adding each of its problems to the log."""
        problems_before = self._problems.total
        if "data" not in record and self._top_names.issuperset(record):
            data = self._data(where, record)
        else:
            source = self._data_source(where, record)
            data = {} if source is None else self._data(where, source)
        external_id = record.get("external_id")
        if external_id is not None:
            external_id = self._external_id(where, external_id)
        priority = record.get("priority", 0)
        if type(priority) is not int or priority not in PRIORITY_RANGE:
            priority = self._priority(where, priority)
        metadata = prediction = gold = None
        if not _JSON_KEYS.isdisjoint(record):
            metadata, prediction, gold = self._json_values(where, record)
        if self._problems.total != problems_before:
            return None
        data_json = self._data_json(where, data)
        if data_json is None:
            return None
        return CleanRecord(
            where, data, data_json, external_id, priority, metadata, prediction, gold
        )

    def _add(self, where: str, field: str | None, message: str, code: str) -> None:
        self._problems.add(where, message, code, field)

    def _wrong_type(self, where: str, field: str, expected: str, value: Any) -> None:
        message = f"'{field}' must be {expected}, got {json_type(value)}"
        self._add(where, field, message, "wrong_type")

    # Data fields

    def _data_source(self, where: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Where the data fields are: the record, or its Label Studio style "data" object
        (None if that is not an object)."""
        if "data" not in record:
            if not self._top_names.issuperset(record):
                self._unknown_keys(where, record, self._top_names, "")
            return record
        nested = record["data"]
        if not self._nested_top_names.issuperset(record):
            self._unknown_keys(where, record, self._nested_top_names, "")
        if type(nested) is not dict:
            self._wrong_type(where, "data", "an object", nested)
            return None
        if not self._data_names.issuperset(nested):
            self._unknown_keys(where, nested, self._data_names, "data.")
        return nested

    def _unknown_keys(
        self, where: str, mapping: dict[str, Any], allowed: frozenset[str], prefix: str
    ) -> None:
        hint = (
            "put extra fields under 'metadata'"
            if prefix in ("", "data.")
            else "allowed: " + ", ".join(sorted(allowed))
        )
        for key in mapping:
            if key in allowed:
                continue
            field = prefix + _label(key)
            if not prefix and key in self._data_names:
                self._add(
                    where,
                    field,
                    f"'{field}' is at the top level, but the record has "
                    "'data': data fields go inside 'data' only",
                    "duplicate_field",
                )
            else:
                self._add(where, field, f"unknown field '{field}'; {hint}", "unknown_field")

    def _data(self, where: str, source: dict[str, Any]) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for name, required, kind in self._fields:
            value = source.get(name)
            if value is None:
                if required:
                    self._add(where, name, f"'{name}' is required", "missing_field")
                continue
            if kind == "string":
                # The common case inline (this runs a million times); _string words problems.
                plain = type(value) is str and 0 < len(value) <= self._safe_chars
                if not plain or "\x00" in value or value.isspace():
                    value = self._string(where, name, value)
            else:
                value = self._messages(where, self._json_cell(where, name, value))
            if value is not None:
                data[name] = value
        return data

    def _string(self, where: str, name: str, value: Any) -> str | None:
        if type(value) is not str:
            self._wrong_type(where, name, "a string", value)
            return None
        if not value or value.isspace():
            self._add(where, name, f"'{name}' is empty", "empty_value")
        elif "\x00" in value:
            self._add(where, name, f"'{name}' contains a NUL character", "bad_character")
        elif len(value) > self._safe_chars:
            size = len(value.encode("utf-8", "surrogatepass"))
            if size > self._limits.max_task_bytes:
                self._add(
                    where,
                    name,
                    f"'{name}' is {size:,} bytes; the limit is {self._limits.max_task_bytes:,}",
                    "too_long",
                )
        return value

    def _messages(self, where: str, value: Any) -> list[dict[str, Any]] | None:
        if value is None:
            return None
        if type(value) is not list:
            self._wrong_type(where, "messages", "an array of messages", value)
            return None
        if not 1 <= len(value) <= MAX_MESSAGES:
            self._add(
                where,
                "messages",
                f"'messages' must hold 1 to {MAX_MESSAGES} messages, got {len(value)}",
                "out_of_range",
            )
            return None
        for index, message in enumerate(value):
            self._message(where, f"messages[{index}]", message)
        if not any(type(m) is dict and m.get("role") == "assistant" for m in value):
            self._add(
                where, "messages", "'messages' needs at least one assistant turn", "invalid_value"
            )
        return value

    def _message(self, where: str, name: str, message: Any) -> None:
        if type(message) is not dict:
            self._wrong_type(where, name, "an object", message)
            return
        if not _MESSAGE_KEYS.issuperset(message):
            self._unknown_keys(where, message, _MESSAGE_KEYS, f"{name}.")
        role = message.get("role")
        if role is None:
            self._add(where, f"{name}.role", f"'{name}.role' is required", "missing_field")
        elif role not in CHAT_ROLES:
            self._add(
                where,
                f"{name}.role",
                f"'{name}.role' must be 'system', 'user' or 'assistant'",
                "invalid_value",
            )
        content = message.get("content")
        if content is None:
            self._add(where, f"{name}.content", f"'{name}.content' is required", "missing_field")
        else:
            self._string(where, f"{name}.content", content)

    def _data_json(self, where: str, data: dict[str, Any]) -> bytes | None:
        keys = self._string_keys
        if keys is None:
            text = _CANONICAL.encode(data)
        elif len(data) == 1:
            ((name, value),) = data.items()
            text = f"{{{keys[name]}{encode_basestring(value)}}}"
        else:
            members = [keys[name] + encode_basestring(data[name]) for name in keys if name in data]
            text = "{" + ",".join(members) + "}"
        try:
            data_json = text.encode()
        except UnicodeEncodeError:
            self._surrogates(where, data)
            return None
        if len(data_json) > self._limits.max_task_bytes:
            self._add(
                where,
                None,
                f"the task data is {len(data_json):,} bytes as JSON; the "
                f"limit is {self._limits.max_task_bytes:,}",
                "too_long",
            )
            return None
        return data_json

    def _surrogates(self, where: str, data: dict[str, Any]) -> None:
        for name, value in data.items():
            if _SURROGATE.search(json.dumps(value, ensure_ascii=False)):
                self._add(
                    where,
                    name,
                    f"'{name}' contains an unpaired surrogate (\\ud800-\\udfff)",
                    "bad_character",
                )

    # Reserved keys

    def _json_cell(self, where: str, name: str, value: Any) -> Any:
        """A CSV cell holding JSON text, decoded; other values as they are."""
        if not self._text_cells or type(value) is not str:
            return value
        try:
            return decode_json(value)
        except (ValueError, RecursionError) as error:
            self._add(where, name, f"'{name}' is {json_error_reason(error)}", "invalid_json")
            return None

    def _external_id(self, where: str, value: Any) -> str | None:
        if value is None:
            return None
        if type(value) is int:
            value = str(value)
        if type(value) is not str:
            self._wrong_type(where, "external_id", "a string or an integer", value)
            return None
        text: str = value.strip()
        if text.isprintable() and 0 < len(text) <= MAX_EXTERNAL_ID_CHARS:
            return text
        if not text:
            self._add(where, "external_id", "'external_id' is empty", "empty_value")
        elif len(text) > MAX_EXTERNAL_ID_CHARS:
            limit = MAX_EXTERNAL_ID_CHARS
            message = f"'external_id' is {len(text):,} characters; the limit is {limit}"
            self._add(where, "external_id", message, "too_long")
        elif _CONTROL.search(text):
            message = "'external_id' contains a control character"
            self._add(where, "external_id", message, "bad_character")
        return text

    def _priority(self, where: str, value: Any) -> int:
        if value is None:
            return 0
        if self._text_cells and type(value) is str:
            text = value.strip()
            if _INTEGER.fullmatch(text) is None:
                self._add(where, "priority", "'priority' must be an integer", "wrong_type")
                return 0
            # Long digit strings are out of range anyway; int() of them is slow.
            value = int(text) if len(text) <= 12 else PRIORITY_RANGE.stop
        if type(value) is not int:
            self._wrong_type(where, "priority", "an integer", value)
            return 0
        if value not in PRIORITY_RANGE:
            self._add(
                where,
                "priority",
                f"'priority' must be between {PRIORITY_RANGE.start} and {PRIORITY_RANGE.stop - 1}",
                "out_of_range",
            )
        return value

    def _json_values(self, where: str, record: dict[str, Any]) -> tuple[Any, Any, Any]:
        """(metadata, prediction, gold), each None when absent."""
        return (
            self._metadata(where, record.get("metadata")),
            self._prediction(where, record.get("prediction")),
            self._gold(where, record.get("gold")),
        )

    def _metadata(self, where: str, value: Any) -> dict[str, Any] | None:
        value = self._json_cell(where, "metadata", value)
        if value is None:
            return None
        if type(value) is not dict:
            self._wrong_type(where, "metadata", "an object", value)
            return None
        self._json_size(where, "metadata", value)
        return value

    def _prediction(self, where: str, value: Any) -> dict[str, Any] | None:
        value = self._json_cell(where, "prediction", value)
        if value is None:
            return None
        if type(value) is not dict:
            self._wrong_type(where, "prediction", "an object", value)
            return None
        if not PREDICTION_KEYS.issuperset(value):
            self._unknown_keys(where, value, PREDICTION_KEYS, "prediction.")
        self._prediction_parts(where, value)
        self._json_size(where, "prediction", value)
        return value

    def _prediction_parts(self, where: str, value: dict[str, Any]) -> None:
        result, model, score = value.get("result"), value.get("model"), value.get("score")
        if result is None:
            self._add(
                where, "prediction.result", "'prediction.result' is required", "missing_field"
            )
        elif type(result) not in (dict, list):
            self._wrong_type(where, "prediction.result", "an object or an array", result)
        if model is not None and type(model) is not str:
            self._wrong_type(where, "prediction.model", "a string", model)
        elif model is not None and len(model) > MAX_MODEL_CHARS:
            self._add(
                where,
                "prediction.model",
                f"'prediction.model' is {len(model):,} characters; the limit is {MAX_MODEL_CHARS}",
                "too_long",
            )
        if score is not None and type(score) not in (int, float):
            self._wrong_type(where, "prediction.score", "a number", score)

    def _gold(self, where: str, value: Any) -> Any | None:
        value = self._json_cell(where, "gold", value)
        if value is None:
            return None
        if type(value) not in (dict, list):
            self._wrong_type(where, "gold", "an object or an array", value)
            return None
        self._json_size(where, "gold", value)
        return value

    def _json_size(self, where: str, name: str, value: Any) -> None:
        """Checks a JSON value that will be stored: its size, nesting and characters."""
        try:
            text = _CANONICAL.encode(value)
            size = len(text.encode())
        except ValueError:  # includes UnicodeEncodeError
            message = f"'{name}' contains an unpaired surrogate, NaN or Infinity"
            self._add(where, name, message, "bad_character")
            return
        except RecursionError:
            message = f"'{name}' nests more than {MAX_JSON_DEPTH} levels deep"
            self._add(where, name, message, "too_deep")
            return
        if size > self._limits.max_field_bytes:
            limit = self._limits.max_field_bytes
            message = f"'{name}' is {size:,} bytes as JSON; the limit is {limit:,}"
            self._add(where, name, message, "too_long")
            return
        # Brackets bound the depth, and NUL is escaped as \u0000: most values need no walk.
        if text.count("[") + text.count("{") > MAX_JSON_DEPTH or "\\u0000" in text:
            depth, nul = _nesting_and_nul(value)
            if depth > MAX_JSON_DEPTH:
                message = f"'{name}' nests more than {MAX_JSON_DEPTH} levels deep"
                self._add(where, name, message, "too_deep")
            if nul:
                self._add(where, name, f"'{name}' contains a NUL character", "bad_character")
