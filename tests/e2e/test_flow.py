"""The whole loop in a real Chromium under the enforcing CSP, for every task type, with three
people in three browser contexts at once:

- the lab's lead (who manages the project) creates it through the create page (the task type,
  then label lines for classification, NER and boxes, the schema as JSON for the others, with the
  preview showing the type's view), adds an annotator and a reviewer with their roles on the
  members page, and imports four tasks through the import page (a JSON Lines file; for boxes a
  zip of images);
- the annotator labels three tasks from the keyboard in the workspace, each sent with
  Ctrl+Enter (the fourth is then in hand);
- the reviewer accepts the first (A) and rejects the second with a comment (R, Ctrl+Enter) in the
  review mode; the third stays in review;
- the annotator finds the rejection and the reviewer's comment on "My work", opens the answer,
  replies (R, Ctrl+Enter) and revises it with the type's own keys (E, Ctrl+Enter), which puts it
  back in review;
- the lead's dashboard then counts 1 done, 2 in review, 1 remaining.

What was stored is checked in the database (sealed, in the task's own orientation).
"""

import io
import json
import re
import zipfile
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

import vault
from accounts.models import User
from labeling.models import Annotation, AnnotationStatus, Comment, Decision, Review, ReviewState
from labeling.presentation import canonical_result, is_swapped
from projects.models import Project, Role, TaskType
from projects.schemas import validate_label_schema
from tests.datasets.factories import png_bytes
from tests.e2e.conftest import Watched, watching
from tests.e2e.test_accessibility import axe_violations
from tests.factories import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
COMMENT = "Look again at the label <img src=x onerror=alert(1)>."
REPLY = "Fixed, thanks <b>for</b> the note."


@dataclass
class Flow:
    """One task type: its schema, four tasks, the keys that answer the first three and what they
    store (as the annotator saw the task), and the keys that revise the second after E."""

    name: str
    task_type: str
    schema: dict[str, Any]
    tasks: list[dict[str, Any]]
    keys: list[list[str]]
    results: list[dict[str, Any]]
    revise: list[str]
    revised: dict[str, Any]
    # A text of each task that the workspace must show (as text); none for images.
    marker: str | None = None
    # The create page's fields as the lead fills them in (none: the schema as JSON).
    page_form: dict[str, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


CHAT = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "What is 2 + 2?"},
    {"role": "assistant", "content": "<script>alert('chat')</script> It is 5."},
    {"role": "user", "content": "Are you sure?"},
    {"role": "assistant", "content": "Sorry: it is 4."},
]

