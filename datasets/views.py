"""The Imports page and the data browser: server-rendered pages for a project's managers.

The upload itself goes from the browser to the API (``frontend/src/imports.ts``) so that it
streams with a progress bar; these views render what is stored. Task lists never read content
and never count or offset over the tasks table: pages follow ``seq`` from where the last one
ended. Opening one task is an audited read (``browser.task_open``).
"""

import json
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from audit.services import Actor
from core.errors import ApplicationError, NotFound
from datasets import browser, imports
from datasets.models import FINISHED_STATES, Import, ImportState, OnDuplicate
from datasets.records import DATA_FIELDS, describe_fields
from labeling.models import Task
from projects.models import Project, TaskType
from projects.permissions import Need
from projects.views import project_for_page, render_project_page

TASKS_PER_PAGE = 50
IMPORTS_LISTED = 100
TEXT_FORMATS = (".json", ".jsonl", ".ndjson", ".csv", ".tsv")
_STATE_BADGES = {
    ImportState.SUCCEEDED: "ok",
    ImportState.FAILED: "danger",
    ImportState.CANCELLED: "warn",
}


def _managed_project(request: HttpRequest, project_id: uuid.UUID) -> Project:
    """The project, for a manager: 404 for outsiders (as if missing), 403 for other members."""
    return project_for_page(request, project_id, Need.MANAGE)


def _page(
    request: HttpRequest, template: str, project: Project, *, status: int = 200, **context: Any
) -> HttpResponse:
    return render_project_page(request, f"datasets/{template}", project, status, **context)


def _import_or_404(project: Project, import_id: uuid.UUID) -> Import:
    try:
        return browser.import_get(project, import_id)
    except NotFound:
        raise Http404("Import not found.") from None


# --- Imports ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportRow:
    """An import as the pages show it: the record plus what is derived for display."""

    imp: Import
    badge: str
    duration: str
    finished: bool


def _duration(imp: Import) -> str:
    if imp.started_at is None or imp.finished_at is None:
        return ""
    return format_duration(imp.finished_at - imp.started_at)


