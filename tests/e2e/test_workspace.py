"""An annotator works through the workspace in a real Chromium under the enforcing CSP, from the
keyboard only: for each task type, answers a task, reloads in the middle (the draft comes
back), submits with Ctrl+Enter, answers the next one, opens the help with ?, skips the last one
with S and a reason key, and reaches "All done". The answers are checked in the database, as
stored (sealed) and in the task's own orientation.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import vault
from datasets.files import store_image
from datasets.images import ImageInfo
from labeling.models import Annotation, AnnotationStatus, Task
from labeling.presentation import canonical_result, is_swapped
from projects.models import Project, Role, TaskType
from tests.conftest import add_member, make_project
from tests.datasets.factories import png_bytes
from tests.e2e.conftest import Watched, sign_in
from tests.factories import make_user, password_of
from tests.labeling.work import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@dataclass
class Case:
    """One task type: its schema, three tasks (two answered, one skipped), the keys that answer
    the first two, and the results those keys must store (as the annotator saw the task)."""

    name: str
    task_type: str
    schema: dict[str, Any]
    tasks: list[dict[str, Any]]
    keys: list[list[str]]
    results: list[dict[str, Any]]
    # Where the focus starts is a text field for free text: Tab leaves it before single keys.
    leave_field: bool = False
    marker: Callable[[dict[str, Any]], str] = field(default=lambda data: data["prompt"])


CASES = [
    Case(
        "classification",
        TaskType.CLASSIFICATION,
        {
            "labels": [
                {"name": "Positive", "hotkey": "1"},
                {"name": "Negative", "hotkey": "2", "description": "Unhappy, angry, let down"},
                {"name": "Neutral", "hotkey": "3"},
            ]
        },
        [{"text": f"Review {n}: <b>not bold</b> {n}"} for n in range(1, 4)],
        [["2"], ["1"]],
        [{"labels": ["Negative"]}, {"labels": ["Positive"]}],
        marker=lambda data: data["text"],
    ),
    Case(
        "classification-multiple",
        TaskType.CLASSIFICATION,
        {"multiple": True, "labels": [{"name": "Person"}, {"name": "Place"}, {"name": "Thing"}]},
        [{"text": f"Sentence {n} mentions things."} for n in range(1, 4)],
        [["1", "3"], ["2"]],
        [{"labels": ["Person", "Thing"]}, {"labels": ["Place"]}],
        marker=lambda data: data["text"],
    ),
    Case(
        "pairwise",
        TaskType.PAIRWISE,
        {
            "strength": {"min": 1, "max": 3, "labels": {"1": "Slightly", "3": "Much better"}},
            "rationale": {"required": False, "min_length": 0},
        },
        [
            {
                "prompt": f"Question {n}: what is 2 + {n}?",
                "response_a": f"It is {2 + n}.",
                "response_b": "<script>alert('b')</script> No idea.",
            }
            for n in range(1, 4)
        ],
        [["a", "3"], ["t"]],
        [{"choice": "a", "strength": 3}, {"choice": "tie"}],
    ),
    Case(
        "rubric",
        TaskType.RUBRIC,
        {
            "criteria": [
                {
                    "name": "Accuracy",
                    "description": "Are the facts right?",
                    "scale": {"min": 1, "max": 5, "anchors": {"1": "Wrong", "5": "Exact"}},
                },
                {"name": "Tone", "scale": {"min": 1, "max": 3}},
            ]
        },
        [
            {"prompt": f"Explain tides ({n}).", "response": f"The moon pulls the sea. ({n})"}
            for n in range(1, 4)
        ],
        [["4", "Tab", "2"], ["5", "Tab", "3"]],
        [{"scores": {"Accuracy": 4, "Tone": 2}}, {"scores": {"Accuracy": 5, "Tone": 3}}],
    ),
    Case(
        "free-text",
        TaskType.FREE_TEXT,
        {"mode": "rewrite", "min_length": 5, "max_length": 200, "guidelines": "Be concise."},
        [
            {"prompt": f"Rewrite answer {n} politely.", "response": "Line one\nLine two"}
            for n in range(1, 4)
        ],
        [["Control+End", "type: fixed"], ["Control+a", "type:Brand new answer"]],
        [{"text": "Line one\nLine two fixed"}, {"text": "Brand new answer"}],
        leave_field=True,
    ),
    Case(
        "chat",
        TaskType.CHAT,
        {
            "turn_ratings": {"min": 1, "max": 5, "anchors": {"1": "Harmful", "5": "Ideal"}},
            "conversation_rating": {"min": 1, "max": 3},
            "flags": [
                {"name": "Unsafe"},
                {"name": "Wrong facts", "description": "A claim is false"},
            ],
            "comments": True,
        },
        [
            {
                "messages": [
                    {"role": "system", "content": "Answer briefly."},
                    {"role": "user", "content": f"Chat {n}: what is 2 + 2?"},
                    {"role": "assistant", "content": "<script>alert('chat')</script> It is 5."},
                    {"role": "user", "content": "Are you sure?"},
                    {"role": "assistant", "content": "Sorry: it is 4."},
                ]
            }
            for n in range(1, 4)
        ],
        # Number keys rate the focused turn, G flags it, Tab moves to the next turn, then to the
        # conversation's rating; Shift+Tab goes back.
        [
            ["2", "g", "Tab", "4", "Tab", "3"],
            ["Tab", "Tab", "1", "Shift+Tab", "5", "Shift+Tab", "5", "f"],
        ],
        [
            {
                "turns": {"2": {"rating": 2, "flags": ["Wrong facts"]}, "4": {"rating": 4}},
                "conversation": 3,
            },
            {
                "turns": {"2": {"rating": 5, "flags": ["Unsafe"]}, "4": {"rating": 5}},
                "conversation": 1,
            },
        ],
        marker=lambda data: data["messages"][1]["content"],
    ),
]


def _press(watched: Watched, keys: list[str]) -> None:
    for key in keys:
        if key.startswith("type:"):
            watched.page.keyboard.type(key.removeprefix("type:"))
        else:
            watched.page.keyboard.press(key)


def _focus_in_dialog(watched: Watched) -> str | None:
    """The title id of the dialog that holds the focus, if one does."""
    return watched.page.evaluate(
        "document.activeElement?.closest('[role=dialog]')?.getAttribute('aria-labelledby') ?? null"
    )


def _wait_for_task(watched: Watched, case: Case, data: dict[str, Any]) -> None:
    task_area = watched.page.locator("[data-ws=task]")
    task_area.get_by_text(case.marker(data), exact=True).wait_for()


def _open_workspace(watched: Watched, case: Case) -> tuple[Project, Any, list[Task]]:
    admin = make_user("lead@lab.test", is_staff=True)
    project = make_project(
        admin,
        name=f"Workspace {case.name}",
        task_type=case.task_type,
        label_schema=case.schema,
        instructions="Answer **honestly**. <img src=x onerror=alert(1)>",
    )
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    tasks = [make_task(project, data) for data in case.tasks]
    sign_in(watched, annotator.email, password_of(annotator))
    watched.page.goto(f"/projects/{project.pk}/")
    with watched.page.expect_navigation():
        watched.page.get_by_role("link", name="Start labelling").click()
    _wait_for_task(watched, case, case.tasks[0])
    return project, annotator, tasks


def _stored(project: Project, annotator: Any, case: Case, tasks: list[Task]) -> list[Any]:
    """(stored result, the expected one in the task's own orientation) for the answered two."""
    results = []
    for task, shown in zip(tasks[:2], case.results, strict=True):
        annotation = Annotation.objects.get(task=task, annotator=annotator)
        assert annotation.status == AnnotationStatus.SUBMITTED
        assert annotation.time_spent > 0
        assert annotation.result is not None
        oid = str(annotation.pk)
        sealed = vault.unseal(project.pk, "annotation.result", oid, annotation.result)
        swapped = is_swapped(
            task_type=case.task_type,
            label_schema=project.label_schema,
            task_id=task.pk,
            annotator_id=annotator.pk,
        )
        expected = canonical_result(task_type=case.task_type, result=shown, swapped=swapped)
        results.append((sealed, expected))
    return results


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_an_annotator_labels_skips_and_resumes_from_the_keyboard(watched: Watched, case: Case):
    project, annotator, tasks = _open_workspace(watched, case)
    page = watched.page
    draft = page.locator("[data-ws=draft]")

    # The first task: answered, saved as a draft, and still there after a reload.
    _press(watched, case.keys[0])
    draft.get_by_text("Draft saved").wait_for()
    page.reload()
    _wait_for_task(watched, case, case.tasks[0])
    assert draft.inner_text() == "Draft restored"
    page.keyboard.press("Control+Enter")
    _wait_for_task(watched, case, case.tasks[1])

    # The second one, from the prefetch.
    _press(watched, case.keys[1])
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"workspace-{case.name}.png"))
    page.keyboard.press("Control+Enter")
    _wait_for_task(watched, case, case.tasks[2])

    # The help lists every shortcut; the third task is skipped with a reason key.
    if case.leave_field:
        page.keyboard.press("Tab")
    page.evaluate("window.__focusBefore = document.activeElement")
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    help_dialog.wait_for()
    assert "Ctrl+Enter" in help_dialog.inner_text()
    # The dialog holds the focus: Tab and Shift+Tab go round its controls only.
    for key in ("Tab", "Tab", "Shift+Tab", "Shift+Tab"):
        page.keyboard.press(key)
        assert _focus_in_dialog(watched) == "ws-help-title"
    page.keyboard.press("Escape")
    help_dialog.wait_for(state="hidden")
    assert page.evaluate("document.activeElement === window.__focusBefore")
    page.keyboard.press("s")
    page.get_by_role("dialog", name="Why skip this task?").wait_for()
    page.keyboard.press("2")
    page.get_by_role("heading", name="All done").wait_for()

    for sealed, expected in _stored(project, annotator, case, tasks):
        assert sealed == expected
    skipped = Annotation.objects.get(task=tasks[2], annotator=annotator)
    assert (skipped.status, skipped.skip_reason) == (AnnotationStatus.SKIPPED, "expertise")
    watched.assert_clean()


