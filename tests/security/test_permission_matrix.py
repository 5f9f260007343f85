"""Every API endpoint x every persona x own, foreign and missing objects.

The expected status of each cell is derived from the role table (see ``tests/security/matrix``
for the rules and why a refusal is a 403 or a 404). Each cell also checks for leaks: no body
names a project the persona may not see, nor the members or invitees of a project the persona
may not manage. Each cell also checks the audit record, exactly: a refusal (401, 403, 404)
records one ``request.denied`` and nothing else; a success records exactly the events its
endpoint declares, in order; a token call records one ``token.used`` before either. The schema
tests at the bottom fail when an endpoint exists without a matrix entry (and an entry cannot
be written without its events), or an entry without an endpoint.
"""

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.core.cache import cache
from django.db import transaction
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

import vault
from accounts.models import ApiToken, TokenScope, User
from audit.services import Actor
from datasets.exports import versions
from datasets.models import DatasetVersion, ImportState, Webhook
from labeling import annotations, queue
from projects import invitations, tokens
from projects.models import Invitation, Project, Role
from projects.permissions import Need
from tests.conftest import Lab, add_member
from tests.datasets.factories import make_file, make_import, make_task
from tests.factories import make_user
from tests.labeling.work import make_task as work_task
from tests.security.matrix import (
    ENDPOINTS,
    MISSING,
    PERSONAS,
    Endpoint,
    Persona,
    Target,
    last_seq,
    recorded_since,
)
from vault.models import JobState, ReencryptionJob


@dataclass
class World:
    """The lab plus what the endpoints point at: members, invitations and tokens."""

    lab: Lab
    objects: dict[str, dict[str, Any]]  # kind -> owner key -> object
    clients: dict[str, APIClient]
    accept_token: str


def _invite(
    by: User, email: str, project: Any = None, role: Role | None = None
) -> tuple[Invitation, str]:
    return invitations.invitation_create(
        actor=Actor.system(user=by), email=email, project=project, role=role
    )


def _token(
    user: User, name: str, scope: str = TokenScope.FULL, projects=None
) -> tuple[ApiToken, str]:
    created = tokens.token_create(
        actor=Actor.system(user=user), name=name, scope=scope, projects=projects
    )
    return created.token, created.plaintext


def _client(persona: Persona, lab: Lab, plaintexts: dict[str, str]) -> APIClient:
    client = APIClient()
    if persona.token:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintexts[persona.token]}")
    elif not persona.anonymous:
        client.force_login(getattr(lab, persona.user))  # a real session, through the middleware
    return client


@pytest.fixture
def world(lab, settings) -> World:
    # Webhooks may be registered for this host; the world's own webhooks name another one.
    settings.WEBHOOK_ALLOWED_HOSTS = ["matrix.lab.test"]
    foreign_member = add_member(
        lab.other_project, make_user(email="foreign-annotator@lab.test"), Role.ANNOTATOR
    )
    own_invitation, _ = _invite(lab.manager, "pending-own@lab.test", lab.project, Role.VIEWER)
    foreign_invitation, _ = _invite(
        lab.outsider, "pending-foreign@lab.test", lab.other_project, Role.VIEWER
    )
    lab_invitation, _ = _invite(lab.admin, "pending-lab@lab.test")
    _accept, accept_token = _invite(lab.manager, "accept-me@lab.test", lab.project, Role.ANNOTATOR)
    _, export_plain = _token(lab.manager, "export", TokenScope.EXPORT, [str(lab.project.pk)])
    _, full_plain = _token(lab.manager, "full")
    spare = {name: _token(getattr(lab, name), f"spare-{name}")[0] for name in
             ("viewer", "annotator", "reviewer", "manager", "admin", "outsider")}  # fmt: skip
    objects = {
        "member": {"project": lab.annotator, "other_project": foreign_member},
        "invitation": {
            "project": own_invitation,
            "other_project": foreign_invitation,
            "lab": lab_invitation,
        },
        "token": spare,
        # Finished jobs: an unfinished one would make starting another a 409.
        "job": {key: ReencryptionJob.objects.create(project_id=getattr(lab, key).pk,
                                                    target_version=1, state=JobState.SUCCEEDED)
                for key in ("project", "other_project")},
        # A queued import (to read and cancel), a finished one (whose tasks can be deleted),
        # a task and an image file of each project.
        "import": {key: make_import(getattr(lab, key)) for key in ("project", "other_project")},
        "done_import": {key: make_import(getattr(lab, key), ImportState.SUCCEEDED, number=2)
                        for key in ("project", "other_project")},
        "task": {key: make_task(getattr(lab, key), f"matrix task of {key}")
                 for key in ("project", "other_project")},
        "file": {key: make_file(getattr(lab, key)) for key in ("project", "other_project")},
        "webhook": {key: _webhook(getattr(lab, key)) for key in ("project", "other_project")},
        "version": {key: _version(getattr(lab, key)) for key in ("project", "other_project")},
        **_work_objects(lab, foreign_member),
    }  # fmt: skip
    plaintexts = {"export": export_plain, "full": full_plain}
    clients = {persona.name: _client(persona, lab, plaintexts) for persona in PERSONAS}
    return World(lab, objects, clients, accept_token)


