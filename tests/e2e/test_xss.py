"""An XSS corpus placed everywhere content can come from (task data, label names, instructions,
review comments) and rendered through every view that shows it, in a real Chromium under the
enforcing CSP: no dialog, no CSP violation, no console error, no ``javascript:`` link, and the
payloads shown as the text they are.

The data is made through the services (and tests/labeling/work.py), not through the pages, to
keep the tests fast; the pages are only read. A NUL byte is left out: imports refuse it.
"""

from dataclasses import dataclass
from typing import Any

import pytest

from audit.services import Actor
from labeling import annotations, quality, queue
from projects.models import Project, Role, TaskType
from tests.conftest import add_member, make_project
from tests.e2e.conftest import Watched, sign_in
from tests.factories import make_user, password_of
from tests.labeling.work import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCRIPT = "<script>alert('script')</script>"
IMG = "<img src=x onerror=alert(1)>"
HANDLER = '<a href="#" onclick="alert(2)" onmouseover="alert(3)">hover me</a>'
JS_URL = "javascript:alert(4)"
SVG = "<svg onload=alert(1)>"
MUSTACHE = "{{7*7}}"
TEMPLATE = "${7*7}"
RLO = "file\N{RIGHT-TO-LEFT OVERRIDE}gpj.exe"
CORPUS = [SCRIPT, IMG, HANDLER, JS_URL, SVG, MUSTACHE, TEMPLATE, RLO]
# Markdown: raw HTML, a javascript: link (plain and as an autolink) and an image with a handler.
INSTRUCTIONS = "\n\n".join(
    [
        "Read **carefully**.",
        *CORPUS,
        f"[click me]({JS_URL})",
        f"<{JS_URL}>",
        f'![pic](x "{IMG}")',
    ]
)


def _text(n: int) -> str:
    """A task's text: the whole corpus, numbered so that every task differs."""
    return f"Task {n}: " + " ".join(CORPUS)


@dataclass
class Case:
    name: str
    task_type: str
    schema: dict[str, Any]
    data: dict[str, Any]
    # A payload that the view shows on its own (an element whose whole text it is).
    shown: str


CASES = [
    Case(
        "classification",
        TaskType.CLASSIFICATION,
        {"labels": [{"name": p, "hotkey": str(n)} for n, p in enumerate(CORPUS[:5], start=1)]},
        {"text": _text(1)},
        IMG,
    ),
    Case(
        "pairwise",
        TaskType.PAIRWISE,
        {"strength": {"min": 1, "max": 3, "labels": {"1": SVG, "3": IMG}}},
        {"prompt": _text(1), "response_a": IMG, "response_b": SVG},
        IMG,
    ),
    Case(
        "chat",
        TaskType.CHAT,
        {
            "turn_ratings": {"min": 1, "max": 5, "anchors": {"1": IMG, "5": SVG}},
            "flags": [{"name": SCRIPT}, {"name": JS_URL, "description": HANDLER}],
            "comments": True,
        },
        {
            "messages": [
                {"role": "system", "content": SCRIPT},
                {"role": "user", "content": _text(1)},
                {"role": "assistant", "content": IMG},
                {"role": "user", "content": MUSTACHE},
                {"role": "assistant", "content": RLO},
            ]
        },
        IMG,
    ),
    Case(
        "ner",
        TaskType.NER,
        {"labels": [{"name": IMG, "hotkey": "1"}, {"name": SVG, "hotkey": "2"}]},
        {"text": _text(1)},
        _text(1),
    ),
    Case(
        "rubric",
        TaskType.RUBRIC,
        {
            "criteria": [
                {"name": IMG, "description": SCRIPT, "scale": {"min": 1, "max": 3}},
                {"name": SVG, "scale": {"min": 1, "max": 5, "anchors": {"1": JS_URL}}},
            ]
        },
        {"prompt": _text(1), "response": IMG},
        IMG,
    ),
    Case(
        "free-text",
        TaskType.FREE_TEXT,
        {"mode": "rewrite", "min_length": 1, "guidelines": IMG},
        {"prompt": _text(1), "response": SVG},
        SVG,
    ),
]


def _project(case: Case, *, admin: Any = None, **kwargs: Any) -> Project:
    admin = admin or make_user("lead@lab.test", is_staff=True)
    return make_project(
        admin,
        name=f"XSS {case.name} {IMG}",
        task_type=case.task_type,
        label_schema=case.schema,
        instructions=INSTRUCTIONS,
        **kwargs,
    )


def _no_script_links(watched: Watched) -> None:
    hrefs = watched.page.eval_on_selector_all("[href]", "els => els.map(e => e.href)")
    assert [h for h in hrefs if h.strip().lower().startswith("javascript:")] == []
    assert watched.page.locator("svg[onload], img[onerror], [onclick], [onmouseover]").count() == 0


def _assert_safe(watched: Watched) -> None:
    _no_script_links(watched)
    # Template strings stay as written: nothing evaluated them.
    assert watched.page.get_by_text("49", exact=True).count() == 0
    watched.assert_clean()


