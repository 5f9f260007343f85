"""A manager imports a CSV file in a real Chromium under the enforcing CSP: chooses it, maps its
columns, watches the upload and the job, then finds the tasks in the data browser. A file with
bad rows ends with the problem list, by line.

The live server runs jobs eagerly once the upload commits, so the import has ended by the time
the upload's answer arrives; the page still shows the upload's progress, then the job's."""

from pathlib import Path

import pytest

from accounts.models import User
from audit.services import Actor
from datasets.models import Import, ImportState
from labeling.models import Task
from projects import services
from projects.models import Project, Role
from tests.conftest import add_member, make_project
from tests.e2e.conftest import Watched, sign_in
from tests.factories import make_user, password_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

REVIEWS = (
    "\ufeffreview,id,source,junk\n"
    '"Great value, would buy again",r-1,web,x\n'
    '"Arrived broken; the ""express"" box was crushed",r-2,store,y\n'
    "Does what it says,r-3,web,z\n"
)
BAD_ROWS = "text,priority\nfine,1\n,2\nalso fine,high\n"


def shoot(watched: Watched, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    watched.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def _manager_on_imports(watched: Watched) -> tuple[Project, User]:
    admin = make_user("lead@lab.test", is_staff=True)
    project = make_project(admin, name="Product reviews")
    manager = add_member(project, make_user("manager@lab.test"), Role.MANAGER)
    sign_in(watched, manager.email, password_of(manager))
    watched.page.goto(f"/projects/{project.pk}/")
    with watched.page.expect_navigation():
        watched.page.get_by_role("link", name="Imports").click()
    return project, manager


def _choose(watched: Watched, name: str, text: str) -> None:
    watched.page.set_input_files(
        "#import-file", files=[{"name": name, "mimeType": "text/csv", "buffer": text.encode()}]
    )


def _drop(watched: Watched, name: str, text: str) -> None:
    """Drop a file on the drop zone, as dragging it from the desktop does."""
    transfer = watched.page.evaluate_handle(
        "([name, text]) => { const t = new DataTransfer();"
        " t.items.add(new File([text], name, {type: 'text/csv'})); return t; }",
        [name, text],
    )
    watched.page.dispatch_event("[data-import=drop]", "dragover", {"dataTransfer": transfer})
    watched.page.dispatch_event("[data-import=drop]", "drop", {"dataTransfer": transfer})


def test_a_manager_imports_a_csv_with_a_mapping_and_browses_its_tasks(watched: Watched):
    project, _manager = _manager_on_imports(watched)
    page = watched.page
    # The drop zone is a button: Enter opens the file chooser (the input's click does).
    page.locator("#import-file").evaluate(
        "input => input.addEventListener('click', () => { window.__chooser = true; })"
    )
    page.get_by_role("button", name="Drop a file here, or choose one").focus()
    page.keyboard.press("Enter")
    assert page.evaluate("window.__chooser === true")

    _choose(watched, "reviews.csv", REVIEWS)
    page.get_by_text("reviews.csv · ").wait_for()
    # Defaults: a column named after no field goes to metadata.
    assert page.get_by_label("review", exact=True).input_value() == "metadata.review"
    assert page.get_by_label("source", exact=True).input_value() == "metadata.source"
    page.get_by_label("review", exact=True).select_option("text")
    page.get_by_label("id", exact=True).select_option("external_id")
    page.get_by_label("junk", exact=True).select_option(label="ignore")
    shoot(watched, "imports-mapping")

    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("Imported: 3 tasks created from 3 rows, 0 duplicates skipped.").wait_for()
    upload = page.locator("#upload-bar")
    assert upload.get_attribute("value") == "100"
    assert "sent (100 %)" in page.locator("#upload-text").inner_text()
    assert page.locator("#upload-job-bar").evaluate("bar => bar.value") == 100
    assert page.locator("[data-stat=tasks_created]").inner_text() == "3"
    assert page.get_by_role("button", name="Cancel import").is_hidden()
    # The list below is refreshed once the import has ended.
    page.locator("[data-imports-list] table.imports").wait_for()
    assert "reviews.csv" in page.locator("[data-imports-list] tbody tr").inner_text()
    imp = Import.objects.get(project=project)
    assert imp.state == ImportState.SUCCEEDED
    assert imp.mapping == {
        "review": "text",
        "id": "external_id",
        "source": "metadata.source",
        "junk": None,
    }
    shoot(watched, "imports")

    with page.expect_navigation():
        page.get_by_role("link", name="See its tasks").click()
    assert page.locator("table.tasks tbody tr").count() == 3
    assert "Great value" not in page.locator("main").inner_text()  # no content in the list
    shoot(watched, "data-browser")

    with page.expect_navigation():
        page.get_by_role("link", name="Open task 2 of import #1").click()
    main = page.locator("main").inner_text()
    assert 'Arrived broken; the "express" box was crushed' in main
    assert "r-2" in main
    assert '"source": "store"' in main
    assert "junk" not in main
    shoot(watched, "task")
    assert Task.objects.filter(project=project).count() == 3
    watched.assert_clean()


def test_a_file_with_bad_rows_ends_with_its_problems_by_line(watched: Watched):
    project, _manager = _manager_on_imports(watched)
    page = watched.page
    _choose(watched, "notes.txt", "hello")
    assert "does not end in an accepted format" in page.get_by_role("alert").inner_text()
    assert page.get_by_role("button", name="Import", exact=True).is_disabled()

    _drop(watched, "scores.csv", BAD_ROWS)
    page.get_by_text("scores.csv · 39 B").wait_for()
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("2 problems found; no task was created.").wait_for()
    rows = page.locator("[data-job=result] tbody tr")
    assert rows.count() == 2
    first, second = rows.nth(0).inner_text(), rows.nth(1).inner_text()
    assert first.startswith("line 3\ttext")
    assert second.startswith("line 4\tpriority")
    shoot(watched, "import-failed")

    with page.expect_navigation():
        page.get_by_role("link", name="Import #1 in full").click()
    assert page.locator("table.problems tbody tr").count() == 2
    assert not Task.objects.filter(project=project).exists()
    watched.assert_clean()


def test_a_queued_import_is_followed_and_cancelled_from_its_page(watched: Watched):
    project, manager = _manager_on_imports(watched)
    queued = Import.objects.create(
        project=project,
        number=1,
        created_by=manager,
        state=ImportState.QUEUED,
        file_name="waiting.jsonl",
        format="jsonl",
        upload_bytes=2048,
    )
    page = watched.page
    page.goto(f"/projects/{project.pk}/imports/{queued.pk}")
    page.get_by_text("Waiting for a worker to start the import…").wait_for()
    shoot(watched, "import-queued")
    with page.expect_navigation():  # the page shows the full record once the import ended
        page.get_by_role("button", name="Cancel import").click()
    assert page.locator(".badge", has_text="Cancelled").is_visible()
    assert "Cancelled; no task was created." in page.locator("main").inner_text()
    queued.refresh_from_db()
    assert (queued.state, queued.cancel_requested) == (ImportState.CANCELLED, True)
    watched.assert_clean()


def test_a_refused_upload_says_why_inline(watched: Watched):
    project, manager = _manager_on_imports(watched)
    page = watched.page
    # Archived by someone else while the page was open: the API answers 409.
    services.project_archive(actor=Actor.system(user=manager), project=project, archived=True)
    _choose(watched, "late.csv", "text\nhello\n")
    page.get_by_role("button", name="Import", exact=True).click()
    alert = page.get_by_role("alert")
    alert.get_by_text("This project is archived; restore it first.").wait_for()
    assert page.get_by_role("button", name="Import", exact=True).is_enabled()
    assert not Import.objects.filter(project=project).exists()
    # The browser logs the refused request itself as a console error; nothing else may appear.
    assert all("409" in error for error in watched.console_errors)
    assert watched.csp_violations() == []
