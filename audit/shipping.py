"""Shipping events and checkpoints to the SIEM sinks of ``LABELKEEP_AUDIT_SHIP_TO``.

The database is the spool. For each sink and each stream (one per chain, plus the checkpoints)
a cursor records the last position the sink acknowledged. A chain only grows at its end and
each position commits before the next is written, so nothing below a cursor can appear later:
a receiver that is down just makes the cursor wait, and nothing is lost. A batch is sent
before its cursor moves, so a crash in between sends it again: receivers drop duplicates by
``event_id`` (checkpoints by ``number``).
"""

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from audit import exports
from audit.models import AuditChainHead, AuditCheckpoint, AuditEvent, AuditShipCursor
from audit.sinks import Sink, SinkError, sink_for

logger = logging.getLogger(__name__)

CHECKPOINT_STREAM = -1
_LOCK_SECONDS = 600


@dataclass
class ShipResult:
    sink: str
    sent: int = 0
    error: str = ""


def configured_sinks() -> list[Sink]:
    return [sink_for(url) for url in settings.AUDIT_SHIP_TO]


def ship_all(sinks: list[Sink] | None = None) -> list[ShipResult]:
    """Send everything new to every sink; a sink that fails keeps its place for next time."""
    return [ship(sink) for sink in (configured_sinks() if sinks is None else sinks)]


def ship(sink: Sink) -> ShipResult:
    result = ShipResult(sink.name)
    lock = f"audit-ship:{sink.name}"
    # One shipper per sink at a time; should two overlap anyway, the guarded cursor update
    # stops the slower one (duplicates, never gaps).
    if not cache.add(lock, 1, _LOCK_SECONDS):
        return result
    try:
        for stream, limit in _streams():
            result.sent += _ship_stream(sink, stream, limit)
    except SinkError as exc:
        result.error = str(exc)
        logger.warning("audit shipping to %s paused: %s", sink.name, exc)
    finally:
        cache.delete(lock)
    return result


def _streams() -> Iterator[tuple[int, int]]:
    """(stream, last position to ship now) for every chain and for the checkpoints."""
    for head in AuditChainHead.objects.filter(length__gt=0).order_by("chain"):
        yield head.chain, head.length
    last = AuditCheckpoint.objects.order_by("-number").values_list("number", flat=True).first()
    if last:
        yield CHECKPOINT_STREAM, last


def _ship_stream(sink: Sink, stream: int, limit: int) -> int:
    cursor, _ = AuditShipCursor.objects.get_or_create(sink=sink.name, stream=stream)
    position, sent = cursor.position, 0
    while position < limit:
        batch_end, records = _batch(stream, position, limit)
        if not records:
            break
        sink.send(records)
        if not _advance(sink.name, stream, position, batch_end):
            break
        sent += len(records)
        position = batch_end
    return sent


def _batch(stream: int, after: int, limit: int) -> tuple[int, list[dict[str, Any]]]:
    size = settings.AUDIT_SHIP_BATCH
    if stream == CHECKPOINT_STREAM:
        checkpoints = list(
            AuditCheckpoint.objects.filter(number__gt=after, number__lte=limit)[:size]
        )
        end = checkpoints[-1].number if checkpoints else after
        return end, [exports.checkpoint_record(c) for c in checkpoints]
    events = list(
        AuditEvent.objects.filter(chain=stream, chain_pos__gt=after, chain_pos__lte=limit).order_by(
            "chain_pos"
        )[:size]
    )
    end = events[-1].chain_pos if events else after
    return end, [exports.event_record(e) for e in events]


def _advance(sink: str, stream: int, old: int, new: int) -> bool:
    moved = AuditShipCursor.objects.filter(sink=sink, stream=stream, position=old).update(
        position=new, updated_at=timezone.now()
    )
    return moved == 1
