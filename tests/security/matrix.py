"""The permission matrix: personas, targets, the rules that derive each expected status, and
every endpoint with its rule and the audit events its success records.

No status here is written by hand. A persona declares only its role on each project (and
whether it is an admin or an API token); what that role may do comes from
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

What a request leaves in the audit log is exact. A refusal records one ``request.denied`` and
nothing else. A success records exactly the events its endpoint declares (``events``), in
order; they were read from the services each endpoint calls, and are required of every entry,
so a new endpoint cannot join the matrix without a decision about its audit record. A call with
an API token also records one ``token.used`` first, whatever its outcome.
"""

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from audit.models import AuditEvent
from projects.models import Role
from projects.permissions import EXPORT_TOKEN_NEEDS, ROLE_PERMISSIONS, Need
from tests.factories import CLASSIFICATION_SCHEMA, password_of, strong_password

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


# What a success records: the actions, or a function of (persona, target) giving them.
Events = tuple[str, ...] | Callable[[Persona, Target], tuple[str, ...]]


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
    # The actions a success records, in order: () for a read of no content (a list, a status).
    # A callable where they depend on who asks or on the target. Required (keyword only).
    events: Events = field(kw_only=True)

    def success_events(self, persona: Persona, target: Target) -> tuple[str, ...]:
        return self.events(persona, target) if callable(self.events) else self.events


def last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def recorded_since(seq: int) -> list[tuple[str, str]]:
    """(action, outcome) of every event recorded after ``seq``, in order."""
    return list(
        AuditEvent.objects.filter(seq__gt=seq).order_by("seq").values_list("action", "outcome")
    )


def _new_project(world: Any) -> dict[str, Any]:
    return {"name": "Matrix project", "label_schema": CLASSIFICATION_SCHEMA}


HELD = {"task_id": "held_task"}
DONE = {"task_id": "done_task"}
ANNOTATION = "/api/v1/projects/{project_id}/tasks/{task_id}/annotations/{annotation_id}"
NONE: tuple[str, ...] = ()  # reads of no content: lists, statuses, settings, one's own profile
VERSIONS = "/api/v1/projects/{project_id}/versions/"
VERSION = "/api/v1/projects/{project_id}/versions/{version}"
WEBHOOKS = "/api/v1/projects/{project_id}/webhooks/"
WEBHOOK = "/api/v1/projects/{project_id}/webhooks/{webhook_id}"

