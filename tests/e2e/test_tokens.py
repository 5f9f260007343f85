"""A manager makes an export token for a pipeline in the browser; the pipeline reads its project
and nothing else; the manager revokes it and the pipeline is refused at once."""

import pytest
from rest_framework.test import APIClient

from projects.models import Role
from tests.conftest import add_member, make_project
from tests.e2e.conftest import sign_in
from tests.factories import make_user, password_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_an_export_token_made_on_the_page_reads_only_its_project_until_revoked(watched):
    admin = make_user("admin@lab.test", is_staff=True)
    project = make_project(admin, name="Radiology reports")
    other = make_project(admin, name="Other work")
    manager = add_member(project, make_user("pm@lab.test"), Role.MANAGER)
    page = watched.page
    sign_in(watched, manager.email, password_of(manager))

    page.get_by_role("link", name="API tokens").click()
    page.get_by_role("textbox", name="Name:").fill("nightly training export")
    page.get_by_label("Read-only export of chosen projects").check()
    page.get_by_label("Radiology reports").check()
    page.get_by_role("button", name="Create token").click()
    plaintext = page.locator("#new-token").inner_text().strip()
    assert plaintext.startswith("lk_")

    pipeline = _bearer(plaintext)
    assert pipeline.get(f"/api/v1/projects/{project.pk}").status_code == 200
    assert pipeline.get(f"/api/v1/projects/{other.pk}").status_code == 404
    assert (
        pipeline.patch(f"/api/v1/projects/{project.pk}", {"name": "x"}, format="json").status_code
        == 403
    )

    page.goto("/account/tokens/")
    assert plaintext not in page.content()
    watched.confirm = True
    page.get_by_role("button", name="Revoke nightly training export").click()
    page.wait_for_load_state()
    assert page.get_by_text("Revoked").first.is_visible()
    refused = pipeline.get(f"/api/v1/projects/{project.pk}")
    assert refused.status_code == 401
    assert refused.json()["error"]["message"] == "This API token has been revoked."
    assert watched.dialogs == [
        "Revoke the token “nightly training export”? Anything using it stops working at once."
    ]
    assert watched.csp_violations() == []
    assert watched.console_errors == []