def test_an_annotator_of_another_project_gets_404(watched: Watched):
    admin = make_user("lead@lab.test", is_staff=True)
    project = make_project(admin, name="Private")
    other = make_project(admin, name="Elsewhere")
    outsider = add_member(other, make_user("outsider@lab.test"), Role.ANNOTATOR)
    sign_in(watched, outsider.email, password_of(outsider))
    response = watched.page.goto(f"/projects/{project.pk}/work/")
    assert response is not None
    assert response.status == 404
    assert "Private" not in watched.page.content()
    assert watched.csp_violations() == []


def test_a_submit_the_server_refuses_shows_its_message(watched: Watched):
    case = CASES[2]  # pairwise: a strength is needed unless the choice is a tie
    _open_workspace(watched, case)
    page = watched.page
    page.keyboard.press("b")
    page.keyboard.press("Control+Enter")
    assert page.get_by_role("alert").inner_text() == "Choose how strong the preference is."
    page.keyboard.press("1")
    page.keyboard.press("Control+Enter")
    _wait_for_task(watched, case, case.tasks[1])
    assert page.get_by_role("alert").is_hidden()
    watched.assert_clean()


def _text(data: dict[str, Any]) -> str:
    return data["text"]


NER_SCHEMA = {
    "labels": [
        {"name": "PER", "hotkey": "1", "description": "A person"},
        {"name": "LOC", "hotkey": "2"},
    ]
}
# An emoji before the spans: one code point for the server, two UTF-16 units for the page.
NER_TEXTS = ["😀 Ada met Bob in Paris.", "No names here."]


