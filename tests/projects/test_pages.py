"""The project pages through the Django test client, with CSRF checks on."""

import re

import pytest
from django.test import Client

from accounts.models import User
from audit.services import Actor
from projects import invitations, permissions
from projects.models import Invitation, Project, Role
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
