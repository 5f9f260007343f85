"""The API token endpoints: /api/v1/tokens/ and /api/v1/tokens/{token_id}.

Only a signed-in person or a full-scope token manages tokens; an export-scoped token gets 403.
"""

from typing import Any, cast

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_permissions import IsAuthenticatedPerson
from accounts.models import ApiToken, TokenScope, TokenState, User
from audit.services import Actor
from core.api import StrictSerializer
from projects import tokens


class TokenCreateInput(StrictSerializer):
    name = serializers.CharField(max_length=100)
    scope = serializers.ChoiceField(choices=TokenScope.choices)
    # Project ids are checked one by one by the service, which names the bad one projects[i].
    projects = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=tokens.MAX_PROJECTS
    )
    expires_at = serializers.DateTimeField(required=False, allow_null=True)


class TokenOutput(serializers.Serializer[Any]):
    """A token as listed: never its secret. ``prefix`` is the public part (``lk_<prefix>_...``)."""

    id = serializers.UUIDField()
    name = serializers.CharField()
    prefix = serializers.CharField()
    scope = serializers.ChoiceField(choices=TokenScope.choices)
    state = serializers.ChoiceField(choices=TokenState.choices)
    projects = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    last_used_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ListField(child=serializers.UUIDField()))
    def get_projects(self, token: ApiToken) -> list[str]:
        return [str(scope.project_id) for scope in token.project_scopes.all()]


class TokenCreatedOutput(TokenOutput):
    token = serializers.SerializerMethodField(help_text="The token itself. Shown this once.")

    @extend_schema_field(OpenApiTypes.STR)
    def get_token(self, token: ApiToken) -> str:
        return cast(str, self.context["plaintext"])


_TOKEN_ID = OpenApiParameter("token_id", OpenApiTypes.UUID, OpenApiParameter.PATH)


class TokenListApi(GenericAPIView[ApiToken]):
    permission_classes = [IsAuthenticatedPerson]

    @extend_schema(responses=TokenOutput(many=True))
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(tokens.token_list(user=cast(User, request.user)))
        return self.get_paginated_response(TokenOutput(page, many=True).data)

    @extend_schema(request=TokenCreateInput, responses={201: TokenCreatedOutput})
    def post(self, request: Request) -> Response:
        data = TokenCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields: dict[str, Any] = data.validated_data
        created = tokens.token_create(
            actor=Actor.from_request(request),
            name=fields["name"],
            scope=fields["scope"],
            projects=fields.get("projects"),
            expires_at=fields.get("expires_at"),
        )
        output = TokenCreatedOutput(created.token, context={"plaintext": created.plaintext})
        return Response(output.data, status=status.HTTP_201_CREATED)


class TokenDetailApi(APIView):
    permission_classes = [IsAuthenticatedPerson]

    @extend_schema(parameters=[_TOKEN_ID], responses=TokenOutput)
    def get(self, request: Request, token_id: str) -> Response:
        token = tokens.token_get(user=cast(User, request.user), token_id=token_id)
        return Response(TokenOutput(token).data)

    @extend_schema(parameters=[_TOKEN_ID], responses={204: None})
    def delete(self, request: Request, token_id: str) -> Response:
        token = tokens.token_get(user=cast(User, request.user), token_id=token_id)
        tokens.token_revoke(actor=Actor.from_request(request), token=token)
        return Response(status=status.HTTP_204_NO_CONTENT)


# Mounted by config/urls.py under /api/v1/ (namespace "api").
api_urls = [
    path("tokens/", TokenListApi.as_view(), name="tokens"),
    path("tokens/<str:token_id>", TokenDetailApi.as_view(), name="token"),
]
