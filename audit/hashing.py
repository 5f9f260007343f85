"""The canonical, versioned encoding of an event, and its SHA-256.

Version 1 hashes, as compact JSON with sorted keys and UTF-8 text, ``{"v": 1}`` plus every
field in ``HASHED_FIELDS``: ``seq`` and the chain link (``chain``, ``chain_pos``, ``prev_hash``)
as well as everything the event says. A new encoding gets a new version number; events keep the
version they were written with, so old events stay verifiable.
"""

import hashlib
import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

HASH_VERSION = 1
GENESIS = ""

HASHED_FIELDS = (
    "seq",
    "event_id",
    "occurred_at",
    "action",
    "outcome",
    "actor_id",
    "actor_label",
    "auth_method",
    "token_id",
    "project_id",
    "object_type",
    "object_id",
    "ip",
    "user_agent",
    "request_id",
    "details",
    "chain",
    "chain_pos",
    "prev_hash",
)

# Python writes floats of this size or more in exponent notation, and PostgreSQL's jsonb gives
# them back as integers: stored as integers in the first place, they round-trip unchanged.
_EXPONENT_FLOATS = 1e16


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def timestamp(value: datetime) -> str:
    """UTC with microseconds and a Z: the one spelling of a time in hashes and exports."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return timestamp(value)
    return value


def event_digest(fields: Mapping[str, Any], version: int = HASH_VERSION) -> str:
    """SHA-256 (hex) of an event given by its ``HASHED_FIELDS``."""
    if version != HASH_VERSION:
        raise ValueError(f"unknown hash version {version}")
    document = {"v": version, **{name: plain(fields[name]) for name in HASHED_FIELDS}}
    return hashlib.sha256(canonical_json(document)).hexdigest()


def json_safe(value: Any) -> Any:
    """``value`` as it will read back from a JSON column on SQLite and PostgreSQL alike.

    Raises ValueError for what JSON cannot hold (NaN, infinities).
    """
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str | int | bool) or value is None:
        return value
    return str(plain(value))


def _json_float(value: float) -> float | int:
    if not math.isfinite(value):
        raise ValueError("audit details cannot hold NaN or infinity")
    if abs(value) >= _EXPONENT_FLOATS:
        return int(value)
    # PostgreSQL's numeric has no negative zero.
    return value + 0.0
