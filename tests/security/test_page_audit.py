"""Every page (and page form) x an allowed and a refused visitor: exactly the expected events.

The pages are taken from the URL conf: every route that the OpenAPI schema does not describe
(the API has its own matrix, ``test_permission_matrix``). A new page without an entry in
``PAGES`` fails ``test_every_page_of_the_url_conf_has_an_entry``. Each visit runs in a
rolled-back savepoint with a fresh browser and checks the status and the audit events the
request left, exactly and in order: opening a task records ``task.read``, reading the log
``audit.read`` and exporting it ``audit.exported``, each form the action its service records,
and a page that changes nothing records nothing. A refused visit records no success: a page
that refuses a signed-in user (403, 404) records one ``request.denied`` and nothing else, as
the API does (``test_every_page_refusal_is_recorded`` holds every entry to it); the anonymous
are sent to sign in, or told that an invitation link is not valid, and nothing is recorded.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from drf_spectacular.generators import SchemaGenerator

from accounts.models import TokenScope
from audit.services import Actor
from datasets.models import ImportState
from projects import invitations, tokens
from projects.forms import labels_text
from projects.models import Role
from tests.conftest import Lab, add_member
from tests.datasets.factories import make_import, make_task
from tests.factories import make_user, password_of, strong_password
from tests.security.matrix import MISSING, last_seq, recorded_since
from vault.models import ShredReceipt

DENIED = ("request.denied", "denied")
Event = str | tuple[str, str]  # an action (its outcome "success"), or (action, outcome)


@dataclass(frozen=True)
class Visit:
    who: str  # "anonymous" or a persona of the lab fixture
    status: int
    events: tuple[Event, ...] = ()
    method: str = "GET"
    target: str = "own"  # whose object the URL names: "own", "foreign" or "missing"
    form: Callable[["World"], dict[str, str]] | None = None
    # A form reached through a redirect (a reset link moves its token into the session): GET
    # the URL first, then POST to where it redirects.
    through_redirect: bool = False
    # Whether the visitor is refused, where the status does not say (a wrong password; a
    # redirect of the anonymous that is not to the sign-in page).
    refusal: bool | None = None

    @property
    def refused(self) -> bool:
        if self.refusal is not None:
            return self.refusal
        sent_to_sign_in = self.who == "anonymous" and self.status == 302 and not self.events
        return self.status in (403, 404) or sent_to_sign_in


@dataclass(frozen=True)
class Page:
    kwargs: Callable[["World", str], dict[str, Any]]  # the URL's arguments, for a target
    visits: tuple[Visit, ...]
    public: bool = False  # nobody is refused: there is no refused visit to make


@dataclass
class World:
    lab: Lab
    objects: dict[str, dict[str, Any]]  # kind -> "own"/"foreign" -> object
    invitation_token: str


@pytest.fixture
def world(lab) -> World:
    foreign_member = add_member(
        lab.other_project, make_user(email="foreign-member@lab.test"), Role.ANNOTATOR
    )

    def invite(by, email, project=None):
        role = Role.VIEWER if project is not None else None
        actor = Actor.system(user=by)
        return invitations.invitation_create(actor=actor, email=email, project=project, role=role)

    def token_of(user):
        actor = Actor.system(user=user)
        return tokens.token_create(actor=actor, name="page", scope=TokenScope.FULL).token

    _, accept_token = invite(lab.manager, "newcomer@lab.test", lab.project)
    receipt = ShredReceipt.objects.create(
        project_id=MISSING, requested_by_id=lab.admin.pk, destroyed_at=timezone.now()
    )
    projects = {"own": lab.project, "foreign": lab.other_project}
    objects = {
        "member": {"own": lab.annotator, "foreign": foreign_member},
        "invitation": {
            "own": invite(lab.manager, "pending@lab.test", lab.project)[0],
            "foreign": invite(lab.outsider, "elsewhere@lab.test", lab.other_project)[0],
            "lab": invite(lab.admin, "lab-wide@lab.test")[0],
        },
        "token": {"own": token_of(lab.manager), "foreign": token_of(lab.outsider)},
        "import": {k: make_import(p, ImportState.SUCCEEDED) for k, p in projects.items()},
        "task": {k: make_task(p, f"page task of {k}") for k, p in projects.items()},
        "receipt": {"own": receipt},
    }
    return World(lab, objects, accept_token)


def _pk(world: World, kind: str, target: str) -> Any:
    return MISSING if target == "missing" else world.objects[kind][target].pk


def _none(world: World, target: str) -> dict[str, Any]:
    return {}


def _project(world: World, target: str) -> dict[str, Any]:
    return {"project_id": world.lab.project.pk}


def _in_project(kind: str, name: str) -> Callable[[World, str], dict[str, Any]]:
    """The project's page of one of its objects: the object is own, foreign or missing."""

    def kwargs(world: World, target: str) -> dict[str, Any]:
        return {"project_id": world.lab.project.pk, name: _pk(world, kind, target)}

    return kwargs


