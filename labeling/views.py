"""The workspace pages: a shell that the ``workspace`` script fills in, to annotate, to review,
or (``?task=<id>``) to read the reviewers' feedback on one's own answer and revise it.

The pages themselves read no task and record nothing: the script takes tasks from the work API
(``/api/v1/projects/{id}/next``, ``.../reviews/next``, ``.../tasks/{id}/work`` and friends) with
the session and CSRF token, and those calls are audited (``task.read`` and so on). The shell
carries the project's settings as JSON in a ``<script type="application/json">`` block, which
the CSP allows because it never runs.
"""

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

from labeling.models import SkipReason
from projects.models import Project, TaskType
from projects.permissions import Need
from projects.views import project_for_page, render_project_page

# The task types the workspace can show (every one today); a type added later without a view
# says so on the page and points to the API, rather than failing in the script.
SUPPORTED_TYPES = frozenset(
    {
        TaskType.CLASSIFICATION,
        TaskType.NER,
        TaskType.PAIRWISE,
        TaskType.RUBRIC,
        TaskType.FREE_TEXT,
        TaskType.CHAT,
        TaskType.BOXES,
    }
)


def workspace_config(
    project: Project, user_id: Any, *, mode: str = "annotate", task_id: uuid.UUID | None = None
) -> dict[str, Any]:
    """What the script needs to start: the mode, the project, its schema and where the API is;
    in the "own" mode, the task whose answer (and its feedback) to open."""
    api = reverse("api:next", args=[project.pk]).removesuffix("next")
    return {
        "mode": mode,
        "task_id": None if task_id is None else str(task_id),
        "project": {"id": str(project.pk), "name": project.name},
        "task_type": project.task_type,
        "label_schema": project.label_schema,
        "user_id": str(user_id),
        "api": api,
        "skip_reasons": [{"value": value, "label": label} for value, label in SkipReason.choices],
        "docs_url": reverse("api:docs"),
        "project_url": reverse("projects:detail", args=[project.pk]),
        "work_url": reverse("labeling:workspace", args=[project.pk]),
        "mine_url": reverse("labeling:mine", args=[project.pk]),
    }


def _own_task(request: HttpRequest) -> uuid.UUID | None:
    """The task named by ``?task=``: the page only passes it on (the API decides whether the
    caller may open it), but a value that is no task id at all is refused here."""
    value = request.GET.get("task")
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest("task must be a task id.") from None


@never_cache
@login_required
def workspace(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = project_for_page(request, project_id, Need.ANNOTATE)
    task_id = _own_task(request)
    mode = "annotate" if task_id is None else "own"
    supported = project.task_type in SUPPORTED_TYPES
    config = workspace_config(project, request.user.pk, mode=mode, task_id=task_id)
    return render_project_page(
        request,
        "labeling/workspace.html",
        project,
        tab="work",
        supported=supported,
        review=False,
        own=task_id is not None,
        config=config if supported else None,
    )


@never_cache
@login_required
def review(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = project_for_page(request, project_id, Need.REVIEW)
    supported = project.task_type in SUPPORTED_TYPES
    config = workspace_config(project, request.user.pk, mode="review") if supported else None
    return render_project_page(
        request,
        "labeling/workspace.html",
        project,
        tab="review",
        supported=supported,
        review=True,
        config=config,
    )
