"""The audit log viewer: ``GET /api/v1/audit/events`` and the ``/audit/`` page with exports.

Lab administrators read every event. A project manager reads the events of the projects they
manage, and nothing lab-wide (sign-ins, tokens, events without a project). Everyone else is
refused, and the refusal is itself recorded. Reading the log is recorded too, before it is
read: ``audit.read`` for a page of the list (API or page), ``audit.exported`` for an export,
each with the filters used. It lives in projects/ because the scope comes from the permission
gate; the log itself is read through ``audit.selectors``.
"""

import json
import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions, serializers

from accounts.authentication import token_of
from accounts.models import ApiToken, TokenScope
from audit import exports, selectors
from audit.models import AuditCheckpoint, AuditEvent, Outcome
from audit.services import Actor, record
from core.api import CursorPagination, StrictSerializer
from core.errors import PermissionDenied
from projects import permissions as gate
from projects.api import errors

PAGE_SIZE = 50
_NOT_A_READER = "Only lab administrators and project managers read the audit log."


def audit_scope(user: Any, *, token: ApiToken | None = None) -> list[uuid.UUID] | None:
    """The projects whose events the user may read; None for all (lab administrators).

    Raises PermissionDenied for anyone who is neither an administrator nor a manager, and for
    export-scoped tokens, which read datasets and nothing else.
    """
    if token is not None and token.scope != TokenScope.FULL:
        raise PermissionDenied(_NOT_A_READER, code="not_audit_reader")
    if getattr(user, "is_staff", False) and user.is_active:
        return None
    managed = [
        project.pk
        for project in gate.visible_projects(user, token=token)
        if gate.can_manage(user, project, token=token)
    ]
    if not managed:
        raise PermissionDenied(_NOT_A_READER, code="not_audit_reader")
    return managed


class AuditFilterSerializer(StrictSerializer):
    """The filters: an allowlist of fields. ``from`` and ``to`` bound ``occurred_at``."""

    actor = serializers.CharField(required=False, max_length=254, help_text="User id or email.")
    project = serializers.UUIDField(required=False)
    action = serializers.CharField(
        required=False, max_length=64, help_text="Exact, or a prefix ending with a dot."
    )
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = super().get_fields()
        # Python keywords, so declared here rather than as class attributes.
        fields["from"] = serializers.DateTimeField(required=False, help_text="Inclusive.")
        fields["to"] = serializers.DateTimeField(required=False, help_text="Exclusive.")
        return fields

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "from" in attrs and "to" in attrs and attrs["from"] >= attrs["to"]:
            raise serializers.ValidationError({"to": ["Must be later than 'from'."]})
        return attrs

    def filters(self) -> selectors.EventFilters:
        data = self.validated_data
        return selectors.EventFilters(
            actor=data.get("actor", ""),
            project=data.get("project"),
            action=data.get("action", ""),
            outcome=data.get("outcome", ""),
            since=data.get("from"),
            until=data.get("to"),
        )


class AuditApiFilterSerializer(AuditFilterSerializer):
    cursor = serializers.CharField(required=False, help_text="From the previous page's links.")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class AuditPageFilterSerializer(AuditFilterSerializer):
    before = serializers.IntegerField(required=False, min_value=1)


class AuditEventSerializer(serializers.ModelSerializer[AuditEvent]):
    class Meta:
        model = AuditEvent
        fields = exports.COLUMNS
        read_only_fields = exports.COLUMNS


class AuditPagination(CursorPagination):
    ordering = "-seq"


