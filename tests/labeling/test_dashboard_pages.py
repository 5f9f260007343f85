"""The dashboard and "my work" pages: who may open them, that their numbers are the database's,
that their queries do not grow with the project, and the two buttons (CSRF, roles, audit)."""

import re
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.services import Actor
from labeling import annotations, quality, queue, review
from labeling.models import Annotation, Decision, ReviewState, Standing, Task, TaskState
from labeling.views_dashboard import FEEDBACK_SHOWN, HISTORY_PER_PAGE
from projects.models import Project, Role
from tests.conftest import add_member, make_project
from tests.factories import make_user
from tests.labeling.work import annotate_all, label, make_task, make_texts
from tests.projects.pages import browser, page, post

pytestmark = pytest.mark.django_db


def _report(project: Project) -> Any:
    report = quality.quality_request(actor=Actor.system(), project=project)
    return quality.quality_run(report_id=report.pk)


def _submit(project: Project, person: Any, count: int) -> list[Annotation]:
    actor = Actor.system(user=person)
    done = []
    for _ in range(count):
        work = queue.next_task(actor=actor, project=project)
        assert work is not None
        done.append(
            annotations.annotation_submit(
                actor=actor, project=project, task_id=work.task.pk, result=label()
            )
        )
    return done


def _counts(html: str, section: str) -> list[int]:
    part = html.split(f'data-dash="{section}"', 1)[1].split("</dl>", 1)[0]
    return [int(n) for n in re.findall(r'data-count="(\d+)"', part)]


@pytest.mark.parametrize(
    ("who", "status"),
    [("manager", 200), ("reviewer", 200), ("annotator", 403), ("viewer", 403), ("outsider", 404)],
)
def test_dashboard_is_for_reviewers_and_managers(lab, who, status):
    response = browser(getattr(lab, who)).get(page(lab.project, "dashboard/"))
    assert response.status_code == status


@pytest.mark.parametrize(
    ("who", "status"),
    [("manager", 200), ("reviewer", 200), ("annotator", 200), ("viewer", 403), ("outsider", 404)],
)
def test_my_work_is_for_those_who_annotate(lab, who, status):
    assert browser(getattr(lab, who)).get(page(lab.project, "me/")).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(lab):
    for name in ("dashboard/", "me/"):
        response = browser().get(page(lab.project, name))
        assert response.status_code == 302
        assert "/login/" in response["Location"]


def test_the_tabs_follow_the_role(lab):
    html = browser(lab.annotator).get(page(lab.project)).content.decode()
    assert page(lab.project, "me/") in html
    assert page(lab.project, "dashboard/") not in html
    html = browser(lab.reviewer).get(page(lab.project)).content.decode()
    assert page(lab.project, "dashboard/") in html


@pytest.fixture
def reviewed(admin) -> Any:
    """A reviewed project: 6 tasks and a gold one; 3 submitted, one of them accepted."""
    project = make_project(admin, name="Reviewed", review_required=True)
    annotator = add_member(project, make_user("ann@lab.test"), Role.ANNOTATOR)
    reviewer = add_member(project, make_user("rev@lab.test"), Role.REVIEWER)
    manager = add_member(project, make_user("man@lab.test"), Role.MANAGER)
    make_texts(project, 6)
    done = _submit(project, annotator, 3)
    make_task(project, {"text": "gold"}, gold=label())  # after, so the gold mix hands none out
    review.review_decide(
        actor=Actor.system(user=reviewer),
        project=project,
        annotation_id=done[0].pk,
        decision=Decision.ACCEPT,
    )
    review.review_decide(
        actor=Actor.system(user=reviewer),
        project=project,
        annotation_id=done[1].pk,
        decision=Decision.REJECT,
        comment="Look again at the second sentence.",
    )
    return project, annotator, reviewer, manager, done


