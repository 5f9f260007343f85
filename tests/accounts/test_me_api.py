import pytest

from accounts.models import TokenScope
from audit.models import AuditEvent
from tests.accounts.conftest import bearer, make_token
from tests.conftest import client_for

ME = "/api/v1/me"


@pytest.mark.django_db
def test_me_needs_authentication(api):
    response = api.get(ME)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_me_describes_a_session_user(admin):
    body = client_for(admin).get(ME).json()
    assert body == {
        "id": str(admin.pk),
        "email": "admin@lab.test",
        "full_name": "",
        "is_admin": True,
        "auth_method": "session",
        "token": None,
    }


def test_me_describes_the_token_in_use(api, manager, project):
    token, plaintext = make_token(manager, TokenScope.EXPORT, [project.pk])
    body = api.get(ME, **bearer(plaintext)).json()
    assert body["id"] == str(manager.pk)
    assert body["is_admin"] is False
    assert body["auth_method"] == "token"
    assert body["token"] == {
        "id": str(token.pk),
        "name": "pipeline",
        "scope": "export",
        "expires_at": None,
    }


def test_person_changes_their_display_name_and_it_is_audited(viewer):
    response = client_for(viewer).patch(ME, {"full_name": "  Vera Viewer "}, format="json")
    assert response.status_code == 200
    assert response.json()["full_name"] == "Vera Viewer"
    viewer.refresh_from_db()
    assert viewer.full_name == "Vera Viewer"
    event = AuditEvent.objects.get(action="user.updated")
    assert event.actor_id == viewer.pk
    assert event.details == {"fields": ["full_name"]}


def test_me_patch_rejects_unknown_fields_and_changes_nothing(viewer):
    response = client_for(viewer).patch(ME, {"is_admin": True}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "is_admin"
    viewer.refresh_from_db()
    assert viewer.is_staff is False


def test_export_token_cannot_change_the_profile(api, manager, project):
    _, plaintext = make_token(manager, TokenScope.EXPORT, [project.pk])
    response = api.patch(ME, {"full_name": "X"}, format="json", **bearer(plaintext))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
