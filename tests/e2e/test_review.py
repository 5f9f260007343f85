"""A reviewer works through the review mode in a real Chromium under the enforcing CSP, from the
keyboard only: accepts one submission (A), rejects another with a comment (R, Ctrl+Enter), and
corrects one (E, the answer's own keys, Ctrl+Enter). The decisions are checked in the database,
as stored (sealed), and the annotator reads the rejection's comment through the API.
"""

from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

import vault
from audit.services import Actor
from labeling import annotations, queue
from labeling.models import Annotation, Decision, Review, ReviewState
from labeling.presentation import canonical_result
from projects.models import Project, Role, TaskType
from tests.conftest import add_member, client_for, make_project
from tests.e2e.conftest import Watched, sign_in
from tests.factories import make_user, password_of
from tests.labeling.work import make_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CLASSIFICATION = {
    "labels": [
        {"name": "Positive", "hotkey": "1"},
        {"name": "Negative", "hotkey": "2"},
        {"name": "Neutral", "hotkey": "3"},
    ]
}
PAIRWISE = {"strength": {"min": 1, "max": 3}, "rationale": {"required": False, "min_length": 0}}


def _submitted(
    task_type: str, schema: dict[str, Any], tasks: list[dict[str, Any]], results: list[Any]
) -> tuple[Project, Any, list[Annotation]]:
    """A reviewed project whose annotator has submitted ``results``, given in the tasks' own
    terms (what the reviewer sees): each is sent as the annotator, who may have been shown a
    pairwise task's sides exchanged, would have sent it."""
    admin = make_user("lead@lab.test", is_staff=True)
    project = make_project(
        admin,
        name=f"Review {task_type}",
        task_type=task_type,
        label_schema=schema,
        review_required=True,
    )
    annotator = add_member(project, make_user("annotator@lab.test"), Role.ANNOTATOR)
    for data in tasks:
        make_task(project, data)
    actor = Actor.system(user=annotator)
    done = []
    for result in results:
        work = queue.next_task(actor=actor, project=project)
        assert work is not None
        done.append(
            annotations.annotation_submit(
                actor=actor,
                project=project,
                task_id=work.task.pk,
                result=canonical_result(
                    task_type=task_type, result=result, swapped=work.annotation.swapped
                ),
            )
        )
    return project, annotator, done


def _open_review(watched: Watched, project: Project) -> None:
    reviewer = add_member(project, make_user("reviewer@lab.test"), Role.REVIEWER)
    sign_in(watched, reviewer.email, password_of(reviewer))
    watched.page.goto(f"/projects/{project.pk}/")
    with watched.page.expect_navigation():
        watched.page.get_by_role("link", name="Review", exact=True).click()


def _wait_for_text(watched: Watched, text: str) -> None:
    watched.page.locator("[data-ws=task]").get_by_text(text, exact=True).wait_for()


def _sealed_result(project: Project, annotation: Annotation) -> Any:
    annotation.refresh_from_db()
    assert annotation.result is not None
    return vault.unseal(project.pk, "annotation.result", str(annotation.pk), annotation.result)


