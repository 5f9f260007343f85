"""Webhooks end to end: registration over the API, notices of ready versions delivered to a
real HTTPS receiver on loopback (signed, retried, deduplicated by id), the SSRF guard on the
delivery path, the audit trail, and who may do what."""

import hashlib
import hmac
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta
from urllib.parse import urlparse

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import TokenScope
from audit.models import AuditEvent
from audit.services import Actor
from core import outbound
from datasets import webhook_tasks, webhooks
from datasets.models import DatasetVersion, DeliveryState, Webhook, WebhookDelivery
from projects import tokens
from tests.conftest import client_for
from tests.core.receivers import Authority, Dns, Receiver, answer_with
from tests.labeling.work import annotate_all, make_texts

HOOKS = "hooks.lab.test"


@pytest.fixture
def authority(tmp_path):
    return Authority.create(tmp_path)


@pytest.fixture
def dns(settings, authority, monkeypatch):
    """The lab allowlisted hooks.lab.test, opened 127.0.0.1 for it (the receiver runs there)
    and trusts its CA; the DNS answers 127.0.0.1 for it."""
    settings.WEBHOOK_ALLOWED_HOSTS = [HOOKS, "*.pipelines.example.org"]
    settings.WEBHOOK_PRIVATE_NETWORKS = ["127.0.0.1/32"]
    settings.WEBHOOK_CA_FILE = str(authority.ca_file)
    settings.SITE_URL = "https://labelkeep.lab.test"
    resolver = Dns({HOOKS: [["127.0.0.1"]]})
    monkeypatch.setattr(outbound, "getaddrinfo", resolver)
    return resolver


@pytest.fixture
def receiver(authority, tmp_path):
    running = Receiver(authority.server_context(tmp_path, [HOOKS])).start()
    yield running
    running.stop()


def hook_url(receiver: Receiver, path: str = "/labelkeep?team=ml") -> str:
    return f"https://{HOOKS}:{receiver.port}{path}"


def register(project, manager, url: str, **fields) -> tuple[Webhook, str]:
    created = webhooks.webhook_create(
        actor=Actor.system(user=manager), project=project, url=url, **fields
    )
    return created.webhook, created.secret


def make_version(project, number: int = 1) -> DatasetVersion:
    return DatasetVersion.objects.create(
        project=project,
        number=number,
        name=f"release-{number}",
        format="jsonl",
        created_by=project.created_by,
        state="succeeded",
        row_count=1234,
        size=98765,
        sha256="ab" * 32,
        finished_at=timezone.now(),
    )


