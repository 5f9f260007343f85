"""Shared API plumbing: deny-by-default permission, cursor pagination, strict input, errors."""

from typing import TYPE_CHECKING, Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404
from rest_framework import exceptions as drf_exceptions
from rest_framework import pagination, permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from core import errors

if TYPE_CHECKING:
    # Imported for annotations only: rest_framework.views imports this module's DenyAll.
    from rest_framework.views import APIView


class DenyAll(permissions.BasePermission):
    """The default permission: a view must name what it allows."""

    def has_permission(self, request: Request, view: "APIView") -> bool:
        return False


class CursorPagination(pagination.CursorPagination):
    page_size = 50
    max_page_size = 500
    page_size_query_param = "page_size"
    ordering = "-created_at"


class StrictSerializer(serializers.Serializer[Any]):
    """An input serializer that rejects fields it does not know, instead of ignoring them."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: ["Unknown field."] for name in unknown}, code="unknown_field"
                )
        return super().to_internal_value(data)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _flatten(detail: Any, path: str = "") -> list[tuple[str, str, str]]:
    """Turn DRF's nested error detail into (field path, code, message) triples, in order."""
    if isinstance(detail, dict):
        out: list[tuple[str, str, str]] = []
        for key, value in detail.items():
            out += _flatten(value, _join(path, key))
        return out
    if isinstance(detail, list):
        if all(isinstance(item, drf_exceptions.ErrorDetail) for item in detail):
            return [(path, item.code or "invalid", str(item)) for item in detail]
        out = []
        for index, item in enumerate(detail):
            out += _flatten(item, f"{path}[{index}]")
        return out
    code = getattr(detail, "code", None) or "invalid"
    return [(path, code, str(detail))]


def _join(path: str, key: Any) -> str:
    # ListField/ListSerializer children come keyed by int: name them like JSON paths (a[0]).
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        return f"{path}[{key}]"
    if key == "non_field_errors":
        return path
    return f"{path}.{key}" if path else str(key)


def _validation_response(exc: drf_exceptions.ValidationError) -> Response:
    problems = _flatten(exc.detail) or [("", "invalid", "Invalid input.")]
    field, code, message = problems[0]
    fields: dict[str, list[str]] = {}
    for path, _code, text in problems:
        fields.setdefault(path or "non_field_errors", []).append(text)
    details: dict[str, Any] = {"fields": fields}
    if field:
        details["field"] = field
        message = f"{field}: {message}"
    status_code = 400
    return Response(error_body(_stable_code(code), message, details), status=status_code)


def _stable_code(code: str) -> str:
    # DRF's own codes are already snake_case words ("required", "null", "max_length").
    return code if code.replace("_", "").isalnum() else "invalid"


_DRF_CODES = {
    drf_exceptions.NotAuthenticated: "not_authenticated",
    drf_exceptions.AuthenticationFailed: "authentication_failed",
    drf_exceptions.PermissionDenied: "permission_denied",
    drf_exceptions.NotFound: "not_found",
    drf_exceptions.MethodNotAllowed: "method_not_allowed",
    drf_exceptions.NotAcceptable: "not_acceptable",
    drf_exceptions.UnsupportedMediaType: "unsupported_media_type",
    drf_exceptions.Throttled: "throttled",
    drf_exceptions.ParseError: "malformed_request",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, errors.ApplicationError):
        response = Response(error_body(exc.code, exc.message, exc.details), status=exc.status)
        # A 429 raised by a service says when to come back; clients read it from the header.
        if exc.status == 429 and "retry_after" in exc.details:
            response["Retry-After"] = str(exc.details["retry_after"])
        return response
    if isinstance(exc, Http404):
        exc = drf_exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf_exceptions.PermissionDenied()
    if isinstance(exc, drf_exceptions.ValidationError):
        return _validation_response(exc)
    if not isinstance(exc, drf_exceptions.APIException):
        return None
    code = _DRF_CODES.get(type(exc), exc.default_code)
    response = Response(error_body(code, str(exc.detail)), status=exc.status_code)
    wait = getattr(exc, "wait", None)
    if isinstance(exc, drf_exceptions.Throttled) and wait is not None:
        response["Retry-After"] = str(int(wait) + 1)
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        response["WWW-Authenticate"] = auth_header
    return response
