"""Writes on accounts: users, sign-in, sign-out and passwords. Each records its audit event.

Nothing here tells a caller whether an account exists: a failed sign-in reads the same for an
unknown address and a wrong password (and runs the password hasher either way), and a reset
request is answered the same for every address, the lookup and the email happening later in
a background job.
"""

import dataclasses
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import authenticate, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import throttle
from accounts.models import User
from audit.models import Outcome
from audit.services import Actor, record
from core.errors import ApplicationError, Conflict, ValidationFailed

# A reset form is open to anyone; this bounds the emails one address can be sent per hour.
RESET_EMAILS_PER_HOUR = 3


class LoginFailed(ApplicationError):
    status = 400
    code = "invalid_credentials"


class LoginThrottled(ApplicationError):
    status = 429
    code = "login_throttled"

    def __init__(self, lockout: throttle.Lockout) -> None:
        minutes = lockout.minutes
        unit = "minute" if minutes == 1 else "minutes"
        super().__init__(
            f"Too many failed sign-in attempts. Try again in {minutes} {unit}.",
            details={"retry_after": lockout.seconds},
        )
        self.retry_after = lockout.seconds


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _check_password(password: str, user: User | None, field: str) -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages), code="weak_password", details={"field": field}
        ) from None


@transaction.atomic
def user_create(
    *, actor: Actor, email: str, password: str, full_name: str = "", is_admin: bool = False
) -> User:
    """Create an active user (a lab administrator if ``is_admin``); the email must be free."""
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed(
            "Enter a valid email address.", code="invalid_email", details={"field": "email"}
        ) from None
    if User.objects.filter(email=email).exists():
        raise Conflict(
            "A user with this email already exists.", code="email_taken", details={"field": "email"}
        )
    _check_password(password, User(email=email, full_name=full_name), "password")
    user = User.objects.create_user(email, password, full_name=full_name, is_staff=is_admin)
    record(
        actor=actor,
        action="user.created",
        object_type="user",
        object_id=str(user.pk),
        details={"is_admin": is_admin},
    )
    return user


@transaction.atomic
def user_update(*, actor: Actor, user: User, full_name: str) -> User:
    """Change the user's own profile (the display name)."""
    full_name = full_name.strip()
    if full_name != user.full_name:
        user.full_name = full_name
        user.save(update_fields=["full_name"])
        record(
            actor=actor,
            action="user.updated",
            object_type="user",
            object_id=str(user.pk),
            details={"fields": ["full_name"]},
        )
    return user


def login_attempt(*, actor: Actor, email: str, password: str) -> User:
    """The user these credentials belong to. Otherwise records the failure and raises
    LoginThrottled (a lockout is in force or was just reached) or LoginFailed.

    Not one transaction: a refused attempt must leave its audit events behind.
    """
    email = normalize_email(email)
    lockout = throttle.lockout_for(email=email, ip=actor.ip)
    if lockout is not None:
        _login_event(actor, "login.blocked", email, {"scope": lockout.scope})
        raise LoginThrottled(lockout)
    # ModelBackend hashes the password even for an unknown address, so both take as long.
    user = authenticate(None, email=email, password=password)
    if not isinstance(user, User):
        _login_failed(actor, email)
    throttle.account_clear(email=email)
    login_record(actor=actor, user=user)
    return user


def login_record(*, actor: Actor, user: User, **details: str) -> None:
    """Record a sign-in of ``user``, whom the caller then signs in: every way in is recorded
    alike (``details`` says how, where it is not the sign-in form)."""
    record(
        actor=dataclasses.replace(actor, user=user, via="session"),
        action="login.succeeded",
        object_type="user",
        object_id=str(user.pk),
        details=details,
    )


def _login_failed(actor: Actor, email: str) -> NoReturn:
    lockout = throttle.failure_add(email=email, ip=actor.ip)
    with transaction.atomic():
        _login_event(actor, "login.failed", email, {})
        if lockout is not None:
            _login_event(actor, "login.lockout", email, {"scope": lockout.scope})
    if lockout is not None:
        raise LoginThrottled(lockout)
    raise LoginFailed("Incorrect email or password.")


def _login_event(actor: Actor, action: str, email: str, details: dict[str, str]) -> None:
    outcome = Outcome.FAILURE if action == "login.failed" else Outcome.DENIED
    record(actor=actor, action=action, outcome=outcome, details={"email": email, **details})


@transaction.atomic
def logout_record(*, actor: Actor) -> None:
    """Record a sign-out; the caller then ends the session."""
    record(actor=actor, action="logout", object_type="user", object_id=str(actor.user.pk))


@transaction.atomic
def password_change(*, actor: Actor, user: User, new_password: str) -> User:
    """Set a new password. Other sessions end, since their auth hash no longer matches."""
    _check_password(new_password, user, "new_password1")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    record(actor=actor, action="password.changed", object_type="user", object_id=str(user.pk))
    return user


@transaction.atomic
def password_reset_request(*, actor: Actor, email: str) -> None:
    """Queue a reset link for the address. Identical for every address: the lookup happens in
    the background job, so neither the answer nor its timing says whether an account exists.
    """
    from accounts import tasks  # tasks import this module

    email = normalize_email(email)
    record(actor=actor, action="password.reset_requested", details={"email": email})
    transaction.on_commit(lambda: tasks.password_reset_link_send.delay(email=email))


@transaction.atomic
def password_reset_link_send(*, actor: Actor, email: str) -> bool:
    """Email a reset link if an active account has this address (at most a few an hour)."""
    user = User.objects.filter(email=normalize_email(email), is_active=True).first()
    if user is None:
        return False
    sent_recently = throttle.count_add(f"reset:{user.pk}", window=3600)
    if sent_recently > RESET_EMAILS_PER_HOUR:
        return False
    _reset_email_send(user)
    record(
        actor=actor, action="password.reset_link_sent", object_type="user", object_id=str(user.pk)
    )
    return True


def _reset_email_send(user: User) -> None:
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    context = {
        "link": f"{settings.SITE_URL}{path}",
        "hours": max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
    }
    body = render_to_string("accounts/email/password_reset.txt", context)
    send_mail("Reset your Labelkeep password", body, None, [user.email])


@transaction.atomic
def password_reset_complete(*, actor: Actor, user: User, new_password: str) -> User:
    """Set the password chosen through a reset link (checked by the caller). The link dies with
    the old password hash, and any sign-in lockout on the address is lifted.
    """
    _check_password(new_password, user, "new_password1")
    user.set_password(new_password)
    user.save(update_fields=["password"])
    throttle.account_clear(email=user.email)
    record(
        actor=dataclasses.replace(actor, user=user),
        action="password.reset",
        object_type="user",
        object_id=str(user.pk),
    )
    return user