class AuditEventListApi(generics.ListAPIView[AuditEvent]):
    """Audit events, newest first: all for lab administrators, managers their projects'."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = AuditEventSerializer
    pagination_class = AuditPagination
    filter_backends = ()

    @extend_schema(
        parameters=[AuditApiFilterSerializer],
        responses={200: AuditEventSerializer(many=True), **errors(400, 401, 403)},
    )
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> Any:
        scope = audit_scope(self.request.user, token=token_of(self.request))
        params = AuditApiFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.filters()
        _record_read(self.request, "audit.read", filters)
        return selectors.event_list(project_ids=scope, filters=filters)


def _record_read(
    request: Any, action: str, filters: selectors.EventFilters, **details: Any
) -> None:
    """Record a read of the log before it happens: who, and which filters (never events)."""
    record(
        actor=Actor.from_request(request),
        action=action,
        project_id=filters.project,
        details={"filters": filters.described(), **details},
    )


def _page_scope(request: HttpRequest) -> list[uuid.UUID] | None:
    try:
        return audit_scope(request.user)
    except PermissionDenied as exc:
        # audit.middleware records the refusal, with this error's code (the context).
        raise DjangoPermissionDenied(exc.message) from None


def _project_choices(user: Any, scope: list[uuid.UUID] | None) -> list[tuple[uuid.UUID, str]]:
    # Through the gate, like every other project list: a deleted project's name is gone at once.
    projects = gate.visible_projects(user).order_by("name")
    if scope is not None:
        projects = projects.filter(pk__in=scope)
    return list(projects.values_list("pk", "name"))


@login_required
@never_cache
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    scope = _page_scope(request)
    params = AuditPageFilterSerializer(data=request.GET)
    choices = _project_choices(request.user, scope)
    context: dict[str, Any] = {"params": request.GET, "projects": choices, "events": []}
    if not params.is_valid():
        context.update(_error_context(params.errors))
        return render(request, "projects/audit/events.html", context, status=400)
    filters, before = params.filters(), params.validated_data.get("before")
    _record_read(request, "audit.read", filters, **({"before": before} if before else {}))
    events = selectors.event_list(project_ids=scope, filters=filters).order_by("-seq")
    if before:
        events = events.filter(seq__lt=before)
    rows = list(events[: PAGE_SIZE + 1])
    names = dict(choices)
    context.update(
        events=[_row(event, names) for event in rows[:PAGE_SIZE]],
        older=rows[PAGE_SIZE - 1].seq if len(rows) > PAGE_SIZE else None,
        query=_query_without(request, "before"),
        checkpoint=AuditCheckpoint.objects.order_by("-number").first(),
    )
    return render(request, "projects/audit/events.html", context)


def _row(event: AuditEvent, names: dict[uuid.UUID, str]) -> tuple[AuditEvent, str, str]:
    """An event with its project's name and its details as compact JSON, for the table."""
    name = names.get(event.project_id, "") if event.project_id else ""
    details = json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else ""
    return event, name, details


_FILTER_FIELDS = {"actor", "project", "action", "outcome", "from", "to"}


def _error_context(errors: dict[str, Any]) -> dict[str, Any]:
    """Errors of the filter fields, shown beside them; anything else (unknown parameters)
    listed under the form."""
    first = {name: str(messages[0]) for name, messages in errors.items()}
    return {
        "errors": {k: v for k, v in first.items() if k in _FILTER_FIELDS},
        "other_errors": [f"{k}: {v}" for k, v in first.items() if k not in _FILTER_FIELDS],
        "invalid": True,
    }


def _query_without(request: HttpRequest, name: str) -> str:
    query = request.GET.copy()
    query.pop(name, None)
    return query.urlencode()


_FORMATS = {
    "csv": ("text/csv; charset=utf-8", exports.csv_lines),
    "jsonl": ("application/x-ndjson", exports.jsonl_lines),
}


@login_required
@never_cache
@require_GET
def audit_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    """The filtered events, oldest first, streamed as CSV or JSON lines. Recorded."""
    scope = _page_scope(request)
    params = AuditPageFilterSerializer(data=request.GET)
    if not params.is_valid():
        return audit_page(request)
    filters = params.filters()
    _record_read(request, "audit.exported", filters, format=fmt)
    events = selectors.event_list(project_ids=scope, filters=filters)
    content_type, lines = _FORMATS[fmt]
    response = StreamingHttpResponse(lines(exports.iter_events(events)), content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="labelkeep-audit-{stamp}.{fmt}"'
    return response


page_urls = [
    path("", audit_page, name="events"),
    path("export.csv", audit_export, {"fmt": "csv"}, name="export_csv"),
    path("export.jsonl", audit_export, {"fmt": "jsonl"}, name="export_jsonl"),
]
