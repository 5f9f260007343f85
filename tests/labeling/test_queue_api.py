"""The work queue over the API: leases, overlap, skips, releases, expiry, drafts."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from labeling.models import Annotation, Task
from projects.models import Role
from tests.conftest import add_member, client_for
from tests.factories import make_user
from tests.labeling.work import base, label, make_task, make_texts, next_task, submit

pytestmark = pytest.mark.django_db


def _second_annotator(project):
    return add_member(project, make_user(), Role.ANNOTATOR)


def test_next_leases_the_oldest_highest_priority_task_and_records_the_read(project, annotator):
    tasks = make_texts(project, 3)
    urgent = make_task(project, {"text": "urgent"}, priority=5)
    response = next_task(client_for(annotator), project)
    assert response.status_code == 200
    body = response.json()
    assert body["task_id"] == str(urgent.pk)
    assert body["data"] == {"text": "urgent"}
    assert body["annotation"]["status"] == "leased"
    assert body["annotation"]["lease_expires_at"]
    assert "gold" not in body
    assert "priority" not in body
    event = AuditEvent.objects.filter(action="task.read").latest("occurred_at")
    assert event.object_id == str(urgent.pk)
    assert event.details["via"] == "queue"
    assert tasks[0].pk != urgent.pk


def test_next_resumes_the_task_in_hand_and_prefetches_another_on_request(project, annotator):
    make_texts(project, 3)
    client = client_for(annotator)
    first = next_task(client, project).json()["task_id"]
    assert next_task(client, project).json()["task_id"] == first
    prefetched = next_task(client, project, resume=False).json()["task_id"]
    assert prefetched != first
    third = next_task(client, project, resume=False).json()["task_id"]
    assert len({first, prefetched, third}) == 3
    refused = next_task(client, project, resume=False)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_leases"


def test_leases_that_ran_out_do_not_count_toward_the_limit(project, annotator):
    make_texts(project, 5)
    client = client_for(annotator)
    held = {next_task(client, project, resume=False).json()["task_id"] for _ in range(3)}
    assert next_task(client, project, resume=False).status_code == 409
    Annotation.objects.filter(annotator=annotator, status="leased").update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    fresh = next_task(client, project, resume=False)
    assert fresh.status_code == 200
    assert fresh.json()["task_id"] not in held
    statuses = sorted(
        Annotation.objects.filter(annotator=annotator).values_list("status", flat=True)
    )
    assert statuses == ["expired", "expired", "expired", "leased"]


def test_an_empty_queue_answers_204(project, annotator):
    assert next_task(client_for(annotator), project).status_code == 204


def test_submit_completes_a_task_with_overlap_one(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    response = submit(client, project, task.pk, label(), time_spent=12.5)
    assert response.status_code == 201, response.json()
    assert response.json()["status"] == "submitted"
    task.refresh_from_db()
    assert (task.state, task.annotation_count, task.open_slots) == ("complete", 1, 0)
    assert next_task(client, project).status_code == 204
    assert Annotation.objects.get().time_spent == 12.5


def test_an_invalid_result_is_refused_naming_the_field(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    response = submit(client, project, task.pk, {"labels": ["Nope"]})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_result"
    assert error["details"]["field"].startswith("result.labels")
    assert Annotation.objects.get().status == "leased"


def test_overlap_hands_each_task_to_k_different_annotators(admin, annotator):
    from tests.conftest import make_project

    project = make_project(admin, name="Overlap", overlap=2)
    add_member(project, annotator, Role.ANNOTATOR)
    other, third = _second_annotator(project), _second_annotator(project)
    first_task, second_task = make_texts(project, 2)
    got = [next_task(client_for(user), project).json()["task_id"] for user in (annotator, other)]
    assert got == [str(first_task.pk)] * 2
    assert next_task(client_for(third), project).json()["task_id"] == str(second_task.pk)
    for user in (annotator, other):
        assert submit(client_for(user), project, first_task.pk, label()).status_code == 201
    first_task.refresh_from_db()
    assert (first_task.state, first_task.annotation_count) == ("complete", 2)


def test_a_skipped_task_goes_to_someone_else_never_back(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    response = client.post(
        f"{base(project)}/tasks/{task.pk}/skip", {"reason": "unclear", "note": "?"}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["skip_reason"] == "unclear"
    assert next_task(client, project).status_code == 204
    other = _second_annotator(project)
    assert next_task(client_for(other), project).json()["task_id"] == str(task.pk)


def test_a_skip_needs_a_known_reason(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    response = client.post(
        f"{base(project)}/tasks/{task.pk}/skip", {"reason": "bored"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["details"]["field"] == "reason"


def test_a_released_task_returns_to_the_queue(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    assert client.post(f"{base(project)}/tasks/{task.pk}/release").status_code == 200
    task.refresh_from_db()
    assert task.open_slots == 1
    again = client.post(f"{base(project)}/tasks/{task.pk}/release")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "not_leased"


def test_an_expired_lease_returns_the_task_to_the_queue(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    Annotation.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    other = _second_annotator(project)
    assert next_task(client_for(other), project).json()["task_id"] == str(task.pk)
    assert Annotation.objects.get(annotator=annotator).status == "expired"
    assert AuditEvent.objects.filter(action="annotation.lease_expired").count() == 1
    late = submit(client, project, task.pk, label())
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "lease_expired"


def test_a_late_submission_is_taken_while_a_slot_is_free(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    Annotation.objects.update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    make_texts(project, 1, priority=1)
    # Expires the lease, and takes the other task (a higher priority).
    next_task(client_for(_second_annotator(project)), project)
    assert submit(client, project, task.pk, label()).status_code == 201
    task.refresh_from_db()
    assert (task.state, task.open_slots) == ("complete", 0)


def test_a_draft_is_kept_and_handed_back_on_resume(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    draft = {"labels": ["Neg"], "cursor": 3}
    saved = client.put(
        f"{base(project)}/tasks/{task.pk}/draft", {"draft": draft, "time_spent": 4}, format="json"
    )
    assert saved.status_code == 200
    assert saved.json()["has_draft"] is True
    resumed = next_task(client, project).json()
    assert resumed["draft"] == draft
    stored = Annotation.objects.get()
    assert b"cursor" not in bytes(stored.draft or b"")


def test_an_annotator_opens_only_tasks_the_queue_gave_them(project, annotator):
    given, other = make_texts(project, 2)
    client = client_for(annotator)
    next_task(client, project)
    assert client.get(f"{base(project)}/tasks/{given.pk}/work").status_code == 200
    missing = client.get(f"{base(project)}/tasks/{other.pk}/work")
    assert missing.status_code == 404
    assert client.get(f"{base(project)}/tasks/{other.pk}").status_code == 403


def test_a_viewer_and_an_outsider_get_no_work(project, viewer, outsider):
    make_texts(project, 1)
    assert next_task(client_for(viewer), project).status_code == 403
    assert next_task(client_for(outsider), project).status_code == 404
    assert Task.objects.get().open_slots == 1


def test_editing_a_submitted_annotation_keeps_each_revision(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    annotation_id = submit(client, project, task.pk, label()).json()["id"]
    url = f"{base(project)}/tasks/{task.pk}/annotations/{annotation_id}"
    edited = client.patch(url, {"result": label("Negative")}, format="json")
    assert edited.status_code == 200
    assert edited.json()["revision"] == 2
    detail = client.get(url).json()
    assert [r["result"] for r in detail["revisions"]] == [label(), label("Negative")]
    assert detail["result"] == label("Negative")
    assert {r["author"] for r in detail["revisions"]} == {str(annotator.pk)}
