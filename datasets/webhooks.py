"""Webhooks: HMAC-signed notices to a lab's systems when a dataset version is ready.

A manager registers an HTTPS URL whose host the lab administrator allowlisted; the secret is
sealed in the vault and shown once. ``version_ready`` (called by the export job in the
transaction that marks a version succeeded) queues one notice per subscribed webhook, and
``deliver`` sends it through the SSRF guard (``core.outbound``), retrying with backoff. A notice
keeps its id across attempts, so a receiver drops the duplicates that a retry after a lost
answer, or a worker killed mid-delivery, can cause. Each attempt is audited; no notice holds
dataset content, and no log or audit event holds a secret, a URL's path or a notice's body.
"""

import hashlib
import hmac
import json
import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

import vault
from audit.models import Outcome
from audit.services import Actor, record
from core import outbound
from core.errors import ApplicationError, Conflict, NotFound, ServiceUnavailable, ValidationFailed
from datasets.models import DatasetVersion, DeliveryState, Webhook, WebhookDelivery
from projects.models import Project
from projects.services import require_active

logger = logging.getLogger(__name__)

VERSION_READY = "version.ready"
PING = "ping"
EVENTS = (VERSION_READY,)  # what a webhook may subscribe to; pings are sent on request only
SEALED_KIND = "webhook.secret"
MAX_WEBHOOKS_PER_PROJECT = 20
# After the n-th failed attempt, the next one waits RETRY_DELAYS[n - 1]; then the notice fails.
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=12),
)
# An attempt holds its notice this long: longer than any attempt can take, after which a notice
# whose worker died is due again (``deliveries_due``).
CLAIM = timedelta(minutes=2)
DUE_BATCH = 500


@dataclass(frozen=True)
class WebhookWithSecret:
    webhook: Webhook
    secret: str  # shown once: to the manager who created (or rotated) it


# --- Registration ------------------------------------------------------------------------------


def webhook_create(
    *, actor: Actor, project: Project, url: str, events: list[str] | None = None
) -> WebhookWithSecret:
    """Register a webhook (managers); returns it with its secret, which is never shown again."""
    require_active(project)
    url = _checked_url(url)
    chosen = _checked_events([VERSION_READY] if events is None else events)
    with transaction.atomic():
        # Serializes creations in the project, so the limit holds under concurrency.
        Project.objects.select_for_update().filter(pk=project.pk).first()
        if Webhook.objects.filter(project=project).count() >= MAX_WEBHOOKS_PER_PROJECT:
            raise Conflict(
                f"A project has at most {MAX_WEBHOOKS_PER_PROJECT} webhooks.",
                code="too_many_webhooks",
            )
        webhook_id = uuid.uuid4()
        secret = _new_secret()
        webhook = Webhook.objects.create(
            id=webhook_id,
            project=project,
            url=url,
            secret=vault.seal(project.pk, SEALED_KIND, webhook_id, secret),
            events=chosen,
            created_by=actor.user,
        )
        _record(actor, "webhook.created", webhook, {"host": _host(url), "events": chosen})
    return WebhookWithSecret(webhook, secret)


def webhook_list(*, project: Project) -> QuerySet[Webhook]:
    """The project's webhooks, oldest first (the caller checked MANAGE on the project)."""
    return Webhook.objects.filter(project=project).select_related("created_by")


def webhook_get(*, project: Project, webhook_id: str | uuid.UUID) -> Webhook:
    """One webhook of the project; NotFound alike for a missing one and another project's."""
    try:
        pk = webhook_id if isinstance(webhook_id, uuid.UUID) else uuid.UUID(str(webhook_id))
    except ValueError:
        pk = None
    webhook = webhook_list(project=project).filter(pk=pk).first() if pk is not None else None
    if webhook is None:
        raise NotFound("Webhook not found.", code="webhook_not_found")
    webhook.project = project
    return webhook