def format_duration(elapsed: timedelta) -> str:
    """How long something took, short enough for a table cell: "0.4 s", "3 min 05 s"."""
    seconds = max(elapsed.total_seconds(), 0.0)
    if seconds < 0.1:
        return "< 0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    return f"{whole // 3600} h {whole % 3600 // 60:02d} min"


def _import_row(imp: Import) -> ImportRow:
    return ImportRow(
        imp=imp,
        badge=_STATE_BADGES.get(ImportState(imp.state), ""),
        duration=_duration(imp),
        finished=imp.state in FINISHED_STATES,
    )


def accepted_formats(task_type: str) -> list[str]:
    """The file extensions an upload into a project of this task type may have."""
    names = [*TEXT_FORMATS, *(f"{ext}.gz" for ext in TEXT_FORMATS)]
    return [*names, ".zip"] if task_type == TaskType.BOXES else names


def _api_urls(project: Project) -> dict[str, str]:
    """Where the page's script sends uploads and reads progress (the API), and where it links."""
    return {
        "api_imports": reverse("api:import_list", args=[project.pk]),
        "tasks_page": reverse("datasets:tasks", args=[project.pk]),
        "imports_page": reverse("datasets:imports", args=[project.pk]),
    }


@login_required
def import_list(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _managed_project(request, project_id)
    newest = list(browser.import_list(project).defer("problems")[: IMPORTS_LISTED + 1])
    formats = accepted_formats(project.task_type)
    return _page(
        request,
        "imports.html",
        project,
        tab="imports",
        rows=[_import_row(imp) for imp in newest[:IMPORTS_LISTED]],
        more_imports=len(newest) > IMPORTS_LISTED,
        fields=describe_fields(project.task_type),
        formats=formats,
        accept=",".join([".gz", *(f for f in formats if not f.endswith(".gz"))]),
        on_duplicate_choices=OnDuplicate.choices,
        max_upload_bytes=settings.IMPORT_MAX_UPLOAD_BYTES,
        urls=_api_urls(project),
    )


@login_required
def import_detail(
    request: HttpRequest, project_id: uuid.UUID, import_id: uuid.UUID
) -> HttpResponse:
    project = _managed_project(request, project_id)
    imp = _import_or_404(project, import_id)
    return _page(
        request,
        "import_detail.html",
        project,
        tab="imports",
        row=_import_row(imp),
        mapping_json=json.dumps(imp.mapping, indent=2, ensure_ascii=False) if imp.mapping else "",
        unlisted_problems=max(imp.problem_count - len(imp.problems), 0),
        urls=_api_urls(project),
    )


@login_required
@require_POST
def import_tasks_delete(
    request: HttpRequest, project_id: uuid.UUID, import_id: uuid.UUID
) -> HttpResponse:
    project = _managed_project(request, project_id)
    imp = _import_or_404(project, import_id)
    if imp.deleted_tasks_at is not None:
        # A second submit (a double click, a stale page) must not record a second deletion.
        messages.error(request, f"The tasks of import #{imp.number} were already deleted.")
        return redirect("datasets:imports", project_id=project.pk)
    try:
        deleted = imports.import_tasks_delete(actor=Actor.from_request(request), imp=imp)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        noun = "task" if deleted == 1 else "tasks"
        messages.success(request, f"Deleted {deleted:,} {noun} of import #{imp.number}.")
    return redirect("datasets:imports", project_id=project.pk)


# --- Data browser -----------------------------------------------------------------------------


class TaskFilterForm(forms.Form):
    """The data browser's filters, read from the query string."""

    state = forms.ChoiceField(
        required=False,
        choices=[("", "Any state"), *((s.value, s.label) for s in browser.LISTED_STATES)],
    )
    gold = forms.TypedChoiceField(
        required=False,
        choices=[("", "Gold or not"), ("true", "Gold only"), ("false", "Not gold")],
        coerce=lambda value: value == "true",
        empty_value=None,
    )
    after = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, data: Any, imports_listed: list[Import]) -> None:
        super().__init__(data)
        # "import" is a Python keyword, so this field cannot be declared as a class attribute.
        self.fields["import"] = forms.TypedChoiceField(
            required=False,
            coerce=uuid.UUID,
            empty_value=None,
            choices=[("", "Any import")]
            + [(str(imp.pk), f"#{imp.number} {imp.file_name}") for imp in imports_listed],
        )
        self.order_fields(["state", "import", "gold", "after"])


@dataclass(frozen=True)
class TaskRow:
    task: Task
    imp: Import | None


def _task_page(project: Project, filters: dict[str, Any]) -> list[Task]:
    """Up to one more than a page of tasks after ``filters["after"]``: the extra one says
    whether a next page exists, without counting."""
    tasks = browser.task_list(
        project, state=filters["state"] or None, import_id=filters["import"], gold=filters["gold"]
    )
    if filters["after"] is not None:
        tasks = tasks.filter(seq__gt=filters["after"])
    has_prediction = ExpressionWrapper(Q(prediction__isnull=False), output_field=BooleanField())
    return list(tasks.annotate(has_prediction=has_prediction).order_by("seq")[: TASKS_PER_PAGE + 1])


def _imported_count(imports_listed: list[Import], chosen: uuid.UUID | None) -> int:
    """Tasks that imports created and still hold, from their records (no COUNT(*))."""
    return sum(
        imp.tasks_created
        for imp in imports_listed
        if imp.state == ImportState.SUCCEEDED
        and imp.deleted_tasks_at is None
        and (chosen is None or imp.pk == chosen)
    )


def _query(filters: dict[str, Any], **changes: Any) -> str:
    values = {**filters, **changes}
    pairs = {key: value for key, value in values.items() if value not in (None, "")}
    if isinstance(pairs.get("gold"), bool):
        pairs["gold"] = "true" if pairs["gold"] else "false"
    return urlencode(pairs)


@login_required
def task_list(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _managed_project(request, project_id)
    imports_listed = browser.import_choices(project)
    form = TaskFilterForm(request.GET, imports_listed)
    if not form.is_valid():
        return _page(
            request, "tasks.html", project, status=400, tab="tasks", form=form, rows=[], count=0
        )
    filters = form.cleaned_data
    try:
        tasks = _task_page(project, filters)
    except ApplicationError as exc:
        form.add_error(None, exc.message)
        return _page(
            request, "tasks.html", project, status=400, tab="tasks", form=form, rows=[], count=0
        )
    by_number = {imp.number: imp for imp in imports_listed}
    shown = tasks[:TASKS_PER_PAGE]
    return _page(
        request,
        "tasks.html",
        project,
        tab="tasks",
        form=form,
        rows=[TaskRow(task, by_number.get(task.import_number)) for task in shown],
        count=_imported_count(imports_listed, filters["import"]),
        chosen_import=next((i for i in imports_listed if i.pk == filters["import"]), None),
        next_query=_query(filters, after=shown[-1].seq) if len(tasks) > TASKS_PER_PAGE else "",
        first_query=_query(filters, after=None) if filters["after"] is not None else None,
        per_page=TASKS_PER_PAGE,
    )


@dataclass(frozen=True)
class Shown:
    """One data field of a task as the page shows it: its name and its text."""

    name: str
    value: Any


def _shown_fields(task_type: str, data: Any) -> list[Shown]:
    """The text fields, in the task type's order; images and transcripts have their own view."""
    if not isinstance(data, dict) or task_type == TaskType.BOXES:
        return []
    return [
        Shown(f.name, data[f.name])
        for f in DATA_FIELDS[task_type]
        if f.name in data and f.kind == "string"
    ]


def _image_url(project: Project, data: Any) -> str | None:
    """The API address of a box task's image; None if the payload names no valid file."""
    if project.task_type != TaskType.BOXES or not isinstance(data, dict):
        return None
    value = data.get("image")
    try:
        file_id = uuid.UUID(str(value))
    except ValueError:
        return None
    return reverse("api:file_content", args=[project.pk, file_id])


def _chat_messages(task_type: str, data: Any) -> list[Any] | None:
    if task_type != TaskType.CHAT or not isinstance(data, dict):
        return None
    found = data.get("messages")
    return found if isinstance(found, list) else None


def _pretty(value: Any) -> str:
    return "" if value is None else json.dumps(value, indent=2, ensure_ascii=False)


def _neighbour(project: Project, seq: int, *, after: bool) -> uuid.UUID | None:
    """The next (or previous) listed task in seq order: browsing one task after another."""
    tasks = browser.task_list(project)
    tasks = tasks.filter(seq__gt=seq).order_by("seq") if after else tasks.filter(seq__lt=seq)
    if not after:
        tasks = tasks.order_by("-seq")
    return tasks.values_list("pk", flat=True).first()


@login_required
def task_detail(request: HttpRequest, project_id: uuid.UUID, task_id: uuid.UUID) -> HttpResponse:
    project = _managed_project(request, project_id)
    try:
        content = browser.task_open(
            actor=Actor.from_request(request), project=project, task_id=task_id
        )
    except NotFound:
        raise Http404("Task not found.") from None
    task = content.task
    imp = browser.import_or_none(project, content.import_id)
    return _page(
        request,
        "task_detail.html",
        project,
        tab="tasks",
        content=content,
        task=task,
        imp=imp,
        fields=_shown_fields(project.task_type, content.data),
        chat_messages=_chat_messages(project.task_type, content.data),
        image_url=_image_url(project, content.data),
        metadata_json=_pretty(content.metadata),
        prediction_json=_pretty(content.prediction),
        gold_json=_pretty(content.gold),
        previous_id=_neighbour(project, task.seq, after=False),
        next_id=_neighbour(project, task.seq, after=True),
    )
