from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import tokens as token_format
from accounts.models import ApiToken, TokenScope
from audit.models import AuditEvent
from tests.accounts.conftest import bearer, make_token, reload

ME = "/api/v1/me"


def _error(response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["message"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("Bearer nonsense", "Malformed API token."),
        ("Bearer lk_0123456789abcdef_secret", "Invalid API token."),
    ],
)
def test_malformed_or_unknown_tokens_get_401(api, header, message):
    response = api.get(ME, HTTP_AUTHORIZATION=header)
    assert _error(response) == (401, message)
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_a_token_with_the_wrong_secret_is_refused_and_audited(api, viewer):
    token, _ = make_token(viewer)
    forged = token_format.TokenParts(token.prefix, "x" * 43).plaintext
    assert _error(api.get(ME, **bearer(forged))) == (401, "Invalid API token.")
    event = AuditEvent.objects.get(action="token.refused")
    assert event.token_id == token.pk
    assert event.details == {"method": "GET", "route": ME, "reason": "wrong_secret"}


def test_revoked_token_fails_at_once(api, viewer):
    token, plaintext = make_token(viewer)
    assert api.get(ME, **bearer(plaintext)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    assert _error(api.get(ME, **bearer(plaintext))) == (401, "This API token has been revoked.")


def test_expired_token_fails_at_once(api, viewer):
    token, plaintext = make_token(viewer, expires_at=timezone.now() + timedelta(days=1))
    assert api.get(ME, **bearer(plaintext)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get(ME, **bearer(plaintext))
    assert _error(response) == (401, "This API token has expired.")
    assert response.json()["error"]["code"] == "authentication_failed"
    assert AuditEvent.objects.get(action="token.refused").details["reason"] == "expired"


def test_token_of_a_deactivated_user_fails(api, viewer):
    _, plaintext = make_token(viewer)
    viewer.is_active = False
    viewer.save()
    assert _error(api.get(ME, **bearer(plaintext))) == (
        401,
        "The owner of this API token is deactivated.",
    )


def test_each_use_is_audited_with_method_and_route_but_not_the_query_string(api, viewer):
    token, plaintext = make_token(viewer)
    api.get(f"{ME}?secret-filter=1", **bearer(plaintext))
    api.patch(ME, {"full_name": "V"}, format="json", **bearer(plaintext))
    used = AuditEvent.objects.filter(action="token.used")
    assert [e.details for e in used] == [
        {"method": "GET", "route": ME},
        {"method": "PATCH", "route": ME},
    ]
    assert {(e.actor_id, e.token_id, e.auth_method) for e in used} == {
        (viewer.pk, token.pk, "token")
    }
    assert "secret-filter" not in str(list(used.values()))


def _queries_of(call) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        call()
    return [q["sql"] for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]


def test_token_use_costs_one_audit_event_and_refreshes_last_used_at_once_a_minute(api, viewer):
    token, plaintext = make_token(viewer)
    before = AuditEvent.objects.count()
    first = _queries_of(lambda: api.get(ME, **bearer(plaintext)))
    first_use = reload(token).last_used_at
    assert first_use is not None
    second = _queries_of(lambda: api.get(ME, **bearer(plaintext)))
    assert reload(token).last_used_at == first_use
    assert AuditEvent.objects.count() == before + 2
    # Outside the audit log: look the token up, and refresh last_used_at the first time only.
    assert len([q for q in first if "audit_" not in q]) == 2
    assert len([q for q in second if "audit_" not in q]) == 1
    assert len(first) - len(second) == 1


def test_secret_is_stored_only_as_its_sha256(viewer):
    token, plaintext = make_token(viewer, TokenScope.FULL)
    parts = token_format.parse(plaintext)
    assert parts is not None
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert row["prefix"] == parts.prefix
    assert row["secret_hash"] == token_format.hash_secret(parts.secret)
    assert all(parts.secret not in str(value) for value in row.values())


def test_a_secret_in_the_path_never_reaches_the_audit_log(api, viewer):
    _, plaintext = make_token(viewer)
    secret_path_part = "invitation-secret-0123456789"
    api.post(
        f"/api/v1/invitations/{secret_path_part}/accept", {}, format="json", **bearer(plaintext)
    )
    used = AuditEvent.objects.get(action="token.used")
    assert used.details == {"method": "POST", "route": "/api/v1/invitations/<str:token>/accept"}
    assert secret_path_part not in str(list(AuditEvent.objects.values()))