def test_an_annotator_labels_spans_from_the_keyboard_and_the_mouse(watched: Watched):
    case = Case(
        "ner",
        TaskType.NER,
        NER_SCHEMA,
        [{"text": text} for text in NER_TEXTS],
        [],
        [],
        marker=lambda data: data["text"],
    )
    project, annotator, tasks = _open_workspace(watched, case)
    page = watched.page
    text = page.locator("[data-ws=task] .ws-ner")
    spans = page.get_by_role("list", name="Spans")
    # "Ada" (after the emoji and a space), "Bob" and "Paris" by keyboard; then Bob is removed.
    _press(watched, ["ArrowRight"] * 2 + ["Shift+ArrowRight"] * 3 + ["1"])
    _press(watched, ["ArrowRight"] * 5 + ["Shift+ArrowRight"] * 3 + ["1"])
    _press(watched, ["ArrowRight"] * 4 + ["Shift+ArrowRight"] * 5 + ["2"])
    assert spans.inner_text().splitlines() == ["PER: “Ada”", "PER: “Bob”", "LOC: “Paris”"]
    _press(watched, ["Shift+Tab", "Delete"])
    assert spans.inner_text().splitlines() == ["PER: “Ada”", "LOC: “Paris”"]
    assert text.inner_text() == "😀 Ada[PER] met Bob in Paris[LOC]."
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "workspace-ner.png"))
    page.locator("[data-ws=draft]").get_by_text("Draft saved").wait_for()
    page.reload()
    text.filter(has_text="Paris[LOC]").wait_for()
    page.keyboard.press("Control+Enter")

    # The second text: a word chosen with the mouse (a double click selects it).
    text.filter(has_text=NER_TEXTS[1]).wait_for()
    text.locator("[data-from]").first.dblclick()
    page.keyboard.press("2")
    assert spans.inner_text() == "LOC: “names”"
    page.keyboard.press("Control+Enter")
    page.get_by_role("heading", name="All done").wait_for()

    results = []
    for task in tasks:
        annotation = Annotation.objects.get(task=task, annotator=annotator)
        assert annotation.result is not None
        oid = str(annotation.pk)
        results.append(vault.unseal(project.pk, "annotation.result", oid, annotation.result))
    ada, paris = {"start": 2, "end": 5, "label": "PER"}, {"start": 17, "end": 22, "label": "LOC"}
    assert results == [{"spans": [ada, paris]}, {"spans": [{"start": 3, "end": 8, "label": "LOC"}]}]
    watched.assert_clean()