FLOWS = [
    Flow(
        "classification",
        TaskType.CLASSIFICATION,
        {
            "labels": [
                {"name": "Positive", "hotkey": "1"},
                {"name": "Negative", "hotkey": "2"},
                {"name": "Neutral", "hotkey": "3"},
            ]
        },
        [{"text": f"Review {n}: <b>not bold</b>"} for n in range(1, 5)],
        [["1"], ["2"], ["3"]],
        [{"labels": ["Positive"]}, {"labels": ["Negative"]}, {"labels": ["Neutral"]}],
        ["1"],
        {"labels": ["Positive"]},
        marker="text",
        page_form={"#id_labels": "Positive [1]\nNegative [2]\nNeutral [3]"},
    ),
    Flow(
        "ner",
        TaskType.NER,
        {"labels": [{"name": "PER", "hotkey": "1"}, {"name": "LOC", "hotkey": "2"}]},
        [
            {"text": "Ada met Bob in Paris."},
            {"text": "Bob lives in Rome"},
            {"text": "Nothing to see here."},
            {"text": "Left for later."},
        ],
        [["Shift+ArrowRight"] * 3 + ["1"], ["Shift+ArrowRight"] * 3 + ["1"], []],
        [
            {"spans": [{"start": 0, "end": 3, "label": "PER"}]},
            {"spans": [{"start": 0, "end": 3, "label": "PER"}]},
            {"spans": []},
        ],
        ["End", *["Shift+ArrowLeft"] * 4, "2"],
        {
            "spans": [
                {"start": 0, "end": 3, "label": "PER"},
                {"start": 13, "end": 17, "label": "LOC"},
            ]
        },
        marker="text",
        page_form={"#id_labels": "PER [1]\nLOC [2]"},
    ),
    Flow(
        "boxes",
        TaskType.BOXES,
        {
            "labels": [{"name": "cat", "hotkey": "c"}, {"name": "dog", "hotkey": "d"}],
            "min_size": 0.05,
        },
        [],
        # With no box selected, a label's key adds a labelled box in the middle.
        [["c"], ["d"], []],
        [
            {"boxes": [{"x": 0.4, "y": 0.4, "w": 0.2, "h": 0.2, "label": "cat"}]},
            {"boxes": [{"x": 0.4, "y": 0.4, "w": 0.2, "h": 0.2, "label": "dog"}]},
            {"boxes": []},
        ],
        ["Tab", "c", "ArrowRight"],
        {"boxes": [{"x": 0.41, "y": 0.4, "w": 0.2, "h": 0.2, "label": "cat"}]},
        page_form={"#id_labels": "cat [c]\ndog [d]", "#id_min_size": "0.05"},
    ),
    Flow(
        "pairwise",
        TaskType.PAIRWISE,
        {"strength": {"min": 1, "max": 3}, "rationale": {"required": False, "min_length": 0}},
        [
            {
                "prompt": f"Question {n}: what is 2 + {n}?",
                "response_a": f"It is {2 + n}.",
                "response_b": "<script>alert('b')</script> No idea.",
            }
            for n in range(1, 5)
        ],
        [["a", "3"], ["b", "1"], ["t"]],
        [{"choice": "a", "strength": 3}, {"choice": "b", "strength": 1}, {"choice": "tie"}],
        ["a", "2"],
        {"choice": "a", "strength": 2},
        marker="prompt",
    ),
    Flow(
        "rubric",
        TaskType.RUBRIC,
        {
            "criteria": [
                {"name": "Accuracy", "scale": {"min": 1, "max": 5, "anchors": {"1": "Wrong"}}},
                {"name": "Tone", "scale": {"min": 1, "max": 3}},
            ]
        },
        [
            {"prompt": f"Explain tides ({n}).", "response": "The moon pulls the sea."}
            for n in range(1, 5)
        ],
        [["4", "Tab", "2"], ["5", "Tab", "3"], ["1", "Tab", "1"]],
        [
            {"scores": {"Accuracy": 4, "Tone": 2}},
            {"scores": {"Accuracy": 5, "Tone": 3}},
            {"scores": {"Accuracy": 1, "Tone": 1}},
        ],
        ["2"],
        {"scores": {"Accuracy": 2, "Tone": 3}},
        marker="prompt",
    ),
    Flow(
        "free-text",
        TaskType.FREE_TEXT,
        {"mode": "rewrite", "min_length": 5, "max_length": 200},
        [
            {"prompt": f"Rewrite answer {n} politely.", "response": "Line one\nLine two"}
            for n in range(1, 5)
        ],
        [
            ["Control+End", "type: fixed"],
            ["Control+a", "type:Brand new answer"],
            ["Control+End", "type: ok"],
        ],
        [
            {"text": "Line one\nLine two fixed"},
            {"text": "Brand new answer"},
            {"text": "Line one\nLine two ok"},
        ],
        ["Control+a", "type:Revised answer"],
        {"text": "Revised answer"},
        marker="prompt",
    ),
    Flow(
        "chat",
        TaskType.CHAT,
        {
            "turn_ratings": {"min": 1, "max": 5},
            "conversation_rating": {"min": 1, "max": 3},
            "flags": [{"name": "Unsafe"}, {"name": "Wrong facts"}],
            "comments": False,
        },
        [
            {"messages": [*CHAT[:1], {"role": "user", "content": f"Chat {n}"}, *CHAT[2:]]}
            for n in range(1, 5)
        ],
        [
            ["2", "g", "Tab", "4", "Tab", "3"],
            ["5", "f", "Tab", "5", "Tab", "1"],
            ["1", "Tab", "1", "Tab", "1"],
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
            {"turns": {"2": {"rating": 1}, "4": {"rating": 1}}, "conversation": 1},
        ],
        ["1"],
        {"turns": {"2": {"rating": 1, "flags": ["Unsafe"]}, "4": {"rating": 5}}, "conversation": 1},
    ),
]


