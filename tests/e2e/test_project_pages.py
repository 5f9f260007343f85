"""The project create and settings pages in a real Chromium: every task type with its example
schema and the live preview of the workspace's own view of that type (a sample task; nothing is
sent), a schema typed wrong, saving, and axe-core on the create page.
"""

import json
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from accounts.models import User
from projects.forms import EXAMPLE_LINES, EXAMPLE_SCHEMAS
from projects.models import Project, TaskType
from tests.conftest import make_project
from tests.e2e.conftest import Watched, sign_in
from tests.e2e.test_accessibility import axe_violations
from tests.factories import make_user, password_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NOT_VALID = "The schema is not valid yet: "

# A visible part of each type's view, as drawn from its example with the sample task.
SHOWN: dict[str, tuple[str, str | None]] = {
    TaskType.CLASSIFICATION: ("[data-preview=answer] .ws-choices", "Neutral"),
    TaskType.NER: ("[data-preview=task] .ws-ner", "Ada Lovelace wrote to Charles Babbage"),
    TaskType.BOXES: ("[data-preview=task] .ws-image", None),
    TaskType.PAIRWISE: ("[data-preview=task]", "Put it in the freezer."),
    TaskType.RUBRIC: ("[data-preview=answer] .ws-criterion", "Accuracy"),
    TaskType.FREE_TEXT: ("[data-preview=task]", "Your rewrite"),
    TaskType.CHAT: ("[data-preview=task] .ws-chat", "Sorry, it is Canberra."),
}
_IMAGE_LOADED = (
    "() => { const img = document.querySelector('[data-preview=task] .ws-image');"
    " return img !== null && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0; }"
)


def _no_api_calls(watched: Watched) -> list[str]:
    """Every request to the API the page makes (the preview must make none)."""
    calls: list[str] = []
    watched.page.on("request", lambda r: calls.append(r.url) if "/api/" in r.url else None)
    return calls


def _choose(watched: Watched, task_type: str) -> None:
    watched.page.get_by_label("Task type:").select_option(task_type)


def _sees_view(watched: Watched, task_type: str) -> None:
    page = watched.page
    selector, text = SHOWN[task_type]
    part = page.locator(selector).first
    expect(part).to_be_visible()
    if text is not None:
        expect(part).to_contain_text(text)
    if task_type == TaskType.BOXES:
        page.wait_for_function(_IMAGE_LOADED)
    expect(page.locator("[data-preview=problem]")).to_be_hidden()


def _example_shown(watched: Watched, task_type: str) -> None:
    page = watched.page
    if task_type in EXAMPLE_LINES:
        expect(page.locator("#id_labels")).to_have_value(EXAMPLE_LINES[task_type])
        expect(page.locator("#id_schema_json")).to_have_value("")
    else:
        expect(page.locator("#id_labels")).to_be_hidden()
        shown = page.locator("#id_schema_json").input_value()
        assert json.loads(shown) == EXAMPLE_SCHEMAS[task_type]


@pytest.fixture
def admin_page(watched: Watched) -> Watched:
    admin = make_user("lead@lab.test", is_staff=True)
    sign_in(watched, admin.email, password_of(admin))
    return watched


