"""The lab administrators' part of a project's settings page: its encryption key (versions,
rotation, re-encryption with progress) and its deletion (crypto-shredding), and the receipt
page that a deleted project leaves behind.

Every action is refused (403) to anyone but a lab administrator before the project is looked
up; for administrators a deleted or missing project is a 404. Actions answer with a redirect
and a message (post/redirect/get), so reloading a page never repeats one.
"""

import uuid
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.services import Actor
from core.errors import ApplicationError, NotFound
from projects import deletion, forms, keys, permissions, selectors
from projects.models import Project
from projects.permissions import Need, access_project
from vault.models import PurgeState, ShredReceipt


def _require_admin(request: HttpRequest) -> None:
    if not permissions.can_create_projects(request.user):
        raise DjangoPermissionDenied("Only lab administrators manage keys and delete projects.")


def _admin_project(request: HttpRequest, project_id: uuid.UUID) -> Project:
    _require_admin(request)
    try:
        return access_project(request.user, project_id, need=Need.MANAGE)
    except NotFound:
        raise Http404("Project not found.") from None


def _back_to(project: Project, section: str) -> HttpResponse:
    return redirect(f"{reverse('projects:settings', args=[project.pk])}#{section}")


def settings_sections(request: HttpRequest, project: Project) -> dict[str, Any]:
    """What the settings page shows lab administrators: key versions, the latest re-encryption
    job and the deletion form. Nothing for anyone else. A key store that cannot be reached is
    shown as such rather than failing the whole page."""
    if not permissions.can_create_projects(request.user):
        return {}
    context: dict[str, Any] = {
        "admin_sections": True,
        "delete_form": forms.ProjectDeleteForm(),
        "job": selectors.reencryption_job_latest(project=project),
    }
    try:
        versions = selectors.project_key_list(project=project)
    except ApplicationError as exc:
        context["key_error"] = exc.message
        return context
    context["current_version"] = versions[-1].version
    context["key_versions"] = [
        {
            "version": info.version,
            "key_id": info.key_id,
            "master_key_id": info.master_key_id,
            "created_at": datetime.fromisoformat(info.created_at),
        }
        for info in reversed(versions)
    ]
    return context


@login_required
@require_POST
def key_rotate(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _admin_project(request, project_id)
    try:
        info = keys.project_key_rotate(actor=Actor.from_request(request), project=project)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"Key rotated: version {info.version} encrypts new data; older versions still "
            "decrypt. Re-encrypt to move old data to it.",
        )
    return _back_to(project, "encryption")


@login_required
@require_POST
def key_reencrypt(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _admin_project(request, project_id)
    try:
        job = keys.project_reencrypt_start(actor=Actor.from_request(request), project=project)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Re-encryption to key version {job.target_version} started.")
    return _back_to(project, "encryption")


@login_required
@require_POST
def project_delete(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _admin_project(request, project_id)
    form = forms.ProjectDeleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Enter your password to delete the project.")
        return _back_to(project, "delete")
    try:
        receipt = deletion.project_delete(
            actor=Actor.from_request(request),
            project=project,
            password=form.cleaned_data["password"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _back_to(project, "delete")
    messages.success(request, f"“{project.name}” was deleted: its keys are destroyed.")
    return redirect("projects:deleted", receipt_id=receipt.pk)


@login_required
@never_cache
@require_GET
def deletion_receipt(request: HttpRequest, receipt_id: uuid.UUID) -> HttpResponse:
    _require_admin(request)
    receipt = selectors.shred_receipt_get(receipt_id=receipt_id)
    if receipt is None:
        raise Http404("Receipt not found.")
    context = {"receipt": receipt, "counts": _count_rows(receipt)}
    return render(request, "projects/deleted.html", context)


def _count_rows(receipt: ShredReceipt) -> list[dict[str, Any]]:
    """One row per table (or "files"): found at deletion ("unknown" when the file store was
    down) and purged. The purge also counts tables that deletion did not look at (the role
    groups' memberships and permissions) and leaves out what it found nothing of."""
    purged_all = receipt.purge_state == PurgeState.PURGED
    rows = []
    for name in sorted(set(receipt.counts) | set(receipt.purged_counts)):
        found = receipt.counts.get(name, "—")
        purged = receipt.purged_counts.get(name, 0 if purged_all else "—")
        rows.append(
            {"name": name, "found": "unknown" if found is None else found, "purged": purged}
        )
    return rows
