"""The SSRF guard: the one way the server makes a request of its own (docs/webhooks.md).

Every server-side request to a URL that a user gave goes through here. ``allowed_url`` is the
static part (https only, no user info, a host on the lab administrator's allowlist);
``check_url`` adds the resolver's view: the name is resolved once, and every address it
resolves to must be public (or in a network the administrator opened), whatever way the
address was spelled in the URL or in DNS. ``post_json`` then connects to exactly the addresses
that were checked, never resolving the name again (a DNS answer that changes between the check
and the connection cannot redirect the request), verifies the certificate against the host name,
bounds the time and the bytes it spends, and follows no redirect.
"""

import functools
import http.client
import io
import ipaddress
import socket
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from core.errors import ApplicationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# The system resolver. The guard calls it exactly once per request; tests put a resolver of
# their own here to play a DNS server whose answers change.
getaddrinfo = socket.getaddrinfo

CONNECT_TIMEOUT_SECONDS = 5.0
# The whole exchange, from the first connection attempt to the last byte read.
TIMEOUT_SECONDS = 10.0
# What is read of a response's body (then dropped): the status is the answer.
RESPONSE_BYTES_CAP = 64 * 1024
MAX_URL_LENGTH = 2000
USER_AGENT = "Labelkeep-Webhooks/1"


class OutboundError(ApplicationError):
    """A request that was not made, or not answered as it must be (``code`` says why)."""

    status = 502
    code = "outbound_failed"


class UrlRefused(OutboundError):
    """The URL itself is refused (scheme, user info, allowlist): the same URL always will be."""

    status = 400
    code = "url_not_allowed"


class AddressRefused(OutboundError):
    """The host resolves to an address that the server must not reach."""

    status = 400
    code = "address_not_allowed"


@dataclass(frozen=True)
class Destination:
    """A URL the guard accepted: the host to name (SNI, Host) and, once resolved, where to go."""

    host: str
    port: int
    target: str  # path and query, as sent in the request line
    addresses: tuple[tuple[int, tuple[Any, ...]], ...] = ()  # (family, sockaddr), all checked


# --- The URL --------------------------------------------------------------------------------


def allowed_url(url: str) -> Destination:
    """The static check, without DNS: https, no user info, a host on the allowlist."""
    parts = _split(url)
    if parts.scheme != "https":
        raise _refused("url_not_https", "The URL must start with https://.")
    if "@" in parts.netloc:
        raise _refused("url_not_allowed", "The URL must not contain a user name or password.")
    host = _host_of(parts.hostname or "")
    if not _on_allowlist(host):
        raise _refused(
            "host_not_in_allowlist",
            f"The host {host} is not on the lab's webhook allowlist "
            "(LABELKEEP_WEBHOOK_ALLOWED_HOSTS, set by the lab administrator).",
        )
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Destination(host=host, port=_port_of(parts), target=target)


def _split(url: str) -> Any:
    if len(url) > MAX_URL_LENGTH:
        raise _refused("url_not_allowed", f"The URL is longer than {MAX_URL_LENGTH} characters.")
    # Parsers disagree on backslashes and control characters: refuse them rather than guess.
    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        raise _refused("url_not_allowed", "The URL contains spaces, control characters or '\\'.")
    try:
        return urlsplit(url)
    except ValueError:
        raise _refused("url_not_allowed", "The URL cannot be parsed.") from None


def _host_of(hostname: str) -> str:
    host = hostname.removesuffix(".")
    if not host:
        raise _refused("url_not_allowed", "The URL names no host.")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise _refused("url_not_allowed", "The URL's host name is not valid.") from None


def _port_of(parts: Any) -> int:
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise _refused("url_not_allowed", "The URL's port is not a number from 1 to 65535.")
    return int(port or 443)


def _on_allowlist(host: str) -> bool:
    for pattern in settings.WEBHOOK_ALLOWED_HOSTS:
        entry = pattern.strip().lower().removesuffix(".")
        if entry.startswith("*."):
            if len(entry) > 2 and host.endswith(entry[1:]):
                return True
        elif entry and host == entry:
            return True
    return False


def _refused(code: str, message: str) -> UrlRefused:
    return UrlRefused(message, code=code, details={"field": "url"})


# --- The addresses --------------------------------------------------------------------------

_net = ipaddress.ip_network
# Never reached, whatever the administrator opened: "this host" (0.0.0.0 reaches the local
# machine on Linux), multicast, broadcast, and the cloud metadata services.
_NEVER = tuple(
    _net(n)
    for n in (
        "0.0.0.0/8", "224.0.0.0/4", "255.255.255.255/32",
        "169.254.169.254/32", "169.254.169.253/32", "169.254.170.2/32", "100.100.100.200/32",
        "::/128", "ff00::/8", "fd00:ec2::254/128", "fd00:ec2::23/128",
    )
)  # fmt: skip
# Not public, beyond what ``ipaddress`` flags: IETF protocol assignments, the 6to4 relay, the
# local-use NAT64 prefix and the deprecated site-local IPv6 range.
_NOT_PUBLIC = tuple(
    _net(n) for n in ("192.0.0.0/24", "192.88.99.0/24", "64:ff9b:1::/48", "fec0::/10")
)
_V4_COMPATIBLE = _net("::/96")
_NAT64 = _net("64:ff9b::/96")


def address_allowed(address: IPAddress) -> bool:
    """True if the server may connect to this address (in every form it embeds)."""
    opened = _opened_networks()
    for form in _forms(address):
        if any(form in network for network in _NEVER):
            return False
        if any(form.version == network.version and form in network for network in opened):
            continue
        if not _public(form):
            return False
    return True


