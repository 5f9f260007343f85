"""Writes on projects and their members. Each service checks, writes and records its audit event
in one transaction; callers pass an ``Actor`` and a project reached through ``access_project``.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit.services import Actor, record
from core.errors import Conflict, PermissionDenied, ValidationFailed
from projects import keys, permissions
from projects.models import Project, Role, TaskType
from projects.schemas import validate_label_schema

logger = logging.getLogger(__name__)

MAX_OVERLAP = 50
WORK_SETTINGS = (
    "review_required",
    "lease_seconds",
    "gold_rate",
    "gold_min_accuracy",
    "gold_min_answers",
)
_UPDATABLE = ("name", "description", "instructions", "label_schema", "overlap", *WORK_SETTINGS)
# Apps above this one that keep state derived from a project's overlap (the work queue's
# free slots) register here, from their AppConfig.ready; each runs in the update's transaction.
OVERLAP_CHANGED: list[Callable[[Project, int], None]] = []


def require_active(project: Project) -> None:
    # Archived projects are frozen: nothing changes and nobody new gets access until a restore.
    if project.is_archived:
        raise Conflict("This project is archived; restore it first.", code="project_archived")


def _check_overlap(overlap: int) -> None:
    if not 1 <= overlap <= MAX_OVERLAP:
        raise ValidationFailed(
            f"overlap must be between 1 and {MAX_OVERLAP}.",
            code="invalid_overlap",
            details={"field": "overlap"},
        )


# (field, lowest, highest, what it is): the bounds of the work's settings.
_WORK_BOUNDS = (
    ("lease_seconds", 60, 7 * 24 * 3600, "seconds"),
    ("gold_rate", 0.0, 1.0, "a share of the tasks handed out"),
    ("gold_min_accuracy", 0.0, 1.0, "a share of the gold score"),
    ("gold_min_answers", 1, 10_000, "gold answers"),
)


def _check_work_settings(changes: dict[str, Any]) -> None:
    for name, low, high, what in _WORK_BOUNDS:
        value = changes.get(name)
        if value is not None and not low <= value <= high:
            raise ValidationFailed(
                f"{name} must be between {low} and {high} ({what}).",
                code="invalid_setting",
                details={"field": name},
            )


@transaction.atomic
def project_create(
    *,
    actor: Actor,
    name: str,
    task_type: str = TaskType.CLASSIFICATION,
    label_schema: dict[str, Any],
    description: str = "",
    instructions: str = "",
    overlap: int = 1,
    **work: Any,
) -> Project:
    """Create a project with its role groups; the creator becomes its manager. Admins only.

    ``work`` takes the work's settings (``review_required``, ``lease_seconds``, ``gold_rate``,
    ``gold_min_accuracy``, ``gold_min_answers``); the others keep their defaults.
    """
    if not permissions.can_create_projects(actor.user):
        raise PermissionDenied("Only lab administrators create projects.", code="not_admin")
    label_schema = validate_label_schema(task_type, label_schema)
    _check_overlap(overlap)
    unknown = sorted(set(work) - set(WORK_SETTINGS))
    if unknown:
        raise TypeError(f"project_create() got unexpected settings {unknown}")
    _check_work_settings(work)
    project = Project.objects.create(
        name=name.strip(),
        description=description,
        instructions=instructions,
        task_type=task_type,
        label_schema=label_schema,
        overlap=overlap,
        created_by=actor.user,
        **work,
    )
    permissions.project_roles_create(project)
    permissions.member_set_role(project, actor.user, Role.MANAGER)
    record(
        actor=actor,
        action="project.created",
        project_id=project.pk,
        object_type="project",
        object_id=str(project.pk),
    )
    # The key lives outside the database; if the key provider is down, no project is created.
    keys.project_key_create(actor=actor, project=project)
    return project


@transaction.atomic
def project_update(*, actor: Actor, project: Project, changes: dict[str, Any]) -> Project:
    """Change the given fields of a project (managers). Records which fields changed."""
    require_active(project)
    unknown = sorted(set(changes) - set(_UPDATABLE))
    if unknown:
        raise ValidationFailed(
            f"{unknown[0]}: cannot be changed.", code="unknown_field", details={"field": unknown[0]}
        )
    if "label_schema" in changes:
        changes["label_schema"] = validate_label_schema(project.task_type, changes["label_schema"])
    if "overlap" in changes:
        _check_overlap(changes["overlap"])
    _check_work_settings(changes)
    old_overlap = project.overlap
    changed = sorted(k for k, v in changes.items() if getattr(project, k) != v)
    for key in changed:
        setattr(project, key, changes[key])
    if changed:
        project.updated_at = timezone.now()
        project.save(update_fields=[*changed, "updated_at"])
        record(
            actor=actor,
            action="project.updated",
            project_id=project.pk,
            object_type="project",
            object_id=str(project.pk),
            details={"fields": changed},
        )
    if "overlap" in changed:
        for hook in OVERLAP_CHANGED:
            hook(project, old_overlap)
    return project


@transaction.atomic
def project_archive(*, actor: Actor, project: Project, archived: bool = True) -> Project:
    """Archive (or restore) a project: archived projects hand out no new work."""
    if project.is_archived == archived:
        return project
    project.archived_at = timezone.now() if archived else None
    project.updated_at = timezone.now()
    project.save(update_fields=["archived_at", "updated_at"])
    record(
        actor=actor,
        action="project.archived" if archived else "project.restored",
        project_id=project.pk,
        object_type="project",
        object_id=str(project.pk),
    )
    return project


def require_grant(actor: Actor, project: Project, role: Role) -> None:
    if not permissions.can_grant(actor.user, project, role):
        raise PermissionDenied(
            f"You cannot grant the role '{role.value}', which is above your own.",
            code="role_above_own",
            details={"field": "role"},
        )


def _check_last_manager(project: Project, user: User, new_role: Role | None) -> None:
    if new_role == Role.MANAGER or permissions.role_of(user, project) != Role.MANAGER:
        return
    if permissions.members_with_role(project, [Role.MANAGER]).count() <= 1:
        raise Conflict("A project keeps at least one manager.", code="last_manager")


@transaction.atomic
def member_add(*, actor: Actor, project: Project, user: User, role: Role) -> User:
    """Give an existing user a role on the project (managers and admins, up to their own rank)."""
    require_active(project)
    require_grant(actor, project, role)
    if permissions.role_of(user, project) is not None:
        raise Conflict(
            f"{user.email} is already a member of this project.",
            code="already_member",
            details={"field": "email"},
        )
    if not user.is_active:
        raise ValidationFailed(
            "This account is deactivated.", code="inactive_user", details={"field": "email"}
        )
    permissions.member_set_role(project, user, role)
    record(
        actor=actor,
        action="member.added",
        project_id=project.pk,
        object_type="user",
        object_id=str(user.pk),
        details={"role": role.value},
    )
    return user


@transaction.atomic
def member_change_role(*, actor: Actor, project: Project, user: User, role: Role) -> User:
    """Change a member's role; neither the old nor the new role may be above the actor's."""
    require_active(project)
    old = permissions.role_of(user, project)
    if old is None:
        raise ValidationFailed("Not a member of this project.", code="not_member")
    require_grant(actor, project, role)
    require_grant(actor, project, old)
    _check_last_manager(project, user, role)
    if old != role:
        permissions.member_set_role(project, user, role)
        record(
            actor=actor,
            action="member.role_changed",
            project_id=project.pk,
            object_type="user",
            object_id=str(user.pk),
            details={"from": old.value, "to": role.value},
        )
    return user


@transaction.atomic
def member_remove(*, actor: Actor, project: Project, user: User) -> None:
    """Remove a member; effective on their next request (permissions are never cached)."""
    old = permissions.role_of(user, project)
    if old is None:
        raise ValidationFailed("Not a member of this project.", code="not_member")
    require_grant(actor, project, old)
    _check_last_manager(project, user, None)
    permissions.member_set_role(project, user, None)
    record(
        actor=actor,
        action="member.removed",
        project_id=project.pk,
        object_type="user",
        object_id=str(user.pk),
        details={"role": old.value},
    )