BOXES_SCHEMA = {
    "labels": [{"name": "cat", "hotkey": "c"}, {"name": "dog", "hotkey": "d"}],
    "min_size": 0.05,
}
_LOADED = "img => img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0"


def _image_task(project: Project, name: str) -> Task:
    data = png_bytes(600, 400)
    stored = store_image(
        project=project,
        name=name,
        data=data,
        info=ImageInfo("image/png", "png", 600, 400, len(data)),
        folder="files",
        source_import=None,
        published=True,
    )
    return make_task(project, {"image": str(stored.pk)})


def _drag(watched: Watched, start: tuple[float, float], end: tuple[float, float]) -> None:
    """Drag across the image between two points given as fractions of its size."""
    image = watched.page.locator("[data-ws=task] .ws-image")
    image.wait_for()
    watched.page.wait_for_function(f"() => ({_LOADED})(document.querySelector('.ws-image'))")
    bounds = image.bounding_box()
    assert bounds is not None
    left, top, width, height = bounds["x"], bounds["y"], bounds["width"], bounds["height"]
    at = [(left + width * x, top + height * y) for x, y in (start, end)]
    watched.page.mouse.move(*at[0])
    watched.page.mouse.down()
    watched.page.mouse.move(*at[1], steps=5)
    watched.page.mouse.up()


def test_an_annotator_draws_nudges_and_labels_a_box(watched: Watched):
    admin = make_user("lead@lab.test", is_staff=True)
    project = make_project(
        admin, name="Workspace boxes", task_type=TaskType.BOXES, label_schema=BOXES_SCHEMA
    )
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    tasks = [_image_task(project, f"photo-{n}.png") for n in (1, 2)]
    sign_in(watched, annotator.email, password_of(annotator))
    page = watched.page
    page.goto(f"/projects/{project.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Start labelling").click()

    # Drawn from (20%, 30%) to (60%, 70%), moved right 1% with the arrow, labelled "dog" by key.
    _drag(watched, (0.2, 0.3), (0.6, 0.7))
    boxes = page.get_by_role("list", name="Boxes")
    assert boxes.inner_text().startswith("no label (at ")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("d")
    tag = page.locator("[data-ws=task] .ws-box .ws-box-tag")
    assert tag.inner_text() == "1 dog"
    # Delete takes it away, Ctrl+Z brings it back.
    page.keyboard.press("Delete")
    assert boxes.inner_text() == "No box yet."
    page.keyboard.press("Control+z")
    assert tag.inner_text() == "1 dog"
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "workspace-boxes.png"))
    page.locator("[data-ws=draft]").get_by_text("Draft saved").wait_for()

    page.reload()
    tag.filter(has_text="1 dog").wait_for()
    assert page.locator("[data-ws=draft]").inner_text() == "Draft restored"
    image = page.locator("[data-ws=task] .ws-image")
    page.wait_for_function(f"() => ({_LOADED})(document.querySelector('.ws-image'))")
    first = image.get_attribute("src")
    page.keyboard.press("Control+Enter")

    # The second image (another object URL): nothing in it, an empty answer is an answer.
    page.wait_for_function(
        f"first => {{ const img = document.querySelector('.ws-image');"
        f" return img && img.src !== first && ({_LOADED})(img); }}",
        arg=first,
    )
    assert boxes.inner_text() == "No box yet."
    page.keyboard.press("Control+Enter")
    page.get_by_role("heading", name="All done").wait_for()

    results = []
    for task in tasks:
        annotation = Annotation.objects.get(task=task, annotator=annotator)
        assert annotation.result is not None
        oid = str(annotation.pk)
        results.append(vault.unseal(project.pk, "annotation.result", oid, annotation.result))
    (drawn,) = results[0]["boxes"]
    assert drawn["label"] == "dog"
    expected = {"x": 0.21, "y": 0.3, "w": 0.4, "h": 0.4}
    for key, value in expected.items():
        assert drawn[key] == pytest.approx(value, abs=0.01), key
    assert results[1] == {"boxes": []}
    watched.assert_clean()


