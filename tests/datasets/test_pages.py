"""The Imports page and the data browser through the Django test client, with CSRF checks on."""

import re
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import AuditEvent
from audit.services import Actor
from datasets.models import Import, ImportState
from datasets.views import format_duration
from labeling.models import Task
from projects import services
from projects.models import TaskType
from tests.conftest import client_for, make_project
from tests.datasets.helpers import jsonl, published, run_upload
from tests.projects.pages import browser, page, post
from tests.projects.test_label_schemas import MINIMAL_SCHEMAS

pytestmark = pytest.mark.django_db


def _import(lab: Any, capture: Any, texts: list[str], name: str = "tasks.jsonl") -> Import:
    records = [{"text": text, "external_id": f"{name}-{i}"} for i, text in enumerate(texts)]
    imp = run_upload(client_for(lab.manager), lab.project, name, jsonl(records), capture)
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    return imp


def _html(response: Any) -> str:
    return response.content.decode()


def _task_links(html: str) -> list[str]:
    return re.findall(r'href="(/projects/[^"]+/tasks/[0-9a-f-]{36})"', html)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("viewer", 403),
        ("annotator", 403),
        ("reviewer", 403),
        ("manager", 200),
        ("admin", 200),
        ("outsider", 404),
    ],
)
def test_the_pages_answer_managers_only(lab, persona, status, django_capture_on_commit_callbacks):
    imp = _import(lab, django_capture_on_commit_callbacks, ["one"])
    task = published(lab.project).get()
    client = browser(getattr(lab, persona))
    for name in ("imports/", f"imports/{imp.pk}", "tasks/", f"tasks/{task.pk}"):
        assert client.get(page(lab.project, name)).status_code == status, name


def test_the_pages_need_a_signed_in_person(lab):
    for name in ("imports/", "tasks/"):
        response = browser().get(page(lab.project, name))
        assert response.status_code == 302
        assert "/login" in response["Location"]


def test_a_missing_import_or_task_is_not_found(lab):
    missing = "00000000-0000-4000-8000-00000000dead"
    client = browser(lab.manager)
    assert client.get(page(lab.project, f"imports/{missing}")).status_code == 404
    assert client.get(page(lab.project, f"tasks/{missing}")).status_code == 404


def test_an_import_of_another_project_is_not_found_through_this_one(
    lab, django_capture_on_commit_callbacks
):
    imp = _import(lab, django_capture_on_commit_callbacks, ["one"])
    response = browser(lab.admin).get(page(lab.other_project, f"imports/{imp.pk}"))
    assert response.status_code == 404


def test_managers_get_the_imports_and_data_tabs(lab):
    manager_html = _html(browser(lab.manager).get(page(lab.project)))
    viewer_html = _html(browser(lab.viewer).get(page(lab.project)))
    for name in ("imports/", "tasks/"):
        assert f'href="{page(lab.project, name)}"' in manager_html
        assert f'href="{page(lab.project, name)}"' not in viewer_html
    imports_html = _html(browser(lab.manager).get(page(lab.project, "imports/")))
    assert f'href="{page(lab.project, "imports/")}" aria-current="page"' in imports_html


def test_the_imports_page_offers_the_upload_with_formats_and_fields(lab):
    html = _html(browser(lab.manager).get(page(lab.project, "imports/")))
    assert "data-importer" in html
    assert 'data-fields="text external_id priority metadata prediction gold "' in html
    assert ".jsonl, .ndjson, .csv, .tsv, .json.gz" in html
    assert ".zip" not in html  # images only for box projects
    assert f'data-api-imports="/api/v1/projects/{lab.project.pk}/imports/"' in html
    # The CSRF cookie is HttpOnly, so the page carries the token for the script's requests.
    assert re.search(r'data-csrf="[A-Za-z0-9]{32,}"', html)
    assert "No file imported yet." in html


def test_a_box_project_accepts_zips_of_images(admin):
    project = make_project(
        admin, name="Street", task_type=TaskType.BOXES, label_schema=MINIMAL_SCHEMAS["boxes"]
    )
    html = _html(browser(admin).get(page(project, "imports/")))
    assert ".zip" in html
    assert 'data-fields="image external_id' in html


def test_an_archived_project_shows_a_notice_instead_of_the_upload(lab):
    services.project_archive(actor=Actor.system(user=lab.admin), project=lab.project, archived=True)
    html = _html(browser(lab.manager).get(page(lab.project, "imports/")))
    assert "data-importer" not in html
    assert "cannot be imported while the project is archived" in html


def test_the_list_shows_each_import_newest_first_with_its_counts(
    lab, django_capture_on_commit_callbacks
):
    _import(lab, django_capture_on_commit_callbacks, ["one", "two"], "first.jsonl")
    second = _import(lab, django_capture_on_commit_callbacks, ["three"], "second.jsonl")
    html = _html(browser(lab.manager).get(page(lab.project, "imports/")))
    assert html.index("second.jsonl") < html.index("first.jsonl")
    assert "Succeeded" in html
    assert "manager@lab.test" in html
    assert f'href="/projects/{lab.project.pk}/tasks/?import={second.pk}"' in html
    assert "data-follow-import" not in html  # nothing left running