def test_progress_shows_the_database_counts(reviewed):
    project, _annotator, _reviewer, manager, _done = reviewed
    tasks = Task.objects.filter(project=project)
    pending = Annotation.objects.filter(project=project, review_state=ReviewState.PENDING)
    in_review = tasks.filter(is_gold=False, state=TaskState.OPEN, pk__in=pending.values("task"))
    expected = [
        tasks.filter(is_gold=False, state=TaskState.COMPLETE).count(),
        in_review.count(),
        tasks.filter(is_gold=False, state=TaskState.OPEN).count() - in_review.count(),
        tasks.filter(is_gold=True).count(),
    ]
    assert expected == [1, 1, 4, 1]
    html = browser(manager).get(page(project, "dashboard/")).content.decode()
    assert _counts(html, "progress") == expected


def test_throughput_counts_todays_submissions(reviewed):
    project, _annotator, reviewer, _manager, _done = reviewed
    html = browser(reviewer).get(page(project, "dashboard/")).content.decode()
    chart = html.split('data-dash="throughput"', 1)[1].split("</svg>", 1)[0]
    counts = [int(n) for n in re.findall(r'data-count="(\d+)"', chart)]
    assert len(counts) == 30
    assert (
        counts[-1] == Annotation.objects.filter(project=project, submitted_at__isnull=False).count()
    )
    assert sum(counts[:-1]) == 0
    assert "style=" not in html


def test_agreement_and_annotators_come_from_the_latest_report(lab):
    lab.project.overlap = 2
    lab.project.save(update_fields=["overlap"])
    make_texts(lab.project, 4)
    annotate_all(lab.project, [lab.annotator, lab.reviewer], lambda n, task: label())
    report = _report(lab.project)
    html = browser(lab.manager).get(page(lab.project, "dashboard/")).content.decode()
    assert "Krippendorff" in html
    assert report.finished_at.strftime("%Y-%m-%d %H:%M") in html
    assert lab.annotator.email in html
    assert f'data-annotator="{lab.annotator.pk}"' in html
    assert ">Pause</button>" in html
    # Reviewers see the figures, but ids instead of emails, and no pause button.
    html = browser(lab.reviewer).get(page(lab.project, "dashboard/")).content.decode()
    assert lab.annotator.email not in html.split('data-dash="annotators"', 1)[1]
    assert str(lab.annotator.pk) in html
    assert ">Pause</button>" not in html


def _dashboard_queries(admin: Any, tasks: int) -> int:
    project = make_project(admin, name=f"Size {tasks}", overlap=2)
    people = [
        add_member(project, make_user(f"p{tasks}-{i}@lab.test"), Role.ANNOTATOR) for i in (1, 2)
    ]
    manager = add_member(project, make_user(f"m{tasks}@lab.test"), Role.MANAGER)
    make_texts(project, tasks)
    make_task(project, {"text": f"gold {tasks}"}, gold=label())
    annotate_all(project, people, lambda n, task: label())
    _report(project)
    Standing.objects.get_or_create(project=project, annotator=people[0])
    client = browser(manager)
    client.get(page(project, "dashboard/"))  # sessions, content types: warm
    with CaptureQueriesContext(connection) as captured:
        assert client.get(page(project, "dashboard/")).status_code == 200
    return len(captured)


def test_dashboard_queries_do_not_grow_with_the_project(admin):
    assert _dashboard_queries(admin, 3) == _dashboard_queries(admin, 30)


def test_my_work_queries_do_not_grow_with_the_history(admin):
    def measure(tasks: int) -> int:
        project = make_project(admin, name=f"Mine {tasks}")
        person = add_member(project, make_user(f"me{tasks}@lab.test"), Role.ANNOTATOR)
        make_texts(project, tasks)
        _submit(project, person, tasks)
        _report(project)
        client = browser(person)
        client.get(page(project, "me/"))
        with CaptureQueriesContext(connection) as captured:
            assert client.get(page(project, "me/")).status_code == 200
        return len(captured)

    assert measure(3) == measure(30)