# --- Helpers ----------------------------------------------------------------------------------


def _press(watched: Watched, keys: list[str]) -> None:
    for key in keys:
        if key.startswith("type:"):
            watched.page.keyboard.type(key.removeprefix("type:"))
        else:
            watched.page.keyboard.press(key)


_IMAGE_LOADED = (
    "() => { const img = document.querySelector('[data-ws=task] .ws-image');"
    " return img !== null && img.src.startsWith('blob:') && img.complete && img.naturalWidth > 0; }"
)


def _shown(watched: Watched, flow: Flow, mark: str, count: int) -> None:
    """Wait until the script has shown its ``count``-th task (it marks each one), with its image.

    The live server's SQLite (in memory, shared cache) answers a write that meets a concurrent
    read with "table is locked" instead of waiting, so keys wait for the image to arrive."""
    watched.page.wait_for_function(
        "([name, count]) => performance.getEntriesByName(name).length >= count",
        arg=[f"labelkeep:{mark}-shown", count],
    )
    if flow.task_type == TaskType.BOXES:
        watched.page.wait_for_function(_IMAGE_LOADED)


def _tagged(text: str, spans: list[dict[str, Any]]) -> str:
    """A NER text as the workspace shows it: each span followed by its label in brackets."""
    for span in sorted(spans, key=lambda s: s["end"], reverse=True):
        text = f"{text[: span['end']]}[{span['label']}]{text[span['end'] :]}"
    return text


def _sees(watched: Watched, flow: Flow, n: int, answer: dict[str, Any] | None) -> None:
    """The n-th task's text is shown, as text (NER: with the answer's spans tagged)."""
    task = watched.page.locator("[data-ws=task]")
    if flow.task_type == TaskType.NER:
        text = _tagged(flow.tasks[n]["text"], answer["spans"] if answer else [])
        expect(task.locator(".ws-ner")).to_have_text(text)
    elif flow.marker:
        expect(task.get_by_text(flow.tasks[n][flow.marker], exact=True)).to_be_visible()


def _go(watched: Watched, url: str | None, link: str) -> None:
    """Follow a link of the page at ``url`` (or of the page the person is on)."""
    if url is not None:
        watched.page.goto(url)
    with watched.page.expect_navigation():
        watched.page.get_by_role("link", name=link, exact=True).click()


def _upload(flow: Flow) -> dict[str, Any]:
    if flow.task_type == TaskType.BOXES:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for n in range(4):  # each image its own size, so none is a duplicate
                archive.writestr(f"photo-{n + 1}.png", png_bytes(600 + 10 * n, 400))
        return {"name": "photos.zip", "mimeType": "application/zip", "buffer": buffer.getvalue()}
    lines = "".join(json.dumps(data) + "\n" for data in flow.tasks)
    return {"name": f"{flow.name}.jsonl", "mimeType": "application/jsonl", "buffer": lines.encode()}


# --- The lead: project, members, import, dashboard ----------------------------------------------


def _create_project(lead: Watched, flow: Flow) -> Project:
    name = f"Flow {flow.name}"
    page = lead.page
    _go(lead, "/projects/", "New project")
    page.locator("#id_name").fill(name)
    page.locator("#id_instructions").fill("Label **honestly**.")
    page.get_by_label("Reviewers check each answer").check()
    page.locator("#id_task_type").select_option(flow.task_type)
    fields = flow.page_form or {"#id_schema_json": json.dumps(flow.schema, indent=2)}
    for selector, value in fields.items():
        page.locator(selector).fill(value)
    # The preview shows the type's view of the schema as filled in (its answer panel).
    expect(page.locator("[data-preview=answer] > *").first).to_be_visible()
    expect(page.locator("[data-preview=problem]")).to_be_hidden()
    with page.expect_navigation():
        page.get_by_role("button", name="Create project").click()
    page.get_by_text(f"Project “{name}” created.").wait_for()
    project = Project.objects.get(name=name)
    assert (project.task_type, project.review_required) == (flow.task_type, True)
    assert project.label_schema == validate_label_schema(flow.task_type, flow.schema)
    return project


