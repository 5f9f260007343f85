"""Accessibility: axe-core (frontend/node_modules, from npm) runs in a real Chromium on the
workspace (each task type with a task shown), the review mode and the lab's pages, and finds no
violation of impact "serious" or "critical".

axe is evaluated over the DevTools protocol rather than added as a ``<script>`` element: an
inline script would be blocked by the enforcing CSP (and reported as a violation), whereas an
evaluation is not subject to the page's CSP.
"""

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from audit.services import Actor
from labeling import annotations, queue
from projects.models import Project, Role, TaskType
from tests.conftest import add_member, make_project
from tests.e2e.conftest import Watched, sign_in
from tests.factories import make_user, password_of
from tests.labeling.work import make_task, make_texts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = {"serious", "critical"}


@cache
def _axe_source() -> str:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` in frontend/.")
    return AXE.read_text(encoding="utf-8")


def axe_violations(watched: Watched) -> list[str]:
    """Serious and critical violations on the page as "rule: selector, ..." lines."""
    page = watched.page
    page.evaluate("source => { (0, eval)(source); return 0; }", _axe_source())
    found: list[dict[str, Any]] = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        f"{v['id']} ({v['impact']}): " + ", ".join(" ".join(n["target"]) for n in v["nodes"])
        for v in found
        if v["impact"] in BLOCKING
    ]


def _assert_accessible(watched: Watched) -> None:
    assert axe_violations(watched) == []
    watched.assert_clean()


SCHEMAS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    TaskType.CLASSIFICATION: (
        {"labels": [{"name": "Positive", "hotkey": "1"}, {"name": "Negative", "hotkey": "2"}]},
        {"text": "A task to read."},
    ),
    TaskType.NER: (
        {"labels": [{"name": "PER", "hotkey": "1"}, {"name": "LOC", "hotkey": "2"}]},
        {"text": "Ada met Bob in Paris."},
    ),
    TaskType.PAIRWISE: (
        {"strength": {"min": 1, "max": 3}},
        {"prompt": "What is 2 + 2?", "response_a": "It is 4.", "response_b": "It is 5."},
    ),
    TaskType.RUBRIC: (
        {"criteria": [{"name": "Accuracy", "scale": {"min": 1, "max": 5}}]},
        {"prompt": "Explain tides.", "response": "The moon pulls the sea."},
    ),
    TaskType.FREE_TEXT: (
        {"mode": "rewrite", "min_length": 1},
        {"prompt": "Rewrite politely.", "response": "Go away."},
    ),
    TaskType.CHAT: (
        {"turn_ratings": {"min": 1, "max": 5}, "flags": [{"name": "Unsafe"}], "comments": True},
        {
            "messages": [
                {"role": "user", "content": "What is 2 + 2?"},
                {"role": "assistant", "content": "It is 4."},
            ]
        },
    ),
}
# Set when axe finds a real violation on a page this file does not own: the case is expected to
# fail (strictly, so that it is noticed once fixed) and the rule says what to fix.
KNOWN: dict[str, str] = {}


def _case(name: str) -> Any:
    if name in KNOWN:
        return pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN[name]))
    return name


def _project(task_type: str = TaskType.CLASSIFICATION, **kwargs: Any) -> tuple[Project, Any]:
    admin = make_user("lead@lab.test", is_staff=True)
    schema, _ = SCHEMAS[task_type]
    project = make_project(
        admin,
        name=f"Accessible {task_type}",
        task_type=task_type,
        label_schema=schema,
        instructions="Read **carefully**, then [ask](https://example.org) if unsure.",
        **kwargs,
    )
    return project, admin


@pytest.mark.parametrize("task_type", [_case(t) for t in SCHEMAS])
def test_the_workspace_of_each_type_is_accessible(watched: Watched, task_type: str):
    project, _ = _project(task_type)
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    make_task(project, SCHEMAS[task_type][1])
    sign_in(watched, annotator.email, password_of(annotator))
    watched.page.goto(f"/projects/{project.pk}/work/")
    watched.page.locator("[data-ws=task] .empty").wait_for(state="detached")
    watched.page.locator("[data-ws=answer] *").first.wait_for()
    _assert_accessible(watched)


def test_the_review_mode_is_accessible(watched: Watched):
    project, _ = _project(review_required=True)
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    make_task(project, {"text": "A task to review."})
    actor = Actor.system(user=annotator)
    work = queue.next_task(actor=actor, project=project)
    assert work is not None
    annotations.annotation_submit(
        actor=actor, project=project, task_id=work.task.pk, result={"labels": ["Positive"]}
    )
    reviewer = add_member(project, make_user("reviewer@lab.test"), Role.REVIEWER)
    sign_in(watched, reviewer.email, password_of(reviewer))
    watched.page.goto(f"/projects/{project.pk}/review/")
    watched.page.locator("[data-ws=task]").get_by_text("A task to review.").wait_for()
    _assert_accessible(watched)


PAGES = ["project", "dashboard", "me", "imports", "tasks", "task"]


@pytest.mark.parametrize("name", [_case(name) for name in PAGES])
def test_the_lab_pages_are_accessible(watched: Watched, name: str):
    project, admin = _project()
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    tasks = make_texts(project, 3)
    actor = Actor.system(user=annotator)
    work = queue.next_task(actor=actor, project=project)
    assert work is not None
    annotations.annotation_submit(
        actor=actor, project=project, task_id=work.task.pk, result={"labels": ["Positive"]}
    )
    who = annotator if name == "me" else admin
    sign_in(watched, who.email, password_of(who))
    path = {
        "project": "",
        "dashboard": "dashboard/",
        "me": "me/",
        "imports": "imports/",
        "tasks": "tasks/",
        "task": f"tasks/{tasks[0].pk}",
    }[name]
    response = watched.page.goto(f"/projects/{project.pk}/{path}")
    assert response is not None
    assert response.status == 200
    watched.page.wait_for_load_state("networkidle")
    _assert_accessible(watched)


def test_axe_runs_and_reports_what_it_finds(watched: Watched):
    # The check above is only worth something if axe really runs: an image without a text
    # alternative (a critical violation) must be reported with its selector.
    project, admin = _project()
    sign_in(watched, admin.email, password_of(admin))
    watched.page.goto(f"/projects/{project.pk}/")
    watched.page.evaluate(
        "() => { const i = document.createElement('img'); i.id = 'bare';"
        " i.src = '/static/none.png'; document.querySelector('main').append(i); }"
    )
    assert axe_violations(watched) == ["image-alt (critical): #bare"]