def _reset_link(world: World, target: str) -> dict[str, Any]:
    user = world.lab.viewer
    token = default_token_generator.make_token(user) if target == "own" else "bad-token"
    return {"uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": token}


def _settings_form(world: World) -> dict[str, str]:
    project = world.lab.project
    labels = labels_text(project.label_schema) or ""
    return {"name": project.name, "description": "Changed on the page.", "overlap": "1",
            "labels": labels}  # fmt: skip


def _new_password(world: World) -> dict[str, str]:
    password = strong_password()
    return {"new_password1": password, "new_password2": password}


def _password_change(world: World) -> dict[str, str]:
    return {"old_password": password_of(world.lab.viewer), **_new_password(world)}


def _accept(world: World) -> dict[str, str]:
    password = strong_password()
    return {"full_name": "New Comer", "password": password, "password_again": password}


def _form(**data: str) -> Callable[[World], dict[str, str]]:
    return lambda w: data


def refused(who: str, status: int, method: str = "GET", **kwargs: Any) -> Visit:
    """A refused visit: a signed-in user's refusal records one denial; the anonymous, nothing."""
    events: tuple[Event, ...] = () if who == "anonymous" else (DENIED,)
    return Visit(who, status, events, method, **kwargs)


def viewed(need: str, events: tuple[Event, ...] = ()) -> tuple[Visit, ...]:
    """A project page read by a member with the need, refused to a member without it (403),
    to an outsider (404, as for a missing project) and to the anonymous (to sign in)."""
    allowed, lacking = {"view": ("viewer", None), "manage": ("manager", "annotator"),
                        "annotate": ("annotator", "viewer"),
                        "review": ("reviewer", "annotator")}[need]  # fmt: skip
    visits = [Visit(allowed, 200, events), refused("outsider", 404), Visit("anonymous", 302)]
    if lacking is not None:
        visits.append(refused(lacking, 403))
    return tuple(visits)


def posted(
    who: str, status: int, events: tuple[Event, ...], form=None, *, admin: bool = False
) -> tuple[Visit, ...]:
    """A project form: the allowed visitor's POST records the action; a member without the
    right (403), an outsider (404; 403 for a lab admin's form, refused before the project is
    looked up) and the anonymous record nothing. GET is not allowed."""
    return (
        Visit(who, status, events, "POST", form=form),
        refused("manager" if admin else "annotator", 403, "POST", form=form),
        refused("outsider", 403 if admin else 404, "POST", form=form),
        Visit("anonymous", 302, method="POST", form=form),
        Visit(who, 405),
    )


def on_object(who: str, status: int, events: tuple[Event, ...], form=None) -> tuple[Visit, ...]:
    """A form about an object of the project: as ``posted``, and one of another project
    reached through this one is not found."""
    foreign = refused(who, 404, "POST", target="foreign", form=form)
    return (*posted(who, status, events, form), foreign)


ADMIN_ONLY = (refused("manager", 403, "POST"), Visit("anonymous", 302, method="POST"))

