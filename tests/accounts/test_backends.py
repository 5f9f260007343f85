"""The user of a signed-in session (accounts/backends.py), loaded on every request as Django's
ModelBackend would load it: signing in, and everything that signs a session out."""

import pytest
from django.conf import settings

from accounts.backends import UserBackend
from tests.accounts.conftest import sign_in
from tests.factories import make_user, password_of

pytestmark = pytest.mark.django_db

ME = "/api/v1/me"


@pytest.fixture
def signed_in(browser):
    user = make_user(email="ada@lab.test", full_name="Ada")
    assert sign_in(browser, user.email, password_of(user)).status_code == 302
    return browser, user


def test_sessions_are_opened_and_read_by_the_backend(signed_in):
    browser, _ = signed_in
    assert settings.AUTHENTICATION_BACKENDS[0] == "accounts.backends.UserBackend"
    assert browser.session["_auth_user_backend"] == "accounts.backends.UserBackend"
    answer = browser.get(ME)
    assert answer.status_code == 200
    assert answer.json()["email"] == "ada@lab.test"


def test_a_deactivated_users_session_is_signed_out(signed_in):
    browser, user = signed_in
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert browser.get(ME).status_code in (401, 403)


def test_a_password_change_elsewhere_signs_the_session_out(signed_in):
    browser, user = signed_in
    user.set_password("another long passphrase")
    user.save(update_fields=["password"])
    assert browser.get(ME).status_code in (401, 403)


def test_a_deleted_users_session_is_anonymous(signed_in):
    browser, user = signed_in
    user.delete()
    assert browser.get(ME).status_code in (401, 403)


def test_the_loaded_user_is_the_orms(signed_in):
    _, user = signed_in
    loaded = UserBackend().get_user(user.pk)
    assert loaded is not None
    stored = type(user).objects.get(pk=user.pk)
    for field in type(user)._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(stored, field.attname), field.name
    assert UserBackend().get_user(user.pk.hex[::-1]) is None  # no such user
