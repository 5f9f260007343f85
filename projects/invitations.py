"""Invitations: single-use, expiring links to join the lab, optionally with a project role.

The token is the only credential of a person who has no account yet: it is random (256 bits),
travels only in the emailed link, and only its sha256 is stored.
"""

import dataclasses
import hashlib
import logging
import secrets
import smtplib
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core import exceptions as django_exceptions
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import User
from audit.services import Actor, record
from core.errors import Conflict, NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from projects import permissions
from projects.models import Invitation, Project, Role
from projects.services import require_active, require_grant

logger = logging.getLogger(__name__)

INVITATION_TOKEN_BYTES = 32


def hash_invitation_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_url(token: str) -> str:
    return f"{settings.SITE_URL}/invitations/{token}/"


def invitation_status(invitation: Invitation, now: datetime | None = None) -> str:
    if invitation.accepted_at is not None:
        return "accepted"
    if invitation.revoked_at is not None:
        return "revoked"
    return "expired" if invitation.expires_at <= (now or timezone.now()) else "pending"


def _check_lab_invitation(actor: Actor, email: str) -> None:
    if not permissions.can_create_projects(actor.user):
        raise PermissionDenied(
            "Only lab administrators invite people to the lab.", code="not_admin"
        )
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict(
            f"{email} already has an account.", code="account_exists", details={"field": "email"}
        )


def _check_project_invitation(actor: Actor, project: Project, role: Role, email: str) -> None:
    require_active(project)
    require_grant(actor, project, role)
    if permissions.members(project).filter(email__iexact=email).exists():
        raise Conflict(
            f"{email} is already a member of this project.",
            code="already_member",
            details={"field": "email"},
        )
    pending = Invitation.objects.filter(
        project=project,
        email=email,
        accepted_at__isnull=True,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
    )
    if pending.exists():
        raise Conflict(
            f"{email} already has a pending invitation; revoke it to send a new one.",
            code="already_invited",
            details={"field": "email"},
        )


@transaction.atomic
def invitation_create(
    *, actor: Actor, email: str, project: Project | None = None, role: Role | None = None
) -> tuple[Invitation, str]:
    """Invite an email to the lab (admins) or to a project with a role (managers, up to their
    rank). Returns the invitation and its token, which exists nowhere else; mails it on commit."""
    email = User.objects.normalize_email(email).strip().lower()
    if project is None or role is None:
        if project is not None or role is not None:
            raise ValidationFailed("A project invitation needs a role.", details={"field": "role"})
        _check_lab_invitation(actor, email)
    else:
        _check_project_invitation(actor, project, role, email)
    token = secrets.token_urlsafe(INVITATION_TOKEN_BYTES)
    invitation = Invitation.objects.create(
        token_hash=hash_invitation_token(token),
        email=email,
        project=project,
        role=role.value if role else "",
        invited_by=actor.user,
        expires_at=timezone.now() + timedelta(days=settings.LABELKEEP_INVITATION_DAYS),
    )
    _record_invitation(actor, invitation, "invitation.created", email=email)
    transaction.on_commit(partial(_send_invitation, invitation, token))
    return invitation, token


def _record_invitation(actor: Actor, invitation: Invitation, action: str, **details: Any) -> None:
    record(
        actor=actor,
        action=action,
        project_id=invitation.project_id,
        object_type="invitation",
        object_id=str(invitation.pk),
        details={"role": invitation.role or None, **details},
    )


def _send_invitation(invitation: Invitation, token: str) -> None:
    project = invitation.project
    where = f"the project “{project.name}” as {invitation.role}" if project else "Labelkeep"
    inviter = invitation.invited_by.display_name
    body = (
        f"{inviter} invites you to join {where}.\n\n"
        f"Open this link to set your password and join:\n{invitation_url(token)}\n\n"
        f"The link works once and expires on {invitation.expires_at:%Y-%m-%d %H:%M} UTC.\n"
    )
    try:
        send_mail(f"Invitation to {where}", body, None, [invitation.email])
    except (OSError, smtplib.SMTPException) as exc:
        # The invitation stands (its link can be copied or it can be re-sent); the token is
        # deliberately left out of the log.
        logger.warning("Invitation %s could not be emailed: %r", invitation.pk, type(exc).__name__)


def _check_may_revoke(actor: Actor, invitation: Invitation) -> None:
    if invitation.project is None:
        allowed = permissions.can_create_projects(actor.user)
    else:
        allowed = permissions.can_grant(actor.user, invitation.project, Role(invitation.role))
    if not allowed:
        raise PermissionDenied("You cannot revoke this invitation.", code="cannot_revoke")


@transaction.atomic
def invitation_revoke(*, actor: Actor, invitation: Invitation) -> Invitation:
    """Revoke an invitation that is not used yet (project managers; admins for lab ones)."""
    _check_may_revoke(actor, invitation)
    now = timezone.now()
    closed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=now)
    if closed != 1:
        raise Conflict("This invitation is already accepted or revoked.", code="invitation_closed")
    invitation.revoked_at = now
    _record_invitation(actor, invitation, "invitation.revoked")
    return invitation


