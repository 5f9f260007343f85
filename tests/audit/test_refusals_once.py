"""One refused request, one event that says what was refused and why: never two, never none.

A known API token refused at authentication records ``token.refused`` (the token and the
reason) and nothing more; every other refusal (a malformed or unknown token, a missing right, an
anonymous 401 or 403, API or page) records one ``request.denied``. An anonymous visitor sent to
sign in is not refused and records nothing; nor does an anonymous 404 of a page.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import tokens as token_format
from accounts.models import ApiToken, TokenScope
from audit.models import AuditEvent
from tests.accounts.conftest import make_token

ME = "/api/v1/me"
TOKEN_REFUSED = ("token.refused", "denied")
DENIED = ("request.denied", "denied")


def _last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def _recorded(call: Callable[[], Any]) -> tuple[Any, list[AuditEvent]]:
    """The response of ``call()`` and every event it recorded, in order."""
    since = _last_seq()
    response = call()
    return response, list(AuditEvent.objects.filter(seq__gt=since).order_by("seq"))


def _actions(events: list[AuditEvent]) -> list[tuple[str, str]]:
    return [(e.action, e.outcome) for e in events]


def _bearer(plaintext: str) -> str:
    return f"Bearer {plaintext}"


def _token_call(plaintext: str) -> tuple[Any, list[AuditEvent]]:
    client = APIClient()
    return _recorded(
        lambda: client.get(
            ME,
            HTTP_USER_AGENT="pipeline/1",
            REMOTE_ADDR="198.51.100.7",
            HTTP_AUTHORIZATION=_bearer(plaintext),
        )
    )


def _revoke(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())


def _expire(token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))


def _deactivate_owner(token: ApiToken) -> None:
    token.user.is_active = False
    token.user.save(update_fields=["is_active"])


@pytest.mark.parametrize(
    ("spoil", "reason", "message"),
    [
        (_revoke, "revoked", "This API token has been revoked."),
        (_expire, "expired", "This API token has expired."),
        (_deactivate_owner, "owner_inactive", "The owner of this API token is deactivated."),
    ],
)
def test_a_refused_token_is_recorded_once_as_token_refused_with_its_reason(
    viewer, spoil, reason, message
):
    token, plaintext = make_token(viewer, expires_at=timezone.now() + timedelta(days=1))
    spoil(token)
    response, events = _token_call(plaintext)
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "authentication_failed",
        "message": message,
        "details": {},
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert _actions(events) == [TOKEN_REFUSED]
    [event] = events
    assert (event.actor_id, event.token_id, event.auth_method) == (viewer.pk, token.pk, "token")
    assert (event.ip, event.user_agent) == ("198.51.100.7", "pipeline/1")
    assert event.details == {"method": "GET", "route": ME, "reason": reason}


def test_a_known_prefix_with_a_wrong_secret_is_recorded_once_as_token_refused(viewer):
    token, _ = make_token(viewer)
    forged = token_format.TokenParts(token.prefix, "x" * 43).plaintext
    response, events = _token_call(forged)
    assert response.status_code == 401
    assert _actions(events) == [TOKEN_REFUSED]
    assert (events[0].token_id, events[0].details["reason"]) == (token.pk, "wrong_secret")


@pytest.mark.parametrize(
    "plaintext",
    ["lk_0123456789abcdef_no-such-secret", "not-a-token"],
    ids=["unknown", "malformed"],
)
def test_an_unknown_or_malformed_token_is_recorded_once_as_denied(db, plaintext):
    # No row to name: the API's recorder says it, as for any anonymous 401.
    response, events = _token_call(plaintext)
    assert response.status_code == 401
    assert _actions(events) == [DENIED]
    [event] = events
    assert (event.actor_id, event.token_id, event.auth_method) == (None, None, "anonymous")
    assert (event.ip, event.user_agent) == ("198.51.100.7", "pipeline/1")
    assert event.details == {
        "method": "GET",
        "route": "api/v1/me",
        "status": 401,
        "code": "authentication_failed",
    }


def test_a_token_refused_for_its_scope_records_its_use_and_one_denial(lab):
    # Authentication accepted the token (token.used); the refusal comes later, from the gate.
    _, plaintext = make_token(lab.manager, TokenScope.EXPORT, [lab.project.pk])
    client = APIClient()
    response, events = _recorded(
        lambda: client.get("/api/v1/tokens/", HTTP_AUTHORIZATION=_bearer(plaintext))
    )
    assert response.status_code == 403
    assert _actions(events) == [("token.used", "success"), DENIED]


def test_a_session_without_the_permission_is_recorded_once_on_the_api_and_on_the_page(lab):
    client = APIClient()
    client.force_login(lab.viewer)
    members = f"/api/v1/projects/{lab.project.pk}/members/"
    response, on_api = _recorded(lambda: client.get(members))
    assert response.status_code == 403
    assert _actions(on_api) == [DENIED]
    assert (on_api[0].actor_id, on_api[0].auth_method) == (lab.viewer.pk, "session")
    page = f"/projects/{lab.project.pk}/members/{lab.annotator.pk}/role"
    response, on_page = _recorded(lambda: client.post(page, {"role": "reviewer"}))
    assert response.status_code == 403
    assert _actions(on_page) == [DENIED]
    assert on_page[0].details["code"] == on_api[0].details["code"]


@pytest.mark.parametrize(
    ("method", "url", "status", "code"),
    [
        ("GET", ME, 401, "not_authenticated"),
        ("GET", "/api/v1/tokens/", 401, "not_authenticated"),
        ("POST", "/api/v1/projects/", 401, "not_authenticated"),
    ],
)
def test_an_anonymous_api_call_is_recorded_once_with_address_and_user_agent(
    db, method, url, status, code
):
    client = APIClient()
    response, events = _recorded(
        lambda: client.generic(method, url, HTTP_USER_AGENT="curl/8", REMOTE_ADDR="203.0.113.5")
    )
    assert response.status_code == status
    assert _actions(events) == [DENIED]
    [event] = events
    assert (event.actor_id, event.auth_method) == (None, "anonymous")
    assert (event.ip, event.user_agent) == ("203.0.113.5", "curl/8")
    assert (event.details["status"], event.details["code"]) == (status, code)


def test_an_anonymous_page_refused_with_403_is_recorded_once(db):
    # A form posted without its CSRF token: the page refuses the anonymous visitor with 403.
    browser = Client(enforce_csrf_checks=True)
    login = reverse("accounts:login")
    response, events = _recorded(
        lambda: browser.post(
            login,
            {"email": "someone@lab.test", "password": "whatever"},
            HTTP_USER_AGENT="bot/2",
            REMOTE_ADDR="203.0.113.9",
        )
    )
    assert response.status_code == 403
    assert _actions(events) == [DENIED]
    [event] = events
    assert (event.actor_id, event.auth_method) == (None, "anonymous")
    assert (event.ip, event.user_agent) == ("203.0.113.9", "bot/2")
    assert event.details == {
        "method": "POST",
        "route": login.lstrip("/"),
        "status": 403,
        "code": "permission_denied",
    }


def test_an_anonymous_page_sent_to_sign_in_records_nothing(lab):
    # The normal way in, not a refusal: recording it would fill the log with every expired
    # session's first click.
    browser = Client()
    project = f"/projects/{lab.project.pk}"
    for url in [f"{project}/", "/projects/", f"{project}/members"]:
        response, events = _recorded(partial(browser.get, url))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))
        assert events == []


def test_an_anonymous_page_s_404_records_nothing(db):
    # A dead or mistyped invitation link: the page says it is not valid, and that is all.
    response, events = _recorded(lambda: Client().get("/invitations/no-such-invitation/"))
    assert response.status_code == 404
    assert events == []


def test_a_signed_in_user_s_page_404_is_still_recorded_once(lab):
    browser = Client()
    browser.force_login(lab.outsider)
    response, events = _recorded(lambda: browser.get(f"/projects/{lab.project.pk}/"))
    assert response.status_code == 404
    assert _actions(events) == [DENIED]
