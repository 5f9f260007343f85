"""Invitations over the API: a project's (managers), the lab's (admins), and accepting one.

The token of an invitation is its only credential: it appears in the accept URL, so responses
of that endpoint are kept out of Django's request log (see ``views.without_path_logging``).
"""

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions as drf_permissions
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import token_of
from accounts.models import TokenScope
from audit.services import Actor
from core.api import CursorPagination
from core.errors import NotFound
from projects import invitations, selectors, serializers
from projects.api import (
    PROJECT_ID,
    FullRights,
    LabAdmin,
    SignedIn,
    errors,
    page_of,
    project_for,
    uuid_param,
)
from projects.models import Project, Role
from projects.permissions import Need
from projects.views import without_path_logging

INVITATION_ID = uuid_param("invitation_id", "The invitation.")
INVITATION_TOKEN = OpenApiParameter(
    "token", OpenApiTypes.STR, OpenApiParameter.PATH, description="The token from the link."
)


# Anyone may accept: the invitation's token is the credential.
OPTIONAL_AUTH: list[dict[str, list[str]]] = [{"bearerToken": []}, {"cookieAuth": []}, {}]


class InvitationHolder(drf_permissions.BasePermission):
    """Anyone may try an invitation token (it is the credential), except export-scoped tokens."""

    message = FullRights.message

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = token_of(request)
        return token is None or token.scope == TokenScope.FULL


def _invitations_page(view: APIView, request: Request, project: Project | None) -> Response:
    query = serializers.InvitationListQuery(data=request.query_params)
    query.is_valid(raise_exception=True)
    invitations = selectors.invitation_list(
        project=project, status=query.validated_data.get("status")
    )
    paginator = CursorPagination()
    page = page_of(paginator, invitations, request, view)
    return paginator.get_paginated_response(serializers.InvitationOut(page, many=True).data)


def _created(invitation: Any, token: str) -> Response:
    context = {"accept_url": invitations.invitation_url(token)}
    out = serializers.InvitationCreatedOut(invitation, context=context)
    return Response(out.data, status=status.HTTP_201_CREATED)


STATUS_FILTER = OpenApiParameter(
    "status",
    OpenApiTypes.STR,
    enum=list(selectors.INVITATION_STATUSES),
    description="Only invitations in this state (default: all).",
)


class ProjectInvitationListApi(APIView):
    permission_classes = [SignedIn]
    pagination_class = CursorPagination

    @extend_schema(
        summary="List a project's invitations (managers)",
        parameters=[PROJECT_ID, STATUS_FILTER],
        responses={200: serializers.InvitationOut(many=True), **errors(400, 401, 403, 404)},
    )
    def get(self, request: Request, project_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        return _invitations_page(self, request, project)

    @extend_schema(
        summary="Invite someone to a project with a role (managers; never above your own)",
        parameters=[PROJECT_ID],
        request=serializers.ProjectInvitationIn,
        responses={201: serializers.InvitationCreatedOut, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, project_id: str) -> Response:
        data = serializers.ProjectInvitationIn(data=request.data)
        data.is_valid(raise_exception=True)
        project = project_for(request, project_id, Need.MANAGE)
        invitation, token = invitations.invitation_create(
            actor=Actor.from_request(request),
            email=data.validated_data["email"],
            project=project,
            role=Role(data.validated_data["role"]),
        )
        return _created(invitation, token)


class ProjectInvitationDetailApi(APIView):
    permission_classes = [SignedIn]

    @extend_schema(
        summary="Revoke a project invitation (managers)",
        parameters=[PROJECT_ID, INVITATION_ID],
        request=None,
        responses={204: None, **errors(401, 403, 404, 409)},
    )
    def delete(self, request: Request, project_id: str, invitation_id: str) -> Response:
        project = project_for(request, project_id, Need.MANAGE)
        invitation = selectors.invitation_get(project=project, invitation_id=invitation_id)
        if invitation is None:
            raise NotFound("Invitation not found.", code="invitation_not_found")
        invitations.invitation_revoke(actor=Actor.from_request(request), invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LabInvitationListApi(APIView):
    permission_classes = [LabAdmin]
    pagination_class = CursorPagination

    @extend_schema(
        summary="List invitations to join the lab without a project (lab admins)",
        parameters=[STATUS_FILTER],
        responses={200: serializers.InvitationOut(many=True), **errors(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        return _invitations_page(self, request, None)

    @extend_schema(
        summary="Invite someone to join the lab, with no project yet (lab admins)",
        request=serializers.LabInvitationIn,
        responses={201: serializers.InvitationCreatedOut, **errors(400, 401, 403, 409)},
    )
    def post(self, request: Request) -> Response:
        data = serializers.LabInvitationIn(data=request.data)
        data.is_valid(raise_exception=True)
        invitation, token = invitations.invitation_create(
            actor=Actor.from_request(request), email=data.validated_data["email"]
        )
        return _created(invitation, token)


class LabInvitationDetailApi(APIView):
    permission_classes = [LabAdmin]

    @extend_schema(
        summary="Revoke a lab invitation (lab admins)",
        parameters=[INVITATION_ID],
        request=None,
        responses={204: None, **errors(401, 403, 404, 409)},
    )
    def delete(self, request: Request, invitation_id: str) -> Response:
        invitation = selectors.invitation_get(project=None, invitation_id=invitation_id)
        if invitation is None:
            raise NotFound("Invitation not found.", code="invitation_not_found")
        invitations.invitation_revoke(actor=Actor.from_request(request), invitation=invitation)
        return Response(status=status.HTTP_204_NO_CONTENT)


class InvitationAcceptApi(APIView):
    permission_classes = [InvitationHolder]

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        return without_path_logging(response)

    @extend_schema(
        summary="Accept an invitation",
        description=(
            "Anonymous: creates the invited account with `password` (and `full_name`). "
            "Signed in: the account must be the invited email; the body is then empty. "
            "Single-use; 409 when used, revoked or expired."
        ),
        parameters=[INVITATION_TOKEN],
        auth=OPTIONAL_AUTH,  # type: ignore[arg-type]
        request=serializers.InvitationAcceptIn,
        responses={201: serializers.InvitationAcceptOut, **errors(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, token: str) -> Response:
        data = serializers.InvitationAcceptIn(data=request.data)
        data.is_valid(raise_exception=True)
        user, invitation = invitations.invitation_accept(
            actor=Actor.from_request(request),
            token=token,
            password=data.validated_data.get("password", ""),
            full_name=data.validated_data.get("full_name", ""),
        )
        body = {"user": user, "project": invitation.project_id, "role": invitation.role or None}
        return Response(serializers.InvitationAcceptOut(body).data, status=status.HTTP_201_CREATED)
