"""API tokens: create, revoke, list, get.

In projects/ rather than accounts/ because an export-scoped token names the projects it may
read (``TokenProjectScope``), and whether its owner may export each of them is a question for
the gate, ``projects.permissions``. A token is always its owner's: only they list, see or
revoke it, and an export-scoped token never manages tokens.
"""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from accounts import tokens as token_format
from accounts.models import ApiToken, TokenScope, User
from audit.services import Actor, record
from core.errors import NotAuthenticated, NotFound, PermissionDenied, ValidationFailed
from projects import permissions
from projects.models import Project, TokenProjectScope
from projects.permissions import Need

MAX_PROJECTS = 100


@dataclass(frozen=True)
class CreatedToken:
    token: ApiToken
    plaintext: str


def _invalid(field: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", code=code, details={"field": field})


def _owner(actor: Actor) -> User:
    user = actor.user
    if not isinstance(user, User) or not user.is_active:
        raise NotAuthenticated("Sign in to manage API tokens.")
    if (
        actor.token_id is not None
        and ApiToken.objects.filter(pk=actor.token_id, scope=TokenScope.EXPORT).exists()
    ):
        raise PermissionDenied(
            "An export-scoped API token cannot manage tokens.", code="export_token"
        )
    return user


def _check_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise _invalid("name", "Give the token a name, e.g. the pipeline that uses it.", "blank")
    return name


def _check_expiry(expires_at: datetime | None) -> None:
    if expires_at is not None and expires_at <= timezone.now():
        raise _invalid("expires_at", "The expiry must be in the future.", "expiry_in_past")


def _check_projects(
    owner: User, scope: str, projects: Sequence[str | uuid.UUID] | None
) -> list[Project]:
    if scope == TokenScope.FULL:
        if projects is not None:
            raise _invalid(
                "projects", "Only export-scoped tokens name projects.", "projects_not_allowed"
            )
        return []
    if not projects:
        raise _invalid("projects", "An export-scoped token needs at least one project.", "required")
    if len(projects) > MAX_PROJECTS:
        raise _invalid("projects", f"At most {MAX_PROJECTS} projects per token.", "too_many")
    chosen: list[Project] = []
    for index, project_id in enumerate(projects):
        project = _exportable(owner, project_id, f"projects[{index}]")
        if project in chosen:
            raise _invalid(f"projects[{index}]", "This project is listed twice.", "duplicate")
        chosen.append(project)
    return chosen


def _exportable(owner: User, project_id: str | uuid.UUID, field: str) -> Project:
    try:
        project = permissions.access_project(owner, project_id, need=Need.VIEW)
    except NotFound:
        raise _invalid(field, "Project not found.", "project_not_found") from None
    if not permissions.can_export(owner, project):
        raise _invalid(field, "Your role on this project does not allow exports.", "cannot_export")
    return project


@transaction.atomic
def token_create(
    *,
    actor: Actor,
    name: str,
    scope: str,
    projects: Sequence[str | uuid.UUID] | None = None,
    expires_at: datetime | None = None,
) -> CreatedToken:
    """Create a token for the acting user. ``projects`` is required for, and only allowed
    with, the export scope; each must be one the owner may export. The plaintext is returned
    here once and stored nowhere: only a hash of its secret is kept.
    """
    owner = _owner(actor)
    name = _check_name(name)
    if scope not in TokenScope.values:
        raise _invalid("scope", "Choose full or export.", "invalid_choice")
    chosen = _check_projects(owner, scope, projects)
    _check_expiry(expires_at)
    parts = token_format.generate()
    token = ApiToken.objects.create(
        user=owner,
        name=name,
        prefix=parts.prefix,
        secret_hash=token_format.hash_secret(parts.secret),
        scope=scope,
        expires_at=expires_at,
    )
    TokenProjectScope.objects.bulk_create(
        [TokenProjectScope(token=token, project=project) for project in chosen]
    )
    _record_created(actor, token, chosen)
    return CreatedToken(token=token, plaintext=parts.plaintext)


def _record_created(actor: Actor, token: ApiToken, projects: list[Project]) -> None:
    record(
        actor=actor,
        action="token.created",
        object_type="api_token",
        object_id=str(token.pk),
        details={
            "name": token.name,
            "scope": token.scope,
            "projects": [str(project.pk) for project in projects],
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        },
    )


@transaction.atomic
def token_revoke(*, actor: Actor, token: ApiToken) -> ApiToken:
    """Revoke one of the acting user's tokens; it fails from the next request on. The row is
    kept for the record. Revoking a revoked token changes nothing."""
    owner = _owner(actor)
    if token.user_id != owner.pk:
        raise NotFound("API token not found.", code="token_not_found")
    now = timezone.now()
    # Guarded, so that two concurrent revocations record one event.
    if ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        token.revoked_at = now
        record(
            actor=actor, action="token.revoked", object_type="api_token", object_id=str(token.pk)
        )
    else:
        token.refresh_from_db(fields=["revoked_at"])
    return token


def token_list(*, user: User) -> QuerySet[ApiToken]:
    """The user's own tokens, newest first, with their projects (two queries)."""
    scopes = TokenProjectScope.objects.select_related("project").order_by("project__name")
    return (
        ApiToken.objects.filter(user=user)
        .prefetch_related(Prefetch("project_scopes", queryset=scopes))
        .order_by("-created_at")
    )


def token_get(*, user: User, token_id: str | uuid.UUID) -> ApiToken:
    """One of the user's tokens; NotFound alike for a missing token and another user's."""
    try:
        pk = token_id if isinstance(token_id, uuid.UUID) else uuid.UUID(str(token_id))
    except ValueError:
        pk = None
    token = token_list(user=user).filter(pk=pk).first() if pk else None
    if token is None:
        raise NotFound("API token not found.", code="token_not_found")
    return token


def exportable_projects(*, user: User) -> QuerySet[Project]:
    """The projects whose exports the user may read: what an export-scoped token may name.

    One query, derived from the role table; ``token_create`` still checks each chosen project
    through the gate.
    """
    projects = permissions.visible_projects(user)
    if user.is_staff:
        return projects.order_by("name")
    roles = [role for role, needs in permissions.ROLE_PERMISSIONS.items() if Need.EXPORT in needs]
    return (
        projects.filter(roles__role__in=roles, roles__group__user=user).distinct().order_by("name")
    )
