import threading
import time

import pytest

from accounts import services, throttle
from audit.models import AuditEvent
from audit.services import Actor
from tests.accounts.conftest import sign_in
from tests.factories import make_user, password_of

LOCKED_15 = "Too many failed sign-in attempts. Try again in 15 minutes."


def _fail(email: str, ip: str = "10.0.0.1") -> None:
    with pytest.raises((services.LoginFailed, services.LoginThrottled)):
        services.login_attempt(actor=Actor(ip=ip), email=email, password="wrong-password-1")


@pytest.fixture
def limits(settings):
    settings.LABELKEEP_LOGIN_MAX_FAILURES = 3
    settings.LABELKEEP_LOGIN_IP_MAX_FAILURES = 10
    settings.LABELKEEP_LOGIN_LOCKOUT_SECONDS = 900
    return settings


@pytest.mark.django_db
def test_account_is_locked_after_max_failures_even_with_the_right_password(browser, limits):
    user = make_user(email="ada@lab.test")
    for _ in range(2):
        assert sign_in(browser, user.email, "wrong-password-1").status_code == 200
    third = sign_in(browser, user.email, "wrong-password-1")
    assert third.status_code == 429
    assert LOCKED_15 in third.content.decode()
    assert 895 <= int(third["Retry-After"]) <= 900
    right = sign_in(browser, user.email, password_of(user))
    assert right.status_code == 429
    assert LOCKED_15 in right.content.decode()
    assert "_auth_user_id" not in browser.session


@pytest.mark.django_db
def test_account_lock_holds_from_every_ip(limits):
    user = make_user(email="ada@lab.test")
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.3"]:
        _fail(user.email, ip=ip)
    with pytest.raises(services.LoginThrottled):
        services.login_attempt(
            actor=Actor(ip="10.9.9.9"), email=user.email, password=password_of(user)
        )


@pytest.mark.django_db
def test_unknown_email_is_locked_exactly_like_a_known_one(browser, limits):
    make_user(email="known@lab.test")
    answers = {}
    for email in ["known@lab.test", "nobody@lab.test"]:
        statuses = [sign_in(browser, email, "wrong-password-1").status_code for _ in range(4)]
        last = sign_in(browser, email, "wrong-password-1")
        answers[email] = (statuses, last.status_code, LOCKED_15 in last.content.decode())
    assert (
        answers["known@lab.test"] == answers["nobody@lab.test"] == ([200, 200, 429, 429], 429, True)
    )


@pytest.mark.django_db
def test_ip_is_locked_after_max_failures_across_many_emails(browser, limits):
    user = make_user(email="ada@lab.test")
    for n in range(10):
        sign_in(browser, f"guess{n}@lab.test", "wrong-password-1", REMOTE_ADDR="203.0.113.7")
    blocked = sign_in(browser, user.email, password_of(user), REMOTE_ADDR="203.0.113.7")
    assert blocked.status_code == 429
    assert LOCKED_15 in blocked.content.decode()
    elsewhere = sign_in(browser, user.email, password_of(user), REMOTE_ADDR="198.51.100.1")
    assert elsewhere.status_code == 302


@pytest.mark.django_db
def test_successful_login_clears_the_accounts_counter(limits):
    user = make_user(email="ada@lab.test")
    _fail(user.email)
    _fail(user.email)
    services.login_attempt(actor=Actor(ip="10.0.0.1"), email=user.email, password=password_of(user))
    _fail(user.email)
    _fail(user.email)
    assert throttle.lockout_for(email=user.email, ip=None) is None
    _fail(user.email)
    assert throttle.lockout_for(email=user.email, ip=None) is not None


@pytest.mark.django_db
def test_successful_login_does_not_clear_the_ips_counter(limits):
    # Else one valid account would let an attacker reset the IP limit between guesses.
    user = make_user(email="ada@lab.test")
    for n in range(9):
        _fail(f"guess{n}@lab.test", ip="203.0.113.7")
    services.login_attempt(
        actor=Actor(ip="203.0.113.7"), email=user.email, password=password_of(user)
    )
    _fail("guess-last@lab.test", ip="203.0.113.7")
    lockout = throttle.lockout_for(email="fresh@lab.test", ip="203.0.113.7")
    assert lockout is not None
    assert lockout.scope == throttle.IP


@pytest.mark.django_db
def test_lockout_ends_after_the_lockout_period(settings):
    settings.LABELKEEP_LOGIN_MAX_FAILURES = 2
    settings.LABELKEEP_LOGIN_LOCKOUT_SECONDS = 1
    user = make_user(email="ada@lab.test")
    _fail(user.email)
    _fail(user.email)
    with pytest.raises(services.LoginThrottled) as locked:
        services.login_attempt(
            actor=Actor(ip="10.0.0.1"), email=user.email, password=password_of(user)
        )
    assert locked.value.message == "Too many failed sign-in attempts. Try again in 1 minute."
    time.sleep(1.2)
    assert (
        services.login_attempt(
            actor=Actor(ip="10.0.0.1"), email=user.email, password=password_of(user)
        )
        == user
    )


@pytest.mark.django_db
def test_failures_lockout_and_blocked_attempts_are_audited(limits):
    for _ in range(4):
        _fail("ada@lab.test", ip="10.0.0.1")
    actions = list(AuditEvent.objects.values_list("action", "outcome"))
    assert actions == [
        ("login.failed", "failure"),
        ("login.failed", "failure"),
        ("login.failed", "failure"),
        ("login.lockout", "denied"),
        ("login.blocked", "denied"),
    ]
    lockout = AuditEvent.objects.get(action="login.lockout")
    assert lockout.details == {"email": "ada@lab.test", "scope": "account"}
    assert lockout.ip == "10.0.0.1"


def test_counter_loses_no_increment_under_concurrency(db):
    # Web processes count in parallel; with a read-and-rewrite counter some failures vanish.
    threads, each = 8, 25

    def work() -> None:
        for _ in range(each):
            throttle.count_add("test:concurrency", window=600)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert throttle.count_add("test:concurrency", window=600) == threads * each + 1
