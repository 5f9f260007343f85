"""Where audit records go: a JSON-lines file, syslog (RFC 5424 over UDP or TCP), or HTTPS.

Every sink writes one record as one line or frame. Records are JSON with every non-ASCII and
control character escaped, so no actor name or user agent can end a record or fake another.
A sink raises ``SinkError`` when the receiver did not take the whole batch; the shipper then
keeps its cursor and sends the batch again later.
"""

import ipaddress
import json
import os
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import SplitResult, urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_FACILITY_LOG_AUDIT = 13
_SEVERITY = {"success": 6, "failure": 5, "denied": 4}
_LOOPBACK_NAMES = {"localhost"}
_SYSLOG_PORTS = {"syslog+tls": 6514, "syslog+tcp": 514, "syslog+udp": 514}


class SinkError(Exception):
    """The receiver is unreachable or refused the batch."""


class Sink(Protocol):
    name: str

    def send(self, records: Sequence[dict[str, Any]]) -> None: ...


def line(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=True, separators=(",", ":"), sort_keys=True)


class FileSink:
    """Appends JSON lines to a local file (mode 0600), flushed to disk before returning."""

    def __init__(self, name: str, path: Path) -> None:
        self.name, self.path = name, path

    def send(self, records: Sequence[dict[str, Any]]) -> None:
        data = "".join(line(r) + "\n" for r in records).encode("ascii")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise SinkError(f"{self.path}: {exc.strerror}") from exc


def _printable(text: str, limit: int) -> str:
    # RFC 5424 header fields are PRINTUSASCII (33-126), "-" when empty.
    kept = "".join(ch for ch in text if 33 <= ord(ch) <= 126)[:limit]
    return kept or "-"


def syslog_message(record: dict[str, Any], hostname: str) -> bytes:
    """One RFC 5424 message: the header, no structured data, the record as JSON."""
    severity = _SEVERITY.get(str(record.get("outcome")), 6)
    timestamp = record.get("occurred_at") or record.get("created_at") or "-"
    msgid = record.get("action") or record.get("type") or "-"
    header = (
        f"<{_FACILITY_LOG_AUDIT * 8 + severity}>1 {_printable(str(timestamp), 40)} "
        f"{_printable(hostname, 255)} labelkeep - {_printable(str(msgid), 32)} -"
    )
    return f"{header} {line(record)}".encode("ascii")


class SyslogSink:
    """RFC 5424 over TLS (RFC 5425) or TCP (octet-counted frames, RFC 6587), or over UDP (one
    datagram per record).

    UDP cannot tell a delivered datagram from a lost one, and neither UDP nor plain TCP is
    encrypted: use TLS or HTTPS beyond the machine, and where nothing may be lost.
    """

    def __init__(self, name: str, host: str, port: int, transport: str) -> None:
        self.name, self.address, self.transport = name, (host, port), transport
        self.hostname = socket.gethostname()

    def send(self, records: Sequence[dict[str, Any]]) -> None:
        messages = [syslog_message(r, self.hostname) for r in records]
        try:
            if self.transport in {"tcp", "tls"}:
                self._send_tcp(messages)
            else:
                self._send_udp(messages)
        except OSError as exc:
            raise SinkError(f"syslog {self.address[0]}:{self.address[1]}: {exc}") from exc

    def _send_tcp(self, messages: list[bytes]) -> None:
        timeout = settings.AUDIT_SHIP_TIMEOUT_SECONDS
        frames = b"".join(f"{len(m)} ".encode("ascii") + m for m in messages)
        with socket.create_connection(self.address, timeout) as sock:
            if self.transport == "tls":
                with _tls_context().wrap_socket(sock, server_hostname=self.address[0]) as tls:
                    tls.sendall(frames)
            else:
                sock.sendall(frames)

    def _send_udp(self, messages: list[bytes]) -> None:
        with _udp(self.address) as sock:
            for message in messages:
                sock.send(message)


def _udp(address: tuple[str, int]) -> socket.socket:
    family = socket.getaddrinfo(*address, type=socket.SOCK_DGRAM)[0][0]
    sock = socket.socket(family, socket.SOCK_DGRAM)
    # Connected, so an ICMP "port unreachable" surfaces as an error on a later send.
    sock.connect(address)
    return sock


def _tls_context() -> ssl.SSLContext:
    """Verifies the receiver's certificate and name, against LABELKEEP_AUDIT_SHIP_CA_FILE if
    set (a lab's private CA), else the system's trust store."""
    return ssl.create_default_context(cafile=settings.AUDIT_SHIP_CA_FILE or None)


class HttpSink:
    """POSTs each batch as ``application/x-ndjson``; any 2xx answer means received."""

    def __init__(self, name: str, url: str) -> None:
        self.name, self.url = name, url
        self.context = _tls_context()

    def send(self, records: Sequence[dict[str, Any]]) -> None:
        body = "".join(line(r) + "\n" for r in records).encode("ascii")
        request = urllib.request.Request(self.url, data=body, method="POST")  # noqa: S310
        request.add_header("Content-Type", "application/x-ndjson")
        if settings.AUDIT_SHIP_HTTP_TOKEN:
            request.add_header("Authorization", f"Bearer {settings.AUDIT_SHIP_HTTP_TOKEN}")
        timeout = settings.AUDIT_SHIP_TIMEOUT_SECONDS
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.context) as reply:  # noqa: S310
                reply.read()
        except urllib.error.HTTPError as exc:
            raise SinkError(f"{self.url}: HTTP {exc.code}") from exc
        except (OSError, urllib.error.URLError) as exc:
            raise SinkError(f"{self.url}: {exc}") from exc


def sink_for(url: str) -> Sink:
    """The sink a ``LABELKEEP_AUDIT_SHIP_TO`` entry names; ImproperlyConfigured if malformed."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ImproperlyConfigured(
            f"Audit sink {parts.hostname}: no credentials in the URL; use "
            "LABELKEEP_AUDIT_SHIP_HTTP_TOKEN."
        )
    if parts.scheme == "file" and parts.path.startswith("/"):
        return FileSink(url, Path(parts.path))
    if parts.scheme in _SYSLOG_PORTS and parts.hostname:
        port = parts.port or _SYSLOG_PORTS[parts.scheme]
        return SyslogSink(url, parts.hostname, port, parts.scheme.removeprefix("syslog+"))
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts)):
        return HttpSink(url, url)
    raise ImproperlyConfigured(
        f"Audit sink {url!r}: use file:///path, syslog+tls://host:port, syslog+tcp://host:port, "
        "syslog+udp://host:port or https://host/path (http:// only on loopback)."
    )


def _is_loopback(parts: SplitResult) -> bool:
    host = parts.hostname or ""
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