# fmt: off
PAGES: dict[str, Page] = {
    "home": Page(_none, (Visit("anonymous", 302, refusal=False), Visit("viewer", 302)),
                 public=True),
    "healthz": Page(_none, (Visit("anonymous", 200),), public=True),
    "api:schema": Page(_none, (Visit("anonymous", 200),), public=True),
    "api:docs": Page(_none, (Visit("anonymous", 200),), public=True),
    # Accounts. A failed sign-in is recorded as a failure, with the address tried.
    "accounts:login": Page(_none, (
        Visit("anonymous", 200),
        Visit("anonymous", 302, ("login.succeeded",), "POST",
              form=lambda w: {"email": "viewer@lab.test", "password": password_of(w.lab.viewer)}),
        Visit("anonymous", 200, (("login.failed", "failure"),), "POST",
              form=_form(email="viewer@lab.test", password="wrong"), refusal=True),
    )),
    "accounts:logout": Page(_none, (
        Visit("viewer", 302, ("logout",), "POST"),
        Visit("anonymous", 302, method="POST"),
        Visit("viewer", 405),
    )),
    "accounts:password_change": Page(_none, (
        Visit("viewer", 200),
        Visit("anonymous", 302),
        Visit("viewer", 302, ("password.changed",), "POST", form=_password_change),
        Visit("anonymous", 302, method="POST", form=_password_change),
    )),
    # The link itself is mailed by a background job after commit (password.reset_link_sent).
    "accounts:password_reset": Page(_none, (
        Visit("anonymous", 200),
        Visit("anonymous", 302, ("password.reset_requested",), "POST",
              form=lambda w: {"email": w.lab.viewer.email}),
    ), public=True),
    "accounts:password_reset_sent": Page(_none, (Visit("anonymous", 200),), public=True),
    "accounts:password_reset_confirm": Page(_reset_link, (
        Visit("anonymous", 302, refusal=False),  # to the form, the link's token in the session
        Visit("anonymous", 302, ("password.reset",), "POST", form=_new_password,
              through_redirect=True),
        Visit("anonymous", 200, target="foreign", refusal=True),  # a bad link: the page says so
        Visit("anonymous", 200, method="POST", target="foreign", form=_new_password,
              refusal=True),
    )),
    "accounts:tokens": Page(_none, (
        Visit("viewer", 200),
        Visit("anonymous", 302),
        Visit("viewer", 200, ("token.created",), "POST",
              form=_form(name="page token", scope="full", expires_in="30")),
        Visit("anonymous", 302, method="POST", form=_form(name="x", scope="full")),
    )),
    "accounts:token_revoke": Page(lambda w, t: {"token_id": _pk(w, "token", t)}, (
        Visit("manager", 302, ("token.revoked",), "POST"),
        refused("manager", 404, "POST", target="foreign"),
        Visit("anonymous", 302, method="POST"),
        Visit("manager", 405),
    )),
    # Projects.
    "projects:list": Page(_none, (Visit("viewer", 200), Visit("anonymous", 302))),
    "projects:create": Page(_none, (
        Visit("admin", 200),
        refused("manager", 403),
        Visit("anonymous", 302),
        Visit("admin", 302, ("project.created", "key.created"), "POST",
              form=_form(name="Page project", labels="Yes\nNo", overlap="1")),
        *ADMIN_ONLY,
    )),
    "projects:lab_invitations": Page(_none, (
        Visit("admin", 200),
        refused("manager", 403),
        Visit("anonymous", 302),
        Visit("admin", 200, ("invitation.created",), "POST", form=_form(email="new@lab.test")),
        *ADMIN_ONLY,
    )),
    "projects:lab_invitation_revoke": Page(
        lambda w, t: {"invitation_id": _pk(w, "invitation", "lab" if t == "own" else t)},
        (Visit("admin", 302, ("invitation.revoked",), "POST"),
         refused("admin", 404, "POST", target="foreign"),  # a project's: not lab-wide
         Visit("admin", 405), *ADMIN_ONLY),
    ),
    "projects:deleted": Page(lambda w, t: {"receipt_id": _pk(w, "receipt", t)}, (
        Visit("admin", 200),
        refused("admin", 404, target="missing"),
        refused("manager", 403),
        Visit("anonymous", 302),
    )),
    "projects:detail": Page(_project, viewed("view")),
    "projects:settings": Page(_project, (
        *viewed("manage"),
        Visit("manager", 302, ("project.updated",), "POST", form=_settings_form),
        refused("annotator", 403, "POST", form=_settings_form),
        refused("outsider", 404, "POST", form=_settings_form),
    )),
    "projects:archive": Page(_project, posted("manager", 302, ("project.archived",),
                                              _form(archived="true"))),
    # A wrong password is recorded as a refused deletion (and the project stays).
    "projects:delete": Page(_project, (
        *posted("admin", 302, ("key.destroyed", "project.deleted"),
                lambda w: {"password": password_of(w.lab.admin)}, admin=True),
        Visit("admin", 302, (("project.deleted", "denied"),), "POST",
              form=_form(password="not the password")),
    )),
    "projects:key_rotate": Page(_project, posted("admin", 302, ("key.rotated",), admin=True)),
    "projects:key_reencrypt": Page(_project, posted("admin", 302, ("key.reencryption_started",),
                                                    admin=True)),
    # Adding an address without an account invites it; an existing account joins at once.
    "projects:members": Page(_project, (
        *viewed("manage"),
        Visit("manager", 200, ("invitation.created",), "POST",
              form=_form(email="invitee@lab.test", role="viewer")),
        Visit("manager", 302, ("member.added",), "POST",
              form=lambda w: {"email": "foreign-member@lab.test", "role": "viewer"}),
        refused("annotator", 403, "POST", form=_form(email="x@lab.test", role="viewer")),
        refused("outsider", 404, "POST", form=_form(email="x@lab.test", role="viewer")),
    )),
    "projects:member_role": Page(_in_project("member", "user_id"), on_object(
        "manager", 302, ("member.role_changed",), _form(role="reviewer"))),
    "projects:member_remove": Page(_in_project("member", "user_id"), on_object(
        "manager", 302, ("member.removed",))),
    "projects:invitation_revoke": Page(_in_project("invitation", "invitation_id"), on_object(
        "manager", 302, ("invitation.revoked",))),
    # Imports and the data browser: lists show no content; opening a task reads it.
    "datasets:imports": Page(_project, viewed("manage")),
    "datasets:import_detail": Page(_in_project("import", "import_id"), (
        *viewed("manage"), refused("manager", 404, target="foreign"))),
    "datasets:import_tasks_delete": Page(_in_project("import", "import_id"), on_object(
        "manager", 302, ("import.tasks_deleted",))),
    "datasets:tasks": Page(_project, viewed("manage")),
    "datasets:task_detail": Page(_in_project("task", "task_id"), (
        *viewed("manage", ("task.read",)),
        refused("manager", 404, target="foreign"),
        refused("manager", 404, target="missing"),
    )),
    # The workspace (and its review mode) is a shell: its script's API calls are the audited
    # reads. The dashboard and one's own page show figures and history, no content.
    "labeling:workspace": Page(_project, viewed("annotate")),
    "labeling:review": Page(_project, viewed("review")),
    "labeling:dashboard": Page(_project, viewed("review")),
    "labeling:dashboard_quality": Page(_project, posted("reviewer", 302, ("quality.requested",))),
    "labeling:dashboard_pause": Page(_in_project("member", "user_id"), on_object(
        "manager", 302, ("annotator.paused",), _form(paused="true"))),
    "labeling:mine": Page(_project, viewed("annotate")),
    # The invitation link: the token is the credential; an unknown one is a 404. Accepting
    # signs the newcomer in, recorded like every sign-in.
    "invitations:accept": Page(
        lambda w, t: {"token": w.invitation_token if t == "own" else "no-such-invitation"}, (
        Visit("anonymous", 200),
        Visit("anonymous", 302, ("invitation.accepted", "member.added", "login.succeeded"),
              "POST", form=_accept),
        refused("anonymous", 404, target="missing"),
        refused("anonymous", 404, "POST", target="missing", form=_accept),
        refused("viewer", 404, target="missing"),
    )),
    # The audit viewer: each page of the list read, and each export, is recorded.
    "audit:events": Page(_none, (
        Visit("admin", 200, ("audit.read",)), refused("annotator", 403),
        Visit("anonymous", 302))),
    "audit:export_csv": Page(_none, (
        Visit("admin", 200, ("audit.exported",)), refused("annotator", 403),
        Visit("anonymous", 302))),
    "audit:export_jsonl": Page(_none, (
        Visit("manager", 200, ("audit.exported",)), refused("annotator", 403),
        Visit("anonymous", 302))),
}
# fmt: on


