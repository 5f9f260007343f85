"""A box task's image, for the annotator the queue gave the task to (and reviewers)."""

import pytest

from audit.models import AuditEvent
from projects.models import Role
from tests.conftest import add_member, client_for, make_project
from tests.datasets.factories import make_file, png_bytes
from tests.factories import make_user
from tests.labeling.work import base, make_task, make_texts, next_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def boxes(admin):
    return make_project(
        admin, name="Boxes", task_type="boxes", label_schema={"labels": [{"name": "cat"}]}
    )


def _image_url(project, task):
    return f"{base(project)}/tasks/{task.pk}/image"


def test_the_annotator_given_a_box_task_reads_its_image_and_it_is_recorded(boxes):
    stored = make_file(boxes)
    task = make_task(boxes, {"image": str(stored.pk)})
    annotator = add_member(boxes, make_user(), Role.ANNOTATOR)
    client = client_for(annotator)
    next_task(client, boxes)
    response = client.get(_image_url(boxes, task))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == png_bytes()  # type: ignore[attr-defined]
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"] == "private, no-store"
    event = AuditEvent.objects.filter(action="file.read").latest("occurred_at")
    assert event.object_id == str(stored.pk)


def test_other_annotators_viewers_and_outsiders_do_not(boxes, admin):
    stored = make_file(boxes)
    task = make_task(boxes, {"image": str(stored.pk)})
    never_given = add_member(boxes, make_user(), Role.ANNOTATOR)
    viewer = add_member(boxes, make_user(), Role.VIEWER)
    outsider = make_user()
    assert client_for(never_given).get(_image_url(boxes, task)).status_code == 404
    assert client_for(viewer).get(_image_url(boxes, task)).status_code == 403
    assert client_for(outsider).get(_image_url(boxes, task)).status_code == 404
    reviewer = add_member(boxes, make_user(), Role.REVIEWER)
    assert client_for(reviewer).get(_image_url(boxes, task)).status_code == 200


def test_a_task_without_an_image_answers_404(project, annotator):
    (task,) = make_texts(project, 1)
    client = client_for(annotator)
    next_task(client, project)
    response = client.get(_image_url(project, task))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "no_image"