def test_each_type_shows_its_example_and_its_view_and_saving_creates_it(admin_page: Watched):
    watched, page = admin_page, admin_page.page
    calls = _no_api_calls(watched)
    page.goto("/projects/new")
    for task_type in [*list(TaskType)[1:], TaskType.CLASSIFICATION]:  # ends where it started
        _choose(watched, task_type)
        _example_shown(watched, task_type)
        _sees_view(watched, task_type)
        if task_type == TaskType.BOXES:
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "project-create.png"), full_page=True)

    # The preview answers clicks as the workspace does, and sends nothing.
    page.locator("[data-preview=answer]").get_by_text("Negative").click()
    expect(page.locator("[data-preview=answer] input[value=Negative]")).to_be_checked()

    # A schema of one's own: typed wrong, then right; the preview follows as one types.
    _choose(watched, TaskType.RUBRIC)
    editor = page.locator("#id_schema_json")
    editor.fill('{"criteria": [{"name": "Tone", "scale": {"min": 1')
    problem = page.locator("[data-preview=problem]")
    expect(problem).to_contain_text(NOT_VALID + "the JSON does not parse")
    expect(page.locator("[data-preview=body]")).to_be_hidden()
    editor.fill('{"criteria": [{"name": "Tone", "scale": {"min": 1}}]}')
    expect(problem).to_have_text(
        NOT_VALID + "label_schema.criteria[0].scale.max: must be a whole number."
    )
    schema: dict[str, Any] = {"criteria": [{"name": "Tone", "scale": {"min": 1, "max": 4}}]}
    editor.fill(json.dumps(schema))
    expect(page.locator("[data-preview=answer] .ws-criterion")).to_contain_text("Tone")
    expect(problem).to_be_hidden()
    # Switching away and back keeps what was written (it is no example).
    _choose(watched, TaskType.CHAT)
    _choose(watched, TaskType.RUBRIC)
    assert json.loads(editor.input_value()) == schema

    page.get_by_role("textbox", name="Name:", exact=True).fill("Tone check")
    with page.expect_navigation():
        page.get_by_role("button", name="Create project").click()
    project = Project.objects.get(name="Tone check")
    assert (project.task_type, project.label_schema["criteria"]) == ("rubric", schema["criteria"])
    assert calls == []
    watched.assert_clean()


def test_a_schema_the_server_refuses_is_shown_at_its_field(admin_page: Watched):
    page = admin_page.page
    page.goto("/projects/new")
    _choose(admin_page, TaskType.CHAT)
    page.get_by_role("textbox", name="Name:", exact=True).fill("Refused")
    # Valid for the light check in the page, refused by the server: a flag defined twice.
    schema = {**EXAMPLE_SCHEMAS[TaskType.CHAT], "flags": [{"name": "Unsafe"}, {"name": "Unsafe"}]}
    page.locator("#id_schema_json").fill(json.dumps(schema))
    expect(page.locator("[data-preview=answer]")).to_contain_text("Unsafe")
    with page.expect_navigation():
        page.get_by_role("button", name="Create project").click()
    errors = page.locator("#id_schema_json_error")
    expect(errors).to_have_text("label_schema.flags[1].name: Flag 'Unsafe' is defined twice.")
    expect(page.get_by_label("Task type:")).to_have_value("chat")
    assert not Project.objects.filter(name="Refused").exists()
    admin_page.assert_clean()


@pytest.mark.parametrize("task_type", [TaskType.CLASSIFICATION, TaskType.CHAT])
def test_the_create_page_with_its_preview_is_accessible(admin_page: Watched, task_type: str):
    page = admin_page.page
    page.goto("/projects/new")
    _choose(admin_page, task_type)
    _sees_view(admin_page, task_type)
    assert axe_violations(admin_page) == []
    admin_page.assert_clean()


def test_the_settings_page_previews_the_projects_own_schema(admin_page: Watched):
    admin = User.objects.get(email="lead@lab.test")
    schema = {"labels": [{"name": "Vehicle", "hotkey": "v"}], "min_size": 0.1}
    project = make_project(admin, name="Street", task_type=TaskType.BOXES, label_schema=schema)
    page = admin_page.page
    page.goto(f"/projects/{project.pk}/settings")
    expect(page.get_by_label("Task type:")).to_be_disabled()
    expect(page.get_by_label("Task type:")).to_have_value("boxes")
    expect(page.locator("#id_labels")).to_have_value("Vehicle [v]")
    _sees_view(admin_page, TaskType.BOXES)
    expect(page.locator("[data-preview=answer]")).to_contain_text("Vehicle")
    page.locator("#id_labels").fill("Vehicle [v]\nBike [b]")
    expect(page.locator("[data-preview=answer]")).to_contain_text("Bike")
    with page.expect_navigation():
        page.get_by_role("button", name="Save settings").click()
    project.refresh_from_db()
    assert project.label_schema == {
        "labels": [{"name": "Vehicle", "hotkey": "v"}, {"name": "Bike", "hotkey": "b"}],
        "min_size": 0.1,
    }
    admin_page.assert_clean()
