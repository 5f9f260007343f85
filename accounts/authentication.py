"""``Authorization: Bearer lk_...`` for the API. Every accepted use is audited (``token.used``);
a revoked or expired token, or one whose owner is deactivated, fails at once with a 401 that
says which.

A refused token whose prefix names a row is recorded here as ``token.refused``, with the token
and the reason, and nothing more: its error is ``RefusalRecorded``, so the API's recorder of
refusals adds no ``request.denied``. A malformed token, or one whose prefix names no row, names
nothing to record here: that refusal is the API's ``request.denied`` (one event either way).
"""

from datetime import timedelta
from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts import tokens
from accounts.models import ApiToken, TokenState, User
from audit.models import Outcome
from audit.services import Actor, RefusalRecorded, record

# last_used_at is refreshed at most this often, so a busy pipeline does not write on every call.
_LAST_USED_RESOLUTION = timedelta(seconds=60)
_MAX_PATH = 300
_REFUSALS = {
    TokenState.REVOKED: "This API token has been revoked.",
    TokenState.EXPIRED: "This API token has expired.",
}


class TokenRefused(RefusalRecorded, exceptions.AuthenticationFailed):
    """A 401 for a token refused after ``token.refused`` was recorded with the reason."""


class BearerTokenAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        parts = tokens.parse(raw.strip())
        if parts is None:
            raise exceptions.AuthenticationFailed("Malformed API token.")
        token = ApiToken.objects.select_related("user").filter(prefix=parts.prefix).first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid API token.")
        self._check(request, token, parts.secret)
        self._touch(token)
        record(actor=_actor(request, token), action="token.used", details=_call(request))
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'

    @staticmethod
    def _check(request: Request, token: ApiToken, secret: str) -> None:
        if not tokens.secret_matches(secret, token.secret_hash):
            problem, message = "wrong_secret", "Invalid API token."
        elif token.state != TokenState.ACTIVE:
            problem, message = token.state, _REFUSALS[TokenState(token.state)]
        elif not token.user.is_active:
            problem, message = "owner_inactive", "The owner of this API token is deactivated."
        else:
            return
        # Someone holds this token's prefix: worth a line in the log, whoever they are.
        record(
            actor=_actor(request, token),
            action="token.refused",
            outcome=Outcome.DENIED,
            details={**_call(request), "reason": problem},
        )
        raise TokenRefused(message)

    @staticmethod
    def _touch(token: ApiToken) -> None:
        now = timezone.now()
        if token.last_used_at is None or now - token.last_used_at > _LAST_USED_RESOLUTION:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now


def _call(request: Request) -> dict[str, str]:
    # The route pattern, not the path: a path can carry a secret (an invitation token), and a
    # query string filters or content; neither has a place in the log.
    match = getattr(request, "resolver_match", None)
    route = f"/{match.route}" if match is not None and match.route else "(unresolved)"
    return {"method": request.method or "", "route": route[:_MAX_PATH]}


def _actor(request: Request, token: ApiToken) -> Actor:
    # Built by hand: Actor.from_request would read request.user, which is being decided here.
    # record() bounds and cleans the header text.
    return Actor(
        user=token.user,
        via="token",
        token_id=token.pk,
        ip=request.META.get("REMOTE_ADDR"),
        user_agent=request.headers.get("User-Agent", ""),
        request_id=getattr(request, "request_id", ""),
    )


def token_of(request: Any) -> ApiToken | None:
    """The API token the request authenticated with, if any."""
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, ApiToken) else None
