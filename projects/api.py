"""Projects and members over the API (``/api/v1/``); invitations are in ``api_invitations``,
key operations and job progress in ``api_keys``.

Each handler: input serializer -> ``access_project`` (or a lab-level permission) -> service or
selector -> output serializer. Who may do what:

- projects: any signed-in person lists and reads the projects they may see; lab admins create,
  and delete (re-entering their password); managers (and admins) change, archive and restore.
- members and project invitations: managers and admins only. Other roles do not list members:
  the role table gives them no need beyond ``view_project`` on the project itself, and the
  payload of a project already tells them their own role.
- lab invitations: lab admins. Accepting: anyone holding the invitation's token.
- export-scoped API tokens read and export their projects and nothing else.
"""

from typing import Any

from django.db import transaction
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import permissions as drf_permissions
from rest_framework import status
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import token_of
from accounts.models import TokenScope
from audit.services import Actor
from core.api import CursorPagination
from core.errors import NotFound
from projects import deletion, invitations, selectors, serializers, services
from projects.models import Project, Role
from projects.permissions import Need, access_project

_ERROR_MEANINGS = {
    400: "Bad input; `details.field` names the field.",
    401: "Not signed in, or the API token is invalid, revoked or expired.",
    403: "Signed in, but your role or token does not allow this.",
    404: "No such object, or one you may not see.",
    409: "The object's state forbids this (archived project, used invitation, last manager).",
    413: "The upload is larger than the configured limit (`details.limit`, in bytes).",
    416: "The asked-for byte range starts beyond the file (`details.size` says its size).",
    429: "Too many attempts; the `Retry-After` header says in how many seconds to try again.",
    503: "The key provider, the key store or the file store cannot be reached.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {
        code: OpenApiResponse(serializers.ErrorOut, description=_ERROR_MEANINGS[code])
        for code in codes
    }


# The error answers of a project-scoped endpoint that changes something.
_ERRORS = errors(400, 401, 403, 404, 409)


def uuid_param(name: str, what: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=what)


PROJECT_ID = uuid_param("project_id", "The project.")
USER_ID = uuid_param("user_id", "The member (a user id).")
ROLE_BODY = {
    "type": "object",
    "properties": {"role": {"type": "string", "enum": [role.value for role in Role]}},
    "required": ["role"],
    "additionalProperties": False,
}


