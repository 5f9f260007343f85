"""Webhooks over the API (managers and lab admins; export tokens cannot manage them).

- ``GET/POST /api/v1/projects/{project_id}/webhooks/``: list; register (answers the secret once).
- ``GET/PATCH/DELETE .../webhooks/{webhook_id}``: read, change URL, events or active; delete.
- ``GET .../webhooks/{webhook_id}/deliveries``: the recent notices and their outcomes.
- ``POST .../webhooks/{webhook_id}/test``: send a ``ping`` now and answer its outcome.
- ``POST .../webhooks/{webhook_id}/secret``: a new secret, shown once.
"""

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from audit.services import Actor
from core.api import CursorPagination, StrictSerializer
from datasets import webhooks
from projects.api import PROJECT_ID, SignedIn, errors, page_of, project_for, uuid_param
from projects.permissions import Need

WEBHOOK_ID = uuid_param("webhook_id", "The webhook.")

_URL_HELP = (
    "An https:// URL whose host the lab administrator allowlisted "
    "(LABELKEEP_WEBHOOK_ALLOWED_HOSTS); no user name or password in it."
)


class WebhookCreateIn(StrictSerializer):
    url = serializers.CharField(max_length=2000, help_text=_URL_HELP)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=webhooks.EVENTS),
        required=False,
        allow_empty=False,
        help_text="What to be told of. Default: version.ready.",
    )


class WebhookUpdateIn(StrictSerializer):
    url = serializers.CharField(max_length=2000, required=False, help_text=_URL_HELP)
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=webhooks.EVENTS), required=False, allow_empty=False
    )
    active = serializers.BooleanField(required=False, help_text="Inactive: no notices.")


class WebhookOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    project_id = serializers.UUIDField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    active = serializers.BooleanField()
    created_by = serializers.EmailField(source="created_by.email")
    created_at = serializers.DateTimeField()


class WebhookWithSecretOut(serializers.Serializer[Any]):
    webhook = WebhookOut()
    secret = serializers.CharField(
        help_text="The HMAC key of the notices' signatures. Shown now only: store it."
    )