ENDPOINTS = (
    Endpoint("GET", "/api/v1/projects/", signed_in(200, export_token=True), events=NONE),
    # The project, its role groups, the creator as manager, then its key (outside the database).
    Endpoint("POST", "/api/v1/projects/", lab_admin(201), _new_project,
             events=("project.created", "key.created")),
    Endpoint("GET", "/api/v1/projects/{project_id}", on_project(Need.VIEW, 200), events=NONE),
    Endpoint("PATCH", "/api/v1/projects/{project_id}", on_project(Need.MANAGE, 200),
             lambda w: {"description": "changed by the matrix"}, events=("project.updated",)),
    Endpoint("GET", "/api/v1/projects/{project_id}/members/", on_project(Need.MANAGE, 200),
             events=NONE),
    # The email has no account yet, so adding it invites it (an existing one: member.added).
    Endpoint("POST", "/api/v1/projects/{project_id}/members/", on_project(Need.MANAGE, 201),
             lambda w: {"email": "matrix-new@lab.test", "role": "viewer"},
             events=("invitation.created",)),
    Endpoint("PATCH", "/api/v1/projects/{project_id}/members/{user_id}",
             on_project_object(Need.MANAGE, 200), lambda w: {"role": "viewer"},
             events=("member.role_changed",)),
    Endpoint("DELETE", "/api/v1/projects/{project_id}/members/{user_id}",
             on_project_object(Need.MANAGE, 204), events=("member.removed",)),
    Endpoint("GET", "/api/v1/projects/{project_id}/invitations/", on_project(Need.MANAGE, 200),
             events=NONE),
    Endpoint("POST", "/api/v1/projects/{project_id}/invitations/", on_project(Need.MANAGE, 201),
             lambda w: {"email": "matrix-invitee@lab.test", "role": "viewer"},
             events=("invitation.created",)),
    Endpoint("DELETE", "/api/v1/projects/{project_id}/invitations/{invitation_id}",
             on_project_object(Need.MANAGE, 204), events=("invitation.revoked",)),
    Endpoint("GET", "/api/v1/invitations/", lab_admin(200), events=NONE),
    Endpoint("POST", "/api/v1/invitations/", lab_admin(201),
             lambda w: {"email": "matrix-lab@lab.test"}, events=("invitation.created",)),
    Endpoint("DELETE", "/api/v1/invitations/{invitation_id}", lab_admin(204, (
        Target("lab invitation", owner="lab"),
        Target("a project's invitation", owner="project"),
        Target("missing invitation", owner="missing"),
    )), events=("invitation.revoked",)),
    # The new account is part of invitation.accepted (new_account=true), then it joins.
    Endpoint("POST", "/api/v1/invitations/{token}/accept", invitation_holder(201),
             lambda w: {"password": strong_password(), "full_name": "Matrix Newcomer"},
             events=("invitation.accepted", "member.added")),
    # The accounts endpoints (issue 2): me for anyone signed in (export tokens read only);
    # tokens are managed by people and full tokens, each seeing only their own.
    Endpoint("GET", "/api/v1/me", signed_in(200, export_token=True), events=NONE),
    Endpoint("PATCH", "/api/v1/me", signed_in(200, export_token=False),
             lambda w: {"full_name": "Renamed"}, events=("user.updated",)),
    Endpoint("GET", "/api/v1/tokens/", signed_in(200, export_token=False), events=NONE),
    Endpoint("POST", "/api/v1/tokens/", signed_in(201, export_token=False),
             lambda w: {"name": "matrix", "scope": "full"}, events=("token.created",)),
    Endpoint("GET", "/api/v1/tokens/{token_id}", own_token(200), events=NONE),
    Endpoint("DELETE", "/api/v1/tokens/{token_id}", own_token(204), events=("token.revoked",)),
    # The audit viewer (issue 8): admins everything, managers the events of their projects.
    # Reading the log is itself recorded (with the filters used), as exporting it (a page) is.
    Endpoint("GET", "/api/v1/audit/events", audit_reader(200), events=("audit.read",)),
    # Key operations and deletion (issue 3): lab admins only. The admin's password is sent by
    # everyone; the others are refused before it is looked at.
    Endpoint("DELETE", "/api/v1/projects/{project_id}", lab_admin_on_project(202),
             lambda w: {"password": password_of(w.lab.admin)},
             events=("key.destroyed", "project.deleted")),
    Endpoint("GET", "/api/v1/projects/{project_id}/key", lab_admin_on_project(200), events=NONE),
    Endpoint("POST", "/api/v1/projects/{project_id}/key/rotate", lab_admin_on_project(200),
             events=("key.rotated",)),
    Endpoint("POST", "/api/v1/projects/{project_id}/key/reencrypt", lab_admin_on_project(202),
             events=("key.reencryption_started",)),
    Endpoint("GET", "/api/v1/jobs/{job_id}", lab_admin_job(200), events=NONE),
    Endpoint("POST", "/api/v1/vault/master-key/rotate", lab_admin(200),
             events=("key.master_rotated",)),
    # Imports and the data browser (issue 4): managers and admins, objects scoped by project.
    # The import job itself runs after commit (never, inside the matrix's rolled-back cells).
    Endpoint("GET", "/api/v1/projects/{project_id}/imports/", on_project(Need.MANAGE, 200),
             events=NONE),
    Endpoint("POST", "/api/v1/projects/{project_id}/imports/", on_project(Need.MANAGE, 202),
             raw=b'{"text": "from the matrix"}\n', query="?file_name=matrix.jsonl",
             events=("import.created",)),
    Endpoint("GET", "/api/v1/projects/{project_id}/imports/{import_id}",
             on_project_object(Need.MANAGE, 200), events=NONE),
    Endpoint("POST", "/api/v1/projects/{project_id}/imports/{import_id}/cancel",
             on_project_object(Need.MANAGE, 202), events=("import.cancel_requested",)),
    Endpoint("DELETE", "/api/v1/projects/{project_id}/imports/{import_id}/tasks",
             on_project_object(Need.MANAGE, 200), kinds={"import_id": "done_import"},
             events=("import.tasks_deleted",)),
    # The list shows no content; opening a task or a file reads it.
    Endpoint("GET", "/api/v1/projects/{project_id}/tasks/", on_project(Need.MANAGE, 200),
             events=NONE),
    Endpoint("GET", "/api/v1/projects/{project_id}/tasks/{task_id}",
             on_project_object(Need.MANAGE, 200), events=("task.read",)),
    Endpoint("GET", "/api/v1/projects/{project_id}/files/{file_id}/content",
             on_project_object(Need.MANAGE, 200), events=("file.read",)),
    # The gate lets a manager through; the matrix's project is a classification project, which
    # then refuses an image with 400, before anything is stored. Uploads themselves:
    # tests/datasets.
    Endpoint("POST", "/api/v1/projects/{project_id}/files/", on_project(Need.MANAGE, 400),
             raw=b"\x89PNG", query="?name=matrix.png", events=NONE),
    # The work (issue 5): annotating needs annotate_project, and reaches only the tasks the
    # queue gave the caller (every worker of the matrix holds one, and submitted another);
    # reviewing and reading others' work need review_project. Lists show no content.
    Endpoint("POST", "/api/v1/projects/{project_id}/next", on_project(Need.ANNOTATE, 200),
             events=("task.read",)),
    Endpoint("GET", "/api/v1/projects/{project_id}/tasks/{task_id}/work",
             on_project_object(Need.ANNOTATE, 200), kinds=HELD, events=("task.read",)),
    # A box task's image. The matrix's project classifies text, so past the gate its tasks
    # answer 404 "no image"; reading images: tests/datasets/test_task_image_api.py.
    Endpoint("GET", "/api/v1/projects/{project_id}/tasks/{task_id}/image",
             on_project_object(Need.ANNOTATE, 404), kinds=HELD, events=()),
    Endpoint("POST", "/api/v1/projects/{project_id}/tasks/{task_id}/skip",
             on_project_object(Need.ANNOTATE, 200), lambda w: {"reason": "unclear"}, kinds=HELD,
             events=("annotation.skipped",)),
    Endpoint("POST", "/api/v1/projects/{project_id}/tasks/{task_id}/release",
             on_project_object(Need.ANNOTATE, 200), kinds=HELD, events=("annotation.released",)),
    Endpoint("PUT", "/api/v1/projects/{project_id}/tasks/{task_id}/draft",
             on_project_object(Need.ANNOTATE, 200), lambda w: {"draft": {"labels": []}},
             kinds=HELD, events=("annotation.draft_saved",)),
    Endpoint("GET", "/api/v1/projects/{project_id}/tasks/{task_id}/annotations/",
             on_project_object(Need.ANNOTATE, 200), kinds=HELD, events=NONE),
    Endpoint("POST", "/api/v1/projects/{project_id}/tasks/{task_id}/annotations/",
             on_project_object(Need.ANNOTATE, 201), lambda w: {"result": {"labels": ["Neutral"]}},
             kinds=HELD, events=("annotation.submitted",)),
    Endpoint("GET", ANNOTATION, on_project_object(Need.ANNOTATE, 200), kinds=DONE,
             events=("annotation.read",)),
    Endpoint("PATCH", ANNOTATION, on_project_object(Need.ANNOTATE, 200),
             lambda w: {"result": {"labels": ["Negative"]}}, kinds=DONE,
             events=("annotation.revised",)),
    Endpoint("POST", f"{ANNOTATION}/comments", on_project_object(Need.ANNOTATE, 201),
             lambda w: {"body": "A note from the matrix."}, kinds=DONE,
             events=("annotation.commented",)),
    Endpoint("POST", f"{ANNOTATION}/review", on_project_object(Need.REVIEW, 201),
             lambda w: {"decision": "accept"},
             kinds={**DONE, "annotation_id": "their_annotation"}, events=("review.accepted",)),
    # The review queue hands out a task with someone's answer: both are read.
    Endpoint("POST", "/api/v1/projects/{project_id}/reviews/next", on_project(Need.REVIEW, 200),
             events=("task.read", "annotation.read")),
    Endpoint("GET", "/api/v1/projects/{project_id}/annotations/", on_project(Need.ANNOTATE, 200),
             events=NONE),
    Endpoint("GET", "/api/v1/projects/{project_id}/quality", on_project(Need.ANNOTATE, 200),
             events=NONE),
    # The figures are computed after commit (never, inside the matrix's rolled-back cells).
    Endpoint("POST", "/api/v1/projects/{project_id}/quality", on_project(Need.REVIEW, 202),
             events=("quality.requested",)),
    Endpoint("PATCH", "/api/v1/projects/{project_id}/quality/annotators/{user_id}",
             on_project_object(Need.MANAGE, 200), lambda w: {"paused": True},
             events=("annotator.paused",)),
    # Dataset versions (issue 7): managers, admins and export tokens; annotators, reviewers and
    # viewers may not export. The world holds a built version of each project. The build
    # itself runs after commit (never, inside the matrix's rolled-back cells).
    Endpoint("GET", VERSIONS, on_project(Need.EXPORT, 200), events=NONE),
    Endpoint("POST", VERSIONS, on_project(Need.EXPORT, 202), lambda w: {"format": "jsonl"},
             events=("version.created",)),
    Endpoint("GET", VERSION, on_project_object(Need.EXPORT, 200), events=NONE),
    Endpoint("GET", f"{VERSION}/manifest", on_project_object(Need.EXPORT, 200), events=NONE),
    Endpoint("GET", f"{VERSION}/download", on_project_object(Need.EXPORT, 200),
             events=("version.downloaded",)),
    Endpoint("GET", "/api/v1/signing-keys", signed_in(200, export_token=True), events=NONE),
    # Webhooks (issue 7): managers and admins; export tokens may not manage them. The world's
    # webhooks name a host off the matrix's allowlist, so a test ping is refused before any
    # lookup (no network); it records the manager's test all the same. Deliveries:
    # tests/datasets/test_webhooks.py.
    Endpoint("GET", WEBHOOKS, on_project(Need.MANAGE, 200), events=NONE),
    Endpoint("POST", WEBHOOKS, on_project(Need.MANAGE, 201),
             lambda w: {"url": "https://matrix.lab.test/hook"}, events=("webhook.created",)),
    Endpoint("GET", WEBHOOK, on_project_object(Need.MANAGE, 200), events=NONE),
    Endpoint("PATCH", WEBHOOK, on_project_object(Need.MANAGE, 200), lambda w: {"active": False},
             events=("webhook.updated",)),
    Endpoint("DELETE", WEBHOOK, on_project_object(Need.MANAGE, 204), events=("webhook.deleted",)),
    Endpoint("GET", f"{WEBHOOK}/deliveries", on_project_object(Need.MANAGE, 200), events=NONE),
    Endpoint("POST", f"{WEBHOOK}/test", on_project_object(Need.MANAGE, 200),
             events=("webhook.tested",)),
    Endpoint("POST", f"{WEBHOOK}/secret", on_project_object(Need.MANAGE, 200),
             events=("webhook.secret_rotated",)),
)  # fmt: skip