def _browser(world: World, who: str) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(getattr(world.lab, who))
    return client


def _as_pairs(events: tuple[Event, ...]) -> list[tuple[str, str]]:
    return [event if isinstance(event, tuple) else (event, "success") for event in events]


def run_visit(world: World, name: str, page: Page, visit: Visit) -> list[str]:
    """One visit in a savepoint that is rolled back; returns the problems found."""
    cache.clear()  # throttle counters
    with transaction.atomic():
        since = last_seq()
        client = _browser(world, visit.who)
        url = reverse(name, kwargs=page.kwargs(world, visit.target))
        if visit.through_redirect:
            url = client.get(url)["Location"]
        data = visit.form(world) if visit.form else {}
        response = client.post(url, data) if visit.method == "POST" else client.get(url)
        response.getvalue()  # a streamed export reads the log now, inside the savepoint
        recorded, expected = recorded_since(since), _as_pairs(visit.events)
        transaction.set_rollback(True)
    problems = []
    if response.status_code != visit.status:
        problems.append(f"status {response.status_code}, expected {visit.status}")
    sign_in = reverse("accounts:login")
    if visit.refused and visit.status == 302 and not response["Location"].startswith(sign_in):
        problems.append(f"sent to {response['Location']}, not to sign in")
    if recorded != expected:
        problems.append(f"recorded {recorded}, expected {expected}")
    label = f"{visit.method} {name} ({visit.target}) as {visit.who}"
    return [f"{label}: {problem}" for problem in problems]