def mark_ready(version: DatasetVersion, capture) -> list[WebhookDelivery]:
    """What the export job does when the version succeeds: notices queued, sent after commit."""
    with capture(execute=True), transaction.atomic():
        return webhooks.version_ready(version)


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does (docs/webhooks.md): recompute the signature, compare in constant
    time, and refuse a stale timestamp."""
    timestamp = headers["X-Labelkeep-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(
        f"sha256={expected.hexdigest()}", headers["X-Labelkeep-Signature"]
    )


def make_due(delivery: WebhookDelivery) -> None:
    # Time passing: the next attempt's moment has come.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def events(action_prefix: str = "webhook.") -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action__startswith=action_prefix).order_by("seq"))


# --- Registration over the API ----------------------------------------------------------------


def test_a_manager_registers_a_webhook_and_sees_its_secret_once(manager, project, dns):
    client = client_for(manager)
    url = "https://a.pipelines.example.org/hooks/labelkeep?token=in-the-path"
    response = client.post(f"/api/v1/projects/{project.pk}/webhooks/", {"url": url}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    secret, hook = body["secret"], body["webhook"]
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)  # 32 random bytes, base64url
    assert (hook["url"], hook["events"], hook["active"]) == (url, ["version.ready"], True)
    assert response["Location"] == f"/api/v1/projects/{project.pk}/webhooks/{hook['id']}"
    detail = client.get(response["Location"]).json()
    listed = client.get(f"/api/v1/projects/{project.pk}/webhooks/").json()["results"]
    assert "secret" not in detail
    assert secret not in json.dumps(listed)
    assert [h["id"] for h in listed] == [hook["id"]]
    # Stored sealed, and the audit event names the host only (a path may hold a secret).
    stored = Webhook.objects.get(pk=hook["id"])
    assert secret.encode() not in bytes(stored.secret)
    [created] = events()
    assert (created.action, created.object_id) == ("webhook.created", hook["id"])
    assert created.details == {"host": "a.pipelines.example.org", "events": ["version.ready"]}


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"url": "http://hooks.lab.test/x"}, "url_not_https", "url"),
        ({"url": "https://evil.example.org/x"}, "host_not_in_allowlist", "url"),
        ({"url": "https://hooks.lab.test@127.0.0.1/"}, "url_not_allowed", "url"),
        ({"url": "https://127.0.0.1/"}, "host_not_in_allowlist", "url"),
        ({"url": "https://pipelines.example.org/"}, "host_not_in_allowlist", "url"),
        ({"url": "https://hooks.lab.test/", "events": ["version.deleted"]}, "invalid_choice",
         "events[0]"),
        ({"url": "https://hooks.lab.test/", "events": []}, "empty", "events"),
        ({"url": "https://hooks.lab.test/", "secret": "mine"}, "unknown_field", "secret"),
        ({}, "required", "url"),
    ],
)  # fmt: skip
def test_bad_registrations_are_refused_with_what_is_wrong(manager, project, dns, body, code, field):
    response = client_for(manager).post(
        f"/api/v1/projects/{project.pk}/webhooks/", body, format="json"
    )
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert (error["code"], error["details"]["field"]) == (code, field)
    assert not Webhook.objects.exists()


def test_with_no_allowlist_no_webhook_can_be_registered(manager, project, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    response = client_for(manager).post(
        f"/api/v1/projects/{project.pk}/webhooks/",
        {"url": "https://hooks.lab.test/"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "host_not_in_allowlist"


def test_a_manager_changes_and_deletes_a_webhook(manager, project, dns, receiver):
    webhook, _ = register(project, manager, hook_url(receiver))
    client = client_for(manager)
    url = f"/api/v1/projects/{project.pk}/webhooks/{webhook.pk}"
    changed = client.patch(
        url, {"url": "https://b.pipelines.example.org/new", "active": False}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert (changed.json()["url"], changed.json()["active"]) == (
        "https://b.pipelines.example.org/new",
        False,
    )
    refused = client.patch(url, {"url": "http://b.pipelines.example.org/"}, format="json")
    assert refused.json()["error"]["code"] == "url_not_https"
    empty = client.patch(url, {}, format="json")
    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "nothing_to_change")
    assert client.delete(url).status_code == 204
    assert client.get(url).status_code == 404
    actions = [(e.action, e.details) for e in events()]
    assert actions[1:] == [
        ("webhook.updated",
         {"changed": ["active", "url"], "active": False, "host": "b.pipelines.example.org"}),
        ("webhook.deleted", {"host": "b.pipelines.example.org"}),
    ]  # fmt: skip


def test_a_project_holds_a_bounded_number_of_webhooks(manager, project, dns, monkeypatch):
    monkeypatch.setattr(webhooks, "MAX_WEBHOOKS_PER_PROJECT", 2)
    for _ in range(2):
        register(project, manager, "https://hooks.lab.test/")
    response = client_for(manager).post(
        f"/api/v1/projects/{project.pk}/webhooks/",
        {"url": "https://hooks.lab.test/"},
        format="json",
    )
    assert (response.status_code, response.json()["error"]["code"]) == (409, "too_many_webhooks")


# --- Who may -------------------------------------------------------------------------------


def _export_token_client(manager, project):
    created = tokens.token_create(
        actor=Actor.system(user=manager),
        name="pipeline",
        scope=TokenScope.EXPORT,
        projects=[str(project.pk)],
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created.plaintext}")
    return client


@pytest.mark.parametrize("who", ["annotator", "viewer", "reviewer", "outsider", "export_token"])
def test_only_managers_and_admins_reach_webhooks(lab, dns, who):
    webhook, _ = register(lab.project, lab.manager, "https://hooks.lab.test/")
    if who == "export_token":
        client = _export_token_client(lab.manager, lab.project)
    else:
        client = client_for(getattr(lab, who))
    expected = 404 if who == "outsider" else 403
    base = f"/api/v1/projects/{lab.project.pk}/webhooks/"
    one = f"{base}{webhook.pk}"
    calls = [("get", base, None), ("post", base, {"url": "https://hooks.lab.test/"}),
             ("get", one, None), ("patch", one, {"active": False}), ("delete", one, None),
             ("get", f"{one}/deliveries", None), ("post", f"{one}/test", None),
             ("post", f"{one}/secret", None)]  # fmt: skip
    for method, url, body in calls:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == expected, (method, url, response.content)
        assert set(response.json()) == {"error"}
    webhook.refresh_from_db()
    assert webhook.active
    assert Webhook.objects.count() == 1
    assert not WebhookDelivery.objects.exists()


def test_a_webhook_of_another_project_is_not_found_through_ones_own(lab, dns):
    foreign, _ = register(lab.other_project, lab.outsider, "https://hooks.lab.test/")
    client = client_for(lab.manager)
    for suffix in ("", "/deliveries"):
        url = f"/api/v1/projects/{lab.project.pk}/webhooks/{foreign.pk}{suffix}"
        assert client.get(url).status_code == 404
    url = f"/api/v1/projects/{lab.project.pk}/webhooks/{foreign.pk}"
    assert client.delete(url).status_code == 404
    assert client.post(f"{url}/test").status_code == 404
    assert Webhook.objects.filter(pk=foreign.pk).exists()


# --- Notices ----------------------------------------------------------------------------------


def test_a_ready_version_is_announced_with_a_signed_notice(
    manager, project, dns, receiver, django_capture_on_commit_callbacks
):
    webhook, secret = register(project, manager, hook_url(receiver))
    register(project, manager, hook_url(receiver, "/inactive"), events=["version.ready"])
    Webhook.objects.filter(url__endswith="/inactive").update(active=False)
    version = make_version(project, number=3)
    [delivery] = mark_ready(version, django_capture_on_commit_callbacks)

    [received] = receiver.requests
    assert received.path == "/labelkeep?team=ml"
    assert verify(secret, received.headers, received.body)
    assert received.headers["X-Labelkeep-Event"] == "version.ready"
    assert received.headers["X-Labelkeep-Delivery"] == str(delivery.pk)
    notice = json.loads(received.body)
    delivery.refresh_from_db()
    assert notice == {
        "id": str(delivery.pk),
        "event": "version.ready",
        "created_at": delivery.created_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "project": {"id": str(project.pk)},
        "webhook": {"id": str(webhook.pk)},
        "version": {
            "id": str(version.pk),
            "number": 3,
            "name": "release-3",
            "format": "jsonl",
            "row_count": 1234,
            "sha256": "ab" * 32,
            "url": f"https://labelkeep.lab.test/api/v1/projects/{project.pk}/versions/{version.pk}",
        },
    }
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 1, 200)
    assert delivery.delivered_at is not None
    [event] = events("webhook.delivered")
    assert event.details == {
        "delivery": str(delivery.pk), "event": "version.ready", "version": str(version.pk),
        "attempt": 1, "status": 200, "error": "", "delivered": True, "final": True,
    }  # fmt: skip
    assert not verify("another-secret", received.headers, received.body)


def test_a_version_built_by_the_export_job_is_announced_once_it_succeeds(
    lab, dns, receiver, django_capture_on_commit_callbacks
):
    _, secret = register(lab.project, lab.manager, hook_url(receiver))
    make_texts(lab.project, 3)
    annotate_all(lab.project, [lab.annotator], lambda _n, _task: {"labels": ["Positive"]})
    with django_capture_on_commit_callbacks(execute=True):  # the job, then the notice
        response = client_for(lab.manager).post(
            f"/api/v1/projects/{lab.project.pk}/versions/", {"format": "jsonl"}, format="json"
        )
    assert response.status_code == 202, response.content
    version = DatasetVersion.objects.get(project=lab.project)
    assert version.state == "succeeded"
    [received] = receiver.requests
    assert verify(secret, received.headers, received.body)
    announced = json.loads(received.body)["version"]
    assert (announced["id"], announced["sha256"], announced["row_count"]) == (
        str(version.pk),
        version.sha256,
        version.row_count,
    )
    assert WebhookDelivery.objects.get().state == "delivered"


def test_a_notice_holds_no_content_and_no_names_of_people(
    manager, project, dns, receiver, django_capture_on_commit_callbacks
):
    register(project, manager, hook_url(receiver))
    mark_ready(make_version(project), django_capture_on_commit_callbacks)
    text = receiver.requests[0].body.decode()
    for private in (manager.email, project.created_by.email, project.name):
        assert private not in text


def test_failed_attempts_are_retried_with_backoff_under_the_same_id(
    manager, project, dns, receiver, django_capture_on_commit_callbacks
):
    statuses = iter([500, 503, 200])
    receiver.answer = lambda _r, _h: (next(statuses), {}, b"")
    _, secret = register(project, manager, hook_url(receiver))
    started = timezone.now()
    [delivery] = mark_ready(make_version(project), django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 1, 500)
    assert delivery.last_error == "http_status"
    wait = delivery.next_attempt_at - started
    assert timedelta(seconds=59) < wait < timedelta(seconds=65)
    # Not yet due: neither the beat job nor a stray message sends it again.
    assert webhook_tasks.webhooks_due.delay().get() == 0
    assert webhooks.deliver(delivery.pk) is None
    assert len(receiver.requests) == 1

    make_due(delivery)
    assert webhook_tasks.webhooks_due.delay().get() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("pending", 2, 503)
    wait = delivery.next_attempt_at - timezone.now()
    assert timedelta(minutes=4, seconds=55) < wait <= timedelta(minutes=5)
    make_due(delivery)
    webhook_tasks.webhooks_due.delay()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status) == ("delivered", 3, 200)

    ids = {r.headers["X-Labelkeep-Delivery"] for r in receiver.requests}
    bodies = {r.body for r in receiver.requests}
    assert ids == {str(delivery.pk)}  # the receiver dedupes by this id
    assert len(bodies) == 1
    assert all(verify(secret, r.headers, r.body) for r in receiver.requests)
    attempts = events()[1:]
    recorded = [(e.action, e.outcome, e.details["attempt"], e.details["status"]) for e in attempts]
    assert recorded == [
        ("webhook.failed", "failure", 1, 500),
        ("webhook.failed", "failure", 2, 503),
        ("webhook.delivered", "success", 3, 200),
    ]


def test_a_notice_fails_for_good_after_the_last_retry(
    manager, project, dns, receiver, django_capture_on_commit_callbacks
):
    receiver.answer = answer_with(500)
    register(project, manager, hook_url(receiver))
    [delivery] = mark_ready(make_version(project), django_capture_on_commit_callbacks)
    for _ in webhooks.RETRY_DELAYS:
        make_due(delivery)
        webhooks.deliver(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", len(webhooks.RETRY_DELAYS) + 1)
    make_due(delivery)
    assert webhooks.deliveries_due() == 0
    assert webhooks.deliver(delivery.pk) is None
    assert len(receiver.requests) == len(webhooks.RETRY_DELAYS) + 1
    finals = [e.details["final"] for e in events("webhook.failed")]
    assert finals == [False] * len(webhooks.RETRY_DELAYS) + [True]


def test_a_delivery_claimed_by_a_worker_that_died_is_sent_again_once_its_claim_runs_out(
    manager, project, dns, receiver
):
    register(project, manager, hook_url(receiver))
    with transaction.atomic():
        [delivery] = webhooks.version_ready(make_version(project))
    # A worker claimed it (as ``deliver`` does) and was killed before it settled the outcome.
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        attempts=1, next_attempt_at=now + webhooks.CLAIM
    )
    assert webhooks.deliveries_due() == 0  # held: no second worker sends it meanwhile
    make_due(delivery)  # the claim ran out
    assert webhooks.deliveries_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 2)
    assert receiver.requests[0].headers["X-Labelkeep-Delivery"] == str(delivery.pk)


def test_a_version_is_announced_once_per_webhook(manager, project, dns, receiver):
    register(project, manager, hook_url(receiver))
    version = make_version(project)
    with transaction.atomic():
        first = webhooks.version_ready(version)
        again = webhooks.version_ready(version)
    assert len(first) == 1
    assert again == []
    assert WebhookDelivery.objects.count() == 1


def test_a_redirect_to_loopback_fails_the_delivery_and_reaches_nothing(
    manager, project, dns, receiver, authority, tmp_path, django_capture_on_commit_callbacks
):
    inner = Receiver(authority.server_context(tmp_path, [HOOKS])).start()
    receiver.answer = answer_with(302, {"Location": f"https://127.0.0.1:{inner.port}/"})
    register(project, manager, hook_url(receiver))
    try:
        [delivery] = mark_ready(make_version(project), django_capture_on_commit_callbacks)
    finally:
        inner.stop()
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_status, delivery.last_error) == (
        "failed",
        None,
        "redirect_refused",
    )
    assert len(receiver.requests) == 1
    assert inner.connections == 0


@pytest.mark.parametrize(
    ("answers", "error"),
    [
        (["127.0.0.2"], "address_not_allowed"),  # loopback, but not the address opened
        (["169.254.169.254"], "address_not_allowed"),
        (["10.0.0.7"], "address_not_allowed"),
        (["::ffff:127.0.0.2"], "address_not_allowed"),
        (["127.0.0.1", "fd00:ec2::254"], "address_not_allowed"),
        (None, "dns_failed"),
    ],
)
def test_the_delivery_path_refuses_forbidden_addresses_and_tries_again_later(
    manager, project, dns, receiver, django_capture_on_commit_callbacks, answers, error
):
    register(project, manager, hook_url(receiver))
    if answers is None:
        del dns.answers[HOOKS]
    else:
        dns.answers[HOOKS] = [answers]
    [delivery] = mark_ready(make_version(project), django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == ("pending", error)
    assert receiver.connections == 0


@pytest.mark.parametrize(
    "spelling",
    ["127.0.0.1", "127.1", "2130706433", "0x7f000001", "0177.0.0.1", "[::ffff:127.0.0.1]",
     "localhost", "0.0.0.0", "[::1]", "169.254.169.254"],  # noqa: S104 -- to refuse, not bind
)  # fmt: skip
def test_the_delivery_path_refuses_every_spelling_of_loopback_through_the_system_resolver(
    manager, project, dns, receiver, settings, monkeypatch, django_capture_on_commit_callbacks,
    spelling,
):  # fmt: skip
    # Each spelling allowlisted as such, nothing opened, the system's own resolver: only the
    # answer can refuse it. The receiver listens on 127.0.0.1 at the URL's port.
    settings.WEBHOOK_ALLOWED_HOSTS = [spelling.strip("[]")]
    settings.WEBHOOK_PRIVATE_NETWORKS = []
    monkeypatch.setattr(outbound, "getaddrinfo", socket.getaddrinfo)
    webhook, _ = register(project, manager, f"https://{spelling}:{receiver.port}/hook")
    [delivery] = mark_ready(make_version(project), django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == ("pending", "address_not_allowed")
    ping = webhooks.webhook_test(actor=Actor.system(user=manager), webhook=webhook)
    assert (ping.state, ping.last_error) == ("failed", "address_not_allowed")
    assert receiver.connections == 0


def test_a_host_taken_off_the_allowlist_is_not_notified_again(
    manager, project, dns, receiver, settings, django_capture_on_commit_callbacks
):
    register(project, manager, hook_url(receiver))
    settings.WEBHOOK_ALLOWED_HOSTS = ["other.lab.test"]
    [delivery] = mark_ready(make_version(project), django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.last_error) == ("failed", "host_not_in_allowlist")
    assert receiver.connections == 0
    assert dns.calls == []


# --- Test, rotate, deliveries over the API -------------------------------------------------------


def test_a_manager_tests_a_webhook_and_rotates_its_secret(manager, project, dns, receiver):
    webhook, secret = register(project, manager, hook_url(receiver))
    client = client_for(manager)
    base = f"/api/v1/projects/{project.pk}/webhooks/{webhook.pk}"
    tested = client.post(f"{base}/test")
    assert tested.status_code == 200, tested.content
    outcome = tested.json()
    assert (outcome["state"], outcome["event"], outcome["last_status"]) == (
        "delivered",
        "ping",
        200,
    )
    [ping] = receiver.requests
    assert verify(secret, ping.headers, ping.body)
    assert json.loads(ping.body)["event"] == "ping"
    assert "version" not in json.loads(ping.body)

    rotated = client.post(f"{base}/secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != secret
    receiver.answer = answer_with(500)
    failed = client.post(f"{base}/test").json()
    assert (failed["state"], failed["last_status"], failed["last_error"]) == (
        "failed",
        500,
        "http_status",
    )
    second = receiver.requests[1]
    assert verify(new_secret, second.headers, second.body)
    assert not verify(secret, second.headers, second.body)

    listed = client.get(f"{base}/deliveries").json()["results"]
    assert [(d["id"], d["state"]) for d in listed] == [
        (failed["id"], "failed"),
        (outcome["id"], "delivered"),
    ]
    assert all(d["next_attempt_at"] is None for d in listed)
    recorded = [(e.action, e.outcome, e.details.get("delivered")) for e in events()]
    assert recorded == [
        ("webhook.created", "success", None),
        ("webhook.tested", "success", True),
        ("webhook.secret_rotated", "success", None),
        ("webhook.tested", "success", False),
    ]


def test_testing_a_webhook_whose_host_is_refused_answers_why(manager, project, dns, receiver):
    webhook, _ = register(project, manager, hook_url(receiver))
    dns.answers[HOOKS] = [["10.9.8.7"]]
    outcome = (
        client_for(manager).post(f"/api/v1/projects/{project.pk}/webhooks/{webhook.pk}/test").json()
    )
    assert (outcome["state"], outcome["last_error"]) == ("failed", "address_not_allowed")
    assert receiver.connections == 0


# --- Secrets stay secret ------------------------------------------------------------------------


def test_no_secret_url_path_or_notice_reaches_logs_or_audit_events(
    manager, project, dns, receiver, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    path = f"/hook/{uuid.uuid4().hex}"
    webhook, secret = register(project, manager, hook_url(receiver, path))
    rotated = webhooks.webhook_secret_rotate(actor=Actor.system(user=manager), webhook=webhook)
    receiver.answer = answer_with(500)
    mark_ready(make_version(project), django_capture_on_commit_callbacks)
    webhooks.webhook_test(actor=Actor.system(user=manager), webhook=webhook)
    received = receiver.requests[0]
    recorded = json.dumps([e.details for e in AuditEvent.objects.all()])
    for text in (caplog.text, recorded):
        for private in (secret, rotated.secret, path, received.headers["X-Labelkeep-Signature"]):
            assert private not in text
        assert received.body.decode() not in text
    assert "webhook delivery" in caplog.text  # the log does say what happened


def test_a_deleted_projects_pending_notice_is_dropped_without_a_request(
    manager, project, dns, receiver
):
    register(project, manager, hook_url(receiver))
    with transaction.atomic():
        [delivery] = webhooks.version_ready(make_version(project))
    type(project).objects.filter(pk=project.pk).update(deleted_at=timezone.now())
    delivered = webhooks.deliver(delivery.pk)
    assert delivered is not None
    assert (delivered.state, delivered.last_error) == (DeliveryState.FAILED, "project_deleted")
    assert receiver.connections == 0


# --- A worker killed mid-delivery ---------------------------------------------------------------

KILL_SETUP = """
import json
from django.db import transaction
from django.utils import timezone
from accounts.models import User
from audit.services import Actor
from datasets import webhooks
from datasets.models import DatasetVersion
from projects import services
admin = User.objects.create_user("kill@lab.test", "kill-password-123", is_staff=True)
actor = Actor.system(user=admin)
project = services.project_create(actor=actor, name="Kill", label_schema={
    "labels": [{"name": "a"}, {"name": "b"}]})
