"""HTTP to one Labelkeep server with the standard library: JSON requests, streamed downloads,
and the server's error shape turned into ApiError.

Redirects are not followed: a token must only ever reach the server it was configured for, and a
redirect usually means a wrong URL (http instead of https, a missing path prefix) that is better
reported than silently chased.
"""

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from labelkeep_client.errors import ApiError, ConfigurationError
from labelkeep_client.version import __version__

USER_AGENT = f"labelkeep-client/{__version__}"
_API = "/api/v1"
_ERROR_BODY_LIMIT = 64 * 1024


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class Transport:
    def __init__(self, base_url: str, token: str, *, timeout: float) -> None:
        parts = urllib.parse.urlsplit(base_url.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ConfigurationError(f"{base_url!r} is not an http(s) URL of a Labelkeep server.")
        prefix = parts.path.rstrip("/").removesuffix(_API)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.api_root = f"{self.origin}{prefix}{_API}"
        self._token = token
        self._timeout = timeout
        self._opener = urllib.request.build_opener(_NoRedirect)

    def get_json(self, path: str) -> Any:
        """GET a path under /api/v1 (or a same-server link the API gave) and parse its JSON."""
        with self.open(path, {"Accept": "application/json"}) as response:
            body = response.read()
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ApiError("bad_response", f"The server answered {path} with no JSON.") from exc

    def open(self, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        """The open response to a GET of ``path``; any status outside 2xx raises ApiError."""
        request = urllib.request.Request(self.url(path), headers=headers, method="GET")  # noqa: S310 -- scheme checked above
        request.add_header("User-Agent", USER_AGENT)
        request.add_header("Authorization", f"Bearer {self._token}")
        try:
            response: http.client.HTTPResponse = self._opener.open(request, timeout=self._timeout)
        except urllib.error.HTTPError as exc:
            with exc:
                raise _api_error(exc) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise ApiError("unreachable", f"Cannot reach {self.origin}: {reason}") from exc
        return response

    def url(self, path: str) -> str:
        """An absolute URL on this server: for a path under /api/v1, or for a link the server
        gave (a page's ``next``), of which only the path and query are kept."""
        if path.startswith(("http://", "https://")):
            parts = urllib.parse.urlsplit(path)
            query = f"?{parts.query}" if parts.query else ""
            return f"{self.origin}{parts.path}{query}"
        return f"{self.api_root}{path}"


def quote(value: object) -> str:
    return urllib.parse.quote(str(value), safe="")


def _api_error(exc: urllib.error.HTTPError) -> ApiError:
    if 300 <= exc.code < 400:
        location = exc.headers.get("Location", "?")
        return ApiError(
            "redirected",
            f"The server redirected to {location}; set the client's URL to the server's own.",
            status=exc.code,
        )
    body = exc.read(_ERROR_BODY_LIMIT)
    try:
        error = json.loads(body)["error"]
        return ApiError(
            str(error["code"]),
            str(error["message"]),
            status=exc.code,
            details=error.get("details") or {},
        )
    except (ValueError, KeyError, TypeError):
        return ApiError(f"http_{exc.code}", f"HTTP {exc.code} {exc.reason}", status=exc.code)
