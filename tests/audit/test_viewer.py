import csv
import io
import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import TokenScope
from audit.models import AuditEvent
from audit.services import Actor, record
from projects import tokens
from tests.conftest import client_for
from tests.factories import password_of

API = "/api/v1/audit/events"


@pytest.fixture
def logged(lab):
    """Besides the fixtures' own events: one in each project and one lab-wide."""
    record(actor=Actor.system(user=lab.manager), action="task.read", project_id=lab.project.pk)
    record(
        actor=Actor.system(user=lab.outsider),
        action="task.read",
        project_id=lab.other_project.pk,
    )
    record(actor=Actor.system(user=lab.annotator), action="login.succeeded")
    return lab


def _projects_of(response):
    return {row["project_id"] for row in response.json()["results"]}


def _page_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_lab_administrator_reads_every_event(logged):
    response = client_for(logged.admin).get(API, {"page_size": 500})
    assert response.status_code == 200
    assert len(response.json()["results"]) == AuditEvent.objects.count()


def test_a_manager_reads_only_the_events_of_projects_they_manage(logged):
    response = client_for(logged.manager).get(API, {"page_size": 500})
    assert response.status_code == 200
    assert _projects_of(response) == {str(logged.project.pk)}
    expected = AuditEvent.objects.filter(project_id=logged.project.pk).count()
    assert len(response.json()["results"]) == expected


def test_a_manager_of_another_project_never_sees_this_one(logged):
    response = client_for(logged.outsider).get(API, {"project": str(logged.project.pk)})
    assert response.status_code == 200
    assert response.json()["results"] == []
    everything = client_for(logged.outsider).get(API, {"page_size": 500})
    assert _projects_of(everything) == {str(logged.other_project.pk)}


@pytest.mark.parametrize("persona", ["annotator", "reviewer", "viewer"])
def test_members_who_do_not_manage_are_refused_and_recorded(logged, persona):
    user = getattr(logged, persona)
    response = client_for(user).get(API)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_audit_reader"
    denial = AuditEvent.objects.filter(action="request.denied").get()
    assert (denial.actor_id, denial.details["route"]) == (user.pk, "api/v1/audit/events")


def test_anonymous_callers_are_refused(api, db):
    assert api.get(API).status_code == 401


def test_filters_narrow_the_events(logged):
    client = client_for(logged.admin)

    def actions(**params):
        rows = client.get(API, {"page_size": 500, **params}).json()["results"]
        return sorted(row["action"] for row in rows)

    assert actions(actor=str(logged.outsider.pk), action="task.read") == ["task.read"]
    assert actions(actor="annotator@lab.test", action="login.succeeded") == ["login.succeeded"]
    assert set(actions(action="member.")) == {"member.added"}
    assert actions(project=str(logged.other_project.pk), action="task.read") == ["task.read"]
    assert actions(outcome="denied") == []
    soon = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert actions(**{"from": soon}) == []
    assert len(actions(to=soon)) == AuditEvent.objects.count()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"project": "not-a-uuid"}, "project"),
        ({"outcome": "maybe"}, "outcome"),
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-01-02T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"actor__startswith": "a"}, "actor__startswith"),
    ],
)
def test_bad_filters_are_refused_naming_the_field(logged, params, field):
    response = client_for(logged.admin).get(API, params)
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == field