@pytest.mark.parametrize("name", sorted(PAGES))
def test_each_visit_records_exactly_the_expected_events(world, name):
    page = PAGES[name]
    problems = [p for visit in page.visits for p in run_visit(world, name, page, visit)]
    assert not problems, "\n".join(problems)


def _names(patterns: list[Any], namespace: str = "") -> set[str]:
    names = set()
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            names.add(f"{namespace}{pattern.name or pattern.pattern}")
    return names


def _api_names() -> set[str]:
    """The URL names of the routes that the OpenAPI schema describes."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {resolve(path.replace("{", "").replace("}", "")).view_name for path in schema["paths"]}


def test_every_page_of_the_url_conf_has_an_entry():
    pages = _names(get_resolver().url_patterns) - _api_names()
    missing, unknown = sorted(pages - set(PAGES)), sorted(set(PAGES) - pages)
    assert not missing, f"pages without an entry in PAGES: {missing}"
    assert not unknown, f"entries for pages the URL conf does not have: {unknown}"


def test_every_page_has_an_allowed_visit_and_a_refused_one():
    lacking = []
    for name, page in PAGES.items():
        allowed = any(v.status < 400 and not v.refused for v in page.visits)
        refused = page.public or any(v.refused for v in page.visits)
        refused_post = any(v.refused and v.method == "POST" for v in page.visits)
        posts = any(v.method == "POST" and not v.refused for v in page.visits)
        if not (allowed and refused) or (posts and not page.public and not refused_post):
            lacking.append(name)
    assert not lacking, f"pages without an allowed and a refused visit (GET, and POST): {lacking}"


def test_every_page_refusal_is_recorded():
    unrecorded = [
        f"{visit.method} {name} as {visit.who}"
        for name, page in PAGES.items()
        for visit in page.visits
        if visit.status in (403, 404) and visit.who != "anonymous"
        and _as_pairs(visit.events) != [DENIED]
    ]  # fmt: skip
    assert not unrecorded, "refusals the log does not show:\n" + "\n".join(unrecorded)
