"""List endpoints cost the same number of queries for 3 rows as for 30."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import ApiToken, TokenScope
from audit.services import Actor
from projects import invitations, permissions, selectors
from projects.models import Role
from tests.conftest import add_member, client_for, make_project
from tests.factories import make_user


def queries_for(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, {"page_size": 100})
    assert response.status_code == 200, response.content
    return len(captured)


def grow_projects(admin, member, count: int) -> None:
    for index in range(count):
        project = make_project(admin, name=f"Grown {index}")
        add_member(project, member, Role.ANNOTATOR)


@pytest.mark.parametrize("persona", ["admin", "member"])
def test_the_project_list_costs_the_same_for_3_and_30_projects(admin, persona):
    member = make_user(email="member@lab.test")
    caller = admin if persona == "admin" else member
    client = client_for(caller)
    grow_projects(admin, member, 3)
    few = queries_for(client, "/api/v1/projects/")
    grow_projects(admin, member, 27)
    many = queries_for(client, "/api/v1/projects/")
    assert many == few
    assert len(client.get("/api/v1/projects/", {"page_size": 100}).json()["results"]) == 30


def test_the_member_list_costs_the_same_for_3_and_30_members(admin):
    project = make_project(admin, name="Crowded")
    client = client_for(admin)
    url = f"/api/v1/projects/{project.pk}/members/"
    for _ in range(2):
        add_member(project, make_user(), Role.VIEWER)
    few = queries_for(client, url)
    for _ in range(27):
        add_member(project, make_user(), Role.ANNOTATOR)
    assert queries_for(client, url) == few


@pytest.mark.parametrize("scope", ["project", "lab"])
def test_the_invitation_lists_cost_the_same_for_3_and_30_invitations(admin, scope):
    project = make_project(admin, name="Inviting")
    inviters = [admin, add_member(project, make_user(), Role.MANAGER)]
    url = (
        f"/api/v1/projects/{project.pk}/invitations/"
        if scope == "project"
        else "/api/v1/invitations/"
    )

    def invite(count: int, start: int) -> None:
        for index in range(start, start + count):
            invitations.invitation_create(
                actor=Actor.system(user=inviters[index % 2] if scope == "project" else admin),
                email=f"invitee{index}@lab.test",
                project=project if scope == "project" else None,
                role=Role.VIEWER if scope == "project" else None,
            )

    client = client_for(admin)
    invite(3, 0)
    few = queries_for(client, url)
    invite(27, 3)
    assert queries_for(client, url) == few


def test_needs_for_role_agrees_with_the_gate_for_every_persona(lab):
    personas = [lab.admin, lab.manager, lab.reviewer, lab.annotator, lab.viewer]
    for user in personas:
        role = permissions.role_of(user, lab.project)
        expected = permissions.needs_of(user, lab.project)
        assert selectors.needs_for_role(user=user, role=role) == expected, user.email


def test_needs_for_role_under_an_export_token_keeps_only_view_and_export(lab):
    token = ApiToken(user=lab.manager, scope=TokenScope.EXPORT)
    needs = selectors.needs_for_role(user=lab.manager, role=Role.MANAGER, token=token)
    assert needs == set(permissions.EXPORT_TOKEN_NEEDS)