def test_pages_follow_the_cursor_newest_first(logged):
    client = client_for(logged.admin)
    first = client.get(API, {"page_size": 2}).json()
    second = client.get(first["next"]).json()
    seqs = [row["seq"] for row in first["results"] + second["results"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == 4


def test_each_event_carries_its_chain_link(logged):
    [row] = client_for(logged.admin).get(API, {"page_size": 1}).json()["results"]
    event = AuditEvent.objects.get(seq=row["seq"])
    assert (row["hash"], row["prev_hash"], row["chain"]) == (
        event.hash,
        event.prev_hash,
        event.chain,
    )
    assert row["occurred_at"].endswith("Z")


def test_the_page_shows_a_manager_their_projects_events(logged):
    response = _page_client(logged.manager).get("/audit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "manager@lab.test" in body
    assert "{&quot;role&quot;: &quot;manager&quot;}" in body
    assert "outsider@lab.test" not in body
    assert logged.other_project.name not in body


def test_the_page_refuses_an_annotator_and_records_it(logged):
    assert _page_client(logged.annotator).get("/audit/").status_code == 403
    assert AuditEvent.objects.filter(action="request.denied", actor_id=logged.annotator.pk).exists()


def test_the_page_names_a_bad_filter(logged):
    response = _page_client(logged.admin).get("/audit/", {"outcome": "maybe"})
    assert response.status_code == 400
    assert "is not a valid choice" in response.content.decode()


def test_the_page_pages_back_in_time(logged, monkeypatch):
    from projects import audit_viewer

    monkeypatch.setattr(audit_viewer, "PAGE_SIZE", 2)
    client = _page_client(logged.admin)
    first = client.get("/audit/")
    older = first.context["older"]
    second = client.get("/audit/", {"before": older})
    seqs = [e.seq for e, _, _ in first.context["events"] + second.context["events"]]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == 4


def test_the_csv_export_is_safe_to_open_in_a_spreadsheet(logged):
    record(
        actor=Actor(via="session", user_agent='=HYPERLINK("http://evil")'),
        action="test.done",
        project_id=logged.project.pk,
    )
    response = _page_client(logged.manager).get("/audit/export.csv", {"action": "test.done"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.getvalue().decode())))
    assert [row["user_agent"] for row in rows] == ['\'=HYPERLINK("http://evil")']


def test_the_jsonl_export_streams_the_filtered_events_and_is_recorded(logged):
    response = _page_client(logged.manager).get("/audit/export.jsonl", {"action": "member."})
    lines = response.getvalue().decode().splitlines()
    records = [json.loads(line) for line in lines]
    assert records
    assert {r["action"] for r in records} == {"member.added"}
    assert {r["project_id"] for r in records} == {str(logged.project.pk)}
    assert [r["seq"] for r in records] == sorted(r["seq"] for r in records)
    export = AuditEvent.objects.get(action="audit.exported")
    assert (export.actor_id, export.details["format"]) == (logged.manager.pk, "jsonl")


def test_an_export_by_a_non_manager_is_refused(logged):
    assert _page_client(logged.viewer).get("/audit/export.csv").status_code == 403


def test_a_full_token_of_a_manager_reads_their_projects_events(logged):
    created = tokens.token_create(
        actor=Actor.system(user=logged.manager), name="siem", scope=TokenScope.FULL
    )
    response = APIClient().get(API, HTTP_AUTHORIZATION=f"Bearer {created.plaintext}")
    assert response.status_code == 200
    assert _projects_of(response) == {str(logged.project.pk)}


def test_an_export_token_never_reads_the_audit_log(logged):
    created = tokens.token_create(
        actor=Actor.system(user=logged.admin),
        name="pipeline",
        scope=TokenScope.EXPORT,
        projects=[logged.project.pk],
    )
    response = APIClient().get(API, HTTP_AUTHORIZATION=f"Bearer {created.plaintext}")
    assert response.status_code == 403
    denial = AuditEvent.objects.filter(action="request.denied").get()
    assert (denial.auth_method, denial.token_id) == ("token", created.token.pk)


def test_the_page_no_longer_offers_a_deleted_project_in_its_filter(logged):
    from projects.deletion import project_delete

    name = logged.other_project.name
    admin_page = _page_client(logged.admin)
    assert name in admin_page.get("/audit/").content.decode()
    project_delete(
        actor=Actor.system(user=logged.admin),
        project=logged.other_project,
        password=password_of(logged.admin),
    )
    assert name not in admin_page.get("/audit/").content.decode()


def test_reading_the_log_over_the_api_is_recorded_with_the_filters_before_it_is_read(logged):
    filters = {"project": str(logged.project.pk), "action": "task.", "page_size": "50"}
    response = client_for(logged.manager).get(API, filters)
    assert response.status_code == 200
    read = AuditEvent.objects.get(action="audit.read")
    assert (read.actor_id, read.auth_method, read.project_id) == (
        logged.manager.pk,
        "session",
        logged.project.pk,
    )
    assert read.details == {"filters": {"project": str(logged.project.pk), "action": "task."}}
    # Recorded first, so the read shows itself: no read of the log leaves no trace.
    assert [row["action"] for row in response.json()["results"]] == ["task.read"]
    everything = client_for(logged.admin).get(API, {"page_size": 1}).json()["results"]
    assert [row["action"] for row in everything] == ["audit.read"]


def test_each_page_of_the_api_list_is_a_recorded_read(logged):
    client = client_for(logged.admin)
    first = client.get(API, {"page_size": 2}).json()
    client.get(first["next"])
    assert AuditEvent.objects.filter(action="audit.read", actor_id=logged.admin.pk).count() == 2


def test_reading_the_page_is_recorded_with_the_filters_and_the_position(logged):
    since = "2026-01-01T00:00:00Z"
    client = _page_client(logged.admin)
    assert client.get("/audit/", {"outcome": "success", "from": since}).status_code == 200
    assert client.get("/audit/", {"before": 3}).status_code == 200
    first, second = AuditEvent.objects.filter(action="audit.read").order_by("seq")
    assert first.details == {
        "filters": {"outcome": "success", "from": "2026-01-01T00:00:00.000000Z"}
    }
    assert second.details == {"filters": {}, "before": 3}
    assert first.project_id is None


def test_a_refused_or_invalid_read_records_no_read(logged):
    assert _page_client(logged.viewer).get("/audit/").status_code == 403
    assert client_for(logged.viewer).get(API).status_code == 403
    assert client_for(logged.admin).get(API, {"outcome": "maybe"}).status_code == 400
    assert _page_client(logged.admin).get("/audit/", {"outcome": "maybe"}).status_code == 400
    assert not AuditEvent.objects.filter(action="audit.read").exists()
    assert AuditEvent.objects.filter(action="request.denied").count() == 2


def test_an_export_records_its_format_and_filters(logged):
    response = _page_client(logged.admin).get("/audit/export.csv", {"actor": "manager@lab.test"})
    assert response.status_code == 200
    response.getvalue()
    export = AuditEvent.objects.get(action="audit.exported")
    assert export.details == {"format": "csv", "filters": {"actor": "manager@lab.test"}}
