import json
import uuid

from django.conf import settings as django_settings
from django.test import Client

from audit import checks
from audit.models import AuditEvent
from tests.conftest import client_for
from tests.factories import password_of


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


def _browser(user=None) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_a_page_refusing_an_outsider_is_recorded_like_the_api_refusal(lab):
    page = _browser(lab.outsider).get(f"/projects/{lab.project.pk}/")
    api = client_for(lab.outsider).get(f"/api/v1/projects/{lab.project.pk}")
    assert (page.status_code, api.status_code) == (404, 404)
    on_page, on_api = _denials()
    assert (on_page.actor_id, on_page.project_id) == (lab.outsider.pk, lab.project.pk)
    assert (on_page.auth_method, on_page.request_id) == ("session", page["X-Request-ID"])
    assert on_page.details == {
        "method": "GET",
        "route": "projects/<uuid:project_id>/",
        "status": 404,
        "code": "project_not_found",
    }
    assert on_page.details["code"] == on_api.details["code"]


def test_a_page_refusing_a_member_without_the_role_names_the_object_and_the_gate_s_code(lab):
    url = f"/projects/{lab.project.pk}/members/{lab.annotator.pk}/role"
    response = _browser(lab.viewer).post(url, {"role": "reviewer"})
    assert response.status_code == 403
    [event] = _denials()
    assert (event.project_id, event.object_type, event.object_id) == (
        lab.project.pk,
        "user",
        str(lab.annotator.pk),
    )
    api = client_for(lab.viewer).get(f"/api/v1/projects/{lab.project.pk}/members/")
    assert api.status_code == 403
    assert event.details["code"] == api.json()["error"]["code"]
    assert (event.details["method"], event.details["status"]) == ("POST", 403)


def test_a_missing_object_behind_a_page_is_recorded(lab):
    missing = uuid.uuid4()
    url = f"/projects/{lab.project.pk}/tasks/{missing}"
    assert _browser(lab.manager).get(url).status_code == 404
    [event] = _denials()
    assert (event.object_type, event.object_id) == ("task", str(missing))
    assert event.details["code"] == "task_not_found"


def test_an_api_refusal_is_recorded_once_and_a_path_to_nothing_not_at_all(lab):
    assert (
        client_for(lab.viewer).get(f"/api/v1/projects/{lab.project.pk}/members/").status_code == 403
    )
    assert len(_denials()) == 1
    assert _browser(lab.viewer).get("/no-such-page/").status_code == 404
    assert _browser(lab.viewer).get("/api/v1/no-such-endpoint").status_code == 404
    assert len(_denials()) == 1


def test_the_anonymous_refused_by_a_page_are_sent_to_sign_in_without_a_record(lab):
    response = _browser().get(f"/projects/{lab.project.pk}/")
    assert response.status_code == 302
    assert _browser().get("/invitations/no-such-invitation/").status_code == 404
    assert _denials() == []


def test_a_deletion_refused_for_a_wrong_password_is_one_denial(lab):
    url = f"/api/v1/projects/{lab.project.pk}"
    response = client_for(lab.admin).delete(url, {"password": "not the password"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "reauthentication_failed"
    denied = AuditEvent.objects.filter(outcome="denied")
    assert [(e.action, e.details) for e in denied] == [
        ("project.deleted", {"reason": "reauthentication_failed"})
    ]


def test_a_deletion_refused_to_a_non_administrator_is_still_recorded_as_denied(lab):
    url = f"/api/v1/projects/{lab.project.pk}"
    body = {"password": password_of(lab.manager)}
    response = client_for(lab.manager).delete(url, body, format="json")
    assert response.status_code == 403
    [event] = AuditEvent.objects.filter(outcome="denied")
    assert (event.action, event.details["code"]) == (
        "request.denied",
        response.json()["error"]["code"],
    )