def test_an_unfinished_import_is_followed_live(lab):
    running = Import.objects.create(
        project=lab.project,
        number=1,
        created_by=lab.manager,
        state=ImportState.RUNNING,
        file_name="big.csv",
        format="csv",
        upload_bytes=1000,
    )
    api_url = f"/api/v1/projects/{lab.project.pk}/imports/{running.pk}"
    html = _html(browser(lab.manager).get(page(lab.project, "imports/")))
    assert f'data-follow-import="{api_url}"' in html
    detail = _html(browser(lab.manager).get(page(lab.project, f"imports/{running.pk}")))
    assert f'data-follow-import="{api_url}"' in detail
    assert "Cancel import" in detail


def _queries(client: Any, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    # Counted now: the next request resets the connection's query log.
    return len(captured)


def test_the_list_pages_make_as_many_queries_for_30_tasks_as_for_3(
    lab, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    client = browser(lab.manager)
    _import(lab, django_capture_on_commit_callbacks, [f"small {i}" for i in range(3)], "a.jsonl")
    few_tasks = _queries(client, page(lab.project, "tasks/"))
    one_import = _queries(client, page(lab.project, "imports/"))
    for n in range(3):
        texts = [f"batch {n} row {i}" for i in range(10)]
        _import(lab, django_capture_on_commit_callbacks, texts, f"b{n}.jsonl")
    assert published(lab.project).count() == 33
    with django_assert_max_num_queries(few_tasks):
        assert len(_task_links(_html(client.get(page(lab.project, "tasks/"))))) == 33
    with django_assert_max_num_queries(one_import):
        assert client.get(page(lab.project, "imports/")).status_code == 200


def test_the_browser_pages_by_seq_without_showing_content(lab, django_capture_on_commit_callbacks):
    texts = [f"secret text {i}" for i in range(60)]
    imp = _import(lab, django_capture_on_commit_callbacks, texts)
    client = browser(lab.manager)
    first = _html(client.get(page(lab.project, "tasks/")))
    assert len(_task_links(first)) == 50
    assert "secret text" not in first
    assert "60 tasks imported in all." in first
    fiftieth = Task.objects.filter(project=lab.project).order_by("seq")[49]
    assert f'href="?after={fiftieth.seq}" rel="next"' in first
    second = _html(client.get(page(lab.project, f"tasks/?after={fiftieth.seq}")))
    assert len(_task_links(second)) == 10
    assert 'rel="next"' not in second
    assert "First page" in second
    assert f"#{imp.number}</a> tasks.jsonl" in second


def test_the_browser_filters_by_import_and_keeps_the_filter_across_pages(
    lab, django_capture_on_commit_callbacks
):
    _import(lab, django_capture_on_commit_callbacks, [f"a{i}" for i in range(3)], "a.jsonl")
    b = _import(lab, django_capture_on_commit_callbacks, [f"b{i}" for i in range(55)], "b.jsonl")
    html = _html(browser(lab.manager).get(page(lab.project, f"tasks/?import={b.pk}&state=open")))
    assert len(_task_links(html)) == 50
    assert "created 55 tasks." in html
    assert re.search(rf'href="\?state=open&amp;import={b.pk}&amp;after=\d+" rel="next"', html)
    assert "a.jsonl</td>" not in html


def test_a_bad_filter_is_refused_and_named(lab):
    response = browser(lab.manager).get(page(lab.project, "tasks/?state=staged&after=-1"))
    assert response.status_code == 400
    html = _html(response)
    assert "State: Select a valid choice." in html
    assert "After: Ensure this value is greater than or equal to 0." in html


def test_opening_a_task_shows_its_content_as_text_and_records_one_read(
    lab, django_capture_on_commit_callbacks
):
    records = [
        {
            "text": "<script>alert(1)</script> & more",
            "external_id": "doc-1",
            "metadata": {"source": "<b>web</b>"},
            "gold": {"label": "Positive"},
        }
    ]
    run_upload(
        client_for(lab.manager),
        lab.project,
        "one.jsonl",
        jsonl(records),
        django_capture_on_commit_callbacks,
    )
    task = published(lab.project).get()
    before = AuditEvent.objects.filter(action="task.read").count()
    html = _html(browser(lab.manager).get(page(lab.project, f"tasks/{task.pk}")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in html
    assert "<script>alert" not in html
    assert "&quot;source&quot;: &quot;&lt;b&gt;web&lt;/b&gt;&quot;" in html
    assert "<code>doc-1</code>" in html
    assert "&quot;label&quot;: &quot;Positive&quot;" in html
    reads = list(AuditEvent.objects.filter(action="task.read").order_by("seq"))
    assert len(reads) == before + 1
    assert (reads[-1].object_id, reads[-1].actor_id) == (str(task.pk), lab.manager.pk)


def test_a_refused_reader_leaves_no_read_event(lab, django_capture_on_commit_callbacks):
    _import(lab, django_capture_on_commit_callbacks, ["one"])
    task = published(lab.project).get()
    assert browser(lab.annotator).get(page(lab.project, f"tasks/{task.pk}")).status_code == 403
    assert not AuditEvent.objects.filter(action="task.read").exists()


def test_a_chat_task_reads_as_a_transcript(admin, django_capture_on_commit_callbacks):
    project = make_project(
        admin, name="Chats", task_type=TaskType.CHAT, label_schema=MINIMAL_SCHEMAS["chat"]
    )
    messages = [
        {"role": "user", "content": "Hi <there>"},
        {"role": "assistant", "content": "Hello"},
    ]
    imp = run_upload(
        client_for(admin),
        project,
        "chat.jsonl",
        jsonl([{"messages": messages}]),
        django_capture_on_commit_callbacks,
    )
    assert imp.state == ImportState.SUCCEEDED, imp.problems
    task = published(project).get()
    html = _html(browser(admin).get(page(project, f"tasks/{task.pk}")))
    assert '<li class="turn user"><span class="role">user</span>' in html
    assert '<div class="task-text">Hi &lt;there&gt;</div>' in html
    assert html.index("Hi &lt;there&gt;") < html.index("Hello")


def test_a_failed_import_lists_its_problems_with_line_numbers(
    lab, django_capture_on_commit_callbacks
):
    body = b'{"text": "fine"}\n{"txt": "typo"}\nnot json\n'
    imp = run_upload(
        client_for(lab.manager), lab.project, "bad.jsonl", body, django_capture_on_commit_callbacks
    )
    assert imp.state == ImportState.FAILED
    html = _html(browser(lab.manager).get(page(lab.project, f"imports/{imp.pk}")))
    assert '<td class="nowrap">line 2</td>' in html
    assert '<td class="nowrap">line 3</td>' in html
    assert "no task was created" in html
    assert "Delete tasks" not in html
    assert "data-follow-import" not in html


def test_a_problem_list_cut_short_says_how_many_more(lab):
    failed = Import.objects.create(
        project=lab.project,
        number=1,
        created_by=lab.manager,
        state=ImportState.FAILED,
        file_name="bad.csv",
        format="csv",
        problems=[{"where": "line 2", "code": "missing_field", "message": "text is missing"}],
        problem_count=1234,
    )
    html = _html(browser(lab.manager).get(page(lab.project, f"imports/{failed.pk}")))
    assert "…and 1,233 more." in html


def test_deleting_an_imports_tasks_from_the_page_is_audited(
    lab, django_capture_on_commit_callbacks
):
    kept = _import(lab, django_capture_on_commit_callbacks, ["keep"], "keep.jsonl")
    doomed = _import(lab, django_capture_on_commit_callbacks, ["x", "y"], "doomed.jsonl")
    url = page(lab.project, f"imports/{doomed.pk}/delete-tasks")
    html = _html(browser(lab.manager).get(page(lab.project, "imports/")))
    assert f'action="{url}" data-confirm="Delete the 2 tasks of import #2' in html

    client = browser(lab.manager)
    response = post(client, url)
    assert response.status_code == 302
    assert response["Location"] == page(lab.project, "imports/")
    assert published(lab.project).count() == 1
    event = AuditEvent.objects.get(action="import.tasks_deleted")
    assert (event.object_id, event.details, event.actor_id) == (
        str(doomed.pk),
        {"deleted": 2},
        lab.manager.pk,
    )
    after = _html(client.get(page(lab.project, "imports/")))
    assert "Deleted 2 tasks of import #2." in after
    assert "tasks deleted" in after
    assert url not in after
    assert page(lab.project, f"imports/{kept.pk}/delete-tasks") in after


def test_deleting_tasks_twice_or_without_the_right_is_refused(
    lab, django_capture_on_commit_callbacks
):
    imp = _import(lab, django_capture_on_commit_callbacks, ["x"])
    url = page(lab.project, f"imports/{imp.pk}/delete-tasks")
    assert post(browser(lab.annotator), url).status_code == 403
    assert post(browser(lab.outsider), url).status_code == 404
    assert browser(lab.manager).get(url).status_code == 405
    assert published(lab.project).count() == 1
    client = browser(lab.manager)
    post(client, url)
    post(client, url)
    assert AuditEvent.objects.filter(action="import.tasks_deleted").count() == 1


def test_the_delete_form_needs_the_csrf_token(lab, django_capture_on_commit_callbacks):
    imp = _import(lab, django_capture_on_commit_callbacks, ["x"])
    url = page(lab.project, f"imports/{imp.pk}/delete-tasks")
    assert browser(lab.manager).post(url).status_code == 403
    assert published(lab.project).count() == 1


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.04, "< 0.1 s"), (0.42, "0.4 s"), (12.4, "12 s"), (185, "3 min 05 s"), (7440, "2 h 04 min")],
)
def test_durations_read_briefly(seconds, shown):
    assert format_duration(timedelta(seconds=seconds)) == shown
