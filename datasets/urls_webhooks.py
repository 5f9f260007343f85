"""API routes of webhooks, included by ``datasets.urls`` (namespace ``api``)."""

from django.urls import path

from datasets import api_webhooks

_W = "projects/<str:project_id>/webhooks"

api_urlpatterns = [
    path(f"{_W}/", api_webhooks.WebhookListApi.as_view(), name="webhook_list"),
    path(f"{_W}/<str:webhook_id>", api_webhooks.WebhookDetailApi.as_view(), name="webhook_detail"),
    path(
        f"{_W}/<str:webhook_id>/deliveries",
        api_webhooks.WebhookDeliveriesApi.as_view(),
        name="webhook_deliveries",
    ),
    path(f"{_W}/<str:webhook_id>/test", api_webhooks.WebhookTestApi.as_view(), name="webhook_test"),
    path(
        f"{_W}/<str:webhook_id>/secret",
        api_webhooks.WebhookSecretApi.as_view(),
        name="webhook_secret",
    ),
]
