"""Reads of projects, members and invitations, scoped by the gate in ``projects.permissions``.

List selectors return querysets whose query count does not depend on the number of rows: the
caller's role on each project is one subquery, not one permission lookup per project.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from accounts.models import ApiToken, TokenScope, User
from projects import permissions
from projects.invitations import hash_invitation_token
from projects.models import Invitation, Project, ProjectRole, Role
from projects.permissions import Need
from vault import config
from vault.keys import KeyInfo
from vault.models import ReencryptionJob, ShredReceipt

INVITATION_STATUSES = ("pending", "accepted", "revoked", "expired")


@dataclass(frozen=True)
class ProjectAccess:
    """A project as one caller sees it: their role (None for a non-member admin) and needs."""

    project: Project
    role: Role | None
    needs: frozenset[Need]


def project_list(
    *, user: Any, token: ApiToken | None = None, archived: bool = False
) -> QuerySet[Project]:
    """The projects the caller may see, archived or not, each annotated with ``caller_role``."""
    caller_role = ProjectRole.objects.filter(project=OuterRef("pk"), group__user=user.pk)
    return (
        permissions.visible_projects(user, token=token)
        .filter(archived_at__isnull=not archived)
        .annotate(caller_role=Subquery(caller_role.values("role")[:1]))
    )


def needs_for_role(*, user: Any, role: Role | None, token: ApiToken | None = None) -> set[Need]:
    """The needs a role gives, as ``permissions.needs_of`` computes them, without a lookup.

    Only for projects already scoped by ``visible_projects`` (an export token's list included),
    which is why the token's project list need not be consulted again.
    """
    if user.is_staff:
        granted = set(Need)
    else:
        granted = set(permissions.ROLE_PERMISSIONS[role]) if role else set()
    if token is not None and token.scope == TokenScope.EXPORT:
        granted &= permissions.EXPORT_TOKEN_NEEDS
    return granted


def project_accesses(
    projects: list[Project], *, user: Any, token: ApiToken | None = None
) -> list[ProjectAccess]:
    """Pair each project of a ``project_list`` page with the caller's role and needs."""
    out = []
    for project in projects:
        value = getattr(project, "caller_role", None)
        role = Role(value) if value else None
        out.append(
            ProjectAccess(
                project, role, frozenset(needs_for_role(user=user, role=role, token=token))
            )
        )
    return out


def project_access(project: Project, *, user: Any, token: ApiToken | None = None) -> ProjectAccess:
    """One project reached through ``access_project``, with the caller's exact role and needs."""
    needs = permissions.needs_of(user, project, token=token)
    return ProjectAccess(project, permissions.role_of(user, project), frozenset(needs))


def member_list(*, project: Project) -> QuerySet[User]:
    """The project's members (one query), each with ``project_role``."""
    return permissions.members(project)


def _uuid(value: Any) -> uuid.UUID | None:
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        return None


def member_get(*, project: Project, user_id: Any) -> User | None:
    """A member of this project by id; None for anyone else (a foreign member included)."""
    pk = _uuid(user_id)
    return None if pk is None else member_list(project=project).filter(pk=pk).first()


def user_by_email(email: str) -> User | None:
    return User.objects.filter(email__iexact=email.strip()).first()


def _status_filter(status: str) -> Q:
    now = timezone.now()
    open_ = Q(accepted_at__isnull=True, revoked_at__isnull=True)
    return {
        "pending": open_ & Q(expires_at__gt=now),
        "expired": open_ & Q(expires_at__lte=now),
        "accepted": Q(accepted_at__isnull=False),
        "revoked": Q(accepted_at__isnull=True, revoked_at__isnull=False),
    }[status]


def invitation_list(*, project: Project | None, status: str | None = None) -> QuerySet[Invitation]:
    """The invitations of a project, or the lab-level ones (``project=None``)."""
    invitations = Invitation.objects.select_related("invited_by", "project")
    if project is None:
        invitations = invitations.filter(project__isnull=True)
    else:
        invitations = invitations.filter(project=project)
    if status is not None:
        invitations = invitations.filter(_status_filter(status))
    return invitations


def invitation_get(*, project: Project | None, invitation_id: Any) -> Invitation | None:
    """An invitation of this project (or a lab-level one), by id; None for any other."""
    pk = _uuid(invitation_id)
    return None if pk is None else invitation_list(project=project).filter(pk=pk).first()


def invitation_by_token(token: str) -> Invitation | None:
    return (
        Invitation.objects.select_related("project", "invited_by")
        .filter(token_hash=hash_invitation_token(token))
        .first()
    )


def project_key_list(*, project: Project) -> list[KeyInfo]:
    """The versions of the project's key, oldest first: ids, versions and times, never keys."""
    return config.project_keys().versions(project.pk)


def reencryption_job_latest(*, project: Project) -> ReencryptionJob | None:
    return ReencryptionJob.objects.filter(project_id=project.pk).order_by("-created_at").first()


def shred_receipt_get(*, receipt_id: Any) -> ShredReceipt | None:
    """A deletion receipt by id, with ``requested_by_email``. Receipts outlive their projects,
    so no project scopes them: callers show them to lab administrators only."""
    pk = _uuid(receipt_id)
    if pk is None:
        return None
    requester = User.objects.filter(pk=OuterRef("requested_by_id")).values("email")[:1]
    receipts = ShredReceipt.objects.annotate(requested_by_email=Subquery(requester))
    return receipts.filter(pk=pk).first()