def _forms(address: IPAddress) -> list[IPAddress]:
    """The address, or the IPv4 address that an IPv6 spelling stands for, and what it embeds."""
    if isinstance(address, ipaddress.IPv4Address):
        return [address]
    low32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _V4_COMPATIBLE or address in _NAT64:
        return [low32]
    if address.sixtofour is not None:
        return [address, address.sixtofour]
    return [address]


def _public(address: IPAddress) -> bool:
    flagged = (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or getattr(address, "is_site_local", False)
    )
    return address.is_global and not flagged and not any(address in n for n in _NOT_PUBLIC)


@functools.cache
def _parse_networks(networks: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(n.strip(), strict=False) for n in networks)


def _opened_networks() -> tuple[Any, ...]:
    return _parse_networks(tuple(settings.WEBHOOK_PRIVATE_NETWORKS))


def check_url(url: str) -> Destination:
    """The static check, then the name resolved once: every answer must be allowed."""
    destination = allowed_url(url)
    try:
        answers = getaddrinfo(
            destination.host, destination.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError):
        raise OutboundError(
            f"The host {destination.host} cannot be resolved.", code="dns_failed"
        ) from None
    addresses: list[tuple[int, tuple[Any, ...]]] = []
    for family, _type, _proto, _name, sockaddr in answers:
        _check_answer(destination.host, family, sockaddr)
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise OutboundError(f"The host {destination.host} has no address.", code="dns_failed")
    return Destination(destination.host, destination.port, destination.target, tuple(addresses))


def _check_answer(host: str, family: int, sockaddr: tuple[Any, ...]) -> None:
    if family not in (socket.AF_INET, socket.AF_INET6):
        raise AddressRefused(f"The host {host} resolves to a non-IP address.")
    # The resolver's view, whatever the URL's spelling (127.1, 0x7f000001, 2130706433, ...).
    address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
    if not address_allowed(address):
        raise AddressRefused(
            f"The host {host} resolves to an address the server may not reach "
            "(loopback, private, link-local, metadata or reserved).",
            details={"field": "url"},
        )


# --- The request ----------------------------------------------------------------------------


def post_json(
    url: str, body: bytes, headers: Mapping[str, str], *, timeout: float = TIMEOUT_SECONDS
) -> int:
    """POST ``body`` as JSON to the checked address; the response's status (never a 3xx)."""
    destination = check_url(url)
    deadline = time.monotonic() + timeout
    connection = _PinnedConnection(destination, _tls_context(), deadline)
    try:
        sent = {**headers, "Content-Type": "application/json", "User-Agent": USER_AGENT}
        connection.request("POST", destination.target, body=body, headers=sent)
        response = connection.getresponse()
        if 300 <= response.status < 400:
            raise OutboundError(
                f"The receiver answered {response.status} (a redirect); redirects are not "
                "followed.",
                code="redirect_refused",
            )
        response.read(RESPONSE_BYTES_CAP)
        return response.status
    except ssl.SSLCertVerificationError:
        raise OutboundError(
            f"The certificate of {destination.host} is not valid for it.", code="tls_failed"
        ) from None
    except ssl.SSLError:
        raise OutboundError(f"TLS with {destination.host} failed.", code="tls_failed") from None
    except TimeoutError:
        raise OutboundError(
            f"{destination.host} did not answer within {timeout:g} seconds.", code="timeout"
        ) from None
    except http.client.HTTPException:
        raise OutboundError(
            f"{destination.host} sent a malformed answer.", code="bad_response"
        ) from None
    except OSError:
        raise OutboundError(
            f"The connection to {destination.host} failed.", code="connection_failed"
        ) from None
    finally:
        connection.close()


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if settings.WEBHOOK_CA_FILE:
        context.load_verify_locations(cafile=settings.WEBHOOK_CA_FILE)
    return context


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left


class _PinnedConnection(http.client.HTTPSConnection):
    """HTTPS to the checked addresses only, naming the host for SNI, the certificate and Host."""

    def __init__(self, destination: Destination, context: ssl.SSLContext, deadline: float):
        super().__init__(destination.host, destination.port, context=context)
        self._destination = destination
        self._context = context
        self._deadline = deadline
        self.response_class = functools.partial(_DeadlineResponse, deadline=deadline)  # type: ignore[assignment]

    def connect(self) -> None:
        raw = self._connect_pinned()
        try:
            raw.settimeout(_remaining(self._deadline))
            self.sock = self._context.wrap_socket(raw, server_hostname=self._destination.host)
        except BaseException:
            raw.close()
            raise

    def _connect_pinned(self) -> socket.socket:
        failure: OSError = ConnectionError("no address")
        for family, sockaddr in self._destination.addresses:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(min(CONNECT_TIMEOUT_SECONDS, _remaining(self._deadline)))
                sock.connect(sockaddr)
            except OSError as exc:
                sock.close()
                failure = exc
                continue
            return sock
        raise failure


class _DeadlineReader(io.RawIOBase):
    """The socket's bytes, refused once the exchange's deadline has passed (no slow drip)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        # Through a socket file, as http.client reads: it keeps the socket open while the
        # response is read, after the connection let go of it (a "Connection: close" answer).
        self._file = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(_remaining(self._deadline))
        return self._file.readinto(buffer) or 0  # None only in non-blocking mode: never here

    def close(self) -> None:
        self._file.close()
        super().close()


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, deadline: float, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the plain file http.client made; ours reads under the deadline
        self.fp = io.BufferedReader(_DeadlineReader(sock, deadline))