def _visible(watched: Watched, scope: str, text: str) -> None:
    watched.page.locator(scope).get_by_text(text, exact=True).first.wait_for()


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_the_workspace_shows_the_corpus_as_text(watched: Watched, case: Case):
    project = _project(case)
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    make_task(project, case.data)
    sign_in(watched, annotator.email, password_of(annotator))
    watched.page.goto(f"/projects/{project.pk}/work/")
    page = watched.page
    _visible(watched, "[data-ws=task]", _text(1))
    _visible(watched, "[data-workspace]", case.shown)
    # Every label, criterion, flag or anchor name is a payload: each shown as it is written.
    for name in _names(case.schema):
        assert page.get_by_text(name, exact=False).count() > 0, name
    # The instructions' raw HTML is shown or dropped, never rendered as elements.
    assert (
        page.locator(".ws-instructions img, .ws-instructions svg, .ws-instructions script").count()
        == 0
    )
    if case.task_type == TaskType.FREE_TEXT:
        page.keyboard.press("Tab")  # out of the editor, where ? is a character
    page.keyboard.press("?")
    page.get_by_role("dialog", name="Keyboard shortcuts").wait_for()
    page.keyboard.press("Escape")
    _assert_safe(watched)


def _names(schema: dict[str, Any]) -> list[str]:
    found = []
    for key in ("labels", "criteria", "flags"):
        found += [item["name"] for item in schema.get(key, [])]
    return found


def _submitted(case: Case) -> tuple[Project, Any, Any]:
    """A reviewed project whose annotator has submitted one answer to a payload task."""
    admin = make_user("lead@lab.test", is_staff=True)
    project = _project(case, admin=admin, review_required=True)
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    make_task(project, case.data)
    make_task(project, {"text": _text(2)})
    actor = Actor.system(user=annotator)
    work = queue.next_task(actor=actor, project=project)
    assert work is not None
    annotations.annotation_submit(
        actor=actor, project=project, task_id=work.task.pk, result={"labels": [IMG]}
    )
    return project, admin, annotator


def test_the_review_mode_shows_the_corpus_and_takes_a_payload_comment(watched: Watched):
    project, _, annotator = _submitted(CASES[0])
    reviewer = add_member(project, make_user("reviewer@lab.test"), Role.REVIEWER)
    sign_in(watched, reviewer.email, password_of(reviewer))
    page = watched.page
    page.goto(f"/projects/{project.pk}/review/")
    page.locator("[data-ws=task]").get_by_text("Task ", exact=False).first.wait_for()
    assert page.get_by_role("radio", name=IMG).is_checked()
    _assert_safe(watched)
    page.keyboard.press("r")
    page.get_by_role("dialog", name="Why reject this answer?").wait_for()
    comment = " ".join(CORPUS)
    page.keyboard.type(comment)
    page.keyboard.press("Control+Enter")
    page.get_by_role("heading", name="Nothing awaits review").wait_for()
    _assert_safe(watched)

    # The annotator's own page lists the rejected work with its note.
    watched.page.context.clear_cookies()
    sign_in(watched, annotator.email, password_of(annotator))
    page.goto(f"/projects/{project.pk}/me/")
    page.locator("[data-dash=history]").get_by_text("Rejected").wait_for()
    _assert_safe(watched)


def test_the_project_page_dashboard_and_data_browser_show_the_corpus_as_text(watched: Watched):
    case = CASES[0]
    admin = make_user("lead@lab.test", is_staff=True)
    project = _project(case, admin=admin, overlap=2)
    people = [add_member(project, make_user(f"{n}@lab.test"), Role.ANNOTATOR) for n in "ab"]
    tasks = [make_task(project, {"text": _text(n)}) for n in range(1, 5)]
    names = _names(case.schema)
    for n, person in enumerate(people):
        actor = Actor.system(user=person)
        while (work := queue.next_task(actor=actor, project=project)) is not None:
            answer = {"labels": [names[(work.task.seq + n) % 2]]}
            annotations.annotation_submit(
                actor=actor, project=project, task_id=work.task.pk, result=answer
            )
    quality.quality_request(actor=Actor.system(user=admin), project=project)
    page = watched.page
    sign_in(watched, admin.email, password_of(admin))

    page.goto(f"/projects/{project.pk}/")
    page.get_by_text(project.name, exact=True).first.wait_for()
    page.get_by_text(IMG, exact=True).first.wait_for()  # in the instructions, as text
    _assert_safe(watched)

    page.goto(f"/projects/{project.pk}/dashboard/")
    page.locator("[data-dash=agreement]").get_by_text(IMG, exact=True).first.wait_for()
    _assert_safe(watched)

    page.goto(f"/projects/{project.pk}/tasks/")
    page.get_by_text(project.name, exact=True).first.wait_for()
    _assert_safe(watched)

    page.goto(f"/projects/{project.pk}/tasks/{tasks[0].pk}")
    page.get_by_text(_text(1), exact=False).first.wait_for()
    _assert_safe(watched)


def test_the_data_browser_shows_a_chat_and_a_pairwise_task_as_text(watched: Watched):
    admin = make_user("lead@lab.test", is_staff=True)
    page = watched.page
    sign_in(watched, admin.email, password_of(admin))
    for case in (CASES[1], CASES[2]):
        project = _project(case, admin=admin)
        task = make_task(project, case.data)
        page.goto(f"/projects/{project.pk}/tasks/{task.pk}")
        page.get_by_text(IMG, exact=True).first.wait_for()
        page.get_by_text(_text(1), exact=False).first.wait_for()
        _assert_safe(watched)
