"""The canonical, versioned encoding of an event, and its SHA-256.

Version 1 hashes, as compact JSON with sorted keys and UTF-8 text, ``{"v": 1}`` plus every
field in ``HASHED_FIELDS``: ``seq`` and the chain link (``chain``, ``chain_pos``, ``prev_hash``)
as well as everything the event says. A new encoding gets a new version number; events keep the
version they were written with, so old events stay verifiable.
"""

import hashlib
import json
import math
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
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


# What json.dumps would build afresh for each call with these options.
_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
)


def canonical_json(value: Any) -> bytes:
    return _CANONICAL.encode(value).encode("utf-8")


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


# What appending to a chain gives an event, under the chain's lock: the database draws them.
LINK_FIELDS = ("chain", "chain_pos", "prev_hash", "seq")


@dataclass(frozen=True)
class Template:
    """An event's canonical encoding with holes for its ``LINK_FIELDS``.

    ``texts[0] + str(value of holes[0]) + texts[1] + ... + texts[-1]`` is exactly the encoding
    ``event_digest`` hashes, for the integers of ``chain``, ``chain_pos`` and ``seq`` and the
    hex (or empty) ``prev_hash``, none of which JSON escapes. This lets the database hash an
    event in the statement that links it (``audit.chain``).
    """

    texts: tuple[str, ...]
    holes: tuple[str, ...]

    def filled(self, link: Mapping[str, Any]) -> bytes:
        parts = [self.texts[0]]
        for name, text in zip(self.holes, self.texts[1:], strict=True):
            parts += [str(link[name]), text]
        return "".join(parts).encode("utf-8")


def event_template(fields: Mapping[str, Any], version: int = HASH_VERSION) -> Template:
    """The encoding of an event given by its ``HASHED_FIELDS`` but the ``LINK_FIELDS``."""
    if version != HASH_VERSION:
        raise ValueError(f"unknown hash version {version}")
    document = dict(_MARKED)
    for name in _GIVEN:
        value = fields[name]
        # Text and the details need no conversion: plain() would return them as they are.
        document[name] = value if value.__class__ in _AS_THEY_ARE else plain(value)
    # One encoding with marks where the holes go, found in key order: the keys are sorted.
    rest, texts = _CANONICAL.encode(document), []
    for mark in _MARKS:
        text, found, rest = rest.partition(mark)
        if not found:
            raise ValueError("an event's encoding lost the mark of a hole")
        texts.append(text)
    texts.append(rest)
    return Template(tuple(texts), _HOLE_ORDER)


# Random for each process, so that no recorded value can contain it and fake a hole.
_MARK = f"hole-{secrets.token_hex(16)}-"
_HOLE_ORDER = tuple(sorted(LINK_FIELDS))
_MARKED = {"v": HASH_VERSION, **{name: _MARK + name for name in LINK_FIELDS}}
_AS_THEY_ARE = frozenset({str, dict, list, int, bool, type(None)})
_GIVEN = tuple(name for name in HASHED_FIELDS if name not in LINK_FIELDS)
# prev_hash keeps its quotes around the hole; the integers' marks go with theirs.
_MARKS = tuple(_MARK + name if name == "prev_hash" else f'"{_MARK}{name}"' for name in _HOLE_ORDER)


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