def _add_members(lead: Watched, project: Project, people: dict[str, User]) -> None:
    page = lead.page
    created_here = page.url.endswith(f"/projects/{project.pk}/")
    _go(lead, None if created_here else f"/projects/{project.pk}/", "Members")
    for role, person in people.items():
        page.locator("#id_email").fill(person.email)
        page.locator("#id_role").select_option(role)
        with page.expect_navigation():
            page.get_by_role("button", name="Add or invite").click()
        expect(page.get_by_label(f"Role of {person.email}")).to_have_value(role)


def _import(lead: Watched, project: Project, flow: Flow) -> None:
    page = lead.page
    _go(lead, None, "Imports")  # a tab of the members page
    page.set_input_files("#import-file", files=[_upload(flow)])
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text(re.compile(r"Imported: 4 tasks created from")).wait_for()
    page.locator("[data-imports-list] table.imports").wait_for()  # the list, refreshed


def _progress(lead: Watched) -> list[str | None]:
    _go(lead, None, "Dashboard")  # a tab of the imports page
    numbers = lead.page.locator("[data-dash=progress] dd.num")
    return [numbers.nth(i).get_attribute("data-count") for i in range(3)]


# --- The annotator and the reviewer -------------------------------------------------------------


def _label(annotator: Watched, project: Project, flow: Flow) -> None:
    page = annotator.page
    _go(annotator, f"/projects/{project.pk}/", "Start labelling")
    for n, keys in enumerate(flow.keys):
        _shown(annotator, flow, "task", n + 1)
        _sees(annotator, flow, n, None)
        _press(annotator, keys)
        if n < 2:
            page.keyboard.press("Control+Enter")
    # After the third, the fourth (prefetched) appears and the queue is asked for a fifth: wait
    # for its "none left", so that no request of this page runs while the others work.
    with page.expect_response(lambda r: r.url.endswith("/next") and r.status == 204):
        page.keyboard.press("Control+Enter")
    _shown(annotator, flow, "task", 4)


def _review(reviewer: Watched, project: Project, flow: Flow) -> None:
    page = reviewer.page
    _go(reviewer, f"/projects/{project.pk}/", "Review")
    _shown(reviewer, flow, "review", 1)
    _sees(reviewer, flow, 0, flow.results[0])
    page.keyboard.press("a")
    _shown(reviewer, flow, "review", 2)
    _sees(reviewer, flow, 1, flow.results[1])
    page.keyboard.press("r")
    page.get_by_role("dialog", name="Why reject this answer?").wait_for()
    page.keyboard.type(COMMENT)
    page.keyboard.press("Control+Enter")
    _shown(reviewer, flow, "review", 3)  # the third: left in review
    page.get_by_text("2 reviewed in this session").wait_for()


def _reply_and_revise(annotator: Watched, project: Project, flow: Flow) -> None:
    page = annotator.page
    _go(annotator, f"/projects/{project.pk}/", "My work")
    feedback = page.locator("[data-dash=feedback]")
    expect(feedback).to_contain_text("Reviewer · Rejected")
    expect(feedback).to_contain_text(COMMENT)  # as text: the markup in it is shown, not run
    once = flow.task_type == TaskType.CLASSIFICATION
    if once:  # the feedback and the own mode's page pass axe-core too
        assert axe_violations(annotator) == []
        page.screenshot(path=str(SCREENSHOTS / "my-work-feedback.png"), full_page=True)
    with page.expect_navigation():
        feedback.get_by_role("link", name=re.compile("^Revise or reply")).click()
    _shown(annotator, flow, "own", 1)
    _sees(annotator, flow, 1, flow.results[1])
    expect(page.locator("[data-ws=decision]")).to_contain_text("Rejected")
    thread = page.get_by_role("list", name="Feedback and replies")
    expect(thread).to_contain_text(COMMENT)
    if once:
        assert axe_violations(annotator) == []
    page.keyboard.press("r")
    page.keyboard.type(REPLY)
    page.keyboard.press("Control+Enter")
    page.get_by_text("Reply sent.").wait_for()
    if once:
        page.screenshot(path=str(SCREENSHOTS / "own-answer.png"))
    expect(thread.locator("li").last).to_contain_text("You · ")
    expect(thread.locator("li").last).to_contain_text(REPLY)
    page.keyboard.press("Escape")  # out of the reply field: the answer's keys again
    page.keyboard.press("e")
    _press(annotator, flow.revise)
    page.keyboard.press("Control+Enter")
    page.get_by_text("Revision sent: your answer is back in the review queue.").wait_for()
    _shown(annotator, flow, "own", 2)
    _sees(annotator, flow, 1, flow.revised)
    expect(page.locator("[data-ws=decision]")).to_contain_text("Awaiting review")