def _draft(project: Project, annotator: Any, task: Task) -> Any:
    annotation = Annotation.objects.get(task=task, annotator=annotator)
    assert annotation.draft is not None
    return vault.unseal(project.pk, "annotation.draft", str(annotation.pk), annotation.draft)


def test_offline_work_is_kept_in_the_browser_and_sent_when_the_connection_is_back(
    watched: Watched,
):
    case = CASES[0]  # classification: 1 Positive, 2 Negative, 3 Neutral
    project, annotator, tasks = _open_workspace(watched, case)
    page = watched.page
    draft = page.locator("[data-ws=draft]")
    banner = page.locator("[data-ws=offline]")
    page.keyboard.press("2")
    draft.get_by_text("Draft saved").wait_for()
    assert banner.is_hidden()

    # The connection drops: the change is kept in the tab, the banner says so.
    page.context.set_offline(True)
    page.keyboard.press("1")
    banner.wait_for()
    assert banner.get_attribute("role") == "status"
    assert "offline" in banner.inner_text()
    assert draft.inner_text() == "Draft kept in this browser"
    kept = page.evaluate("Object.keys(sessionStorage)")
    assert kept == [f"labelkeep:draft:{project.pk}:{tasks[0].pk}"]
    page.keyboard.press("Control+Enter")
    page.get_by_text("your answer was not sent").wait_for()
    assert Annotation.objects.get(task=tasks[0], annotator=annotator).status == "leased"

    # Back online: the kept draft goes out, the banner goes away.
    page.context.set_offline(False)
    banner.wait_for(state="hidden")
    draft.get_by_text("Draft saved").wait_for()
    assert _draft(project, annotator, tasks[0])["state"] == {"labels": ["Positive"]}
    assert page.evaluate("Object.keys(sessionStorage)") == []

    # A save the server never got is restored from the tab after a reload, then sent.
    page.route("**/draft", lambda route: route.abort())
    page.keyboard.press("3")
    draft.get_by_text("Draft kept in this browser").wait_for()
    page.unroute("**/draft")
    page.reload()
    _wait_for_task(watched, case, case.tasks[0])
    assert draft.inner_text() == "Draft restored from this browser"
    assert page.get_by_role("radio", name="Neutral").is_checked()
    draft.get_by_text("Draft saved").wait_for()
    assert _draft(project, annotator, tasks[0])["state"] == {"labels": ["Neutral"]}
    page.keyboard.press("Control+Enter")
    _wait_for_task(watched, case, case.tasks[1])
    # The rest answered, so that no request of the page's is running while the test reads.
    _press(watched, ["1", "Control+Enter"])
    _wait_for_task(watched, case, case.tasks[2])
    _press(watched, ["1", "Control+Enter"])
    page.get_by_role("heading", name="All done").wait_for()
    stored = Annotation.objects.get(task=tasks[0], annotator=annotator)
    assert stored.result is not None
    result = vault.unseal(project.pk, "annotation.result", str(stored.pk), stored.result)
    assert result == {"labels": ["Neutral"]}
    # The browser reports the requests that could not go out; nothing else may appear.
    assert all("ERR_" in error or "Failed to fetch" in error for error in watched.console_errors)
    assert watched.csp_violations() == []
    assert watched.dialogs == []


