"""The one gate: roles, permission predicates and project access.

This is the only module that talks to django-guardian. A role is a named bundle of object
permissions on a Project, granted to one group per project and role; membership is being in
that group. Every API view and page reaches a project through ``access_project`` or
``visible_projects``, which also apply the scope of an export-only API token.
"""

import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.db.models import F, QuerySet
from guardian.core import ObjectPermissionChecker
from guardian.shortcuts import assign_perm, get_objects_for_user

from accounts.models import ApiToken, TokenScope, User
from core import sql
from core.errors import NotFound, PermissionDenied
from projects.models import Project, ProjectRole, Role, TokenProjectScope


class Need(StrEnum):
    VIEW = "view_project"
    ANNOTATE = "annotate_project"
    REVIEW = "review_project"
    MANAGE = "manage_project"
    EXPORT = "export_project"


ROLE_PERMISSIONS: dict[Role, frozenset[Need]] = {
    Role.VIEWER: frozenset({Need.VIEW}),
    Role.ANNOTATOR: frozenset({Need.VIEW, Need.ANNOTATE}),
    Role.REVIEWER: frozenset({Need.VIEW, Need.ANNOTATE, Need.REVIEW}),
    Role.MANAGER: frozenset(Need),
}
ROLE_RANK: dict[str, int] = {role.value: rank for rank, role in enumerate(Role, start=1)}
# Lab administrators outrank every project role.
ADMIN_RANK = len(ROLE_RANK) + 1
# What an export-scoped token may do, whatever its owner may do.
EXPORT_TOKEN_NEEDS = frozenset({Need.VIEW, Need.EXPORT})


def project_roles_create(project: Project) -> None:
    """Create the project's role groups and grant each its bundle of object permissions."""
    for role, needs in ROLE_PERMISSIONS.items():
        group = Group.objects.create(name=f"project:{project.pk}:{role.value}")
        ProjectRole.objects.create(project=project, role=role, group=group)
        for need in needs:
            assign_perm(f"projects.{need.value}", group, project)


def role_of(user: Any, project: Project) -> Role | None:
    """The user's role on the project, or None. A user holds at most one role per project."""
    if not getattr(user, "is_authenticated", False):
        return None
    value = (
        ProjectRole.objects.filter(project=project, group__user=user)
        .values_list("role", flat=True)
        .first()
    )
    return Role(value) if value else None


def rank_of(user: Any, project: Project) -> int:
    if getattr(user, "is_staff", False):
        return ADMIN_RANK
    role = role_of(user, project)
    return ROLE_RANK[role.value] if role else 0


def _token_allows(token: ApiToken | None, project: Project, need: Need) -> bool:
    if token is None or token.scope == TokenScope.FULL:
        return True
    if need not in EXPORT_TOKEN_NEEDS:
        return False
    return TokenProjectScope.objects.filter(token=token, project=project).exists()


def has_need(user: Any, project: Project, need: Need, *, token: ApiToken | None = None) -> bool:
    """True if the user (through the token, if any) may do ``need`` on the project."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if not _token_allows(token, project, need):
        return False
    if user.is_staff:
        return True
    return bool(ObjectPermissionChecker(user).has_perm(f"projects.{need.value}", project))


def needs_of(user: Any, project: Project, *, token: ApiToken | None = None) -> set[Need]:
    """Every need the user has on the project (one permission lookup, for pages and payloads)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_staff:
        granted = set(Need)
    else:
        codenames = ObjectPermissionChecker(user).get_perms(project)
        granted = {need for need in Need if need.value in codenames}
    if token is not None and token.scope != TokenScope.FULL:
        # As ``_token_allows`` for each need, with one look at the token's project list.
        granted &= EXPORT_TOKEN_NEEDS
        if granted and not TokenProjectScope.objects.filter(token=token, project=project).exists():
            granted = set()
    return granted


def can_view(user: Any, project: Project, *, token: ApiToken | None = None) -> bool:
    return has_need(user, project, Need.VIEW, token=token)


def can_annotate(user: Any, project: Project, *, token: ApiToken | None = None) -> bool:
    return has_need(user, project, Need.ANNOTATE, token=token)


def can_review(user: Any, project: Project, *, token: ApiToken | None = None) -> bool:
    return has_need(user, project, Need.REVIEW, token=token)


def can_manage(user: Any, project: Project, *, token: ApiToken | None = None) -> bool:
    return has_need(user, project, Need.MANAGE, token=token)


def can_export(user: Any, project: Project, *, token: ApiToken | None = None) -> bool:
    return has_need(user, project, Need.EXPORT, token=token)


def can_grant(user: Any, project: Project, role: Role | str) -> bool:
    """Managers and admins change membership, and never grant a role above their own."""
    if not has_need(user, project, Need.MANAGE):
        return False
    return ROLE_RANK[Role(role).value] <= rank_of(user, project)


def can_create_projects(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active and user.is_staff)