# --- What was stored ----------------------------------------------------------------------------


def _stored(project: Project, annotation: Annotation) -> Any:
    annotation.refresh_from_db()
    assert annotation.result is not None
    return vault.unseal(project.pk, "annotation.result", str(annotation.pk), annotation.result)


def _as_stored(project: Project, flow: Flow, annotation: Annotation, shown: dict[str, Any]) -> Any:
    swapped = is_swapped(
        task_type=flow.task_type,
        label_schema=project.label_schema,
        task_id=annotation.task_id,
        annotator_id=annotation.annotator_id,
    )
    return canonical_result(task_type=flow.task_type, result=shown, swapped=swapped)


def _check_database(project: Project, flow: Flow, annotator: User) -> None:
    mine = list(
        Annotation.objects.filter(project=project, annotator=annotator).order_by("task__seq")
    )
    assert [a.status for a in mine] == [AnnotationStatus.SUBMITTED] * 3 + [AnnotationStatus.LEASED]
    states = [a.review_state for a in mine[:3]]
    assert states == [ReviewState.ACCEPTED, ReviewState.PENDING, ReviewState.PENDING]
    expected = [*flow.results[:1], flow.revised, flow.results[2]]
    for annotation, shown in zip(mine[:3], expected, strict=True):
        assert _stored(project, annotation) == _as_stored(project, flow, annotation, shown)
    rejected = mine[1]
    assert rejected.revision == 2
    (review,) = Review.objects.filter(annotation=rejected)
    assert review.decision == Decision.REJECT
    assert review.comment is not None
    assert vault.unseal(project.pk, "review.comment", str(review.pk), review.comment) == COMMENT
    (reply,) = Comment.objects.filter(annotation=rejected)
    assert reply.author_id == annotator.pk
    assert vault.unseal(project.pk, "annotation.comment", str(reply.pk), reply.body) == REPLY


def _signed_in(watched: Watched, user: User, base_url: str) -> None:
    """A session of the user's in the browser (signing in through the form is tested elsewhere;
    here it would only add three page loads to each run)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    session = {"name": cookie.key, "value": cookie.value, "url": base_url, "httpOnly": True}
    watched.page.context.add_cookies([session])


@pytest.fixture
def people(browser, live_server) -> Iterator[dict[str, Any]]:
    """The lab's lead, an annotator and a reviewer, each signed in in a browser of their own."""
    users = {
        "lead": make_user("lead@lab.test", is_staff=True),
        "annotator": make_user("annotator@lab.test"),
        "reviewer": make_user("reviewer@lab.test"),
    }
    with ExitStack() as stack:
        pages = {name: stack.enter_context(watching(browser, live_server.url)) for name in users}
        for name, user in users.items():
            _signed_in(pages[name], user, live_server.url)
        yield {"users": users, "pages": pages}
        for page in pages.values():
            page.assert_clean()


@pytest.mark.parametrize("flow", FLOWS, ids=[flow.name for flow in FLOWS])
def test_the_whole_loop_from_import_to_dashboard(people: dict[str, Any], flow: Flow):
    users, pages = people["users"], people["pages"]
    lead, annotator, reviewer = pages["lead"], pages["annotator"], pages["reviewer"]
    project = _create_project(lead, flow)
    _add_members(
        lead, project, {Role.ANNOTATOR: users["annotator"], Role.REVIEWER: users["reviewer"]}
    )
    _import(lead, project, flow)

    _label(annotator, project, flow)
    _review(reviewer, project, flow)
    _reply_and_revise(annotator, project, flow)

    # Done: the accepted one; in review: the revised one and the third; remaining: the fourth.
    assert _progress(lead) == ["1", "2", "1"]
    _check_database(project, flow, users["annotator"])
