"""Gold tasks: mixed into the stream, indistinguishable, scored, and pausing the careless."""

import pytest

from labeling.models import Annotation, Standing
from projects.models import Role
from tests.conftest import add_member, client_for, make_project
from tests.factories import make_user
from tests.labeling.work import base, label, make_task, make_texts, next_task, submit

pytestmark = pytest.mark.django_db


@pytest.fixture
def gold_project(admin):
    return make_project(
        admin, name="Gold", gold_rate=1.0, gold_min_accuracy=0.5, gold_min_answers=2
    )


def test_a_gold_task_looks_like_any_other_and_is_scored(gold_project):
    annotator = add_member(gold_project, make_user(), Role.ANNOTATOR)
    make_texts(gold_project, 1)
    gold = make_task(gold_project, {"text": "gold"}, gold=label("Negative"))
    client = client_for(annotator)
    work = next_task(client, gold_project).json()
    assert work["task_id"] == str(gold.pk)
    plain = next_task(client, gold_project, resume=False).json()
    assert set(work) == set(plain)
    assert set(work["annotation"]) == set(plain["annotation"])
    assert "Negative" not in str(work)
    assert submit(client, gold_project, gold.pk, label("Negative")).status_code == 201
    annotation = Annotation.objects.get(task=gold)
    assert annotation.gold_score == 1.0
    gold.refresh_from_db()
    assert gold.state == "open"
    assert gold.open_slots == 0
    standing = Standing.objects.get(annotator=annotator)
    assert (standing.gold_answers, standing.gold_accuracy) == (1, 1.0)


def test_gold_tasks_never_come_from_the_main_queue(admin):
    project = make_project(admin, name="No gold mix", gold_rate=0.0)
    annotator = add_member(project, make_user(), Role.ANNOTATOR)
    make_task(project, {"text": "gold"}, gold=label())
    assert next_task(client_for(annotator), project).status_code == 204


def test_an_annotator_below_the_gold_threshold_is_paused_until_resumed(gold_project, manager):
    annotator = add_member(gold_project, make_user(), Role.ANNOTATOR)
    add_member(gold_project, manager, Role.MANAGER)
    golds = [make_task(gold_project, {"text": f"g{i}"}, gold=label("Negative")) for i in range(3)]
    client = client_for(annotator)
    for _ in range(2):
        task_id = next_task(client, gold_project).json()["task_id"]
        assert submit(client, gold_project, task_id, label("Positive")).status_code == 201
    refused = next_task(client, gold_project)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "annotator_paused"
    url = f"{base(gold_project)}/quality/annotators/{annotator.pk}"
    assert client.patch(url, {"paused": False}, format="json").status_code == 403
    resumed = client_for(manager).patch(url, {"paused": False}, format="json")
    assert resumed.status_code == 200
    assert resumed.json()["paused"] is False
    assert next_task(client, gold_project).json()["task_id"] in {str(g.pk) for g in golds}


def test_annotators_see_their_own_gold_accuracy_only(
    gold_project, django_capture_on_commit_callbacks
):
    first = add_member(gold_project, make_user(), Role.ANNOTATOR)
    second = add_member(gold_project, make_user(), Role.ANNOTATOR)
    make_task(gold_project, {"text": "g"}, gold=label())
    for person in (first, second):
        client = client_for(person)
        task_id = next_task(client, gold_project).json()["task_id"]
        submit(client, gold_project, task_id, label())
    reviewer = add_member(gold_project, make_user(), Role.REVIEWER)
    with django_capture_on_commit_callbacks(execute=True):
        assert client_for(reviewer).post(f"{base(gold_project)}/quality").status_code == 202
    mine = client_for(first).get(f"{base(gold_project)}/quality").json()
    assert [row["annotator"] for row in mine["annotators"]] == [str(first.pk)]
    assert mine["annotators"][0]["gold_accuracy"] == 1.0
    assert mine["pairs"] == []
    assert mine["overall"] == {}
    everyone = client_for(reviewer).get(f"{base(gold_project)}/quality").json()
    assert {row["annotator"] for row in everyone["annotators"]} == {str(first.pk), str(second.pk)}