class SignedIn(drf_permissions.BasePermission):
    """A signed-in, active person (session or API token); what they may do is up to the gate."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.is_active)


class FullRights(SignedIn):
    """Lab-level writes: refused to export-scoped tokens, which only read their projects."""

    message = "This API token may only read and export its projects."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = token_of(request)
        return super().has_permission(request, view) and (
            token is None or token.scope == TokenScope.FULL
        )


class LabAdmin(FullRights):
    message = "Only lab administrators may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return super().has_permission(request, view) and request.user.is_staff


def page_of(paginator: BasePagination, queryset: Any, request: Request, view: APIView) -> list[Any]:
    return list(paginator.paginate_queryset(queryset, request, view=view) or [])


def project_for(request: Request, project_id: str, need: Need) -> Project:
    return access_project(request.user, project_id, need=need, token=token_of(request))


def _project_out(request: Request, project: Project) -> dict[str, Any]:
    access = selectors.project_access(project, user=request.user, token=token_of(request))
    return serializers.ProjectOut(access).data


class ProjectListApi(APIView):
    pagination_class = CursorPagination

    def get_permissions(self) -> list[drf_permissions.BasePermission]:
        return [SignedIn()] if self.request.method == "GET" else [FullRights()]

    @extend_schema(
        summary="List the projects I may see",
        parameters=[
            OpenApiParameter("archived", OpenApiTypes.BOOL, description="Default false."),
        ],
        responses={200: serializers.ProjectOut(many=True), **errors(400, 401)},
    )
    def get(self, request: Request) -> Response:
        query = serializers.ProjectListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        token = token_of(request)
        projects = selectors.project_list(
            user=request.user, token=token, archived=query.validated_data["archived"]
        )
        paginator = self.pagination_class()
        page = page_of(paginator, projects, request, self)
        accesses = selectors.project_accesses(page, user=request.user, token=token)
        return paginator.get_paginated_response(serializers.ProjectOut(accesses, many=True).data)

    @extend_schema(
        summary="Create a project (lab admins); the creator becomes its manager",
        request=serializers.ProjectCreateIn,
        responses={201: serializers.ProjectOut, **errors(400, 401, 403)},
    )
    def post(self, request: Request) -> Response:
        data = serializers.ProjectCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        project = services.project_create(
            actor=Actor.from_request(request),
            name=fields["name"],
            task_type=fields["task_type"],
            label_schema=fields["label_schema"],
            description=fields["description"],
            instructions=fields["instructions"],
            overlap=fields["overlap"],
            **{name: fields[name] for name in services.WORK_SETTINGS if name in fields},
        )
        return Response(_project_out(request, project), status=status.HTTP_201_CREATED)


class BodyOnDeleteSchema(AutoSchema):
    """Documents a DELETE's JSON body (the step-up password), which drf-spectacular otherwise
    leaves out for every method but PUT, PATCH and POST."""

    def _get_request_body(self, direction: str = "request") -> Any:
        method = self.method
        if method == "DELETE":
            self.method = "POST"  # only to pass the method check; the body is described alike
        try:
            return super()._get_request_body(direction)  # type: ignore[no-untyped-call]
        finally:
            self.method = method


class ProjectDetailApi(APIView):
    schema = BodyOnDeleteSchema()

    def get_permissions(self) -> list[drf_permissions.BasePermission]:
        return [LabAdmin()] if self.request.method == "DELETE" else [SignedIn()]

    @extend_schema(
        summary="Read a project",
        parameters=[PROJECT_ID],
        responses={200: serializers.ProjectOut, **errors(401, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.VIEW)
        return Response(_project_out(request, project))

    @extend_schema(
        summary="Change, archive or restore a project (managers)",
        description="Fields other than `archived` are refused (409) while the project is archived.",
        parameters=[PROJECT_ID],
        request=serializers.ProjectUpdateIn,
        responses={200: serializers.ProjectOut, **_ERRORS},
    )
    def patch(self, request: Request, project_id: str) -> Response:
        data = serializers.ProjectUpdateIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.MANAGE)
        changes = dict(data.validated_data)
        archived = changes.pop("archived", None)
        actor = Actor.from_request(request)
        with transaction.atomic():
            # Restore before changing, archive after: a single PATCH may do either with edits.
            if archived is False:
                services.project_archive(actor=actor, project=project, archived=False)
            if changes:
                services.project_update(actor=actor, project=project, changes=changes)
            if archived is True:
                services.project_archive(actor=actor, project=project, archived=True)
        return Response(_project_out(request, project))

    @extend_schema(
        summary="Delete a project for good (lab admins, re-entering their password)",
        description=(
            "Crypto-shredding: every version of the project's key is destroyed at once, which "
            "makes its data unreadable everywhere, database backups and bucket versions "
            "included. From then on the project answers 404 to everyone and is gone from every "
            "list; a background job purges its rows and files (`purge_state`). A wrong password "
            "is refused with 403 `reauthentication_failed`; repeated wrong passwords lock the "
            "account out (429, with `Retry-After`), at the sign-in form too."
        ),
        parameters=[PROJECT_ID],
        request=serializers.ProjectDeleteIn,
        responses={
            202: serializers.ShredReceiptOut,
            **errors(400, 401, 403, 404, 409, 429, 503),
        },
    )
    def delete(self, request: Request, project_id: str) -> Response:
        data = serializers.ProjectDeleteIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.MANAGE)
        receipt = deletion.project_delete(
            actor=Actor.from_request(request),
            project=project,
            password=data.validated_data["password"],
        )
        receipt.refresh_from_db()  # the purge may have run already (Celery in eager mode)
        out = serializers.ShredReceiptOut(receipt)
        return Response(out.data, status=status.HTTP_202_ACCEPTED)


class MemberPagination(CursorPagination):
    # Users have no created_at; the unique email orders them stably.
    ordering = "email"


class MemberListApi(APIView):
    permission_classes = [SignedIn]
    pagination_class = MemberPagination

    @extend_schema(
        summary="List the members of a project (managers)",
        parameters=[PROJECT_ID],
        responses={200: serializers.MemberOut(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        paginator = self.pagination_class()
        page = page_of(paginator, selectors.member_list(project=project), request, self)
        return paginator.get_paginated_response(serializers.MemberOut(page, many=True).data)

    @extend_schema(
        summary="Add a member by email, or invite them when there is no account yet",
        description=(
            "`result` says which happened: `added` (an existing account got the role) or "
            "`invited` (an invitation was created and emailed)."
        ),
        parameters=[PROJECT_ID],
        request=serializers.MemberAddIn,
        responses={201: serializers.MemberAddOut, **_ERRORS},
    )
    def post(self, request: Request, project_id: str) -> Response:
        data = serializers.MemberAddIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.MANAGE)
        email, role = data.validated_data["email"], Role(data.validated_data["role"])
        return _add_or_invite(Actor.from_request(request), project, email, role)


def _add_or_invite(actor: Actor, project: Project, email: str, role: Role) -> Response:
    """An existing account becomes a member at once; an unknown email gets an invitation."""
    body: dict[str, Any] = {"result": "added", "member": None, "invitation": None}
    context: dict[str, Any] = {}
    user = selectors.user_by_email(email)
    if user is not None:
        services.member_add(actor=actor, project=project, user=user, role=role)
        body["member"] = selectors.member_get(project=project, user_id=user.pk)
    else:
        invitation, token = invitations.invitation_create(
            actor=actor, email=email, project=project, role=role
        )
        body.update(result="invited", invitation=invitation)
        context["accept_url"] = invitations.invitation_url(token)
    out = serializers.MemberAddOut(body, context=context)
    return Response(out.data, status=status.HTTP_201_CREATED)


class MemberDetailApi(APIView):
    permission_classes = [SignedIn]

    def _member(self, request: Request, project_id: str, user_id: str) -> tuple[Project, Any]:
        project = project_for(request, project_id, Need.MANAGE)
        member = selectors.member_get(project=project, user_id=user_id)
        if member is None:
            raise NotFound("Member not found.", code="member_not_found")
        return project, member

    @extend_schema(
        summary="Change a member's role (managers; never above your own)",
        parameters=[PROJECT_ID, USER_ID],
        # Spelled out: a PATCH body is documented as all-optional, but `role` is required.
        request={"application/json": ROLE_BODY},
        responses={200: serializers.MemberOut, **_ERRORS},
    )
    def patch(self, request: Request, project_id: str, user_id: str) -> Response:
        data = serializers.MemberRoleIn(data=request.data)
        data.is_valid(raise_exception=True)
        project, member = self._member(request, project_id, user_id)
        services.member_change_role(
            actor=Actor.from_request(request),
            project=project,
            user=member,
            role=Role(data.validated_data["role"]),
        )
        return Response(
            serializers.MemberOut(selectors.member_get(project=project, user_id=member.pk)).data
        )

    @extend_schema(
        summary="Remove a member (managers); a project keeps one manager",
        parameters=[PROJECT_ID, USER_ID],
        request=None,
        responses={204: None, **errors(401, 403, 404, 409)},
    )
    def delete(self, request: Request, project_id: str, user_id: str) -> Response:
        project, member = self._member(request, project_id, user_id)
        services.member_remove(actor=Actor.from_request(request), project=project, user=member)
        return Response(status=status.HTTP_204_NO_CONTENT)