_CLOSED = {
    "accepted": ("This invitation has already been used.", "invitation_used"),
    "revoked": ("This invitation has been revoked.", "invitation_revoked"),
    "expired": ("This invitation has expired; ask for a new one.", "invitation_expired"),
}


def invitation_check_open(invitation: Invitation) -> None:
    """Raise the Conflict that says why an invitation can no longer be used, if it cannot."""
    status = invitation_status(invitation)
    if status in _CLOSED:
        message, code = _CLOSED[status]
        raise Conflict(message, code=code)
    project = invitation.project
    if project is not None and project.is_archived:
        raise Conflict("The project of this invitation is archived.", code="project_archived")
    inviter = invitation.invited_by
    still_allowed = (
        permissions.can_grant(inviter, project, Role(invitation.role))
        if project is not None
        else permissions.can_create_projects(inviter)
    )
    if not still_allowed:
        # The inviter lost the right to grant this since; their invitation dies with it.
        raise Conflict(_CLOSED["revoked"][0], code="invitation_revoked")


def _invitation_for_token(token: str) -> Invitation:
    invitation = (
        Invitation.objects.select_related("project", "invited_by")
        .filter(token_hash=hash_invitation_token(token))
        .first()
    )
    if invitation is None:
        raise NotFound("Invitation not found.", code="invitation_not_found")
    invitation_check_open(invitation)
    return invitation


def _check_acceptor(actor: Actor, invitation: Invitation, password: str) -> User | None:
    """The signed-in account that accepts, or None when a new account is to be created."""
    user: User | None = actor.user
    if user is not None:
        if user.email.lower() != invitation.email:
            raise PermissionDenied(
                f"This invitation is for {invitation.email}; sign in with that account.",
                code="wrong_account",
            )
        if password:
            raise ValidationFailed(
                "You are signed in: your account keeps its password.",
                details={"field": "password"},
            )
        if invitation.project is not None and permissions.role_of(user, invitation.project):
            raise Conflict("You are already a member of this project.", code="already_member")
        return user
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise NotAuthenticated(
            f"An account for {invitation.email} exists: sign in, then accept.",
            code="sign_in_required",
        )
    return None


def _check_password(invitation: Invitation, password: str, full_name: str) -> None:
    if not password:
        raise ValidationFailed("Choose a password.", code="required", details={"field": "password"})
    candidate = User(email=invitation.email, full_name=full_name)
    try:
        password_validation.validate_password(password, user=candidate)
    except django_exceptions.ValidationError as exc:
        raise ValidationFailed(
            " ".join(exc.messages), code="weak_password", details={"field": "password"}
        ) from None


def _claim(invitation: Invitation, now: datetime) -> None:
    # The guarded update is the single-use guarantee: of two concurrent accepts, the second
    # waits on the row lock, then matches nothing.
    claimed = Invitation.objects.filter(
        pk=invitation.pk, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
    ).update(accepted_at=now)
    if claimed != 1:
        invitation.refresh_from_db()
        invitation_check_open(invitation)
        raise Conflict(_CLOSED["accepted"][0], code="invitation_used")


def _create_account(invitation: Invitation, password: str, full_name: str) -> User:
    try:
        with transaction.atomic():
            return User.objects.create_user(invitation.email, password, full_name=full_name.strip())
    except IntegrityError:
        raise Conflict(
            f"An account for {invitation.email} exists: sign in, then accept.",
            code="sign_in_required",
        ) from None


@transaction.atomic
def invitation_accept(
    *, actor: Actor, token: str, password: str = "", full_name: str = "", sign_in: bool = False
) -> tuple[User, Invitation]:
    """Use an invitation once: the signed-in invitee, or a new account with this password,
    joins the lab and gets the invitation's project role. With ``sign_in``, a new account's
    sign-in is recorded too (``login.succeeded``): the caller then signs it in."""
    invitation = _invitation_for_token(token)
    user = _check_acceptor(actor, invitation, password)
    if user is None:
        _check_password(invitation, password, full_name)
    now = timezone.now()
    _claim(invitation, now)
    new_account = user is None
    if user is None:
        user = _create_account(invitation, password, full_name)
    Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
    invitation.accepted_at, invitation.accepted_by = now, user
    acting = dataclasses.replace(actor, user=user)
    _record_invitation(acting, invitation, "invitation.accepted", new_account=new_account)
    if invitation.project is not None:
        _join(acting, invitation.project, user, Role(invitation.role))
    if sign_in and new_account:
        accounts_services.login_record(actor=actor, user=user, via="invitation")
    return user, invitation


def _join(actor: Actor, project: Project, user: User, role: Role) -> None:
    permissions.member_set_role(project, user, role)
    record(
        actor=actor,
        action="member.added",
        project_id=project.pk,
        object_type="user",
        object_id=str(user.pk),
        details={"role": role.value, "via": "invitation"},
    )