def webhook_update(
    *,
    actor: Actor,
    webhook: Webhook,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> Webhook:
    """Change a webhook's URL, events or active flag (managers); the secret stays."""
    require_active(webhook.project)
    changes: dict[str, Any] = {}
    if url is not None:
        changes["url"] = _checked_url(url)
    if events is not None:
        changes["events"] = _checked_events(events)
    if active is not None:
        changes["active"] = active
    if not changes:
        raise ValidationFailed(
            "Send at least one of url, events and active.", code="nothing_to_change"
        )
    with transaction.atomic():
        Webhook.objects.filter(pk=webhook.pk).update(**changes)
        details: dict[str, Any] = {"changed": sorted(changes)}
        details.update((k, v) for k, v in changes.items() if k != "url")
        if "url" in changes:
            details["host"] = _host(changes["url"])
        _record(actor, "webhook.updated", webhook, details)
    for name, value in changes.items():
        setattr(webhook, name, value)
    return webhook


def webhook_delete(*, actor: Actor, webhook: Webhook) -> None:
    """Delete a webhook and its deliveries (managers)."""
    require_active(webhook.project)
    with transaction.atomic():
        _record(actor, "webhook.deleted", webhook, {"host": _host(webhook.url)})
        Webhook.objects.filter(pk=webhook.pk).delete()


def webhook_secret_rotate(*, actor: Actor, webhook: Webhook) -> WebhookWithSecret:
    """A new secret for the webhook, shown once; notices are signed with it from now on."""
    require_active(webhook.project)
    secret = _new_secret()
    sealed = vault.seal(webhook.project_id, SEALED_KIND, webhook.pk, secret)
    with transaction.atomic():
        Webhook.objects.filter(pk=webhook.pk).update(secret=sealed)
        _record(actor, "webhook.secret_rotated", webhook, {})
    webhook.secret = sealed
    return WebhookWithSecret(webhook, secret)


def _new_secret() -> str:
    return secrets.token_urlsafe(32)  # 32 random bytes, base64url without padding


def _checked_url(url: str) -> str:
    url = url.strip()
    outbound.allowed_url(url)  # the static part; the resolver's view is checked at delivery
    return url


def _checked_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENTS))
    if unknown or not events:
        raise ValidationFailed(
            f"events must name at least one of: {', '.join(EVENTS)}.",
            code="invalid_events",
            details={"field": "events"},
        )
    return sorted(set(events))


def _host(url: str) -> str:
    # What audit events and logs say of a URL: a path or query may itself hold a secret.
    parts = urlsplit(url)
    host = parts.hostname or ""
    return host if parts.port is None else f"{host}:{parts.port}"


def _record(actor: Actor, action: str, webhook: Webhook, details: dict[str, Any]) -> None:
    record(
        actor=actor,
        action=action,
        project_id=webhook.project_id,
        object_type="webhook",
        object_id=str(webhook.pk),
        details=details,
    )


# --- Notices -------------------------------------------------------------------------------


def register() -> None:
    """Have the export job call ``version_ready`` (from ``DatasetsConfig.ready``; idempotent)."""
    from datasets.exports import versions  # the export job's module, loaded with the app

    if version_ready not in versions.VERSION_READY:
        versions.VERSION_READY.append(version_ready)


def version_ready(version: DatasetVersion) -> list[WebhookDelivery]:
    """Queue a notice of the version to each active webhook subscribed to ``version.ready``.

    Called inside the transaction that marks the version succeeded: the notices exist if and
    only if that commits, and their delivery starts after the commit.
    """
    hooks = Webhook.objects.filter(project_id=version.project_id, active=True)
    created = []
    for webhook in hooks:
        if VERSION_READY not in webhook.events:
            continue
        delivery, new = WebhookDelivery.objects.get_or_create(
            webhook=webhook, version=version, event=VERSION_READY
        )
        if new:
            created.append(delivery)
            transaction.on_commit(partial(_enqueue, delivery.pk))
    return created


def _enqueue(delivery_id: uuid.UUID) -> None:
    from datasets.webhook_tasks import webhook_deliver_task  # it imports this module

    webhook_deliver_task.delay(str(delivery_id))


def deliveries_due() -> int:
    """Queue every pending notice whose attempt is due (the beat job); returns how many."""
    due = WebhookDelivery.objects.filter(
        state=DeliveryState.PENDING, next_attempt_at__lte=timezone.now()
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:DUE_BATCH])
    for delivery_id in ids:
        _enqueue(delivery_id)
    return len(ids)


