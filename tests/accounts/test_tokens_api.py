from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken, TokenScope
from audit.models import AuditEvent
from projects.models import TokenProjectScope
from tests.accounts.conftest import bearer, make_token, reload
from tests.conftest import client_for
from tests.factories import make_user

TOKENS = "/api/v1/tokens/"


def _detail(token) -> str:
    return f"/api/v1/tokens/{token.pk}"


def _field(response) -> str:
    assert response.status_code == 400, response.content
    return response.json()["error"]["details"].get("field", "")


@pytest.mark.django_db
def test_tokens_need_authentication(api):
    assert api.get(TOKENS).status_code == 401
    assert api.post(TOKENS, {"name": "x", "scope": "full"}, format="json").status_code == 401


def test_person_creates_a_full_token_and_sees_its_plaintext_once(api, viewer):
    client = client_for(viewer)
    response = client.post(TOKENS, {"name": "laptop", "scope": "full"}, format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["token"].startswith(f"lk_{body['prefix']}_")
    assert body["scope"] == "full"
    assert body["state"] == "active"
    assert body["projects"] == []
    assert body["expires_at"] is None
    listed = client.get(TOKENS).json()["results"]
    assert [t["id"] for t in listed] == [body["id"]]
    assert "token" not in listed[0]
    assert "secret_hash" not in listed[0]
    assert "token" not in client.get(f"{TOKENS}{body['id']}").json()
    assert api.get("/api/v1/me", **bearer(body["token"])).json()["email"] == viewer.email


def test_manager_creates_an_export_token_for_their_project_with_an_expiry(manager, project):
    expires = (timezone.now() + timedelta(days=30)).isoformat()
    response = client_for(manager).post(
        TOKENS,
        {
            "name": "nightly",
            "scope": "export",
            "projects": [str(project.pk)],
            "expires_at": expires,
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["projects"] == [str(project.pk)]
    token = ApiToken.objects.get(pk=body["id"])
    assert token.expires_at is not None
    assert list(
        TokenProjectScope.objects.filter(token=token).values_list("project", flat=True)
    ) == [project.pk]
    event = AuditEvent.objects.get(action="token.created")
    assert event.actor_id == manager.pk
    assert event.object_id == body["id"]
    assert event.details["scope"] == "export"
    assert event.details["projects"] == [str(project.pk)]
    assert body["token"] not in str(event.details)


def test_list_shows_last_use_and_revoked_and_expired_states(api, viewer):
    _, plaintext = make_token(viewer, name="used")
    revoked, _ = make_token(viewer, name="revoked")
    expired, _ = make_token(viewer, name="expired")
    api.get("/api/v1/me", **bearer(plaintext))
    ApiToken.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    rows = {t["name"]: t for t in client_for(viewer).get(TOKENS).json()["results"]}
    assert rows["used"]["last_used_at"] is not None
    assert {name: row["state"] for name, row in rows.items()} == {
        "used": "active",
        "revoked": "revoked",
        "expired": "expired",
    }


def test_listing_tokens_costs_the_same_queries_for_few_and_many(
    manager, project, django_assert_num_queries
):
    client = client_for(manager)
    make_token(manager, TokenScope.EXPORT, [project.pk])
    with django_assert_num_queries(2):  # tokens, their projects
        assert len(client.get(TOKENS).json()["results"]) == 1
    for _ in range(5):
        make_token(manager, TokenScope.EXPORT, [project.pk])
    with django_assert_num_queries(2):
        assert len(client.get(TOKENS).json()["results"]) == 6


def test_only_the_owner_sees_or_revokes_a_token(lab):
    token, _ = make_token(lab.viewer)
    for user in [lab.admin, lab.outsider, lab.manager]:
        client = client_for(user)
        assert client.get(TOKENS).json()["results"] == []
        for response in [client.get(_detail(token)), client.delete(_detail(token))]:
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "token_not_found"
    assert reload(token).revoked_at is None


def test_unknown_or_malformed_token_ids_are_not_found(viewer):
    client = client_for(viewer)
    for token_id in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"]:
        response = client.get(f"/api/v1/tokens/{token_id}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "token_not_found"


def test_revoking_keeps_the_row_stops_the_token_and_is_audited_once(api, viewer):
    token, plaintext = make_token(viewer)
    client = client_for(viewer)
    assert client.delete(_detail(token)).status_code == 204
    assert client.delete(_detail(token)).status_code == 204
    assert client.get(_detail(token)).json()["state"] == "revoked"
    assert reload(token).revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked", object_id=str(token.pk)).count() == 1
    response = api.get("/api/v1/me", **bearer(plaintext))
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API token has been revoked."


def test_a_full_token_may_revoke_itself(api, viewer):
    token, plaintext = make_token(viewer)
    assert api.delete(_detail(token), **bearer(plaintext)).status_code == 204
    assert api.get(TOKENS, **bearer(plaintext)).status_code == 401


def test_export_token_cannot_manage_tokens(api, manager, project):
    _, plaintext = make_token(manager, TokenScope.EXPORT, [project.pk])
    full, _ = make_token(manager)
    calls = [
        api.get(TOKENS, **bearer(plaintext)),
        api.post(TOKENS, {"name": "x", "scope": "full"}, format="json", **bearer(plaintext)),
        api.get(_detail(full), **bearer(plaintext)),
        api.delete(_detail(full), **bearer(plaintext)),
    ]
    assert [c.status_code for c in calls] == [403, 403, 403, 403]
    assert ApiToken.objects.filter(user=manager).count() == 2
    assert reload(full).revoked_at is None


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": "x", "scope": "full", "colour": "red"}, "colour"),
        ({"name": "x", "scope": "admin"}, "scope"),
        ({"scope": "full"}, "name"),
        ({"name": "   ", "scope": "full"}, "name"),
        ({"name": "x", "scope": "full", "projects": []}, "projects"),
        ({"name": "x", "scope": "export"}, "projects"),
        ({"name": "x", "scope": "export", "projects": []}, "projects"),
        ({"name": "x", "scope": "export", "projects": ["no-such-project"]}, "projects[0]"),
        ({"name": "x", "scope": "full", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"name": "x", "scope": "full", "expires_at": "next tuesday"}, "expires_at"),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_creates_nothing(manager, payload, field):
    response = client_for(manager).post(TOKENS, payload, format="json")
    assert _field(response) == field
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(action="token.created").exists()


def test_full_token_naming_projects_is_refused(manager, project):
    payload = {"name": "x", "scope": "full", "projects": [str(project.pk)]}
    response = client_for(manager).post(TOKENS, payload, format="json")
    assert _field(response) == "projects"
    assert response.json()["error"]["code"] == "projects_not_allowed"


def test_export_token_for_a_project_the_user_cannot_export_is_refused(lab):
    # An annotator sees the project but may not export it; the outsider does not see it.
    for user, code in [(lab.annotator, "cannot_export"), (lab.outsider, "project_not_found")]:
        payload = {"name": "x", "scope": "export", "projects": [str(lab.project.pk)]}
        response = client_for(user).post(TOKENS, payload, format="json")
        assert _field(response) == "projects[0]"
        assert response.json()["error"]["code"] == code
    assert not ApiToken.objects.exists()


def test_the_bad_project_in_a_list_is_named_by_its_index(lab):
    payload = {
        "name": "x",
        "scope": "export",
        "projects": [str(lab.other_project.pk), str(lab.project.pk)],
    }
    response = client_for(lab.outsider).post(TOKENS, payload, format="json")
    assert _field(response) == "projects[1]"
    payload["projects"] = [str(lab.other_project.pk)] * 2
    response = client_for(lab.outsider).post(TOKENS, payload, format="json")
    assert _field(response) == "projects[1]"
    assert response.json()["error"]["code"] == "duplicate"


def test_malformed_json_is_a_clear_400(viewer):
    response = client_for(viewer).post(
        TOKENS, '{"name": "x", "scope": ', content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_request"
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_a_deactivated_user_cannot_list_tokens():
    user = make_user(is_active=False)
    assert client_for(user).get(TOKENS).status_code in {401, 403}
