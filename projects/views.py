"""The lab's project pages: list, create, overview, settings, members and invitations, and the
invitation link. Every project page reaches its project through ``access_project``: outsiders
get a 404 like for a missing project, members without the right a 403.
"""

import logging
import uuid
from typing import Any, TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from audit.services import Actor
from core.errors import ApplicationError, NotFound, PermissionDenied
from projects import forms, invitations, permissions, selectors, services, views_keys
from projects.models import Invitation, Project, Role
from projects.permissions import Need, access_project

logger = logging.getLogger(__name__)
AnyResponse = TypeVar("AnyResponse", bound=HttpResponse)


def without_path_logging(response: AnyResponse) -> AnyResponse:
    """Keep Django from logging "<status>: <path>" for this response: the path of an
    invitation link holds its token, which is a live credential until used."""
    if response.status_code >= 400:
        logger.warning("%s: invitation link (path withheld)", response.reason_phrase)
    response._has_been_logged = True  # type: ignore[attr-defined]  # honoured by log_response
    return response


def project_for_page(request: HttpRequest, project_id: uuid.UUID, need: Need) -> Project:
    """The project through the gate, for a page: 404 as if missing, 403 for a lacking role."""
    try:
        return access_project(request.user, project_id, need=need)
    except NotFound:
        raise Http404("Project not found.") from None
    except PermissionDenied as exc:
        raise DjangoPermissionDenied(exc.message) from None


def _form_error(form: Form, error: ApplicationError) -> None:
    """Show a service's refusal on the field it names, or above the form."""
    field = str(error.details.get("field", "")).split(".")[0].split("[")[0]
    form.add_error(field if field in form.fields else None, error.message)


_project = project_for_page


def render_project_page(
    request: HttpRequest, template: str, project: Project, status: int = 200, **context: Any
) -> HttpResponse:
    """Render a page under the project's header (``template``: its full name), with the
    caller's access, which the tabs and actions follow. Other apps' project pages use it."""
    access = selectors.project_access(project, user=request.user)
    context.update(project=project, access=access, needs={n.name: n in access.needs for n in Need})
    return render(request, template, context, status=status)