def test_my_work_lists_only_my_annotations_without_content(reviewed):
    project, annotator, reviewer, _manager, done = reviewed
    other = add_member(project, make_user("other@lab.test"), Role.ANNOTATOR)
    theirs = _submit(project, other, 1)[0]
    html = browser(annotator).get(page(project, "me/")).content.decode()
    table = html.split('data-dash="history"', 1)[1]
    for annotation in done:
        assert f'data-annotation="{annotation.pk}"' in table
    assert str(theirs.pk) not in html
    assert "Rejected" in table
    assert "Accepted" in table
    assert "1 note" in table
    # Ids, states and times only in the table: never the comment or the result.
    assert "second sentence" not in table
    assert "Positive" not in table
    assert other.email not in html
    assert reviewer.email not in html.split("<main", 1)[1]
    # Each submitted answer links to itself in the workspace's own mode.
    for annotation in done:
        assert f"/projects/{project.pk}/work/?task={annotation.task_id}" in table


def _last_seq() -> int:
    return AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0


def test_my_work_shows_the_reviewers_feedback_as_text_and_records_reading_it(reviewed):
    project, annotator, reviewer, _manager, done = reviewed
    rejected = done[1]
    actor = Actor.system(user=reviewer)
    annotations.comment_add(
        actor=actor, project=project, annotation=rejected, body="<script>alert(1)</script> too"
    )
    annotations.comment_add(
        actor=Actor.system(user=annotator), project=project, annotation=rejected, body="Fixed?"
    )
    before = _last_seq()
    html = browser(annotator).get(page(project, "me/")).content.decode()
    part = html.split('data-dash="feedback"', 1)[1].split('data-dash="history"', 1)[0]
    # Only the rejected answer has notes (the acceptance had no comment), oldest note first.
    assert part.count("data-feedback=") == 1
    assert f'data-feedback="{rejected.pk}"' in part
    notes = [part.index(text) for text in ("second sentence", "alert(1)", "Fixed?")]
    assert notes == sorted(notes)
    assert "Reviewer · Rejected" in part
    assert "You · " in part
    assert "&lt;script&gt;alert(1)&lt;/script&gt; too" in part
    assert "<script>alert(1)" not in html
    assert reviewer.email not in part
    assert f"/projects/{project.pk}/work/?task={rejected.task_id}" in part
    assert "Revise or reply" in part
    # Read as the API reads it: one annotation.read for the answer shown, by the annotator.
    events = list(AuditEvent.objects.filter(seq__gt=before).values_list("action", "object_id"))
    assert events == [("annotation.read", str(rejected.pk))]
    assert AuditEvent.objects.get(seq__gt=before).actor_id == annotator.pk


def test_my_work_shows_no_feedback_of_others_and_none_on_later_pages(reviewed):
    project, annotator, _reviewer, _manager, _done = reviewed
    other = add_member(project, make_user("other@lab.test"), Role.ANNOTATOR)
    html = browser(other).get(page(project, "me/")).content.decode()
    assert "second sentence" not in html
    assert "No feedback yet" in html
    make_texts(project, HISTORY_PER_PAGE)
    _submit(project, annotator, HISTORY_PER_PAGE)
    html = browser(annotator).get(page(project, "me/?page=2")).content.decode()
    assert "Page 2 of 2" in html
    assert "second sentence" not in html
    assert 'data-dash="feedback"' not in html


def _noted(admin: Any, count: int) -> tuple[Project, Any]:
    project = make_project(admin, name=f"Noted {count}", review_required=True)
    person = add_member(project, make_user(f"noted{count}@lab.test"), Role.ANNOTATOR)
    reviewer = add_member(project, make_user(f"rev{count}@lab.test"), Role.REVIEWER)
    make_texts(project, count)
    for annotation in _submit(project, person, count):
        review.review_decide(
            actor=Actor.system(user=reviewer),
            project=project,
            annotation_id=annotation.pk,
            decision=Decision.REJECT,
            comment=f"Note on {annotation.pk}",
        )
    return project, person


