"""The API's exception handler: records denied requests, then answers like ``core.api``.

A denial is a 401, a 403, or a ``core.errors.NotFound`` (an object that is missing or hidden
from the caller, which are indistinguishable on purpose), unless the service that refused has
recorded the refusal itself (``RefusalRecorded``): one refusal, one event. Pages record their
refusals with the same ``record_denial`` (``audit.middleware``). The handler runs after the view's
transaction has rolled back, so the denial is recorded in a transaction of its own; the
``audit.E001`` check refuses ``ATOMIC_REQUESTS``, under which it would be rolled back too.
"""

import uuid
from typing import Any

from rest_framework.response import Response

from audit.models import Outcome
from audit.services import Actor, RefusalRecorded, record
from core import api as core_api
from core import errors

_DENIED_STATUSES = {401, 403}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    response = core_api.exception_handler(exc, context)
    if response is not None and _is_denial(exc, response.status_code):
        _record_denial(context, response)
    return response


def _is_denial(exc: Exception, status: int) -> bool:
    if isinstance(exc, RefusalRecorded):
        return False
    return status in _DENIED_STATUSES or isinstance(exc, errors.NotFound)


def _record_denial(context: dict[str, Any], response: Response) -> None:
    record_denial(
        context["request"],
        status=response.status_code,
        code=_error_code(response),
        kwargs=context.get("kwargs") or {},
    )


def record_denial(request: Any, *, status: int, code: str, kwargs: dict[str, Any]) -> None:
    """Record a refused request (API or page) as ``request.denied``, in its own transaction."""
    object_type, object_id = _object_of(kwargs)
    match = getattr(request, "resolver_match", None)
    record(
        actor=Actor.from_request(request),
        action="request.denied",
        outcome=Outcome.DENIED,
        project_id=_uuid(kwargs.get("project_id")),
        object_type=object_type,
        object_id=object_id,
        details={
            "method": request.method,
            # The route pattern, never the path: a path can carry a secret (invitation links).
            "route": getattr(match, "route", "") or "",
            "status": status,
            "code": code,
        },
    )


def _object_of(kwargs: dict[str, Any]) -> tuple[str, str]:
    """The innermost object the URL names (``task_id`` -> ("task", id)), besides the project."""
    named = [(k, v) for k, v in kwargs.items() if k.endswith("_id") and k != "project_id"]
    if not named:
        return "", ""
    name, value = named[-1]
    return name.removesuffix("_id"), str(value)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value)) if value is not None else None
    except ValueError:
        return None


def _error_code(response: Response) -> str:
    body = response.data if isinstance(response.data, dict) else {}
    error = body.get("error")
    return str(error.get("code", "")) if isinstance(error, dict) else ""
