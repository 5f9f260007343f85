"""Routes for ``bench/api_floor.py``: the work queue's two requests, answered by views that do
less and less of the real work, to show what each layer of a request costs before the work.

Served only by the benchmark's gunicorn (``bench.floor_settings``), never by the product.
Each level answers ``POST /floor/<level>/api/v1/projects/<project>/next`` with a task id and
``POST /floor/<level>/api/v1/projects/<project>/tasks/<task>/annotations/`` with 201, as the
real endpoints do; ``/floor/work/...`` are the real endpoints themselves.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from audit.services import Actor, record
from projects.api import SignedIn, project_for
from projects.permissions import Need

_TASK = str(uuid.UUID(int=1))
_NEXT_BODY = b'{"task_id": "' + _TASK.encode() + b'"}'


def _plain(*, created: bool) -> HttpResponse:
    return HttpResponse(
        b"{}" if created else _NEXT_BODY,
        content_type="application/json",
        status=201 if created else 200,
    )


def django_next(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """Django and the product's middleware (sessions, CSRF, security headers) only."""
    return _plain(created=False)


def django_submit(request: HttpRequest, project_id: uuid.UUID, task_id: uuid.UUID) -> HttpResponse:
    return _plain(created=True)


def session_next(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    """And the session's user (the session from the cache, the user's row)."""
    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    return _plain(created=False)


def session_submit(request: HttpRequest, project_id: uuid.UUID, task_id: uuid.UUID) -> HttpResponse:
    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    return _plain(created=True)


class DrfNext(APIView):
    """And Django REST framework as the API runs it, but for the throttles: its
    authentication (CSRF checked), the signed-in permission, JSON parsing and rendering."""

    permission_classes = [SignedIn]
    throttle_classes: Sequence[Any] = ()

    def work(self, request: Request, project_id: uuid.UUID) -> Any:
        request.data  # noqa: B018 (parsed, as the real views' input serializers do)
        return None

    def post(self, request: Request, project_id: uuid.UUID, task_id: Any = None) -> Response:
        self.work(request, project_id)
        if task_id is None:
            return Response({"task_id": _TASK})
        return Response({}, status=201)


class ThrottledNext(DrfNext):
    """And the API's throttles (for a signed-in caller, the per-user counter in the cache)."""

    throttle_classes = api_settings.DEFAULT_THROTTLE_CLASSES


class GateNext(ThrottledNext):
    """And the permission gate: the project, its state and the caller's role."""

    def work(self, request: Request, project_id: uuid.UUID) -> Any:
        super().work(request, project_id)
        return project_for(request, str(project_id), Need.ANNOTATE)


class AuditNext(GateNext):
    """And one audit event committed in a transaction, as every read of task content and
    every write records one."""

    def work(self, request: Request, project_id: uuid.UUID) -> Any:
        project = super().work(request, project_id)
        with transaction.atomic():
            record(
                actor=Actor.from_request(request),
                action="bench.floor",
                project_id=project.pk,
                object_type="task",
                object_id=_TASK,
            )
        return project


def _level(name: str, next_view: Any, submit_view: Any) -> URLResolver:
    return path(
        f"floor/{name}/api/v1/projects/<uuid:project_id>/",
        include(
            [
                path("next", next_view),
                path("tasks/<uuid:task_id>/annotations/", submit_view),
            ]
        ),
    )


urlpatterns: list[URLPattern | URLResolver] = [
    _level("django", django_next, django_submit),
    _level("session", session_next, session_submit),
    _level("drf", DrfNext.as_view(), DrfNext.as_view()),
    _level("throttle", ThrottledNext.as_view(), ThrottledNext.as_view()),
    _level("gate", GateNext.as_view(), GateNext.as_view()),
    _level("audit", AuditNext.as_view(), AuditNext.as_view()),
    path("floor/work/", include("config.urls")),
]
