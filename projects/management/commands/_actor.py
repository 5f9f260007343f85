"""Shared by the key-operation commands: who acts (a lab administrator) and on which project."""

import uuid

from django.core.management.base import CommandError

from accounts.models import User
from audit.services import Actor
from projects.models import Project


def admin_actor(email: str, *, label: str = "cli") -> Actor:
    """The audit actor for a command run on behalf of a named, active lab administrator."""
    user = User.objects.filter(email=email.strip().lower(), is_staff=True, is_active=True).first()
    if user is None:
        raise CommandError(f"--actor: no active lab administrator has the email {email}.")
    return Actor.system(label, user=user)


def project_of(value: str) -> Project:
    try:
        project_id = uuid.UUID(value)
    except ValueError:
        raise CommandError(f"--project: {value!r} is not a project id.") from None
    project = Project.objects.filter(pk=project_id).first()
    if project is None:
        raise CommandError(f"--project: no project has the id {value}.")
    return project
