"""Records a page's refusals as ``request.denied``, as the API's exception handler does its own.

A page refuses a signed-in user by answering 403 or 404: raising ``PermissionDenied`` or
``Http404`` (the permission gate's errors, turned into Django's by the page), or rendering
the status itself (the invitation link). Each such answer records one ``request.denied``
through ``audit.api.record_denial``, the API's own recorder, in a transaction of its own
after the view's has ended. Left out: the API's views (their handler records), paths that
resolve to no view (they name nothing to refuse), anonymous visitors (a page sends them to
sign in), and refusals whose service recorded them already (``RefusalRecorded``).
"""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponseBase
from django.urls import ResolverMatch
from rest_framework.views import APIView

from audit.api import record_denial
from audit.services import RefusalRecorded
from core.errors import ApplicationError

_REFUSALS = {403: "permission_denied", 404: "not_found"}


class PageDenialMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        status = response.status_code
        match = request.resolver_match
        if status in _REFUSALS and match is not None and _is_page_of_user(request, match):
            refusal = getattr(request, "_audit_refusal", None)
            if not isinstance(refusal, RefusalRecorded):
                code = _code(refusal, status)
                record_denial(request, status=status, code=code, kwargs=match.kwargs)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> None:
        # Kept for the error code; Django still turns the exception into the response.
        request._audit_refusal = _cause(exception)  # type: ignore[attr-defined]


def _is_page_of_user(request: HttpRequest, match: ResolverMatch) -> bool:
    user = getattr(request, "user", None)
    is_api = issubclass(getattr(match.func, "view_class", object), APIView)
    return not is_api and user is not None and bool(user.is_authenticated)


def _cause(exception: Exception) -> Exception:
    # Pages re-raise the gate's error as Django's (``raise Http404(...) from None``): the
    # gate's error, with its code, is still the context of the one Django sees.
    context = exception.__context__
    return context if isinstance(context, ApplicationError) else exception


def _code(refusal: Any, status: int) -> str:
    if isinstance(refusal, ApplicationError) and refusal.status == status:
        return refusal.code
    return _REFUSALS[status]