def _page(
    request: HttpRequest, template: str, project: Project, status: int = 200, **context: Any
) -> HttpResponse:
    return render_project_page(request, f"projects/{template}", project, status, **context)


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    archived = request.GET.get("archived") == "true"
    projects = selectors.project_list(user=request.user, archived=archived)
    accesses = selectors.project_accesses(list(projects), user=request.user)
    context = {
        "accesses": accesses,
        "archived": archived,
        "can_create": permissions.can_create_projects(request.user),
    }
    return render(request, "projects/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request: HttpRequest) -> HttpResponse:
    if not permissions.can_create_projects(request.user):
        raise DjangoPermissionDenied("Only lab administrators create projects.")
    form = forms.ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            project = services.project_create(
                actor=Actor.from_request(request),
                name=form.cleaned_data["name"],
                task_type=form.cleaned_data["task_type"],
                label_schema=form.cleaned_data["label_schema"],
                description=form.cleaned_data["description"],
                instructions=form.cleaned_data["instructions"],
                overlap=form.cleaned_data["overlap"],
                review_required=form.cleaned_data["review_required"],
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, f"Project “{project.name}” created.")
            return redirect("projects:detail", project_id=project.pk)
    context = {"form": form, "examples": forms.schema_examples()}
    return render(request, "projects/create.html", context)


@login_required
def project_detail(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _project(request, project_id, Need.VIEW)
    return _page(request, "detail.html", project, tab="overview")


@login_required
@require_http_methods(["GET", "POST"])
def project_settings(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _project(request, project_id, Need.MANAGE)
    form = forms.ProjectForm.for_project(project, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        fields = (
            "name",
            "description",
            "instructions",
            "overlap",
            "review_required",
            "label_schema",
        )
        changes = {key: form.cleaned_data[key] for key in fields}
        try:
            services.project_update(
                actor=Actor.from_request(request), project=project, changes=changes
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            messages.success(request, "Settings saved.")
            return redirect("projects:settings", project_id=project.pk)
    sections = views_keys.settings_sections(request, project)
    return _page(request, "settings.html", project, tab="settings", form=form, **sections)


@login_required
@require_POST
def project_archive(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _project(request, project_id, Need.MANAGE)
    archived = forms.ArchiveForm(request.POST)
    archived.is_valid()
    wanted = bool(archived.cleaned_data.get("archived"))
    services.project_archive(actor=Actor.from_request(request), project=project, archived=wanted)
    messages.success(request, "Project archived." if wanted else "Project restored.")
    return redirect("projects:settings", project_id=project.pk)


def _members_page(
    request: HttpRequest, project: Project, form: forms.InviteForm | None = None, **context: Any
) -> HttpResponse:
    rank = permissions.rank_of(request.user, project)
    return _page(
        request,
        "members.html",
        project,
        tab="members",
        members=list(selectors.member_list(project=project)),
        invitations=list(selectors.invitation_list(project=project, status="pending")),
        role_choices=forms.role_choices(rank),
        form=form or forms.InviteForm(max_rank=rank),
        **context,
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_members(request: HttpRequest, project_id: uuid.UUID) -> HttpResponse:
    project = _project(request, project_id, Need.MANAGE)
    if request.method != "POST":
        return _members_page(request, project)
    form = forms.InviteForm(request.POST, max_rank=permissions.rank_of(request.user, project))
    if not form.is_valid():
        return _members_page(request, project, form, status=400)
    try:
        link = _add_or_invite(request, project, form.cleaned_data)
    except ApplicationError as exc:
        _form_error(form, exc)
        return _members_page(request, project, form, status=exc.status)
    if link is None:
        messages.success(request, f"{form.cleaned_data['email']} is now a member.")
        return redirect("projects:members", project_id=project.pk)
    # Rendered, not redirected: the link is shown this once and never kept in a cookie.
    return _members_page(request, project, invited=form.cleaned_data["email"], link=link)


def _add_or_invite(request: HttpRequest, project: Project, data: dict[str, Any]) -> str | None:
    """Add an existing account (returns None) or invite the email (returns the link)."""
    actor, role = Actor.from_request(request), Role(data["role"])
    user = selectors.user_by_email(data["email"])
    if user is not None:
        services.member_add(actor=actor, project=project, user=user, role=role)
        return None
    _invitation, token = invitations.invitation_create(
        actor=actor, email=data["email"], project=project, role=role
    )
    return invitations.invitation_url(token)


def _member_or_404(project: Project, user_id: uuid.UUID) -> Any:
    member = selectors.member_get(project=project, user_id=user_id)
    if member is None:
        raise Http404("Member not found.")
    return member


@login_required
@require_POST
def member_role(request: HttpRequest, project_id: uuid.UUID, user_id: uuid.UUID) -> HttpResponse:
    project = _project(request, project_id, Need.MANAGE)
    member = _member_or_404(project, user_id)
    form = forms.RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose one of the roles.")
        return redirect("projects:members", project_id=project.pk)
    role = Role(form.cleaned_data["role"])
    try:
        services.member_change_role(
            actor=Actor.from_request(request), project=project, user=member, role=role
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.email} is now {role.label.lower()}.")
    return redirect("projects:members", project_id=project.pk)


@login_required
@require_POST
def member_remove(request: HttpRequest, project_id: uuid.UUID, user_id: uuid.UUID) -> HttpResponse:
    project = _project(request, project_id, Need.MANAGE)
    member = _member_or_404(project, user_id)
    try:
        services.member_remove(actor=Actor.from_request(request), project=project, user=member)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{member.email} was removed from the project.")
    return redirect("projects:members", project_id=project.pk)


def _revoke(request: HttpRequest, invitation: Invitation | None) -> None:
    if invitation is None:
        raise Http404("Invitation not found.")
    try:
        invitations.invitation_revoke(actor=Actor.from_request(request), invitation=invitation)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"The invitation for {invitation.email} was revoked.")


@login_required
@require_POST
def invitation_revoke(
    request: HttpRequest, project_id: uuid.UUID, invitation_id: uuid.UUID
) -> HttpResponse:
    project = _project(request, project_id, Need.MANAGE)
    _revoke(request, selectors.invitation_get(project=project, invitation_id=invitation_id))
    return redirect("projects:members", project_id=project.pk)


def _require_admin(request: HttpRequest) -> None:
    if not permissions.can_create_projects(request.user):
        raise DjangoPermissionDenied("Only lab administrators manage lab invitations.")


@login_required
@require_http_methods(["GET", "POST"])
def lab_invitations(request: HttpRequest) -> HttpResponse:
    _require_admin(request)
    form = forms.LabInviteForm(request.POST or None)
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        try:
            _invitation, token = invitations.invitation_create(
                actor=Actor.from_request(request), email=form.cleaned_data["email"]
            )
        except ApplicationError as exc:
            _form_error(form, exc)
        else:
            context.update(
                invited=form.cleaned_data["email"], link=invitations.invitation_url(token)
            )
            context["form"] = forms.LabInviteForm()
    context["invitations"] = list(selectors.invitation_list(project=None, status="pending"))
    status = 400 if form.errors else 200
    return render(request, "projects/lab_invitations.html", context, status=status)


@login_required
@require_POST
def lab_invitation_revoke(request: HttpRequest, invitation_id: uuid.UUID) -> HttpResponse:
    _require_admin(request)
    _revoke(request, selectors.invitation_get(project=None, invitation_id=invitation_id))
    return redirect("projects:lab_invitations")


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed link: who invites you to what, then a name and password (or, signed in as
    the invited email, one button), and you are in."""
    return without_path_logging(_invitation_page(request, token))


def _invitation_page(request: HttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_by_token(token)
    if invitation is None:
        return _closed(request, "This invitation link is not valid.", 404)
    try:
        invitations.invitation_check_open(invitation)
    except ApplicationError as exc:
        return _closed(request, exc.message, exc.status)
    # A signed-in invitee only confirms; a new person chooses a name and password.
    form = None if request.user.is_authenticated else forms.AcceptForm(request.POST or None)
    context: dict[str, Any] = {"invitation": invitation, "form": form}
    if request.method == "POST" and (form is None or form.is_valid()):
        try:
            return _accept(request, token, form)
        except ApplicationError as exc:
            if form is None:
                context["error"] = exc.message
            else:
                _form_error(form, exc)
    failed = request.method == "POST"
    return render(
        request, "projects/invitation_accept.html", context, status=400 if failed else 200
    )


def _accept(request: HttpRequest, token: str, form: forms.AcceptForm | None) -> HttpResponse:
    data = form.cleaned_data if form is not None else {}
    signing_in = not request.user.is_authenticated
    user, invitation = invitations.invitation_accept(
        actor=Actor.from_request(request),
        token=token,
        password=data.get("password", ""),
        full_name=data.get("full_name", ""),
        sign_in=signing_in,
    )
    if signing_in:
        login(request, user, backend=settings.AUTHENTICATION_BACKENDS[0])
    messages.success(request, "Welcome to Labelkeep.")
    if invitation.project_id is not None:
        return redirect("projects:detail", project_id=invitation.project_id)
    return redirect("projects:list")


def _closed(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return render(request, "projects/invitation_closed.html", {"message": message}, status=status)
