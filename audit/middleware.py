"""Records a page's refusals as ``request.denied``, as the API's exception handler does its own.

A page refuses by answering 401, 403 or 404: raising ``PermissionDenied`` or ``Http404`` (the
permission gate's errors, turned into Django's by the page), rendering the status itself (the
invitation link), or failing the CSRF check. Each such answer records one ``request.denied``
through ``audit.api.record_denial``, the API's own recorder, in a transaction of its own after
the view's has ended: a signed-in user's 401, 403 or 404, an anonymous visitor's 401 or 403.
Left out: the API's views (their handler records), paths that resolve to no view (they name
nothing to refuse), refusals whose service recorded them already (``RefusalRecorded``), an
anonymous visitor sent to sign in (the normal way in, not a refusal), and an anonymous 404: the
only one a page gives is a dead or mistyped invitation link, which the page says is not valid
and whose secret cannot be guessed anyway.
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import ResolverMatch
from rest_framework.views import APIView

from audit.api import record_denial
from audit.services import RefusalRecorded
from core.errors import ApplicationError

_REFUSALS = {401: "not_authenticated", 403: "permission_denied", 404: "not_found"}
# What an anonymous visitor's refusal must be to be recorded (see the module's docstring).
_ANONYMOUS_REFUSALS = frozenset({401, 403})


class PageDenialMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        status = response.status_code
        match = request.resolver_match
        if status in _REFUSALS and match is not None and _is_page_refusal(request, match, status):
            refusal = getattr(request, "_audit_refusal", None)
            if not isinstance(refusal, RefusalRecorded):
                code = _code(refusal, status)
                record_denial(request, status=status, code=code, kwargs=match.kwargs)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # Kept for the error code; Django still turns the exception into the response.
        request._audit_refusal = _cause(exception)  # type: ignore[attr-defined]


def _is_page_refusal(request: HttpRequest, match: ResolverMatch, status: int) -> bool:
    if issubclass(getattr(match.func, "view_class", object), APIView):
        return False
    user = getattr(request, "user", None)
    if user is None:  # no session was read: nothing to tell who asked (Actor needs a user)
        return False
    return bool(user.is_authenticated) or status in _ANONYMOUS_REFUSALS


def _cause(exception: Exception) -> Exception:
    # Pages re-raise the gate's error as Django's (``raise Http404(...) from None``): the
    # gate's error, with its code, is still the context of the one Django sees.
    context = exception.__context__
    return context if isinstance(context, ApplicationError) else exception


def _code(refusal: Any, status: int) -> str:
    if isinstance(refusal, ApplicationError) and refusal.status == status:
        return refusal.code
    return _REFUSALS[status]