def _webhook(project: Project) -> Webhook:
    webhook_id = uuid.uuid4()
    return Webhook.objects.create(
        id=webhook_id,
        project=project,
        url="https://hooks.lab.test/matrix",
        secret=vault.seal(project.pk, "webhook.secret", webhook_id, "matrix-webhook-secret"),
        events=["version.ready"],
        created_by=project.created_by,
    )


def _version(project: Project) -> DatasetVersion:
    created = versions.version_create(
        actor=Actor.system(user=project.created_by), project=project, format_name="jsonl"
    )
    return versions.version_build(version_id=created.pk)


def _work_objects(lab: Lab, foreign_member: User) -> dict[str, dict[str, Any]]:
    """A task each worker of each project holds ("held_task") and one each has submitted and
    that awaits review ("done_task"); review is on and overlap high enough for everyone."""
    workers = {
        "project": [lab.annotator, lab.reviewer, lab.manager, lab.admin],
        "other_project": [lab.outsider, foreign_member, lab.admin],
    }
    objects: dict[str, dict[str, Any]] = {"held_task": {}, "done_task": {}, "annotations": {}}
    for key, people in workers.items():
        project = getattr(lab, key)
        Project.objects.filter(pk=project.pk).update(overlap=10, review_required=True)
        project.refresh_from_db()
        held = work_task(project, {"text": f"held in {key}"}, priority=2)
        done = work_task(project, {"text": f"done in {key}"}, priority=1)
        objects["held_task"][key], objects["done_task"][key] = held, done
        objects["annotations"][key] = {}
        for person in people:
            actor = Actor.system(user=person)
            queue.next_task(actor=actor, project=project)
            queue.next_task(actor=actor, project=project, resume=False)
            objects["annotations"][key][person.pk] = annotations.annotation_submit(
                actor=actor, project=project, task_id=done.pk, result={"labels": ["Positive"]}
            )
    # Whose annotation a reviewer reviews: a plain annotator's.
    objects["their_annotation"] = {
        "project": objects["annotations"]["project"][lab.annotator.pk],
        "other_project": objects["annotations"]["other_project"][foreign_member.pk],
    }
    return objects


def _annotation_id(world: World, endpoint: Endpoint, persona: Persona, owner: str) -> str:
    """The caller's own annotation of the done task, where they have one (else a plain
    annotator's); for reviewing, always the plain annotator's."""
    if owner == "missing":
        return str(MISSING)
    if endpoint.kinds.get("annotation_id") == "their_annotation":
        return str(world.objects["their_annotation"][owner].pk)
    by_person = world.objects["annotations"][owner]
    user = getattr(world.lab, persona.user) if persona.user else None
    mine = by_person.get(getattr(user, "pk", None))
    return str((mine or world.objects["their_annotation"][owner]).pk)


def _project_id(world: World, key: str) -> str:
    return str(MISSING if key in ("missing", "") else getattr(world.lab, key).pk)


