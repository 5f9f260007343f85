"""The project pages through the Django test client, with CSRF checks on."""

import json
import re
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from audit.models import AuditEvent
from audit.services import Actor
from projects import invitations, permissions
from projects.forms import EXAMPLE_LINES, EXAMPLE_SCHEMAS
from projects.models import Invitation, Project, Role, TaskType
from tests.conftest import make_project
from tests.factories import make_user, strong_password
from tests.projects.pages import browser, page, post


@pytest.mark.parametrize(
    ("persona", "overview", "settings_page", "members"),
    [
        ("viewer", 200, 403, 403),
        ("annotator", 200, 403, 403),
        ("reviewer", 200, 403, 403),
        ("manager", 200, 200, 200),
        ("admin", 200, 200, 200),
        ("outsider", 404, 404, 404),
    ],
)
def test_project_pages_answer_each_role(lab, persona, overview, settings_page, members):
    client = browser(getattr(lab, persona))
    assert client.get(page(lab.project)).status_code == overview
    assert client.get(page(lab.project, "settings")).status_code == settings_page
    assert client.get(page(lab.project, "members")).status_code == members


def test_pages_need_a_signed_in_person(lab):
    response = browser().get(page(lab.project))
    assert response.status_code == 302
    assert "/login" in response["Location"]


def test_the_list_shows_my_projects_with_my_role_and_no_one_elses(lab):
    html = browser(lab.reviewer).get("/projects/").content.decode()
    assert "Sentiment" in html
    assert "Reviewer" in html
    assert "Other lab project" not in html
    assert "New project" not in html
    assert "New project" in browser(lab.admin).get("/projects/").content.decode()


def test_tabs_show_settings_and_members_only_to_managers(lab):
    viewer_html = browser(lab.viewer).get(page(lab.project)).content.decode()
    manager_html = browser(lab.manager).get(page(lab.project)).content.decode()
    assert page(lab.project, "settings") not in viewer_html
    assert page(lab.project, "members") in manager_html
    assert 'aria-current="page"' in manager_html