def test_my_work_opens_at_most_the_newest_feedback_and_its_queries_are_bounded(admin):
    def measure(count: int) -> tuple[int, int]:
        project, person = _noted(admin, count)
        client = browser(person)
        client.get(page(project, "me/"))
        with CaptureQueriesContext(connection) as captured:
            html = client.get(page(project, "me/")).content.decode()
        return len(captured), html.count("data-feedback=")

    few, more = measure(FEEDBACK_SHOWN + 1), measure(FEEDBACK_SHOWN + 4)
    assert few == more
    assert few[1] == FEEDBACK_SHOWN
    assert measure(3)[1] == 3


def test_my_work_is_paginated_by_fifty(lab):
    make_texts(lab.project, 52)
    _submit(lab.project, lab.annotator, 52)
    first = browser(lab.annotator).get(page(lab.project, "me/")).content.decode()
    second = browser(lab.annotator).get(page(lab.project, "me/?page=2")).content.decode()
    assert first.count("data-annotation=") == 50
    assert second.count("data-annotation=") == 2
    assert "Page 1 of 2" in first


def test_compute_now_requests_a_report_and_records_it(lab):
    url = page(lab.project, "dashboard/quality")
    response = post(browser(lab.reviewer), url)
    assert response.status_code == 302
    assert response["Location"] == page(lab.project, "dashboard/")
    event = AuditEvent.objects.get(action="quality.requested")
    assert event.actor_id == lab.reviewer.pk
    assert event.project_id == lab.project.pk


def test_compute_now_needs_csrf_and_the_role(lab):
    url = page(lab.project, "dashboard/quality")
    assert browser(lab.reviewer).post(url).status_code == 403  # no CSRF token
    assert post(browser(lab.annotator), url).status_code == 403
    assert post(browser(lab.outsider), url).status_code == 404
    assert browser(lab.reviewer).get(url).status_code == 405
    assert not AuditEvent.objects.filter(action="quality.requested").exists()


def test_a_manager_pauses_and_resumes_an_annotator(lab):
    url = page(lab.project, f"dashboard/annotators/{lab.annotator.pk}/paused")
    client = browser(lab.manager)
    assert post(client, url, {"paused": "true"}).status_code == 302
    held = Standing.objects.get(project=lab.project, annotator=lab.annotator)
    assert held.paused_at is not None
    event = AuditEvent.objects.get(action="annotator.paused")
    assert event.actor_id == lab.manager.pk
    assert event.object_id == str(lab.annotator.pk)
    assert post(client, url, {"paused": "false"}).status_code == 302
    held.refresh_from_db()
    assert held.paused_at is None
    assert AuditEvent.objects.filter(action="annotator.resumed").count() == 1


def test_only_managers_pause_and_only_members(lab):
    url = page(lab.project, f"dashboard/annotators/{lab.annotator.pk}/paused")
    assert browser(lab.manager).post(url, {"paused": "true"}).status_code == 403  # no CSRF
    assert post(browser(lab.reviewer), url, {"paused": "true"}).status_code == 403
    assert post(browser(lab.outsider), url, {"paused": "true"}).status_code == 404
    stranger = page(lab.project, f"dashboard/annotators/{lab.outsider.pk}/paused")
    assert post(browser(lab.manager), stranger, {"paused": "true"}).status_code == 404
    assert not AuditEvent.objects.filter(action="annotator.paused").exists()
    assert not Standing.objects.filter(project=lab.project, paused_at__isnull=False).exists()


def test_the_dashboard_records_nothing_and_my_work_only_the_feedback_it_opens(reviewed):
    project, annotator, reviewer, manager, done = reviewed
    before = AuditEvent.objects.count()
    browser(manager).get(page(project, "dashboard/"))
    browser(reviewer).get(page(project, "dashboard/"))
    browser(reviewer).get(page(project, "me/"))  # nothing of theirs was reviewed
    assert AuditEvent.objects.count() == before
    last = _last_seq()
    browser(annotator).get(page(project, "me/"))
    events = AuditEvent.objects.filter(seq__gt=last).values_list("action", "object_id")
    assert list(events) == [("annotation.read", str(done[1].pk))]
