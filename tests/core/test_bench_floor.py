"""``bench/api_floor.py``'s routes: every level answers a cycle as the real endpoints do, and
refuses a caller who is not signed in once the level has a user, so the benchmark measures
what its levels say they do."""

import json

import pytest
from django.test import Client

from audit.models import AuditEvent
from bench.api_floor import LEVELS
from tests.factories import make_user
from tests.labeling.work import label, make_texts

pytestmark = pytest.mark.django_db

ANSWER = json.dumps({"result": label(), "time_spent": 1.0})


@pytest.fixture(autouse=True)
def floor_routes(settings):
    settings.ROOT_URLCONF = "bench.floor_urls"


def _cycle(client: Client, level: str, project) -> tuple[int, int]:
    base = f"/floor/{level}/api/v1/projects/{project.pk}"
    taken = client.post(f"{base}/next", "{}", content_type="application/json")
    if taken.status_code != 200:
        return taken.status_code, 0
    task = taken.json()["task_id"]
    answered = client.post(
        f"{base}/tasks/{task}/annotations/", ANSWER, content_type="application/json"
    )
    return taken.status_code, answered.status_code


@pytest.mark.parametrize("level", LEVELS)
def test_every_level_answers_a_cycle(level, project, annotator):
    make_texts(project, 2)
    client = Client()
    client.force_login(annotator)
    before = AuditEvent.objects.count()
    assert _cycle(client, level, project) == (200, 201)
    recorded = AuditEvent.objects.count() - before
    assert recorded == {"audit": 2, "work": 2}.get(level, 0)


@pytest.mark.parametrize("level", LEVELS[1:])  # every level after django has a user
def test_levels_with_a_user_refuse_the_signed_out(level, project):
    make_texts(project, 1)
    status, _ = _cycle(Client(), level, project)
    assert status in (401, 403)


def test_the_gate_refuses_a_non_member(project):
    client = Client()
    client.force_login(make_user(email="outsider@lab.test"))
    for level in ("gate", "audit"):
        assert _cycle(client, level, project)[0] == 404
