import re

import pytest
from django.core import mail
from django.test import Client

from accounts import services, throttle
from audit.models import AuditEvent
from audit.services import Actor
from tests.accounts.conftest import csrf_post, sign_in
from tests.audit.helpers import without_checkpoint_requests
from tests.factories import make_user, password_of, strong_password

CHANGE = "/account/password/"
RESET = "/account/password/reset/"
SENT_TEXT = "If an account exists for that address, we have sent it a link"


def _change(client: Client, old: str, new: str, repeat: str | None = None):
    data = {"old_password": old, "new_password1": new, "new_password2": repeat or new}
    return csrf_post(client, CHANGE, data)


def _request_reset(client: Client, email: str, capture):
    with capture(execute=True):
        return csrf_post(client, RESET, {"email": email})


def _reset_path(message) -> str:
    link = re.search(r"http://\S+/account/password/reset/\S+/", message.body)
    assert link
    return link.group(0).removeprefix("http://127.0.0.1:8000")


@pytest.fixture
def ada(db):
    return make_user(email="ada@lab.test")


@pytest.fixture
def signed_in(browser, ada):
    sign_in(browser, ada.email, password_of(ada))
    return browser


def test_password_change_page_needs_a_signed_in_user(browser):
    response = browser.get(CHANGE)
    assert response.status_code == 302
    assert response.url.startswith("/account/login/?next=")


def test_password_change_with_wrong_old_password_is_refused(signed_in, ada):
    response = _change(signed_in, "not-my-password", strong_password())
    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.content.decode()
    ada.refresh_from_db()
    assert not AuditEvent.objects.filter(action="password.changed").exists()


def test_password_change_rejects_a_weak_new_password_on_its_field(signed_in, ada):
    response = _change(signed_in, password_of(ada), "password")
    page = response.content.decode()
    assert "This password is too short." in page
    assert 'id="id_new_password2_error"' in page


def test_password_change_keeps_this_session_ends_others_and_is_audited(signed_in, ada):
    other = Client()
    other.force_login(ada)
    new = strong_password()
    response = _change(signed_in, password_of(ada), new)
    assert response.status_code == 302
    page = signed_in.get(response.url)
    assert page.status_code == 200
    assert "Your password has been changed." in page.content.decode()
    assert other.get(CHANGE).status_code == 302  # the other session is over
    ada.refresh_from_db()
    assert ada.check_password(new)
    event = AuditEvent.objects.get(action="password.changed")
    assert event.actor_id == ada.pk
    assert new not in str(event.details)


def test_reset_request_answers_the_same_for_known_and_unknown_addresses(
    browser, ada, django_capture_on_commit_callbacks
):
    known = _request_reset(browser, ada.email, django_capture_on_commit_callbacks)
    unknown = _request_reset(browser, "nobody@lab.test", django_capture_on_commit_callbacks)
    assert known.status_code == unknown.status_code == 302
    assert known.url == unknown.url == "/account/password/reset/sent/"
    assert SENT_TEXT in browser.get(known.url).content.decode()
    assert [m.to for m in mail.outbox] == [[ada.email]]
    requested = AuditEvent.objects.filter(action="password.reset_requested")
    assert [e.details["email"] for e in requested] == [ada.email, "nobody@lab.test"]
    assert AuditEvent.objects.filter(action="password.reset_link_sent").count() == 1


def test_reset_request_does_not_look_the_account_up_before_the_background_job(
    browser, ada, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        csrf_post(browser, RESET, {"email": ada.email})
    assert len(without_checkpoint_requests(callbacks)) == 1
    assert mail.outbox == []


def test_reset_link_sets_a_new_password_once(browser, ada, django_capture_on_commit_callbacks):
    _request_reset(browser, ada.email, django_capture_on_commit_callbacks)
    path = _reset_path(mail.outbox[0])
    landing = browser.get(path)
    # The token leaves the URL (and so any Referer) for the session.
    assert landing.status_code == 302
    assert landing.url.endswith("/set-password/")
    new = strong_password()
    done = csrf_post(
        browser, landing.url, {"new_password1": new, "new_password2": new}, page=landing.url
    )
    assert done.status_code == 302
    assert done.url == "/account/login/"
    ada.refresh_from_db()
    assert ada.check_password(new)
    assert AuditEvent.objects.get(action="password.reset").actor_id == ada.pk
    again = Client().get(path)
    assert "This link no longer works" in again.content.decode()
    assert new not in str(list(AuditEvent.objects.values("details")))


def test_reset_link_with_a_forged_token_is_refused(browser, ada):
    response = browser.get("/account/password/reset/MTIz/abc-def/")
    assert response.status_code == 200
    assert "This link no longer works" in response.content.decode()


def test_reset_lifts_a_sign_in_lockout(browser, ada, settings, django_capture_on_commit_callbacks):
    settings.LABELKEEP_LOGIN_MAX_FAILURES = 1
    sign_in(Client(), ada.email, "wrong-password-1")
    assert throttle.lockout_for(email=ada.email, ip=None) is not None
    new = strong_password()
    services.password_reset_complete(actor=Actor(), user=ada, new_password=new)
    assert throttle.lockout_for(email=ada.email, ip=None) is None
    assert sign_in(browser, ada.email, new).status_code == 302


def test_reset_emails_to_one_address_are_capped_per_hour(
    browser, ada, django_capture_on_commit_callbacks
):
    for _ in range(services.RESET_EMAILS_PER_HOUR + 2):
        _request_reset(browser, ada.email, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == services.RESET_EMAILS_PER_HOUR


def test_no_link_is_sent_to_a_deactivated_account(db, browser, django_capture_on_commit_callbacks):
    make_user(email="gone@lab.test", is_active=False)
    response = _request_reset(browser, "gone@lab.test", django_capture_on_commit_callbacks)
    assert response.status_code == 302
    assert mail.outbox == []
