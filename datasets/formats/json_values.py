"""Strict JSON decoding, and words for why a document failed or what type a value has."""

import json
from collections.abc import Callable
from typing import Any


class _NonFiniteNumber(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NonFiniteNumber(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise _NonFiniteNumber(text)
    return value


# Strict JSON: no NaN or Infinity, which our storage (and most consumers) cannot hold.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite_float)
# The decoder's C scanner, typed in typeshed only as a private attribute of JSONDecoder.
_scan_json: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def decode_json(text: str) -> Any:
    """One JSON document, strictly; raises ValueError or RecursionError (see json_error_reason)."""
    return _DECODER.decode(text)


def json_error_reason(error: ValueError | RecursionError) -> str:
    """Why decode_json failed, in words that quote none of the input."""
    if isinstance(error, json.JSONDecodeError):
        reason = error.msg.removesuffix(" at")
        return f"not valid JSON: {reason} at line {error.lineno} column {error.colno}"
    if isinstance(error, _NonFiniteNumber):
        return "not valid JSON: NaN, Infinity and numbers too large for a float are not allowed"
    if isinstance(error, RecursionError):
        return "not valid JSON: nested too deeply"
    return "not valid JSON: a number has too many digits"


def json_type(value: Any) -> str:
    """A decoded JSON value's type as a message names it: "a string", "an object", ..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names = {dict: "an object", list: "an array", str: "a string", type(None): "null"}
    return names.get(type(value), type(value).__name__)


def _not_object(value: Any, what: str = "a record") -> str:
    return f"{what} must be a JSON object, got {json_type(value)}"