def delivery_list(*, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    """The webhook's notices, newest first."""
    return WebhookDelivery.objects.filter(webhook=webhook)


def deliver(delivery_id: uuid.UUID) -> WebhookDelivery | None:
    """Make one attempt at a due notice; None if it is not due, or another worker holds it."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    status, error, final = _attempt(delivery)
    return _settle(Actor.system("webhooks"), delivery, status, error, final=final)


def webhook_test(*, actor: Actor, webhook: Webhook) -> WebhookDelivery:
    """Send a ``ping`` notice now and return its outcome (managers); it is never retried."""
    require_active(webhook.project)
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        webhook=webhook, event=PING, attempts=1, next_attempt_at=now + CLAIM
    )
    delivery.webhook = webhook
    status, error, _final = _attempt(delivery)
    return _settle(actor, delivery, status, error, final=True, action="webhook.tested")


def _claim(delivery_id: uuid.UUID) -> WebhookDelivery | None:
    now = timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, state=DeliveryState.PENDING, next_attempt_at__lte=now
    ).update(attempts=F("attempts") + 1, next_attempt_at=now + CLAIM)
    if claimed != 1:
        return None
    return (
        WebhookDelivery.objects.select_related("webhook__project", "version")
        .filter(pk=delivery_id)
        .first()
    )


def _attempt(delivery: WebhookDelivery) -> tuple[int | None, str, bool]:
    """One request: (the receiver's status, the error code or "", whether to stop trying)."""
    webhook = delivery.webhook
    refusal = _unsendable(delivery)
    if refusal:
        return None, refusal, True
    try:
        secret = _secret_of(webhook)
        body = notice_body(delivery)
        status = outbound.post_json(webhook.url, body, signed_headers(delivery, body, secret))
    except outbound.UrlRefused as exc:
        return None, exc.code, True  # the URL or the allowlist: the same answer every time
    except (outbound.OutboundError, ServiceUnavailable) as exc:
        # A redirect is refused as a policy, not a mishap; other failures may pass: try later.
        return None, exc.code, exc.code == "redirect_refused"
    except ApplicationError as exc:
        return None, exc.code, True  # the project's key is gone or the sealed secret damaged
    delivered = 200 <= status < 300
    return status, "" if delivered else "http_status", delivered


def _unsendable(delivery: WebhookDelivery) -> str:
    webhook = delivery.webhook
    if webhook.project.deleted_at is not None:
        return "project_deleted"
    if not webhook.active and delivery.event != PING:
        return "webhook_inactive"
    return ""


def _secret_of(webhook: Webhook) -> str:
    return vault.unseal_text(webhook.project_id, SEALED_KIND, webhook.pk, webhook.secret)


def notice_body(delivery: WebhookDelivery) -> bytes:
    """The notice's JSON: ids, the version's figures and URL; no content, no person's name."""
    webhook = delivery.webhook
    notice: dict[str, Any] = {
        "id": str(delivery.pk),
        "event": delivery.event,
        "created_at": _timestamp(delivery.created_at),
        "project": {"id": str(webhook.project_id)},
        "webhook": {"id": str(webhook.pk)},
    }
    version = delivery.version
    if version is not None:
        notice["version"] = {
            "id": str(version.pk),
            "number": version.number,
            "name": version.name,
            "format": version.format,
            "row_count": version.row_count,
            "sha256": version.sha256,
            "url": f"{settings.SITE_URL}/api/v1/projects/{version.project_id}/versions/"
            f"{version.pk}",
        }
    return json.dumps(notice, sort_keys=True, separators=(",", ":")).encode()


def signed_headers(delivery: WebhookDelivery, body: bytes, secret: str) -> dict[str, str]:
    """The notice's headers; the signature is HMAC-SHA256 over ``<timestamp>.<body>``."""
    timestamp = str(int(timezone.now().timestamp()))
    return {
        "X-Labelkeep-Event": delivery.event,
        "X-Labelkeep-Delivery": str(delivery.pk),
        "X-Labelkeep-Timestamp": timestamp,
        "X-Labelkeep-Signature": f"sha256={signature(secret, timestamp, body)}",
    }


def signature(secret: str, timestamp: str, body: bytes) -> str:
    message = timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _settle(
    actor: Actor,
    delivery: WebhookDelivery,
    status: int | None,
    error: str,
    *,
    final: bool,
    action: str = "",
) -> WebhookDelivery:
    now = timezone.now()
    fields: dict[str, Any] = {"last_status": status, "last_error": error}
    if not error:
        fields.update(state=DeliveryState.DELIVERED, delivered_at=now)
    elif final or delivery.attempts > len(RETRY_DELAYS):
        fields.update(state=DeliveryState.FAILED)
    else:
        fields.update(next_attempt_at=now + RETRY_DELAYS[delivery.attempts - 1])
    with transaction.atomic():
        # Only while the claim is ours: had it run out and another attempt begun, that one
        # settles the notice (both attempts are recorded).
        WebhookDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(**fields)
        _record_attempt(actor, delivery, fields, action)
    for name, value in fields.items():
        setattr(delivery, name, value)
    _log(delivery)
    return delivery


def _record_attempt(
    actor: Actor, delivery: WebhookDelivery, fields: dict[str, Any], action: str
) -> None:
    # A manager's test is recorded as what they did (it ran, whatever the receiver answered);
    # the job's attempts as what happened to the notice.
    delivered = not fields["last_error"]
    record(
        actor=actor,
        action=action or ("webhook.delivered" if delivered else "webhook.failed"),
        outcome=Outcome.SUCCESS if delivered or action else Outcome.FAILURE,
        project_id=delivery.webhook.project_id,
        object_type="webhook",
        object_id=str(delivery.webhook_id),
        details={
            "delivery": str(delivery.pk),
            "event": delivery.event,
            "version": str(delivery.version_id) if delivery.version_id else None,
            "attempt": delivery.attempts,
            "status": fields["last_status"],
            "error": fields["last_error"],
            "delivered": delivered,
            "final": fields.get("state", DeliveryState.PENDING) != DeliveryState.PENDING,
        },
    )


def _log(delivery: WebhookDelivery) -> None:
    logger.info(
        "webhook delivery %s attempt %d: %s (status %s%s)",
        delivery.pk,
        delivery.attempts,
        delivery.state,
        delivery.last_status,
        f", {delivery.last_error}" if delivery.last_error else "",
    )
