"""A lab admin rotates a project's key and deletes the project, in a real Chromium under the
enforcing CSP: the delete form asks for confirmation, and nothing happens when it is declined."""

import pytest

from tests.conftest import make_project
from tests.e2e.conftest import Watched, sign_in
from tests.factories import make_user, strong_password
from vault.models import ShredReceipt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_rotates_the_key_then_deletes_the_project_after_confirming(watched: Watched):
    password = strong_password()
    admin = make_user("lead@lab.test", password=password, is_staff=True)
    project = make_project(admin, name="Doomed project")
    page = watched.page
    sign_in(watched, admin.email, password)

    page.goto(f"/projects/{project.pk}/settings")
    page.get_by_role("button", name="Rotate key").click()
    page.wait_for_load_state()
    assert "version 2" in page.locator(".messages").inner_text()
    assert page.locator("#encryption + .card tbody tr").count() == 2

    page.get_by_label("Your password").fill(password)
    page.get_by_role("button", name="Delete project for good").click()  # declined by the fixture
    assert watched.dialogs == [
        "Delete “Doomed project” for good? Its keys are destroyed at once and its data can "
        "never be read again."
    ]
    assert not ShredReceipt.objects.exists()

    # Accept this time (form.submit() skips the confirmation handler, as accepting does).
    with page.expect_navigation():
        page.evaluate("document.querySelector('form[data-confirm][action$=\"/delete\"]').submit()")
    receipt = ShredReceipt.objects.get(project_id=project.pk)
    assert page.url.endswith(f"/projects/deleted/{receipt.pk}")
    assert "Deletion receipt" in page.locator("h1").inner_text()
    assert watched.csp_violations() == []
    assert watched.console_errors == []
    gone = page.goto(f"/projects/{project.pk}/")
    assert gone is not None
    assert gone.status == 404
