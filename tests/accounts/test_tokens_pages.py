import re

import pytest
from django.test import Client

from accounts.models import ApiToken, TokenScope
from audit.models import AuditEvent
from tests.accounts.conftest import csrf_post, make_token, reload

PAGE = "/account/tokens/"


@pytest.fixture
def manager_browser(manager) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    return client


def _create(client: Client, **data):
    return csrf_post(client, PAGE, {"name": "nightly", "expires_in": "30", **data})


@pytest.mark.django_db
def test_tokens_page_needs_sign_in():
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"] == f"/account/login/?next={PAGE}"


def test_create_form_offers_only_exportable_projects_behind_the_export_choice(lab, manager_browser):
    page = manager_browser.get(PAGE).content.decode()
    assert '<fieldset data-shown-when="scope=export">' in page
    assert 'type="radio" name="scope" value="export"' in page
    assert f'value="{lab.project.pk}"' in page
    assert f'value="{lab.other_project.pk}"' not in page
    viewer = Client()
    viewer.force_login(lab.viewer)
    assert "You may not export any project" in viewer.get(PAGE).content.decode()


def test_created_token_is_shown_once_with_a_copy_button(project, manager, manager_browser):
    response = _create(manager_browser, scope="export", projects=[str(project.pk)])
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    page = response.content.decode()
    shown = re.search(r'<code id="new-token" class="secret">(lk_[^<]+)</code>', page)
    assert shown
    assert '<button type="button" data-copy="new-token">Copy</button>' in page
    token = ApiToken.objects.get(user=manager)
    assert token.scope == TokenScope.EXPORT
    assert token.expires_at is not None
    assert shown.group(1).startswith(f"lk_{token.prefix}_")
    again = manager_browser.get(PAGE).content.decode()
    assert shown.group(1) not in again
    assert f"lk_{token.prefix}_…" in again
    assert AuditEvent.objects.filter(action="token.created").count() == 1


def test_full_scope_ignores_ticked_projects_of_the_hidden_list(project, manager, manager_browser):
    _create(manager_browser, scope="full", projects=[str(project.pk)], expires_in="never")
    token = ApiToken.objects.get(user=manager)
    assert token.scope == TokenScope.FULL
    assert token.expires_at is None
    assert not token.project_scopes.exists()


def test_export_token_without_projects_gets_a_precise_error(manager, manager_browser):
    response = _create(manager_browser, scope="export")
    assert "An export-scoped token needs at least one project." in response.content.decode()
    assert not ApiToken.objects.exists()


def test_creating_without_csrf_token_is_refused(manager, manager_browser):
    response = manager_browser.post(PAGE, {"name": "x", "scope": "full", "expires_in": "7"})
    assert response.status_code == 403
    assert not ApiToken.objects.exists()


def test_revoke_asks_for_confirmation_and_revokes(manager, manager_browser):
    token, _ = make_token(manager, name="old pipeline")
    page = manager_browser.get(PAGE).content.decode()
    assert f'action="/account/tokens/{token.pk}/revoke"' in page
    assert 'data-confirm="Revoke the token “old pipeline”?' in page
    response = csrf_post(manager_browser, f"/account/tokens/{token.pk}/revoke", {}, page=PAGE)
    assert response.status_code == 302
    assert reload(token).revoked_at is not None
    listed = manager_browser.get(PAGE).content.decode()
    assert "The token “old pipeline” is revoked" in listed
    assert "Revoked</span>" in listed


def test_revoking_another_users_token_is_not_found(lab, manager_browser):
    token, _ = make_token(lab.viewer)
    response = csrf_post(manager_browser, f"/account/tokens/{token.pk}/revoke", {}, page=PAGE)
    assert response.status_code == 404
    assert reload(token).revoked_at is None
