"""A manager's dashboard in a real Chromium under the enforcing CSP: progress bars, the
throughput chart and the annotator table are drawn server-side; "Compute now" computes the
quality figures (Celery runs eagerly here) and the page comes back with agreement per label."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from labeling.models import Annotation, QualityReport, ReportState
from projects.models import Role
from tests.conftest import add_member, make_project
from tests.e2e.conftest import Watched, sign_in
from tests.factories import make_user, password_of
from tests.labeling.work import annotate_all, label, make_texts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
NAMES = ("Positive", "Negative", "Neutral")


def _project_with_work():
    admin = make_user("lead@lab.test", is_staff=True)
    project = make_project(admin, name="Support tickets", overlap=2)
    manager = add_member(project, make_user("manager@lab.test"), Role.MANAGER)
    people = [
        add_member(project, make_user(f"{name}@lab.test"), Role.ANNOTATOR)
        for name in ("ada", "ben", "cleo")
    ]
    make_texts(project, 24)
    # Mostly agreeing, with some disagreement so that the statistics are not all 1.
    annotate_all(
        project,
        people[:2],
        lambda n, task: label(NAMES[(task.seq + n * (task.seq % 3 == 0)) % 3]),
    )
    make_texts(project, 12)
    # Spread the submissions over the last days, so the chart has something to show.
    for i, annotation in enumerate(Annotation.objects.filter(project=project)):
        when = timezone.now() - timedelta(days=i % 9, minutes=1)
        Annotation.objects.filter(pk=annotation.pk).update(submitted_at=when)
    return project, manager


def test_a_manager_reads_the_dashboard_and_computes_the_figures(watched: Watched):
    project, manager = _project_with_work()
    page = watched.page
    sign_in(watched, manager.email, password_of(manager))
    page.goto(f"/projects/{project.pk}/")
    with page.expect_navigation():
        page.get_by_role("link", name="Dashboard", exact=True).click()

    progress = page.locator("[data-dash=progress]")
    assert progress.locator("dd.num").nth(0).get_attribute("data-count") == "24"
    assert progress.locator("dd.num").nth(2).get_attribute("data-count") == "12"
    assert page.locator("[data-dash=throughput] rect.spark-bar").count() == 30
    assert page.get_by_text("No quality report yet").is_visible()

    with page.expect_navigation():
        page.get_by_role("button", name="Compute now").click()
    assert page.get_by_text("Quality figures computed.").is_visible()
    assert QualityReport.objects.filter(project=project, state=ReportState.SUCCEEDED).exists()
    assert AuditEvent.objects.filter(action="quality.requested", actor_id=manager.pk).exists()
    assert page.locator("[data-dash=agreement] tbody tr").count() == 3
    assert page.get_by_text("Krippendorff's \N{GREEK SMALL LETTER ALPHA}").first.is_visible()
    table = page.locator("[data-dash=annotators]")
    assert table.get_by_text("ada@lab.test").is_visible()
    assert table.get_by_role("button", name="Pause").count() == 2

    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"), full_page=True)
    watched.assert_clean()
