"""Recording audit events. Every service that acts calls ``record`` inside its transaction."""

import ipaddress
import unicodedata
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from audit import chain, checkpoints, hashing
from audit.models import Outcome

_MAX_UA = 256
_MAX_DETAIL_TEXT = 1000
# Control and format characters (CR, LF, ANSI escapes, bidi overrides), lone surrogates and
# the Unicode line and paragraph separators: any of them could end or fake a record in a
# line-oriented log.
_UNSAFE = {"Cc", "Cf", "Cs", "Zl", "Zp"}
_OUTCOMES = frozenset(Outcome.values)


def _clean(text: str, limit: int) -> str:
    text = text[:limit]
    if text.isascii() and text.isprintable():  # the common case, without a look at each char
        return text
    return "".join("\ufffd" if unicodedata.category(ch) in _UNSAFE else ch for ch in text)


def _clean_details(value: Any) -> Any:
    if isinstance(value, dict):
        return {_clean(str(k), 100): _clean_details(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_details(item) for item in value]
    if isinstance(value, str):
        return _clean(value, _MAX_DETAIL_TEXT)
    return value


def _clean_ip(value: str | None) -> str:
    if not value:
        return ""
    return _clean_address(value)


@lru_cache(maxsize=1024)
def _clean_address(value: str) -> str:
    # Cached: a client sends many requests, and parsing an address costs more than the rest
    # of an event's cleaning.
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return _clean(value, 45)
    mapped = getattr(address, "ipv4_mapped", None)
    return str(mapped or address)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    # The hash must see the id as the database will give it back: a UUID, not any spelling.
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


class RefusalRecorded:
    """Mixed into an error whose service records the refusal itself, with more to say than
    ``request.denied`` could (a deletion refused for a wrong password): the recorders of
    refused requests (``audit.api``, ``audit.middleware``) then record nothing more."""


@dataclass(frozen=True)
class Actor:
    """Who acts and from where: passed explicitly to every service (no thread-local user)."""

    user: Any = None
    via: str = "system"
    token_id: uuid.UUID | None = None
    ip: str | None = None
    user_agent: str = ""
    request_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: HttpRequest) -> "Actor":
        auth = getattr(request, "auth", None)
        token_id = getattr(auth, "id", None) if auth is not None else None
        user = request.user if request.user.is_authenticated else None
        return cls(
            user=user,
            via="token" if token_id else ("session" if user is not None else "anonymous"),
            token_id=token_id,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=_clean(request.headers.get("User-Agent", ""), _MAX_UA),
            request_id=getattr(request, "request_id", ""),
        )

    @classmethod
    def system(cls, label: str = "system", user: Any = None) -> "Actor":
        return cls(user=user, via=label)

    @property
    def spread_key(self) -> str:
        """What spreads actors over the hash chains: the user, else the address."""
        user_id = getattr(self.user, "pk", None)
        return str(user_id or self.token_id or self.ip or self.via)


def record(
    *,
    actor: Actor,
    action: str,
    outcome: str = Outcome.SUCCESS,
    project_id: uuid.UUID | None = None,
    object_type: str = "",
    object_id: str = "",
    details: dict[str, Any] | None = None,
) -> uuid.UUID:
    """Append one event; returns its ``event_id``. Call inside the action's transaction so
    both commit or neither does (on PostgreSQL the event is written with the commit)."""
    if outcome not in _OUTCOMES:
        raise ValueError(f"outcome must be one of {Outcome.values}, not {outcome!r}")
    user = actor.user
    event_id = uuid.uuid4()
    fields = {
        "event_id": event_id,
        "occurred_at": timezone.now(),
        "action": _clean(action, 64),
        "outcome": str(outcome),
        "actor_id": _uuid_or_none(getattr(user, "pk", None)),
        "actor_label": _clean(getattr(user, "email", "") or actor.via, 254),
        "auth_method": _clean(actor.via, 16),
        "token_id": _uuid_or_none(actor.token_id),
        "project_id": _uuid_or_none(project_id),
        "object_type": _clean(object_type, 32),
        "object_id": _clean(str(object_id), 64),
        "ip": _clean_ip(actor.ip),
        "user_agent": _clean(actor.user_agent, _MAX_UA),
        "request_id": _clean(actor.request_id, 64),
        "details": _clean_details(hashing.json_safe(details or {})),
    }
    # No savepoint of its own: a failed record fails the action's transaction with it.
    with transaction.atomic(savepoint=False):
        chain.append(fields, spread_key=actor.spread_key)
        checkpoints.request_after_commit()
    return event_id