def test_a_models_prediction_is_the_starting_answer_in_the_order_shown(watched: Watched):
    case = CASES[2]  # pairwise, with a strength; the sides may be exchanged for this annotator
    admin = make_user("lead@lab.test", is_staff=True)
    project = make_project(
        admin, name="Prefill", task_type=case.task_type, label_schema=case.schema
    )
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    # In the task's own terms: response A ("It is 3.") is the better one, strongly.
    predicted = make_task(
        project,
        case.tasks[0],
        prediction={"result": {"choice": "a", "strength": 3}, "model": "judge <v2>"},
    )
    make_task(project, case.tasks[1])
    swapped = is_swapped(
        task_type=case.task_type,
        label_schema=project.label_schema,
        task_id=predicted.pk,
        annotator_id=annotator.pk,
    )
    sign_in(watched, annotator.email, password_of(annotator))
    page = watched.page
    page.goto(f"/projects/{project.pk}/work/")
    _wait_for_task(watched, case, case.tasks[0])
    note = page.locator("[data-ws=prefill]")
    assert note.inner_text().startswith("Prefilled from the model's prediction (judge <v2>)")
    assert page.locator("[data-ws=draft]").inner_text() == "Prefilled from the model's prediction"
    shown = "B is better" if swapped else "A is better"
    assert page.get_by_role("radio", name=shown).is_checked()
    assert page.get_by_role("radio", name="3").is_checked()
    page.keyboard.press("Control+Enter")  # accepted as prefilled

    _wait_for_task(watched, case, case.tasks[1])
    assert note.count() == 0
    assert page.locator("[data-ws=draft]").inner_text() == ""
    _press(watched, ["t", "Control+Enter"])
    page.get_by_role("heading", name="All done").wait_for()
    stored = Annotation.objects.get(task=predicted, annotator=annotator)
    assert stored.result is not None
    result = vault.unseal(project.pk, "annotation.result", str(stored.pk), stored.result)
    assert result == {"choice": "a", "strength": 3}
    watched.assert_clean()


def _point(watched: Watched, x: float, y: float) -> tuple[float, float]:
    """A point of the image, given as fractions of its size, in the page's pixels."""
    bounds = watched.page.locator("[data-ws=task] .ws-image").bounding_box()
    assert bounds is not None
    return bounds["x"] + bounds["width"] * x, bounds["y"] + bounds["height"] * y


def _listed(x: int, y: int, w: int, h: int) -> str:
    """A cat box as the list of boxes says it."""
    return f"cat (at {x}%, {y}%; {w}% \N{MULTIPLICATION SIGN} {h}%)"


def _mouse_drag(watched: Watched, start: tuple[float, float], end: tuple[float, float]) -> None:
    mouse = watched.page.mouse
    mouse.move(*_point(watched, *start))
    mouse.down()
    mouse.move(*_point(watched, *end), steps=5)
    mouse.up()


