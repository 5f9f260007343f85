"""The permission matrix: personas, targets and the rules that derive each expected status.

Nothing here is a hand-written table of outcomes. A persona declares only its role on each
project (and whether it is an admin or an API token); what that role may do comes from
``projects.permissions.ROLE_PERMISSIONS`` and ``EXPORT_TOKEN_NEEDS``, and each endpoint names
the one ``Need`` it requires. The statuses follow from the API's conventions:

- 401 for anonymous callers (except accepting an invitation, where the token is the credential);
- 404 for a project the caller may not see, exactly as for a missing one, and for an object
  (member, invitation, token) that is missing or belongs elsewhere - including an object of
  another project addressed through a project the caller does see;
- 403 when the caller sees the project but lacks the need: the project's existence is no
  secret to them, so the answer may say "not allowed". The project is checked before the
  object, so a caller without the need gets 403 even for a missing object of a visible project;
- 403 for lab-level actions (create a project, lab invitations, key operations, deleting a
  project) to anyone but a lab admin, for the audit log to anyone who is neither an admin nor
  a manager of some project, and for anything but reading and exporting to an export-scoped
  token; a background job that the caller may not see is a 404, like a missing one.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from projects.models import Role
from projects.permissions import EXPORT_TOKEN_NEEDS, ROLE_PERMISSIONS, Need

MISSING = uuid.UUID("00000000-0000-4000-8000-00000000dead")


@dataclass(frozen=True)
class Persona:
    name: str
    roles: Mapping[str, Role] = field(default_factory=dict)  # "project"/"other_project" -> role
    user: str = ""  # the Lab attribute of the acting user; "" for anonymous
    staff: bool = False
    token: str = ""  # "", "export" (scoped to "project") or "full"

    @property
    def anonymous(self) -> bool:
        return not self.user

    def needs(self, project: str) -> frozenset[Need]:
        """What this persona may do on a project, derived from the role table only."""
        if self.anonymous or project == "missing":
            return frozenset()
        role = self.roles.get(project)
        if self.staff:
            granted = frozenset(Need)
        else:
            granted = ROLE_PERMISSIONS[role] if role is not None else frozenset()
        if self.token == "export":
            return granted & EXPORT_TOKEN_NEEDS if project in EXPORT_TOKEN_PROJECTS else frozenset()
        return granted


EXPORT_TOKEN_PROJECTS = {"project"}

PERSONAS = (
    Persona("anonymous"),
    Persona("viewer", {"project": Role.VIEWER}, user="viewer"),
    Persona("annotator", {"project": Role.ANNOTATOR}, user="annotator"),
    Persona("reviewer", {"project": Role.REVIEWER}, user="reviewer"),
    Persona("manager", {"project": Role.MANAGER}, user="manager"),
    # conftest's admin created both projects, so it is their manager too; as staff it would
    # have every need anyway.
    Persona("admin", {"project": Role.MANAGER, "other_project": Role.MANAGER}, "admin", True),
    Persona("outsider", {"other_project": Role.MANAGER}, user="outsider"),
    Persona("export_token", {"project": Role.MANAGER}, user="manager", token="export"),
    Persona("full_token", {"project": Role.MANAGER}, user="manager", token="full"),
)


@dataclass(frozen=True)
class Target:
    """Where a request points: a project key, and for nested objects, whose object it is."""

    name: str
    project: str = ""  # "project", "other_project" or "missing"
    owner: str = ""  # whose object: a project key, "mine", "theirs", "lab" or "missing"


def project_status(persona: Persona, project: str, need: Need, success: int) -> int:
    if persona.anonymous:
        return 401
    needs = persona.needs(project)
    if need in needs:
        return success
    return 403 if Need.VIEW in needs else 404


def on_project(need: Need, success: int) -> "Rule":
    targets = (Target("own project", "project"), Target("foreign project", "other_project"),
               Target("missing project", "missing"))  # fmt: skip

    def expect(persona: Persona, target: Target) -> int:
        return project_status(persona, target.project, need, success)

    return Rule(f"needs {need.value} on the project", targets, expect)


def on_project_object(need: Need, success: int) -> "Rule":
    targets = (
        Target("own object", "project", "project"),
        Target("foreign object", "other_project", "other_project"),
        Target("foreign object through own project", "project", "other_project"),
        Target("missing object", "project", "missing"),
        Target("missing project", "missing", "project"),
    )

    def expect(persona: Persona, target: Target) -> int:
        status = project_status(persona, target.project, need, success)
        if status == success and target.owner != target.project:
            return 404
        return status

    return Rule(f"needs {need.value} on the project, object scoped by it", targets, expect)


def signed_in(success: int, *, export_token: bool) -> "Rule":
    def expect(persona: Persona, target: Target) -> int:
        if persona.anonymous:
            return 401
        return success if export_token or persona.token != "export" else 403

    return Rule("any signed-in caller", (Target("-"),), expect)


def lab_admin(success: int, targets: tuple[Target, ...] = (Target("-"),)) -> "Rule":
    def expect(persona: Persona, target: Target) -> int:
        if persona.anonymous:
            return 401
        if not persona.staff or persona.token == "export":
            return 403
        return success if target.owner in ("", "lab") else 404

    return Rule("lab admins", targets, expect)


def own_token(success: int) -> "Rule":
    targets = (Target("my token", owner="mine"), Target("another user's token", owner="theirs"),
               Target("missing token", owner="missing"))  # fmt: skip

    def expect(persona: Persona, target: Target) -> int:
        if persona.anonymous:
            return 401
        if persona.token == "export":
            return 403
        return success if target.owner == "mine" else 404

    return Rule("the caller's own tokens", targets, expect)


def invitation_holder(success: int) -> "Rule":
    targets = (Target("valid invitation", "project", "project"),
               Target("unknown invitation", owner="missing"))  # fmt: skip

    def expect(persona: Persona, target: Target) -> int:
        if persona.token == "export":
            return 403
        if target.owner == "missing":
            return 404
        # The invitation is for a new email: only an anonymous newcomer may take it.
        return success if persona.anonymous else 403

    # The invitation names its project, and accepting it joins that project.
    return Rule("whoever holds the invitation link", targets, expect, reveals_target=True)


def audit_reader(success: int) -> "Rule":
    def expect(persona: Persona, target: Target) -> int:
        if persona.anonymous:
            return 401
        manages = any(Need.MANAGE in persona.needs(key) for key in ("project", "other_project"))
        return success if (persona.staff or manages) and persona.token != "export" else 403

    return Rule("lab admins, and managers for their projects", (Target("-"),), expect)


def lab_admin_on_project(success: int) -> "Rule":
    """Key operations and deletion. Anyone but a lab admin is refused before the project is
    looked up, so the 403 is the same for every id and reveals nothing; an admin sees every
    project, so only a missing one is a 404."""
    targets = (Target("own project", "project"), Target("foreign project", "other_project"),
               Target("missing project", "missing"))  # fmt: skip

    def expect(persona: Persona, target: Target) -> int:
        if persona.anonymous:
            return 401
        if not persona.staff or persona.token == "export":
            return 403
        return project_status(persona, target.project, Need.MANAGE, success)

    return Rule("lab admins, on a project they see", targets, expect)


def lab_admin_job(success: int) -> "Rule":
    """A re-encryption job: lab admins only; to anyone else it is not found, like a missing one."""
    targets = (
        Target("job of own project", "project", "project"),
        Target("job of foreign project", "other_project", "other_project"),
        Target("missing job", "project", "missing"),
    )

    def expect(persona: Persona, target: Target) -> int:
        if persona.anonymous:
            return 401
        if not persona.staff or persona.token == "export" or target.owner == "missing":
            return 404
        return project_status(persona, target.project, Need.MANAGE, success)

    return Rule("lab admins; a job is a 404 to anyone else", targets, expect)


@dataclass(frozen=True)
class Rule:
    description: str
    targets: tuple[Target, ...]
    expect: Callable[[Persona, Target], int]
    reveals_target: bool = False  # a success makes the target's project visible to the caller


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as in the OpenAPI schema
    rule: Rule
    body: Callable[[Any], dict[str, Any]] | None = None
    # Uploads: the raw body (a file) and the query string that names it.
    raw: bytes | None = None
    query: str = ""
    # Which kind of object a path parameter names, where it is not the parameter's default.
    kinds: Mapping[str, str] = field(default_factory=dict)