def _object_id(world: World, kind: str, owner: str) -> str:
    return str(MISSING if owner == "missing" else world.objects[kind][owner].pk)


def _token_id(world: World, persona: Persona, owner: str) -> str:
    if owner == "missing":
        return str(MISSING)
    mine = persona.user or "viewer"
    theirs = "viewer" if mine == "outsider" else "outsider"
    return str(world.objects["token"][mine if owner == "mine" else theirs].pk)


def url_for(endpoint: Endpoint, world: World, persona: Persona, target: Target) -> str:
    """Fill the schema's path template for this target."""
    owner = target.owner or target.project
    values = {
        "project_id": lambda: _project_id(world, target.project),
        "user_id": lambda: _object_id(world, "member", owner),
        "invitation_id": lambda: _object_id(world, "invitation", owner),
        "token_id": lambda: _token_id(world, persona, target.owner),
        "token": lambda: "no-such-invitation" if owner == "missing" else world.accept_token,
        "job_id": lambda: _object_id(world, "job", owner),
        "import_id": lambda: _object_id(world, endpoint.kinds.get("import_id", "import"), owner),
        "task_id": lambda: _object_id(world, endpoint.kinds.get("task_id", "task"), owner),
        "annotation_id": lambda: _annotation_id(world, endpoint, persona, owner),
        "file_id": lambda: _object_id(world, "file", owner),
        "webhook_id": lambda: _object_id(world, "webhook", owner),
        "version": lambda: _object_id(world, "version", owner),
    }
    return endpoint.path.format(
        **{name: value() for name, value in values.items() if f"{{{name}}}" in endpoint.path}
    )


def forbidden_markers(world: World, persona: Persona, revealed: str = "") -> set[str]:
    """What this persona's answers must never contain: projects it may not see (but the one
    a success just revealed), and the members and invitees of projects it may not manage
    (its own email aside)."""
    lab = world.lab
    member_emails = {
        "project": {"viewer@lab.test", "annotator@lab.test", "reviewer@lab.test",
                    "manager@lab.test", "pending-own@lab.test"},
        "other_project": {"outsider@lab.test", "foreign-annotator@lab.test",
                          "pending-foreign@lab.test"},
    }  # fmt: skip
    markers: set[str] = set()
    for key in ("project", "other_project"):
        needs = persona.needs(key)
        project = getattr(lab, key)
        if Need.VIEW not in needs and key != revealed:
            markers |= {str(project.pk), project.name}
        if Need.MANAGE not in needs:
            markers |= member_emails[key]
    if not persona.staff or persona.token == "export":
        markers.add("pending-lab@lab.test")
    own = getattr(lab, persona.user).email if persona.user else ""
    return markers - {own}


REFUSED = frozenset({401, 403, 404})
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})


def expected_record(
    endpoint: Endpoint, persona: Persona, target: Target, status: int
) -> list[tuple[str, str]]:
    # An API token's use is recorded at authentication, whatever happens next.
    used = [("token.used", "success")] if persona.token else []
    if status in REFUSED:
        return [*used, ("request.denied", "denied")]
    actions = endpoint.success_events(persona, target)
    if endpoint.method in WRITES and 200 <= status < 300 and not actions:
        # A change that succeeds must leave a trace: declaring none is a mistake, not a choice.
        return [*used, ("<an event of the change>", "success")]
    return [*used, *((action, "success") for action in actions)]


def run_cell(world: World, endpoint: Endpoint, persona: Persona, target: Target) -> list[str]:
    """One request in a savepoint that is rolled back; returns the problems found."""
    cache.clear()  # throttle counters
    url = url_for(endpoint, world, persona, target)
    body = endpoint.body(world) if endpoint.body else None
    expected = endpoint.rule.expect(persona, target)
    with transaction.atomic():
        since = last_seq()
        client = world.clients[persona.name]
        if endpoint.raw is not None:
            response = client.generic(
                endpoint.method,
                url + endpoint.query,
                endpoint.raw,  # type: ignore[arg-type]  # Django takes bytes as well
                "application/octet-stream",
            )
        else:
            response = client.generic(
                endpoint.method, url, json.dumps(body) if body else "", "application/json"
            )
        revealed = target.project if endpoint.rule.reveals_target else ""
        problems = _check(world, persona, response, expected, revealed)
        recorded = recorded_since(since)
        wanted = expected_record(endpoint, persona, target, expected)
        if recorded != wanted:
            problems.append(f"recorded {recorded}, expected {wanted}")
        transaction.set_rollback(True)
    return [f"{persona.name} on {target.name}: {problem}" for problem in problems]


