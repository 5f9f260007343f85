"""DRF permission classes about who is calling (project rights are in projects.permissions)."""

from typing import TYPE_CHECKING

from rest_framework import permissions
from rest_framework.request import Request

from accounts.authentication import token_of
from accounts.models import TokenScope

if TYPE_CHECKING:
    from rest_framework.views import APIView


def is_export_token(request: Request) -> bool:
    token = token_of(request)
    return token is not None and token.scope == TokenScope.EXPORT


class IsAuthenticatedPerson(permissions.BasePermission):
    """A signed-in person or a full-scope token; an export-scoped token gets 403."""

    message = "An export-scoped API token cannot do this; use a full token or sign in."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        return not is_export_token(request)


class ReadOnlyForExportTokens(IsAuthenticatedPerson):
    """Any authenticated caller may read; only a person or a full-scope token may write."""

    message = "An export-scoped API token is read-only."

    def has_permission(self, request: Request, view: "APIView") -> bool:
        if request.method in permissions.SAFE_METHODS:
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)