def visible_projects(user: Any, *, token: ApiToken | None = None) -> QuerySet[Project]:
    """The projects the user may see (applying an export token's project list).

    A deleted project is seen by no one, lab administrators included, from the moment its
    keys are destroyed, although its rows remain until the background purge removes them.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Project.objects.none()
    if user.is_staff:
        projects = Project.objects.all()
    else:
        projects = get_objects_for_user(
            user, "projects.view_project", klass=Project, accept_global_perms=False
        )
    projects = projects.filter(deleted_at__isnull=True)
    if token is not None and token.scope == TokenScope.EXPORT:
        projects = projects.filter(
            pk__in=TokenProjectScope.objects.filter(token=token).values("project_id")
        )
    return projects


def projects_with_need(
    user: Any, need: Need, *, token: ApiToken | None = None
) -> QuerySet[Project]:
    """The projects on which the user (through the token, if any) may do ``need``."""
    projects = visible_projects(user, token=token)
    if token is not None and token.scope != TokenScope.FULL and need not in EXPORT_TOKEN_NEEDS:
        return projects.none()
    if not getattr(user, "is_authenticated", False) or user.is_staff or need is Need.VIEW:
        return projects
    allowed = get_objects_for_user(
        user, f"projects.{need.value}", klass=Project, accept_global_perms=False
    )
    return projects.filter(pk__in=allowed.values("pk"))


def access_project(
    user: Any, project_id: uuid.UUID | str, *, need: Need, token: ApiToken | None = None
) -> Project:
    """The project, if the user may do ``need`` on it.

    Raises NotFound alike for a missing project, a deleted one and one the user may not see
    (no existence oracle), and PermissionDenied when the user sees the project but lacks
    ``need``. One query: the project with the caller's role, whose needs are the bundle
    ``project_roles_create`` granted that role's group (the same answer as ``needs_of``, which
    asks django-guardian, for a fraction of the cost on every request).
    """
    project = _project_or_none(project_id, user)
    needs = set() if project is None else _needs_of_role(user, project, token)
    if project is None or Need.VIEW not in needs:
        raise NotFound("Project not found.", code="project_not_found")
    if need not in needs:
        raise PermissionDenied(
            f"Your role on this project does not allow this ({need.value}).",
            code="insufficient_role",
        )
    return project


def _needs_of_role(user: Any, project: Project, token: ApiToken | None) -> set[Need]:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return set()
    if user.is_staff:
        granted = set(Need)
    else:
        role = getattr(project, "caller_role", None)
        granted = set(ROLE_PERMISSIONS[Role(role)]) if role else set()
    if token is not None and token.scope != TokenScope.FULL:
        granted &= EXPORT_TOKEN_NEEDS
        if granted and not TokenProjectScope.objects.filter(token=token, project=project).exists():
            granted = set()
    return granted


def _project_or_none(project_id: uuid.UUID | str, user: Any) -> Project | None:
    try:
        pk = project_id if isinstance(project_id, uuid.UUID) else uuid.UUID(str(project_id))
    except ValueError:
        return None
    # A deleted project is missing for everyone: its keys are gone and its rows await the purge.
    # Plain SQL (core/sql.py): this runs on every project-scoped request, and building the same
    # query with the ORM (the role as a subquery) cost four times its CPU.
    caller = user.pk if getattr(user, "is_authenticated", False) else None
    params = [
        User._meta.pk.get_db_prep_value(caller, connection),
        Project._meta.pk.get_db_prep_value(pk, connection),
    ]
    found = sql.rows(_PROJECT_WITH_ROLE.format(columns=sql.columns(Project, "p")), params)
    if not found:
        return None
    project = sql.loaded(Project, found[0])
    project.caller_role = found[0][-1]  # type: ignore[attr-defined]
    return project


# The project with the caller's role (NULL for none): the group of the project's roles that
# the caller is in. A user holds at most one role per project (``member_set_role``).
_PROJECT_WITH_ROLE = (
    "SELECT {columns}, (SELECT r.role FROM projects_projectrole r"
    " JOIN accounts_user_groups ug ON ug.group_id = r.group_id"
    " WHERE r.project_id = p.id AND ug.user_id = %s LIMIT 1)"
    " FROM projects_project p WHERE p.id = %s AND p.deleted_at IS NULL"
)


def member_set_role(project: Project, user: User, role: Role | None) -> Role | None:
    """Put the user in exactly one role group of the project (or none). Returns the old role."""
    with transaction.atomic():
        groups = ProjectRole.objects.filter(project=project)
        old = role_of(user, project)
        user.groups.remove(*Group.objects.filter(project_role__in=groups))
        if role is not None:
            user.groups.add(groups.get(role=role).group)
        return old


def members(project: Project) -> QuerySet[User]:
    """The project's members, each annotated with ``project_role``."""
    return (
        User.objects.filter(groups__project_role__project=project)
        .annotate(project_role=F("groups__project_role__role"))
        .order_by("email")
    )


def members_with_role(project: Project, roles: Iterable[Role]) -> QuerySet[User]:
    return members(project).filter(groups__project_role__role__in=[r.value for r in roles])