def test_admin_creates_a_project_from_label_lines(admin):
    data = {
        "name": "Topics",
        "overlap": "2",
        "labels": "Sports [s]\nPolitics [P]\n\nScience",
        "multiple": "on",
        "description": "",
        "instructions": "",
        "schema_json": "",
    }
    response = post(browser(admin), "/projects/new", data)
    assert response.status_code == 302
    project = Project.objects.get(name="Topics")
    assert response["Location"] == page(project)
    assert project.label_schema == {
        "labels": [
            {"name": "Sports", "hotkey": "s"},
            {"name": "Politics", "hotkey": "p"},
            {"name": "Science"},
        ],
        "multiple": True,
    }
    assert project.overlap == 2


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ("Yes [1]\nNo [1]", "Line 2: Hotkey &#x27;1&#x27; is used twice."),
        ("Yes\n\nYes", "Line 3: Label &#x27;Yes&#x27; is defined twice."),
        ("Yes [F1]\nNo", "Line 1:"),
        ("Only", "Give at least two labels"),
    ],
)
def test_label_lines_errors_name_the_line(admin, labels, message):
    data = {"name": "Bad", "overlap": "1", "labels": labels}
    response = post(browser(admin), "/projects/new", data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Project.objects.filter(name="Bad").exists()


def test_the_advanced_json_schema_replaces_the_label_lines(admin):
    schema = '{"labels": [{"name": "A", "description": "first"}, {"name": "B", "parent": "A"}]}'
    data = {"name": "Tree", "overlap": "1", "labels": "ignored\nlines", "schema_json": schema}
    assert post(browser(admin), "/projects/new", data).status_code == 302
    assert Project.objects.get(name="Tree").label_schema["labels"][1] == {
        "name": "B",
        "parent": "A",
    }
    broken = post(browser(admin), "/projects/new", {**data, "name": "Broken", "schema_json": "{"})
    assert "Not valid JSON" in broken.content.decode()


# --- Every task type from the create and settings pages ----------------------------------------

# Each type as a manager fills the form in: label lines with the type's option, or JSON.
TYPED_FORMS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {
    TaskType.CLASSIFICATION: (
        {"labels": "Spam [s]\nHam [h]", "multiple": "on"},
        {
            "labels": [{"name": "Spam", "hotkey": "s"}, {"name": "Ham", "hotkey": "h"}],
            "multiple": True,
        },
    ),
    TaskType.NER: (
        {"labels": "PER [1]\nLOC [2]", "allow_overlap": "on"},
        {
            "labels": [{"name": "PER", "hotkey": "1"}, {"name": "LOC", "hotkey": "2"}],
            "allow_overlap": True,
        },
    ),
    TaskType.BOXES: (
        {"labels": "Cat [c]", "min_size": "0.05"},
        {"labels": [{"name": "Cat", "hotkey": "c"}], "min_size": 0.05},
    ),
    TaskType.PAIRWISE: (
        {"schema_json": '{"strength": {"min": 1, "max": 3}, "randomize": false}'},
        {"strength": {"min": 1, "max": 3}, "randomize": False, "choices": ["a", "b", "tie"]},
    ),
    TaskType.RUBRIC: (
        {"schema_json": '{"criteria": [{"name": "Tone", "scale": {"min": 1, "max": 5}}]}'},
        {"criteria": [{"name": "Tone", "scale": {"min": 1, "max": 5}}], "comments": True},
    ),
    TaskType.FREE_TEXT: (
        {"schema_json": '{"mode": "write", "min_length": 20}'},
        {"mode": "write", "min_length": 20},
    ),
    TaskType.CHAT: (
        {"schema_json": '{"turn_ratings": {"min": 1, "max": 5}, "flags": [], "comments": false}'},
        {"turn_ratings": {"min": 1, "max": 5}, "flags": [], "comments": False},
    ),
}


def _new(task_type: str, name: str = "Typed", **fields: str) -> dict[str, str]:
    return {"name": name, "overlap": "1", "task_type": task_type, **fields}


@pytest.mark.parametrize("task_type", list(TYPED_FORMS))
def test_admin_creates_a_project_of_each_type_from_the_page(admin, task_type):
    fields, stored = TYPED_FORMS[task_type]
    response = post(browser(admin), "/projects/new", _new(task_type, **fields))
    assert response.status_code == 302
    project = Project.objects.get(name="Typed")
    assert (project.task_type, project.label_schema) == (task_type, stored)
    assert AuditEvent.objects.filter(action="project.created", object_id=str(project.pk)).exists()


@pytest.mark.parametrize("task_type", list(TaskType))
def test_each_types_example_creates_a_project_as_it_is(admin, task_type):
    # The page fills these in when the type is chosen; a manager who keeps them gets a project.
    if task_type in EXAMPLE_LINES:
        fields = {"labels": EXAMPLE_LINES[task_type]}
    else:
        fields = {"schema_json": json.dumps(EXAMPLE_SCHEMAS[task_type])}
    assert post(browser(admin), "/projects/new", _new(task_type, **fields)).status_code == 302
    assert Project.objects.get(name="Typed").task_type == task_type


def _field_errors(html: str, field: str) -> str:
    found = re.search(rf'<ul class="errorlist" id="id_{field}_error">(.*?)</ul>', html, re.S)
    assert found is not None, f"no errors shown at {field}"
    return found[1]


@pytest.mark.parametrize(
    ("task_type", "fields", "field", "message"),
    [
        (
            TaskType.RUBRIC,
            {"schema_json": '{"criteria": [{"name": "A", "scale": {"min": 5, "max": 1}}]}'},
            "schema_json",
            "label_schema.criteria[0].scale.max: max (1) must be greater than min (5).",
        ),
        (
            TaskType.CHAT,
            {"schema_json": '{"turn_ratings": {"min": 1, "max": 5}, "flags": []}'},
            "schema_json",
            "label_schema: &#x27;comments&#x27; is required.",
        ),
        (TaskType.PAIRWISE, {}, "schema_json", "Write the label schema as JSON"),
        (TaskType.NER, {"labels": "PER [1]\nLOC [1]"}, "labels", "Line 2: Hotkey"),
        (TaskType.BOXES, {"labels": ""}, "labels", "Give at least one label, one per line."),
        (TaskType.BOXES, {"labels": "Cat", "min_size": "2"}, "min_size", "less than or equal to 1"),
        ("poetry", {"labels": "A\nB"}, "task_type", "Select a valid choice."),
    ],
)
def test_an_invalid_schema_is_shown_at_its_field(admin, task_type, fields, field, message):
    response = post(browser(admin), "/projects/new", _new(task_type, name="Bad", **fields))
    assert response.status_code == 200
    assert message in _field_errors(response.content.decode(), field)
    assert not Project.objects.filter(name="Bad").exists()


def test_the_create_page_offers_every_type_with_examples_and_the_preview(admin):
    html = browser(admin).get("/projects/new").content.decode()
    options = re.findall(r'<option value="(\w+)"', html)
    assert options == [t.value for t in TaskType]
    found = re.search(r'<script id="schema-examples" type="application/json">(.*?)</script>', html)
    assert found is not None
    examples = json.loads(found[1])
    assert set(examples) == set(TaskType)
    assert json.loads(examples[TaskType.CHAT]["json"]) == EXAMPLE_SCHEMAS[TaskType.CHAT]
    assert re.search(r'<script type="module" src="/static/labelkeep/preview\.\w+\.js">', html)
    assert "data-schema-preview" in html
    assert re.search(r'data-sample-image="/static/core/preview-boxes\.\w+\.png"', html)
    # No inline script: the only <script> elements load a file or hold data that never runs.
    for tag in re.findall(r"<script[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag


def test_settings_show_the_type_which_a_post_cannot_change(lab):
    client = browser(lab.manager)
    html = client.get(page(lab.project, "settings")).content.decode()
    assert re.search(r'<select name="task_type"[^>]* disabled', html)
    assert "data-schema-preview" in html
    data = {"name": "Same", "overlap": "1", "labels": "A\nB", "task_type": TaskType.CHAT}
    assert post(client, page(lab.project, "settings"), data).status_code == 302
    lab.project.refresh_from_db()
    assert (lab.project.name, lab.project.task_type) == ("Same", TaskType.CLASSIFICATION)


@pytest.mark.parametrize(
    ("task_type", "schema", "lines", "json_shown"),
    [
        (TaskType.NER, {"labels": [{"name": "PER", "hotkey": "p"}]}, "PER [p]", False),
        (TaskType.NER, {"labels": [{"name": "PER", "color": "#aa0000"}]}, "", True),
        (TaskType.BOXES, {"labels": [{"name": "Car"}], "min_size": 0.1}, "Car", False),
        (TaskType.RUBRIC, TYPED_FORMS[TaskType.RUBRIC][1], "", True),
    ],
)
def test_settings_show_a_types_schema_as_lines_or_json(admin, task_type, schema, lines, json_shown):
    project = make_project(admin, name="Typed", task_type=task_type, label_schema=schema)
    client = browser(admin)
    html = client.get(page(project, "settings")).content.decode()
    labels = re.search(r'<textarea name="labels"[^>]*>\n?(.*?)</textarea>', html, re.S)
    shown = re.search(r'<textarea name="schema_json"[^>]*>\n?(.*?)</textarea>', html, re.S)
    assert labels is not None
    assert shown is not None
    assert labels[1] == lines
    assert bool(shown[1].strip()) is json_shown
    # Saved back unchanged, the schema stays what it was.
    data = {"name": "Typed", "overlap": "1", "labels": lines, "schema_json": ""}
    if json_shown:
        data["schema_json"] = json.dumps(project.label_schema)
    if "min_size" in schema:
        data["min_size"] = str(schema["min_size"])
    before = project.label_schema
    assert post(client, page(project, "settings"), data).status_code == 302
    project.refresh_from_db()
    assert project.label_schema == before


def test_only_admins_reach_the_create_page(lab):
    assert browser(lab.manager).get("/projects/new").status_code == 403
    assert browser(lab.admin).get("/projects/new").status_code == 200


def test_manager_saves_settings_and_the_form_shows_current_labels(lab):
    client = browser(lab.manager)
    html = client.get(page(lab.project, "settings")).content.decode()
    assert "Positive [1]" in html
    data = {"name": "Renamed", "overlap": "3", "labels": "Good [g]\nBad [b]", "instructions": "Hi"}
    response = post(client, page(lab.project, "settings"), data)
    assert response.status_code == 302
    lab.project.refresh_from_db()
    assert lab.project.name == "Renamed"
    assert lab.project.label_schema == {
        "labels": [{"name": "Good", "hotkey": "g"}, {"name": "Bad", "hotkey": "b"}]
    }


def test_archive_and_restore_and_an_archived_project_is_read_only(lab):
    client = browser(lab.manager)
    post(client, page(lab.project, "archive"), {"archived": "true"})
    lab.project.refresh_from_db()
    assert lab.project.is_archived
    html = client.get(page(lab.project, "settings")).content.decode()
    assert "Restore project" in html
    assert "Save settings" not in html
    members_html = client.get(page(lab.project, "members")).content.decode()
    assert "data-autosubmit" not in members_html
    assert "Add or invite" not in members_html
    refused = post(
        client, page(lab.project, "settings"), {"name": "X", "overlap": "1", "labels": "A\nB"}
    )
    assert "archived" in refused.content.decode()
    post(client, page(lab.project, "archive"), {"archived": ""})
    lab.project.refresh_from_db()
    assert not lab.project.is_archived


def test_members_page_offers_roles_up_to_ones_own_and_confirms_removal(lab):
    html = browser(lab.manager).get(page(lab.project, "members")).content.decode()
    assert html.count("data-autosubmit") == 5
    assert 'data-confirm="Remove viewer@lab.test' in html
    options = re.findall(r'<option value="(\w+)"', html)
    assert set(options) == {role.value for role in Role}


def test_changing_a_role_and_removing_a_member_through_the_page(lab):
    client = browser(lab.manager)
    post(client, f"{page(lab.project, 'members')}/{lab.annotator.pk}/role", {"role": "reviewer"})
    assert permissions.role_of(lab.annotator, lab.project) == Role.REVIEWER
    post(client, f"{page(lab.project, 'members')}/{lab.viewer.pk}/remove")
    assert permissions.role_of(lab.viewer, lab.project) is None


def test_a_refused_change_is_shown_as_a_message(admin):
    project = make_project(admin, name="Solo")
    client = browser(admin)
    response = post(client, f"{page(project, 'members')}/{admin.pk}/remove")
    follow = client.get(response["Location"]).content.decode()
    assert "keeps at least one manager" in follow
    assert permissions.role_of(admin, project) == Role.MANAGER


def test_inviting_an_unknown_email_shows_the_link_once(
    lab, mailoutbox, django_capture_on_commit_callbacks
):
    client = browser(lab.manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(
            client, page(lab.project, "members"), {"email": "fresh@lab.test", "role": "annotator"}
        )
    html = response.content.decode()
    found = re.search(r'id="invitation-link">([^<]+)<', html)
    assert found is not None
    link = found[1]
    assert link in mailoutbox[0].body
    assert "fresh@lab.test" in client.get(page(lab.project, "members")).content.decode()
    assert link not in client.get(page(lab.project, "members")).content.decode()


def test_adding_an_existing_account_through_the_page(lab):
    person = make_user(email="known@lab.test")
    response = post(
        browser(lab.manager),
        page(lab.project, "members"),
        {"email": "known@lab.test", "role": "viewer"},
    )
    assert response.status_code == 302
    assert permissions.role_of(person, lab.project) == Role.VIEWER


def test_revoking_a_pending_invitation_through_the_page(lab):
    invitation, _token = invitations.invitation_create(
        actor=Actor.system(user=lab.manager),
        email="gone@lab.test",
        project=lab.project,
        role=Role.VIEWER,
    )
    post(browser(lab.manager), f"{page(lab.project, 'invitations')}/{invitation.pk}/revoke")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_lab_invitations_page_is_for_admins(lab):
    assert browser(lab.manager).get("/projects/invitations/").status_code == 403
    client = browser(lab.admin)
    response = post(client, "/projects/invitations/", {"email": "joiner@lab.test"})
    assert response.status_code == 200
    assert 'id="invitation-link"' in response.content.decode()
    invitation = Invitation.objects.get(email="joiner@lab.test")
    assert invitation.project is None
    post(client, f"/projects/invitations/{invitation.pk}/revoke")
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_a_new_person_accepts_on_the_page_and_is_signed_in(lab):
    _invitation, token = invitations.invitation_create(
        actor=Actor.system(user=lab.manager),
        email="ada@lab.test",
        project=lab.project,
        role=Role.REVIEWER,
    )
    client = Client(enforce_csrf_checks=True)
    html = client.get(f"/invitations/{token}/").content.decode()
    assert "Join Sentiment" in html
    assert "as reviewer" in html
    password = strong_password()
    data = {
        "full_name": "Ada",
        "password": password,
        "password_again": password,
        "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
    }
    response = client.post(f"/invitations/{token}/", data)
    assert response.status_code == 302
    assert response["Location"] == page(lab.project)
    assert client.get(page(lab.project)).status_code == 200
    assert permissions.role_of(User.objects.get(email="ada@lab.test"), lab.project) == Role.REVIEWER


def test_the_accept_page_explains_weak_passwords_and_mismatches(lab):
    _invitation, token = invitations.invitation_create(
        actor=Actor.system(user=lab.manager),
        email="bo@lab.test",
        project=lab.project,
        role=Role.VIEWER,
    )
    client = Client()
    mismatch = client.post(
        f"/invitations/{token}/", {"password": "a" * 20, "password_again": "b" * 20}
    )
    assert "The two passwords differ." in mismatch.content.decode()
    weak = client.post(
        f"/invitations/{token}/", {"password": "password", "password_again": "password"}
    )
    assert weak.status_code == 400
    assert "too common" in weak.content.decode()
    assert not User.objects.filter(email="bo@lab.test").exists()


def test_the_accept_page_for_a_signed_in_invitee_is_one_button(lab):
    person = make_user(email="known@lab.test")
    _invitation, token = invitations.invitation_create(
        actor=Actor.system(user=lab.manager),
        email="known@lab.test",
        project=lab.project,
        role=Role.VIEWER,
    )
    other = browser(lab.viewer).get(f"/invitations/{token}/").content.decode()
    assert "but this invitation is for known@lab.test" in other
    client = browser(person)
    assert "Accept and join" in client.get(f"/invitations/{token}/").content.decode()
    response = post(client, f"/invitations/{token}/")
    assert response.status_code == 302
    assert permissions.role_of(person, lab.project) == Role.VIEWER


def test_a_used_or_unknown_link_says_so(lab):
    _invitation, token = invitations.invitation_create(
        actor=Actor.system(user=lab.manager),
        email="once@lab.test",
        project=lab.project,
        role=Role.VIEWER,
    )
    invitations.invitation_accept(actor=Actor.system(), token=token, password=strong_password())
    used = Client().get(f"/invitations/{token}/")
    assert used.status_code == 409
    assert "already been used" in used.content.decode()
    assert Client().get("/invitations/nonsense/").status_code == 404


def test_instructions_are_rendered_as_sanitized_markdown(lab):
    lab.project.instructions = (
        "**Label** carefully\n\n<script>alert(1)</script>\n\n"
        "[bad](javascript:alert(1)) <img src=x onerror=alert(2)> [good](https://example.org)"
    )
    lab.project.save()
    html = browser(lab.annotator).get(page(lab.project)).content.decode()
    assert "<strong>Label</strong>" in html
    assert "<script>alert(1)</script>" not in html
    assert "javascript:" not in html
    assert "<img" not in html  # shown as text, never as an element
    assert 'href="https://example.org"' in html


def test_managers_find_their_projects_audit_log_from_the_project_pages(lab):
    client = Client()
    client.force_login(lab.manager)
    page = client.get(f"/projects/{lab.project.pk}/").content.decode()
    assert f'href="/audit/?project={lab.project.pk}"' in page
    client.force_login(lab.annotator)
    assert "/audit/" not in client.get(f"/projects/{lab.project.pk}/").content.decode()