created = webhooks.webhook_create(actor=actor, project=project, url="%s")
version = DatasetVersion.objects.create(
    project=project, number=1, name="v1", format="jsonl", created_by=admin, state="succeeded",
    row_count=1, size=1, sha256="0" * 64, finished_at=timezone.now())
with transaction.atomic():
    [delivery] = webhooks.version_ready(version)
print(json.dumps({"delivery": str(delivery.pk), "secret": created.secret}))
"""


@pytest.mark.slow
def test_a_worker_killed_mid_delivery_is_covered_by_the_beat_job(authority, tmp_path):
    """A real worker sends the notice and is killed (SIGKILL) while the receiver holds the
    request; once the claim has run out, the beat job's run sends it again under the same id."""
    from tests.datasets.test_kill_safety import _KEPT, ROOT, Database, _worker

    held: list[int] = []
    release = threading.Event()

    def hold_the_first(_receiver, _handler):
        if not held:
            held.append(1)
            release.wait(60)
            return None
        return (200, {}, b"")

    # "localhost" resolves through the system resolver in the worker's process: no seam there.
    receiver = Receiver(authority.server_context(tmp_path, ["localhost"]), answer=hold_the_first)
    receiver.start()
    database = Database(tmp_path)
    env = {k: os.environ[k] for k in _KEPT if k in os.environ}
    env.update(
        LABELKEEP_VAR_DIR=str(tmp_path / "var"),
        PYTHONUNBUFFERED="1",
        LABELKEEP_WEBHOOK_ALLOWED_HOSTS="localhost",
        LABELKEEP_WEBHOOK_PRIVATE_NETWORKS="127.0.0.1/32,::1/128",
        LABELKEEP_WEBHOOK_CA_FILE=str(authority.ca_file),
        **database.env,
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = urlparse(os.environ["REDIS_URL"])._replace(path="/14").geturl()
        import redis

        redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    log = tmp_path / "worker.log"
    worker = None

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              check=True, capture_output=True, text=True)  # fmt: skip
        return done.stdout

    try:
        manage("migrate", "--noinput", "-v0")
        made = manage("shell", "-c", KILL_SETUP % f"https://localhost:{receiver.port}/hook")
        ids = json.loads(made.strip().splitlines()[-1])
        delivery_id = ids["delivery"] if database.url else ids["delivery"].replace("-", "")

        def row() -> tuple[str, int]:
            sql = "SELECT state, attempts FROM datasets_webhookdelivery WHERE id = ?"
            return tuple(database.query(sql, delivery_id)[0])

        worker = _worker(env, log)
        deadline = time.monotonic() + 60
        while not held:
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.05)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
        release.set()
        assert row() == ("pending", 1)  # claimed, never settled

        worker = _worker(env, log)
        manage("shell", "-c", BEAT_RUN)
        deadline = time.monotonic() + 60
        # The beat job runs in the new worker and finds nothing due: the notice is claimed.
        while not re.search(r"webhooks_due\[.*\] succeeded in .*: 0\n", log.read_text()):
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        assert row() == ("pending", 1), "a claimed notice must not be sent again before expiry"
        # The claim runs out (time passing), and the beat job runs again.
        database.query(
            "UPDATE datasets_webhookdelivery SET next_attempt_at = ? WHERE id = ? RETURNING id",
            "2000-01-01 00:00:00",
            delivery_id,
        )
        manage("shell", "-c", BEAT_RUN)
        deadline = time.monotonic() + 60
        while row()[0] == "pending":
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)
        assert row() == ("delivered", 2)
    finally:
        release.set()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        receiver.stop()
        database.drop()
    first, second = receiver.requests
    assert first.headers["X-Labelkeep-Delivery"] == second.headers["X-Labelkeep-Delivery"]
    assert json.loads(first.body)["id"] == json.loads(second.body)["id"] == ids["delivery"]
    assert verify(ids["secret"], second.headers, second.body)


# What celery beat sends every minute.
BEAT_RUN = "from datasets.webhook_tasks import webhooks_due; webhooks_due.delay()"
