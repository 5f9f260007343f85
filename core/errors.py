"""The one error hierarchy that services raise and the API turns into responses.

Each error carries a stable snake_case ``code`` that clients may branch on, a human message
that says what is wrong, and optional ``details`` (for example the offending field's path).
"""

from typing import Any


class ApplicationError(Exception):
    status = 400
    code = "bad_request"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class ValidationFailed(ApplicationError):
    status = 400
    code = "invalid"


class NotAuthenticated(ApplicationError):
    status = 401
    code = "not_authenticated"


class PermissionDenied(ApplicationError):
    status = 403
    code = "permission_denied"


class NotFound(ApplicationError):
    status = 404
    code = "not_found"


class Conflict(ApplicationError):
    status = 409
    code = "conflict"


class TooLarge(ApplicationError):
    status = 413
    code = "too_large"


class ServiceUnavailable(ApplicationError):
    status = 503
    code = "service_unavailable"