class DeliveryOut(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The notice's id (X-Labelkeep-Delivery): dedupe by it.")
    event = serializers.CharField()
    version_id = serializers.UUIDField(allow_null=True)
    state = serializers.CharField(help_text="pending, delivered or failed.")
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.SerializerMethodField(
        help_text="When the next attempt is due; null once delivered or failed."
    )
    last_status = serializers.IntegerField(
        allow_null=True, help_text="The receiver's HTTP status at the last attempt."
    )
    last_error = serializers.CharField(
        help_text="Why the last attempt failed: a code such as http_status, timeout, "
        "tls_failed, redirect_refused, address_not_allowed, host_not_in_allowlist; empty "
        "once delivered."
    )
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_next_attempt_at(self, delivery: Any) -> str | None:
        if delivery.state != "pending":
            return None
        return serializers.DateTimeField().to_representation(delivery.next_attempt_at)


class DeliveryPagination(CursorPagination):
    ordering = "-created_at"


def _with_secret(created: webhooks.WebhookWithSecret) -> Any:
    return WebhookWithSecretOut({"webhook": created.webhook, "secret": created.secret}).data


class WebhookListApi(APIView):
    permission_classes = [SignedIn]
    pagination_class = CursorPagination

    @extend_schema(
        summary="List the project's webhooks (managers)",
        parameters=[PROJECT_ID],
        responses={200: WebhookOut(many=True), **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        paginator = self.pagination_class()
        page = page_of(paginator, webhooks.webhook_list(project=project), request, self)
        return paginator.get_paginated_response(WebhookOut(page, many=True).data)

    @extend_schema(
        summary="Register a webhook (managers); the answer holds its secret, shown once",
        description="The URL is checked against the lab's allowlist now, and its host's "
        "addresses at each delivery (docs/webhooks.md).",
        parameters=[PROJECT_ID],
        request=WebhookCreateIn,
        responses={201: WebhookWithSecretOut, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        body = WebhookCreateIn(data=request.data)
        body.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.MANAGE)
        created = webhooks.webhook_create(
            actor=Actor.from_request(request),
            project=project,
            url=body.validated_data["url"],
            events=body.validated_data.get("events"),
        )
        location = reverse("api:webhook_detail", args=[project.pk, created.webhook.pk])
        return Response(
            _with_secret(created), status=status.HTTP_201_CREATED, headers={"Location": location}
        )


class WebhookDetailApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Read a webhook (managers); never its secret",
        parameters=[PROJECT_ID, WEBHOOK_ID],
        responses={200: WebhookOut, **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str, webhook_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        webhook = webhooks.webhook_get(project=project, webhook_id=webhook_id)
        return Response(WebhookOut(webhook).data)

    @extend_schema(
        summary="Change a webhook's URL, events or active flag (managers)",
        parameters=[PROJECT_ID, WEBHOOK_ID],
        request=WebhookUpdateIn,
        responses={200: WebhookOut, **errors(400, 401, 403, 404, 409)},
    )
    def patch(self, request: Request, project_id: str, webhook_id: str) -> Response:
        body = WebhookUpdateIn(data=request.data)
        body.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.MANAGE)
        webhook = webhooks.webhook_get(project=project, webhook_id=webhook_id)
        fields = body.validated_data
        webhook = webhooks.webhook_update(
            actor=Actor.from_request(request),
            webhook=webhook,
            url=fields.get("url"),
            events=fields.get("events"),
            active=fields.get("active"),
        )
        return Response(WebhookOut(webhook).data)

    @extend_schema(
        summary="Delete a webhook and its deliveries (managers)",
        parameters=[PROJECT_ID, WEBHOOK_ID],
        responses={204: None, **errors(401, 403, 404, 409)},
    )
    def delete(self, request: Request, project_id: str, webhook_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        webhook = webhooks.webhook_get(project=project, webhook_id=webhook_id)
        webhooks.webhook_delete(actor=Actor.from_request(request), webhook=webhook)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesApi(APIView):
    permission_classes = [SignedIn]
    pagination_class = DeliveryPagination

    @extend_schema(
        summary="The webhook's recent notices and their outcomes, newest first (managers)",
        parameters=[PROJECT_ID, WEBHOOK_ID],
        responses={200: DeliveryOut(many=True), **errors(401, 403, 404)},
    )
    def get(self, request: Request, project_id: str, webhook_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        webhook = webhooks.webhook_get(project=project, webhook_id=webhook_id)
        paginator = self.pagination_class()
        page = page_of(paginator, webhooks.delivery_list(webhook=webhook), request, self)
        return paginator.get_paginated_response(DeliveryOut(page, many=True).data)


class WebhookTestApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Send a ping notice now and answer its outcome (managers)",
        description="Answers 200 whatever the receiver did: `state` is delivered or failed, "
        "`last_status` and `last_error` say why. The ping is not retried.",
        parameters=[PROJECT_ID, WEBHOOK_ID],
        request=None,
        responses={200: DeliveryOut, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str, webhook_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        webhook = webhooks.webhook_get(project=project, webhook_id=webhook_id)
        delivery = webhooks.webhook_test(actor=Actor.from_request(request), webhook=webhook)
        return Response(DeliveryOut(delivery).data)


class WebhookSecretApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Replace the webhook's secret (managers); the answer holds it, shown once",
        parameters=[PROJECT_ID, WEBHOOK_ID],
        request=None,
        responses={200: WebhookWithSecretOut, **errors(401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str, webhook_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        webhook = webhooks.webhook_get(project=project, webhook_id=webhook_id)
        rotated = webhooks.webhook_secret_rotate(actor=Actor.from_request(request), webhook=webhook)
        return Response(_with_secret(rotated))
