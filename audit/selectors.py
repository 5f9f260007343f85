"""Reading the audit log: events filtered by an allowlist of fields, scoped by project."""

import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from audit.hashing import plain
from audit.models import AuditEvent


@dataclass(frozen=True)
class EventFilters:
    actor: str = ""
    project: uuid.UUID | None = None
    action: str = ""
    outcome: str = ""
    since: datetime | None = None
    until: datetime | None = None

    def described(self) -> dict[str, str]:
        """The filters that are set, as text: what a read of the log records about itself."""
        named = {"actor": self.actor, "project": self.project, "action": self.action,
                 "outcome": self.outcome, "from": self.since, "to": self.until}  # fmt: skip
        return {name: str(plain(value)) for name, value in named.items() if value}


def event_list(
    *, project_ids: Collection[uuid.UUID] | None, filters: EventFilters
) -> QuerySet[AuditEvent]:
    """Events matching ``filters``; only those of ``project_ids`` unless it is None (all).

    ``actor`` is a user id or an exact actor label (an email); ``action`` matches exactly, or
    as a prefix when it ends with a dot (``project.``); ``since`` is inclusive, ``until`` not.
    """
    events: QuerySet[AuditEvent] = AuditEvent.objects.all()
    if project_ids is not None:
        events = events.filter(project_id__in=list(project_ids))
    if filters.actor:
        events = _by_actor(events, filters.actor)
    if filters.project:
        events = events.filter(project_id=filters.project)
    if filters.action:
        lookup = "action__startswith" if filters.action.endswith(".") else "action"
        events = events.filter(**{lookup: filters.action})
    if filters.outcome:
        events = events.filter(outcome=filters.outcome)
    if filters.since:
        events = events.filter(occurred_at__gte=filters.since)
    if filters.until:
        events = events.filter(occurred_at__lt=filters.until)
    return events


def _by_actor(events: QuerySet[AuditEvent], actor: str) -> QuerySet[AuditEvent]:
    try:
        return events.filter(actor_id=uuid.UUID(actor))
    except ValueError:
        return events.filter(actor_label=actor.strip().lower())


def in_chunks(rows: QuerySet[Any], *, key: str, chunk: int) -> Iterator[Any]:
    """Every row of ``rows`` in ``key`` order, ``chunk`` rows per query.

    Keyset paging: constant memory and no server-side cursor, and no lower bound assumed (a
    forged row with a negative ``seq`` is still read). Rows of ``values_list`` must have
    ``key`` first.
    """
    ordered = rows.order_by(key)
    last: Any = None
    while True:
        page = ordered if last is None else ordered.filter(**{f"{key}__gt": last})
        batch = list(page[:chunk])
        yield from batch
        if len(batch) < chunk:
            return
        tail = batch[-1]
        last = tail[0] if isinstance(tail, tuple) else getattr(tail, key)
