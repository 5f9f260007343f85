"""Building audit logs for tests."""

from typing import Any

from django.db import transaction

from audit import chain, checkpoints
from audit.models import AuditEvent
from audit.services import Actor, record


def heads_known() -> None:
    """Every head row exists (the first event creates them) and this process has seen that
    committed, so that on PostgreSQL later events wait for their transaction's commit."""
    record(actor=Actor.system("setup"), action="test.first")
    with transaction.atomic():
        chain._every_head_exists(transaction.get_connection())
    assert chain._process.heads_created


def recorded(**fields: Any) -> AuditEvent:
    """``record(**fields)``, and the event as the log stores it."""
    return AuditEvent.objects.get(event_id=record(**fields))


def as_separate_transactions() -> None:
    """Forget which chain the test's single outer transaction holds, as if the next event
    came from another transaction (so a test's events spread over several chains)."""
    chain._held.clear()


def record_many(count: int, *, spread: int = 8, action: str = "test.done", **fields):
    """``count`` events from ``spread`` different actors, each as if in its own transaction;
    the events as stored, in the order recorded."""
    events = []
    for n in range(count):
        as_separate_transactions()
        details = fields.get("details", {"n": n})
        extra = {k: v for k, v in fields.items() if k != "details"}
        actor = Actor.system(f"worker{n % spread}")
        events.append(record(actor=actor, action=action, details=details, **extra))
    stored = AuditEvent.objects.in_bulk(events, field_name="event_id")
    return [stored[event_id] for event_id in events]


def without_checkpoint_requests(callbacks: list[Any]) -> list[Any]:
    """Commit callbacks but the audit's checkpoint request, which ``record`` adds every few
    events counted over the whole process (so a test cannot know whether its events add it)."""
    return [callback for callback in callbacks if callback is not checkpoints._enqueue]
