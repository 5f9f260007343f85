"""The workspace pages: a shell that the ``workspace`` script fills in, to annotate or review.

The pages themselves read no task and record nothing: the script takes tasks from the work API
(``/api/v1/projects/{id}/next``, ``.../reviews/next`` and friends) with the session and CSRF
token, and those calls are audited (``task.read`` and so on). The shell carries the project's
settings as JSON in a ``<script type="application/json">`` block, which the CSP allows because
it never runs.
"""

import uuid
from typing import Any

from django.contrib.auth.decorators import login_required
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


def workspace_config(project: Project, user_id: Any, *, mode: str = "annotate") -> dict[str, Any]:
    """What the script needs to start: the mode, the project, its schema and where the API is."""
    api = reverse("api:next", args=[project.pk]).removesuffix("next")
    return {
        "mode": mode,
        "project": {"id": str(project.pk), "name": project.name},
        "task_type": project.task_type,
        "label_schema": project.label_schema,
        "user_id": str(user_id),
        "api": api,
        "skip_reasons": [{"value": value, "label": label} for value, label in SkipReason.choices],
        "docs_url": reverse("api:docs"),
        "project_url": reverse("projects:detail", args=[project.pk]),
    }


@never_cache
@login_required
def workspace(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = project_for_page(request, project_id, Need.ANNOTATE)
    supported = project.task_type in SUPPORTED_TYPES
    return render_project_page(
        request,
        "labeling/workspace.html",
        project,
        tab="work",
        supported=supported,
        review=False,
        config=workspace_config(project, request.user.pk) if supported else None,
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