def test_boxes_move_and_resize_with_the_mouse_and_the_image_zooms_and_pans(watched: Watched):
    admin = make_user("lead@lab.test", is_staff=True)
    project = make_project(
        admin, name="Zoom boxes", task_type=TaskType.BOXES, label_schema=BOXES_SCHEMA
    )
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    task = _image_task(project, "photo.png")
    sign_in(watched, annotator.email, password_of(annotator))
    page = watched.page
    page.goto(f"/projects/{project.pk}/work/")
    _drag(watched, (0.2, 0.2), (0.4, 0.4))  # waits for the image
    page.keyboard.press("c")
    boxes = page.get_by_role("list", name="Boxes")
    assert boxes.inner_text() == _listed(20, 20, 20, 20)

    # Dragged by its middle, then by its corner.
    _mouse_drag(watched, (0.3, 0.3), (0.5, 0.6))
    assert boxes.inner_text() == _listed(40, 50, 20, 20)
    _mouse_drag(watched, (0.6, 0.7), (0.8, 0.9))
    assert boxes.inner_text() == _listed(40, 50, 40, 40)
    page.keyboard.press("Control+z")  # one drag, one step back
    assert boxes.inner_text() == _listed(40, 50, 20, 20)

    # Zoomed in twice (+, +): the image and its box are drawn twice as wide, the view scrolls.
    image = page.locator("[data-ws=task] .ws-image")
    box = page.locator("[data-ws=task] .ws-box").first
    fitted, fitted_box = image.bounding_box(), box.bounding_box()
    assert fitted is not None
    assert fitted_box is not None
    page.keyboard.press("+")
    page.keyboard.press("+")
    page.get_by_text("Zoom 200%").wait_for()
    zoomed, zoomed_box = image.bounding_box(), box.bounding_box()
    assert zoomed is not None
    assert zoomed_box is not None
    assert zoomed["width"] == pytest.approx(2 * fitted["width"], abs=2)
    assert zoomed_box["width"] == pytest.approx(2 * fitted_box["width"], abs=2)
    viewport = page.locator("[data-ws=task] .ws-viewport")
    assert viewport.evaluate("v => v.scrollWidth > v.clientWidth")
    # With no box selected (a click on the image lets go of it), the arrows pan the view.
    corner = viewport.bounding_box()
    assert corner is not None
    page.mouse.click(corner["x"] + 10, corner["y"] + 10)
    before = viewport.evaluate("v => v.scrollLeft")
    assert before > 0  # zoomed around the middle of the view
    page.keyboard.press("ArrowLeft")
    assert viewport.evaluate("v => v.scrollLeft") < before
    assert boxes.inner_text() == _listed(40, 50, 20, 20)  # the box stayed put
    page.keyboard.press("0")
    page.get_by_text("Zoom 100%").wait_for()
    fitted_again = image.bounding_box()
    assert fitted_again is not None
    assert fitted_again["width"] == pytest.approx(fitted["width"], abs=1)

    page.keyboard.press("Control+Enter")
    page.get_by_role("heading", name="All done").wait_for()
    stored = Annotation.objects.get(task=task, annotator=annotator)
    assert stored.result is not None
    result = vault.unseal(project.pk, "annotation.result", str(stored.pk), stored.result)
    (moved,) = result["boxes"]
    for key, value in {"x": 0.4, "y": 0.5, "w": 0.2, "h": 0.2}.items():
        assert moved[key] == pytest.approx(value, abs=0.01), key
    watched.assert_clean()


def test_an_annotator_relates_two_spans_from_the_keyboard(watched: Watched):
    schema = {**NER_SCHEMA, "relations": [{"name": "lives_in"}, {"name": "knows"}]}
    text = "Ada lives in Paris."
    case = Case("ner-relations", TaskType.NER, schema, [{"text": text}], [], [], marker=_text)
    project, annotator, (task,) = _open_workspace(watched, case)
    page = watched.page
    relations = page.get_by_role("list", name="Relations")
    status = page.locator("[data-ws=answer] [role=status]")
    assert relations.inner_text() == "No relation yet."
    # Ada (PER) and Paris (LOC), then Shift+Tab back to Ada.
    _press(watched, ["Shift+ArrowRight"] * 3 + ["1"])
    _press(watched, ["ArrowRight"] * 10 + ["Shift+ArrowRight"] * 5 + ["2", "Shift+Tab"])
    # Enter, Tab, Enter, then a key that is no relation's: none is made.
    _press(watched, ["Enter", "Tab", "Enter", "9"])
    assert status.inner_text() == "No relation made."
    assert relations.inner_text() == "No relation yet."
    # Enter on Ada, Tab to Paris, Enter, 1: "lives_in".
    _press(watched, ["Shift+Tab", "Enter", "Tab", "Enter", "1"])
    assert relations.inner_text() == "PER “Ada” → LOC “Paris”: lives_in remove"
    page.locator("[data-ws=draft]").get_by_text("Draft saved").wait_for()
    page.reload()
    relations.get_by_text("lives_in").wait_for()  # the draft keeps the spans' ids and relations
    page.keyboard.press("Control+Enter")
    page.get_by_role("heading", name="All done").wait_for()

    annotation = Annotation.objects.get(task=task, annotator=annotator)
    assert annotation.result is not None
    stored = vault.unseal(project.pk, "annotation.result", str(annotation.pk), annotation.result)
    assert stored == {
        "spans": [
            {"start": 0, "end": 3, "label": "PER", "id": "s1"},
            {"start": 13, "end": 18, "label": "LOC", "id": "s2"},
        ],
        "relations": [{"from": "s1", "to": "s2", "label": "lives_in"}],
    }
    watched.assert_clean()
