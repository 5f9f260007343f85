import re

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import reverse

from accounts.models import User
from audit.models import AuditEvent
from audit.services import Actor
from projects import invitations
from projects.models import Role
from tests.accounts.conftest import csrf_post, sign_in
from tests.factories import make_user, password_of, strong_password

LOGIN = "/account/login/"
FAILED = "Incorrect email or password."


def _normalized(body: bytes, *emails: str) -> str:
    # What may differ between two failed attempts: the CSRF token and the echoed address.
    text = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", body.decode())
    for email in emails:
        text = text.replace(email, "EMAIL")
    return text


def test_login_url_is_the_one_pages_redirect_to():
    assert reverse("accounts:login") == LOGIN == resolve_url(settings.LOGIN_URL)


@pytest.mark.django_db
def test_login_page_has_labelled_email_and_password_fields(browser):
    page = browser.get(LOGIN).content.decode()
    assert '<label for="id_email">' in page
    assert '<label for="id_password">' in page
    assert 'autocomplete="current-password"' in page
    assert 'name="csrfmiddlewaretoken"' in page


@pytest.mark.django_db
def test_person_signs_in_with_email_and_password_and_it_is_audited(browser):
    user = make_user(email="ada@lab.test")
    response = sign_in(browser, "  Ada@Lab.test ", password_of(user))
    assert response.status_code == 302
    assert response.url == resolve_url(settings.LOGIN_REDIRECT_URL)
    assert browser.session["_auth_user_id"] == str(user.pk)
    event = AuditEvent.objects.get(action="login.succeeded")
    assert event.actor_id == user.pk
    assert event.outcome == "success"
    assert event.ip == "127.0.0.1"


@pytest.mark.django_db
def test_login_without_csrf_token_is_refused(browser):
    user = make_user()
    response = browser.post(LOGIN, {"email": user.email, "password": password_of(user)})
    assert response.status_code == 403
    assert "_auth_user_id" not in browser.session


@pytest.mark.django_db
def test_wrong_password_is_refused_with_a_message_and_audited_without_the_password(browser):
    user = make_user(email="ada@lab.test")
    response = sign_in(browser, user.email, "not-the-password-123")
    assert response.status_code == 200
    assert FAILED in response.content.decode()
    assert "_auth_user_id" not in browser.session
    event = AuditEvent.objects.get(action="login.failed")
    assert event.outcome == "failure"
    assert event.details == {"email": "ada@lab.test"}
    assert "not-the-password-123" not in str(AuditEvent.objects.values())


@pytest.mark.django_db
def test_unknown_email_and_wrong_password_get_the_same_answer(browser):
    make_user(email="known@lab.test")
    known = sign_in(browser, "known@lab.test", "wrong-password-123")
    unknown = sign_in(browser, "nobody@lab.test", "wrong-password-123")
    assert known.status_code == unknown.status_code == 200
    assert _normalized(known.content, "known@lab.test") == _normalized(
        unknown.content, "nobody@lab.test"
    )


@pytest.mark.django_db
def test_password_hasher_runs_for_unknown_emails_as_for_known_ones(counting_hasher):
    from accounts import services
    from audit.services import Actor

    make_user(email="known@lab.test")
    counting_hasher.encodings = 0
    for email in ["known@lab.test", "nobody@lab.test"]:
        with pytest.raises(services.LoginFailed):
            services.login_attempt(actor=Actor(ip="10.0.0.1"), email=email, password="nope-1234")
    # One hash computation each: the known address verifies, the unknown one hashes a dummy.
    assert counting_hasher.encodings == 2


@pytest.mark.django_db
def test_deactivated_user_is_refused_like_a_wrong_password(browser):
    user = make_user(email="gone@lab.test", is_active=False)
    response = sign_in(browser, user.email, password_of(user))
    assert FAILED in response.content.decode()
    assert "_auth_user_id" not in browser.session


@pytest.mark.django_db
def test_invalid_email_is_named_on_its_field(browser):
    response = sign_in(browser, "not-an-email", "whatever-1234")
    assert "Enter a valid email address." in response.content.decode()
    assert 'aria-invalid="true"' in response.content.decode()
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_login_follows_a_local_next_but_never_an_external_one(browser):
    user = make_user()
    client_data = {"email": user.email, "password": password_of(user)}
    response = csrf_post(browser, LOGIN, {**client_data, "next": "/account/tokens/"})
    assert response.url == "/account/tokens/"
    browser.logout()
    response = csrf_post(browser, LOGIN, {**client_data, "next": "https://evil.example/"})
    assert response.url == resolve_url(settings.LOGIN_REDIRECT_URL)


@pytest.mark.django_db
def test_logout_needs_post_ends_the_session_and_is_audited(browser):
    user = make_user()
    sign_in(browser, user.email, password_of(user))
    assert browser.get("/account/logout/").status_code == 405
    assert browser.post("/account/logout/").status_code == 403  # no CSRF token
    token = browser.cookies["csrftoken"].value
    response = browser.post("/account/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response.url == LOGIN
    assert "_auth_user_id" not in browser.session
    event = AuditEvent.objects.get(action="logout")
    assert event.actor_id == user.pk


def _invitation(by, email: str = "newcomer@lab.test") -> str:
    _invitation, token = invitations.invitation_create(
        actor=Actor.system(user=by), email=email, project=None, role=None
    )
    return token


def test_accepting_an_invitation_signs_the_newcomer_in_and_is_audited_like_a_sign_in(
    browser, admin
):
    password = strong_password()
    form = {"full_name": "New Comer", "password": password, "password_again": password}
    response = csrf_post(browser, f"/invitations/{_invitation(admin)}/", form)
    assert response.status_code == 302
    user = User.objects.get(email="newcomer@lab.test")
    assert browser.session["_auth_user_id"] == str(user.pk)
    event = AuditEvent.objects.get(action="login.succeeded")
    assert (event.actor_id, event.auth_method, event.outcome) == (user.pk, "session", "success")
    assert (event.object_type, event.object_id) == ("user", str(user.pk))
    assert (event.ip, event.details) == ("127.0.0.1", {"via": "invitation"})
    accepted = AuditEvent.objects.get(action="invitation.accepted")
    assert accepted.seq < event.seq


def test_accepting_an_invitation_over_the_api_signs_nobody_in_and_records_no_sign_in(api, admin):
    body = {"password": strong_password(), "full_name": "Pipeline Person"}
    response = api.post(f"/api/v1/invitations/{_invitation(admin)}/accept", body, format="json")
    assert response.status_code == 201
    assert "_auth_user_id" not in api.session
    assert not AuditEvent.objects.filter(action="login.succeeded").exists()


def test_a_signed_in_invitee_accepting_records_no_second_sign_in(browser, project, manager):
    invitee = make_user(email="invitee@lab.test")
    _invitation, token = invitations.invitation_create(
        actor=Actor.system(user=manager), email=invitee.email, project=project, role=Role.VIEWER
    )
    browser.force_login(invitee)
    assert csrf_post(browser, f"/invitations/{token}/", {}).status_code == 302
    assert AuditEvent.objects.filter(action="member.added", object_id=str(invitee.pk)).exists()
    assert not AuditEvent.objects.filter(action="login.succeeded").exists()
