import json
import uuid

from django.conf import settings as django_settings

from audit import checks
from audit.models import AuditEvent
from tests.conftest import client_for


def _denials():
    return list(AuditEvent.objects.filter(action="request.denied").order_by("seq"))


def test_an_anonymous_request_is_recorded_as_denied(api, db):
    response = api.get("/api/v1/me", HTTP_USER_AGENT="curl/8", REMOTE_ADDR="203.0.113.5")
    assert response.status_code == 401
    [event] = _denials()
    assert (event.outcome, event.actor_id, event.auth_method) == ("denied", None, "anonymous")
    assert (event.ip, event.user_agent) == ("203.0.113.5", "curl/8")
    assert event.request_id == response["X-Request-ID"]
    assert event.details == {
        "method": "GET",
        "route": "api/v1/me",
        "status": 401,
        "code": "not_authenticated",
    }


def test_a_bad_api_token_is_recorded_as_denied(api, db):
    response = api.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer lk_abcdefgh_nottherealsecret")
    assert response.status_code == 401
    [event] = _denials()
    assert event.details["code"] == response.json()["error"]["code"]


def test_an_outsider_probing_a_project_is_recorded_with_the_project(lab):
    url = f"/api/v1/projects/{lab.project.pk}"
    response = client_for(lab.outsider).get(url)
    assert response.status_code == 404
    [event] = _denials()
    assert (event.actor_id, event.project_id) == (lab.outsider.pk, lab.project.pk)
    assert (event.details["status"], event.details["code"]) == (404, "project_not_found")


def test_a_missing_project_is_recorded_like_a_hidden_one(lab):
    missing = uuid.uuid4()
    assert client_for(lab.annotator).get(f"/api/v1/projects/{missing}").status_code == 404
    [event] = _denials()
    assert event.project_id == missing


def test_a_member_without_the_role_is_recorded_as_denied(lab):
    url = f"/api/v1/projects/{lab.project.pk}"
    response = client_for(lab.viewer).patch(url, {"name": "Renamed"}, format="json")
    assert response.status_code == 403
    [event] = _denials()
    assert (event.actor_id, event.project_id) == (lab.viewer.pk, lab.project.pk)
    assert event.details["method"] == "PATCH"
    lab.project.refresh_from_db()
    assert lab.project.name != "Renamed"


def test_bad_input_is_not_a_denial(lab):
    url = f"/api/v1/projects/{lab.project.pk}"
    response = client_for(lab.manager).patch(url, {"overlap": 0}, format="json")
    assert response.status_code == 400
    assert _denials() == []


def test_an_allowed_request_records_no_denial(lab):
    assert client_for(lab.annotator).get(f"/api/v1/projects/{lab.project.pk}").status_code == 200
    assert _denials() == []


def test_a_secret_in_the_path_never_reaches_the_log(api, db):
    secret = "inv-" + uuid.uuid4().hex
    response = api.post(
        f"/api/v1/invitations/{secret}/accept",
        {"password": "a long enough passphrase 42"},
        format="json",
    )
    assert response.status_code in {401, 403, 404}
    [event] = _denials()
    assert event.details["route"] == "api/v1/invitations/<str:token>/accept"
    stored = json.dumps([str(getattr(event, f.attname)) for f in AuditEvent._meta.fields])
    assert secret not in stored


def test_request_wide_transactions_are_refused_by_a_system_check(monkeypatch):
    assert checks.atomic_requests_off() == []
    monkeypatch.setitem(django_settings.DATABASES["default"], "ATOMIC_REQUESTS", True)
    [error] = checks.atomic_requests_off()
    assert error.id == "audit.E001"
