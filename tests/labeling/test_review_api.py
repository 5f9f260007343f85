"""Review over the API: a queue of submissions, accept, reject with a comment, correct."""

import pytest

from audit.models import AuditEvent
from labeling.models import Annotation, AnnotationRevision, Review
from projects.models import Role
from tests.conftest import add_member, client_for, make_project
from tests.factories import make_user
from tests.labeling.work import base, label, make_texts, next_task, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewed(admin):
    return make_project(admin, name="Reviewed", review_required=True)


@pytest.fixture
def people(reviewed):
    return {
        "annotator": add_member(reviewed, make_user(), Role.ANNOTATOR),
        "reviewer": add_member(reviewed, make_user(), Role.REVIEWER),
    }


def _submitted(project, annotator, result=None):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    body = submit(client, project, task.pk, result or label()).json()
    return task, body["id"]


def _review_url(project, task, annotation_id):
    return f"{base(project)}/tasks/{task.pk}/annotations/{annotation_id}/review"


def test_a_submission_waits_for_review_before_it_counts(reviewed, people):
    task, annotation_id = _submitted(reviewed, people["annotator"])
    task.refresh_from_db()
    assert (task.state, task.annotation_count, task.open_slots) == ("open", 0, 0)
    leased = client_for(people["reviewer"]).post(f"{base(reviewed)}/reviews/next")
    assert leased.status_code == 200
    body = leased.json()
    assert body["annotation"]["id"] == annotation_id
    assert body["data"] == {"text": "text 0"}
    assert body["result"] == label()
    reads = set(
        AuditEvent.objects.filter(details__via="review_queue").values_list("action", flat=True)
    )
    assert reads == {"task.read", "annotation.read"}


def test_accepting_completes_the_task(reviewed, people):
    task, annotation_id = _submitted(reviewed, people["annotator"])
    client = client_for(people["reviewer"])
    client.post(f"{base(reviewed)}/reviews/next")
    response = client.post(
        _review_url(reviewed, task, annotation_id), {"decision": "accept"}, format="json"
    )
    assert response.status_code == 201, response.json()
    task.refresh_from_db()
    assert (task.state, task.annotation_count) == ("complete", 1)
    assert Annotation.objects.get().review_state == "accepted"
    assert client.post(f"{base(reviewed)}/reviews/next").status_code == 204


def test_rejecting_needs_a_comment_returns_the_slot_and_tells_the_author(reviewed, people):
    task, annotation_id = _submitted(reviewed, people["annotator"])
    reviewer = client_for(people["reviewer"])
    url = _review_url(reviewed, task, annotation_id)
    bare = reviewer.post(url, {"decision": "reject"}, format="json")
    assert bare.status_code == 400
    assert bare.json()["error"]["details"]["field"] == "comment"
    done = reviewer.post(
        url, {"decision": "reject", "comment": "Sarcasm: negative."}, format="json"
    )
    assert done.status_code == 201
    task.refresh_from_db()
    assert (task.state, task.open_slots, task.annotation_count) == ("open", 1, 0)
    author = client_for(people["annotator"])
    detail = author.get(f"{base(reviewed)}/tasks/{task.pk}/annotations/{annotation_id}").json()
    assert detail["annotation"]["review_state"] == "rejected"
    assert detail["reviews"][0]["text"] == "Sarcasm: negative."
    assert detail["reviews"][0]["decision"] == "reject"
    assert b"Sarcasm" not in bytes(Review.objects.get().comment or b"")


def test_a_rejected_annotation_revised_goes_back_to_review(reviewed, people):
    task, annotation_id = _submitted(reviewed, people["annotator"])
    reviewer = client_for(people["reviewer"])
    reviewer.post(
        _review_url(reviewed, task, annotation_id),
        {"decision": "reject", "comment": "no"},
        format="json",
    )
    author = client_for(people["annotator"])
    url = f"{base(reviewed)}/tasks/{task.pk}/annotations/{annotation_id}"
    revised = author.patch(url, {"result": label("Negative")}, format="json")
    assert revised.status_code == 200, revised.json()
    assert revised.json()["review_state"] == "pending"
    task.refresh_from_db()
    assert task.open_slots == 0
    comment = author.post(f"{url}/comments", {"body": "Fixed, thanks."}, format="json")
    assert comment.status_code == 201
    assert reviewer.get(url).json()["comments"][0]["text"] == "Fixed, thanks."


def test_a_correction_is_a_revision_by_the_reviewer_and_counts(reviewed, people):
    task, annotation_id = _submitted(reviewed, people["annotator"])
    reviewer = client_for(people["reviewer"])
    url = _review_url(reviewed, task, annotation_id)
    bad = reviewer.post(url, {"decision": "correct", "result": {"labels": ["Zzz"]}}, format="json")
    assert bad.status_code == 400
    assert bad.json()["error"]["details"]["field"].startswith("result")
    done = reviewer.post(url, {"decision": "correct", "result": label("Neutral")}, format="json")
    assert done.status_code == 201
    revisions = AnnotationRevision.objects.order_by("number")
    assert [(r.number, r.kind, r.author_id) for r in revisions] == [
        (1, "submit", people["annotator"].pk),
        (2, "correction", people["reviewer"].pk),
    ]
    task.refresh_from_db()
    assert task.state == "complete"
    author = client_for(people["annotator"])
    edit = author.patch(
        f"{base(reviewed)}/tasks/{task.pk}/annotations/{annotation_id}",
        {"result": label()},
        format="json",
    )
    assert edit.status_code == 409
    assert edit.json()["error"]["code"] == "already_reviewed"


def test_nobody_reviews_their_own_work(reviewed, people):
    reviewer = people["reviewer"]
    task, annotation_id = _submitted(reviewed, reviewer)
    client = client_for(reviewer)
    assert client.post(f"{base(reviewed)}/reviews/next").status_code == 204
    own = client.post(
        _review_url(reviewed, task, annotation_id), {"decision": "accept"}, format="json"
    )
    assert own.status_code == 409
    assert own.json()["error"]["code"] == "own_annotation"


def test_two_reviewers_get_different_submissions(reviewed, people):
    _submitted(reviewed, people["annotator"])
    _submitted(reviewed, people["annotator"])
    second = add_member(reviewed, make_user(), Role.REVIEWER)
    first_id = (
        client_for(people["reviewer"])
        .post(f"{base(reviewed)}/reviews/next")
        .json()["annotation"]["id"]
    )
    second_id = client_for(second).post(f"{base(reviewed)}/reviews/next").json()["annotation"]["id"]
    assert first_id != second_id


def test_annotators_cannot_review_nor_read_others_annotations(reviewed, people):
    task, annotation_id = _submitted(reviewed, people["annotator"])
    other = add_member(reviewed, make_user(), Role.ANNOTATOR)
    client = client_for(other)
    assert client.post(f"{base(reviewed)}/reviews/next").status_code == 403
    url = f"{base(reviewed)}/tasks/{task.pk}/annotations/{annotation_id}"
    assert client.get(url).status_code == 404
    listed = client.get(f"{base(reviewed)}/annotations/").json()["results"]
    assert listed == []
    assert client_for(people["reviewer"]).get(url).status_code == 200
