"""A lab admin's first minutes, in a real Chromium: sign in, create a project, invite people.

Every page must load under the enforcing CSP with no violation, no console error and no dialog
that the test did not ask for.
"""

from pathlib import Path

import pytest

from projects.models import Invitation, Project
from tests.e2e.conftest import Watched, sign_in
from tests.factories import make_user, password_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def shoot(watched: Watched, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    watched.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_admin_signs_in_creates_a_project_and_invites_an_annotator(watched):
    admin = make_user("lead@lab.test", is_staff=True)
    page = watched.page
    sign_in(watched, admin.email, password_of(admin))
    assert page.url.endswith("/projects/")

    page.get_by_role("link", name="New project").click()
    page.get_by_role("textbox", name="Name:", exact=True).fill("Contract clauses")
    page.get_by_role("textbox", name="Labels:", exact=True).fill(
        "Indemnity [1]\nTermination [2]\nOther [3]"
    )
    page.get_by_role("textbox", name="Instructions:", exact=True).fill(
        "Pick the **clause type**. <script>alert(1)</script>"
    )
    page.get_by_role("button", name="Create project").click()
    page.wait_for_load_state()
    project = Project.objects.get(name="Contract clauses")
    assert [label["name"] for label in project.label_schema["labels"]] == [
        "Indemnity",
        "Termination",
        "Other",
    ]
    shoot(watched, "project-overview")

    page.goto(f"/projects/{project.pk}/members")
    page.get_by_label("Email:", exact=True).fill("new.annotator@lab.test")
    page.get_by_label("Role:", exact=True).select_option("annotator")
    page.get_by_role("button", name="Add or invite").click()
    page.wait_for_load_state()
    assert Invitation.objects.filter(email="new.annotator@lab.test", project=project).exists()
    shoot(watched, "members")
    watched.assert_clean()


def test_the_sign_in_page_answers_a_wrong_password_without_saying_who_exists(watched):
    user = make_user("someone@lab.test")
    sign_in(watched, user.email, "not-the-password")
    known = watched.page.locator("main").inner_text()
    sign_in(watched, "nobody@lab.test", "not-the-password")
    unknown = watched.page.locator("main").inner_text()
    assert known == unknown
    shoot(watched, "sign-in")
    watched.assert_clean()


def test_the_api_docs_run_under_the_content_security_policy(watched):
    watched.page.goto("/api/v1/docs/")
    watched.page.wait_for_selector(".swagger-ui .information-container", timeout=15_000)
    assert "Labelkeep API" in watched.page.locator(".swagger-ui").inner_text()
    watched.assert_clean()