def test_a_reviewer_accepts_and_rejects_with_a_comment_from_the_keyboard(watched: Watched):
    texts = ["First <b>review</b> text", "Second review text"]
    project, annotator, (first, second) = _submitted(
        TaskType.CLASSIFICATION,
        CLASSIFICATION,
        [{"text": text} for text in texts],
        [{"labels": ["Negative"]}, {"labels": ["Positive"]}],
    )
    _open_review(watched, project)
    page = watched.page
    _wait_for_text(watched, texts[0])
    # The submitted answer is shown, read-only: the answer's keys do nothing before E.
    negative = page.get_by_role("radio", name="Negative")
    assert negative.is_checked()
    assert negative.is_disabled()
    page.keyboard.press("1")
    assert negative.is_checked()
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "review.png"))
    page.keyboard.press("a")

    _wait_for_text(watched, texts[1])
    page.keyboard.press("r")
    dialog = page.get_by_role("dialog", name="Why reject this answer?")
    dialog.wait_for()
    page.keyboard.press("Control+Enter")  # no comment yet: refused in the page
    assert "Write a comment" in dialog.get_by_role("alert").inner_text()
    # The dialog holds the focus: its comment, Reject and Cancel, round and back to the comment.
    for _ in range(3):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.closest('[role=dialog]') !== null")
    assert page.evaluate("document.activeElement.id") == "ws-reject-comment"
    page.keyboard.type("Reads as praise: <script>alert(1)</script>")
    page.keyboard.press("Control+Enter")
    page.get_by_role("heading", name="Nothing awaits review").wait_for()
    page.get_by_text("2 reviewed in this session").wait_for()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.review_state, second.review_state) == (ReviewState.ACCEPTED, ReviewState.REJECTED)
    assert Review.objects.get(annotation=first).decision == Decision.ACCEPT
    rejection = Review.objects.get(annotation=second)
    assert rejection.decision == Decision.REJECT
    comment = "Reads as praise: <script>alert(1)</script>"
    assert rejection.comment is not None
    sealed = vault.unseal(project.pk, "review.comment", str(rejection.pk), rejection.comment)
    assert sealed == comment
    detail = client_for(annotator).get(
        f"/api/v1/projects/{project.pk}/tasks/{second.task_id}/annotations/{second.pk}"
    )
    assert detail.status_code == 200
    assert [(r["decision"], r["text"]) for r in detail.json()["reviews"]] == [("reject", comment)]
    watched.assert_clean()


def test_a_reviewer_corrects_a_pairwise_answer_with_its_own_keys(watched: Watched):
    task = {"prompt": "What is 2 + 2?", "response_a": "It is 4.", "response_b": "It is 5."}
    project, _, (submitted,) = _submitted(
        TaskType.PAIRWISE, PAIRWISE, [task], [{"choice": "b", "strength": 1}]
    )
    _open_review(watched, project)
    page = watched.page
    _wait_for_text(watched, task["prompt"])
    # The answer is filled in just after the task's text appears: wait for it, do not race it.
    expect(page.get_by_role("radio", name="B is better")).to_be_checked()
    # E first: after it, A means "A is better" and no longer Accept.
    page.keyboard.press("e")
    page.get_by_role("radio", name="A is better").wait_for(state="visible")
    page.keyboard.press("a")
    page.keyboard.press("3")
    assert page.get_by_role("radio", name="A is better").is_checked()
    page.keyboard.press("Control+Enter")
    page.get_by_role("heading", name="Nothing awaits review").wait_for()

    assert _sealed_result(project, submitted) == {"choice": "a", "strength": 3}
    submitted.refresh_from_db()
    assert submitted.review_state == ReviewState.ACCEPTED
    assert Review.objects.get(annotation=submitted).decision == Decision.CORRECT
    watched.assert_clean()


def test_escape_gives_up_a_correction_and_restores_the_submitted_answer(watched: Watched):
    project, _, (submitted,) = _submitted(
        TaskType.CLASSIFICATION, CLASSIFICATION, [{"text": "Fine."}], [{"labels": ["Neutral"]}]
    )
    _open_review(watched, project)
    page = watched.page
    _wait_for_text(watched, "Fine.")
    page.keyboard.press("e")
    page.keyboard.press("1")
    assert page.get_by_role("radio", name="Positive").is_checked()
    page.keyboard.press("Escape")
    assert page.get_by_role("radio", name="Neutral").is_checked()
    assert page.get_by_role("radio", name="Neutral").is_disabled()
    page.keyboard.press("a")
    page.get_by_role("heading", name="Nothing awaits review").wait_for()
    assert _sealed_result(project, submitted) == {"labels": ["Neutral"]}
    watched.assert_clean()
