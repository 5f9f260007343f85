"""Events as records (the one shape shipped to SIEMs and exported), streamed as JSONL or CSV.

Streams read the events in keyset-paged chunks, so an export of millions of events holds one
chunk in memory.
"""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet

from audit.hashing import HASHED_FIELDS, plain
from audit.models import AuditCheckpoint, AuditEvent
from audit.selectors import in_chunks

CHUNK = 1000
# Every hashed field (the event id first, for people reading an export), then the hash itself,
# so that a receiver can re-check each event.
COLUMNS = (
    "event_id",
    *(name for name in HASHED_FIELDS if name != "event_id"),
    "hash_version",
    "hash",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def event_record(event: AuditEvent) -> dict[str, Any]:
    """An event as plain JSON values; with ``hash`` and the chain link, so a receiver can
    re-verify it."""
    record = {name: plain(getattr(event, name)) for name in COLUMNS}
    return {"type": "audit_event", **record}


def checkpoint_record(checkpoint: AuditCheckpoint) -> dict[str, Any]:
    """A checkpoint with the exact signed payload, verifiable with the public key."""
    return {
        "type": "audit_checkpoint",
        "number": checkpoint.number,
        "created_at": plain(checkpoint.created_at),
        "key_id": checkpoint.key_id,
        "signature": checkpoint.signature,
        "payload": checkpoint.payload,
    }


def iter_events(events: QuerySet[AuditEvent], *, chunk: int = CHUNK) -> Iterator[AuditEvent]:
    """The events of a (filtered) queryset in ``seq`` order, one chunk at a time."""
    return in_chunks(events, key="seq", chunk=chunk)


def jsonl_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    for event in events:
        yield json.dumps(event_record(event), ensure_ascii=True, separators=(",", ":")) + "\n"


def csv_safe(value: Any) -> str:
    """A cell value a spreadsheet shows as text: formula-like text gets a leading quote."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = str(value)
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_lines(events: Iterable[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for event in events:
        record = event_record(event)
        writer.writerow([csv_safe(record[name]) for name in COLUMNS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
