from audit.models import AuditEvent
from projects import permissions
from projects.models import Project
from projects.permissions import Need
from tests.conftest import client_for, make_project
from tests.factories import CLASSIFICATION_SCHEMA

PROJECTS = "/api/v1/projects/"


def detail(project) -> str:
    return f"{PROJECTS}{project.pk}"


def test_list_shows_only_the_projects_the_caller_may_see_with_role_and_needs(lab):
    body = client_for(lab.annotator).get(PROJECTS).json()
    assert [row["id"] for row in body["results"]] == [str(lab.project.pk)]
    row = body["results"][0]
    assert row["role"] == "annotator"
    assert row["needs"] == ["annotate_project", "view_project"]
    assert set(body) == {"next", "previous", "results"}


def test_admin_lists_every_project_with_every_need(lab):
    extra = make_project(lab.admin, name="Third")
    permissions.member_set_role(extra, lab.admin, None)  # an admin who is no member
    rows = {row["id"]: row for row in client_for(lab.admin).get(PROJECTS).json()["results"]}
    assert set(rows) == {str(p.pk) for p in (lab.project, lab.other_project, extra)}
    assert all(row["needs"] == sorted(need.value for need in Need) for row in rows.values())
    assert rows[str(extra.pk)]["role"] is None
    assert rows[str(lab.project.pk)]["role"] == "manager"


def test_archived_projects_are_listed_only_when_asked_for(lab):
    client_for(lab.manager).patch(detail(lab.project), {"archived": True}, format="json")
    client = client_for(lab.annotator)
    assert client.get(PROJECTS).json()["results"] == []
    archived = client.get(PROJECTS, {"archived": "true"}).json()["results"]
    assert [row["id"] for row in archived] == [str(lab.project.pk)]
    assert archived[0]["archived"] is True


def test_list_pages_with_a_cursor(lab):
    for index in range(3):
        make_project(lab.admin, name=f"Paged {index}")
    client = client_for(lab.admin)
    first = client.get(PROJECTS, {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    seen = [row["id"] for row in first["results"] + second["results"]]
    assert len(seen) == len(set(seen)) == 4
    assert second["next"] is not None


def test_admin_creates_a_project_and_becomes_its_manager(admin):
    payload = {"name": "Toxicity", "label_schema": CLASSIFICATION_SCHEMA, "overlap": 3}
    response = client_for(admin).post(PROJECTS, payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Toxicity"
    assert body["role"] == "manager"
    assert body["overlap"] == 3
    assert body["task_type"] == "classification"
    assert AuditEvent.objects.filter(action="project.created", project_id=body["id"]).exists()


def test_a_manager_who_is_not_admin_cannot_create_projects(lab):
    payload = {"name": "Mine", "label_schema": CLASSIFICATION_SCHEMA}
    response = client_for(lab.manager).post(PROJECTS, payload, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_admin"
    assert not Project.objects.filter(name="Mine").exists()


def test_reading_a_project_tells_the_viewer_their_role_and_nothing_about_members(lab):
    body = client_for(lab.viewer).get(detail(lab.project)).json()
    assert body["role"] == "viewer"
    assert body["needs"] == ["view_project"]
    assert "manager@lab.test" not in str(body)
    assert "created_by" not in body


def test_manager_changes_name_instructions_and_schema(lab):
    schema = {"labels": [{"name": "Yes", "hotkey": "y"}, {"name": "No", "hotkey": "n"}]}
    changes = {"name": "Renamed", "instructions": "# Be careful", "label_schema": schema}
    response = client_for(lab.manager).patch(detail(lab.project), changes, format="json")
    assert response.status_code == 200, response.json()
    lab.project.refresh_from_db()
    assert (lab.project.name, lab.project.label_schema) == ("Renamed", schema)
    event = AuditEvent.objects.get(action="project.updated")
    assert event.details == {"fields": ["instructions", "label_schema", "name"]}


def test_archiving_then_restoring_through_patch(lab):
    client = client_for(lab.manager)
    archived = client.patch(detail(lab.project), {"archived": True}, format="json").json()
    assert archived["archived"] is True
    assert archived["archived_at"]
    restored = client.patch(detail(lab.project), {"archived": False}, format="json").json()
    assert restored["archived"] is False
    actions = list(AuditEvent.objects.values_list("action", flat=True).order_by("seq"))
    assert actions[-2:] == ["project.archived", "project.restored"]


def test_an_archived_project_refuses_edits_but_restores_with_edits_in_one_patch(lab):
    client = client_for(lab.manager)
    client.patch(detail(lab.project), {"archived": True}, format="json")
    refused = client.patch(detail(lab.project), {"name": "Nope"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "project_archived"
    both = client.patch(detail(lab.project), {"archived": False, "name": "Back"}, format="json")
    assert both.status_code == 200
    assert both.json()["name"] == "Back"
    assert both.json()["archived"] is False


def test_a_reviewer_cannot_change_the_project(lab):
    response = client_for(lab.reviewer).patch(detail(lab.project), {"name": "X"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_role"
    lab.project.refresh_from_db()
    assert lab.project.name == "Sentiment"
