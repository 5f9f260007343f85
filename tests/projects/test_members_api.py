from audit.models import AuditEvent
from projects import permissions
from projects.models import Invitation, Role
from tests.conftest import client_for, make_project
from tests.factories import make_user


def members_url(project, user=None) -> str:
    base = f"/api/v1/projects/{project.pk}/members/"
    return f"{base}{user.pk}" if user else base


def test_manager_lists_members_with_roles_ordered_by_email(lab):
    body = client_for(lab.manager).get(members_url(lab.project)).json()
    rows = [(row["email"], row["role"]) for row in body["results"]]
    assert rows == [
        ("admin@lab.test", "manager"),
        ("annotator@lab.test", "annotator"),
        ("manager@lab.test", "manager"),
        ("reviewer@lab.test", "reviewer"),
        ("viewer@lab.test", "viewer"),
    ]


def test_members_other_than_managers_cannot_list_members(lab):
    for persona in (lab.viewer, lab.annotator, lab.reviewer):
        response = client_for(persona).get(members_url(lab.project))
        assert response.status_code == 403
        assert "manager@lab.test" not in response.content.decode()


def test_adding_an_existing_account_makes_it_a_member_at_once(lab):
    newcomer = make_user(email="newcomer@lab.test")
    response = client_for(lab.manager).post(
        members_url(lab.project), {"email": "Newcomer@Lab.test", "role": "reviewer"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["result"] == "added"
    assert body["member"] == {
        "id": str(newcomer.pk),
        "email": "newcomer@lab.test",
        "full_name": "",
        "role": "reviewer",
    }
    assert body["invitation"] is None
    assert permissions.role_of(newcomer, lab.project) == Role.REVIEWER


def test_adding_an_unknown_email_sends_an_invitation_instead(
    lab, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(lab.manager).post(
            members_url(lab.project),
            {"email": "stranger@lab.test", "role": "annotator"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["result"] == "invited"
    assert body["member"] is None
    invitation = body["invitation"]
    assert (invitation["email"], invitation["role"], invitation["status"]) == (
        "stranger@lab.test",
        "annotator",
        "pending",
    )
    assert invitation["accept_url"] in mailoutbox[0].body
    assert mailoutbox[0].to == ["stranger@lab.test"]


def test_manager_changes_a_role_and_it_is_audited(lab):
    response = client_for(lab.manager).patch(
        members_url(lab.project, lab.annotator), {"role": "reviewer"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["role"] == "reviewer"
    event = AuditEvent.objects.get(action="member.role_changed")
    assert event.details == {"from": "annotator", "to": "reviewer"}
    assert event.object_id == str(lab.annotator.pk)


def test_manager_removes_a_member_who_then_loses_access_at_once(lab):
    manager = client_for(lab.manager)
    assert manager.delete(members_url(lab.project, lab.viewer)).status_code == 204
    response = client_for(lab.viewer).get(f"/api/v1/projects/{lab.project.pk}")
    assert response.status_code == 404


def test_a_member_of_another_project_cannot_be_addressed_through_this_one(lab):
    response = client_for(lab.manager).patch(
        members_url(lab.project, lab.outsider), {"role": "viewer"}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "member_not_found"
    assert permissions.role_of(lab.outsider, lab.other_project) == Role.MANAGER


def test_the_last_manager_cannot_be_removed_or_demoted(admin):
    project = make_project(admin, name="Solo")
    client = client_for(admin)
    removal = client.delete(members_url(project, admin))
    assert removal.status_code == 409
    assert removal.json()["error"]["code"] == "last_manager"
    demotion = client.patch(members_url(project, admin), {"role": "viewer"}, format="json")
    assert demotion.status_code == 409
    assert permissions.role_of(admin, project) == Role.MANAGER


def test_an_archived_project_takes_no_new_members_or_invitations(lab):
    client = client_for(lab.manager)
    client.patch(f"/api/v1/projects/{lab.project.pk}", {"archived": True}, format="json")
    make_user(email="late@lab.test")
    for email in ("late@lab.test", "unknown@lab.test"):
        response = client.post(
            members_url(lab.project), {"email": email, "role": "viewer"}, format="json"
        )
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "project_archived"
    assert not Invitation.objects.exists()