def _mentions(text: str, marker: str) -> bool:
    # Bounded on the left, so that "viewer@lab.test" is not found inside "reviewer@lab.test".
    return re.search(rf"(?<![\w.+-]){re.escape(marker)}", text) is not None


def _check(world: World, persona: Persona, response, expected: int, revealed: str) -> list[str]:
    problems = []
    body = b"".join(response.streaming_content) if response.streaming else response.content
    text = body.decode(errors="replace")
    if response.status_code != expected:
        problems.append(f"status {response.status_code}, expected {expected}: {text[:200]}")
    if not (200 <= response.status_code < 300):
        revealed = ""
    markers = forbidden_markers(world, persona, revealed)
    leaked = sorted(marker for marker in markers if _mentions(text, marker))
    if leaked:
        problems.append(f"leaked {leaked}")
    if response.status_code >= 400 and set(response.json()) != {"error"}:
        problems.append("error body is not the one error shape")
    return problems


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e.method} {e.path}" for e in ENDPOINTS])
def test_each_persona_gets_what_the_role_table_allows_and_nothing_leaks(world, endpoint):
    problems = []
    for persona in PERSONAS:
        for target in endpoint.rule.targets:
            problems += run_cell(world, endpoint, persona, target)
    assert not problems, f"{endpoint.rule.description}:\n" + "\n".join(problems)


def _schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    methods = {"get", "post", "put", "patch", "delete", "head", "options", "trace"}
    return {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
        if method in methods
    }


def test_every_endpoint_in_the_openapi_schema_has_a_matrix_entry():
    covered = {(endpoint.method, endpoint.path) for endpoint in ENDPOINTS}
    missing = sorted(_schema_operations() - covered)
    assert not missing, f"endpoints without a permission matrix entry: {missing}"


def test_every_matrix_entry_names_an_endpoint_of_the_schema():
    covered = [(endpoint.method, endpoint.path) for endpoint in ENDPOINTS]
    assert len(covered) == len(set(covered)), "an endpoint is listed twice"
    unknown = sorted(set(covered) - _schema_operations())
    assert not unknown, f"matrix entries for endpoints the schema does not have: {unknown}"


ACTION = re.compile(r"[a-z_]+(\.[a-z_]+)+")


def test_every_matrix_entry_declares_what_its_success_records():
    with pytest.raises(TypeError, match="events"):
        Endpoint("GET", "/api/v1/new", ENDPOINTS[0].rule)  # type: ignore[call-arg]
    malformed = [
        f"{endpoint.method} {endpoint.path}: {actions!r}"
        for endpoint in ENDPOINTS
        for persona in PERSONAS
        for target in endpoint.rule.targets
        if not isinstance(actions := endpoint.success_events(persona, target), tuple)
        or not all(isinstance(a, str) and ACTION.fullmatch(a) for a in actions)
    ]
    assert not malformed, "events must be a tuple of action names:\n" + "\n".join(malformed)


def test_the_world_holds_what_the_targets_point_at(world):
    # Guards the matrix itself: an object that silently went missing would turn expected
    # successes into 404s that still "pass" for every persona without the need.
    assert Invitation.objects.filter(
        email="pending-foreign@lab.test", project=world.lab.other_project
    ).exists()
    assert (
        world.objects["member"]["other_project"]
        .groups.filter(project_role__project=world.lab.other_project)
        .exists()
    )
    for key in ("project", "other_project"):
        job = world.objects["job"][key]
        assert job.project_id == getattr(world.lab, key).pk
        assert ReencryptionJob.objects.filter(pk=job.pk, state=JobState.SUCCEEDED).exists()
