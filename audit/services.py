"""Recording audit events. Every service that acts calls ``record`` inside its transaction."""

import unicodedata
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from audit.models import AuditEvent, Outcome

_MAX_UA = 256


def _clean(text: str, limit: int) -> str:
    # Control characters (CR, LF, ANSI escapes) would let a user agent or a name forge a
    # second record in a line-oriented log; they are replaced, and the text is bounded.
    return "".join(
        "\ufffd" if unicodedata.category(ch) in {"Cc", "Cf"} else ch for ch in text[:limit]
    )


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
        return cls(
            user=request.user if request.user.is_authenticated else None,
            via="token" if token_id else "session",
            token_id=token_id,
            ip=request.META.get("REMOTE_ADDR"),
            user_agent=_clean(request.headers.get("User-Agent", ""), _MAX_UA),
            request_id=getattr(request, "request_id", ""),
        )

    @classmethod
    def system(cls, label: str = "system", user: Any = None) -> "Actor":
        return cls(user=user, via=label)


def record(
    *,
    actor: Actor,
    action: str,
    outcome: str = Outcome.SUCCESS,
    project_id: uuid.UUID | None = None,
    object_type: str = "",
    object_id: str = "",
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event. Call inside the action's transaction so both commit or neither does."""
    user = actor.user
    return AuditEvent.objects.create(
        occurred_at=timezone.now(),
        action=action,
        outcome=outcome,
        actor_id=getattr(user, "pk", None),
        actor_label=_clean(getattr(user, "email", "") or actor.via, 254),
        auth_method=actor.via,
        token_id=actor.token_id,
        project_id=project_id,
        object_type=object_type,
        object_id=str(object_id),
        ip=actor.ip,
        user_agent=actor.user_agent,
        request_id=actor.request_id,
        details=details or {},
    )
