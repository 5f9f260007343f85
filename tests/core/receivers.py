"""Stand-ins for a lab's systems on loopback: a certificate authority, HTTPS receivers that
record what reaches them, and a DNS server whose answers the test controls.

The DNS stand-in replaces only the system resolver that ``core.outbound`` calls (its
``getaddrinfo``), and answers with real ``getaddrinfo`` results for the addresses it is told,
so the guard sees exactly what a resolver returning those addresses would give it.
"""

import datetime
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from cryptography import x509  # noqa: TID251 -- the test's own CA, not the product's crypto
from cryptography.hazmat.primitives import hashes, serialization  # noqa: TID251
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: TID251
from cryptography.x509.oid import NameOID  # noqa: TID251


@dataclass(frozen=True)
class Authority:
    """A lab's private CA (its PEM file is what WEBHOOK_CA_FILE names) and what it issues."""

    ca_file: Path
    _key: Any
    _cert: Any

    @classmethod
    def create(cls, folder: Path) -> "Authority":
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test lab CA")])
        cert = (
            _builder(name, name, key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .sign(key, hashes.SHA256())
        )
        ca_file = folder / "lab-ca.pem"
        ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        return cls(ca_file, key, cert)

    def server_context(self, folder: Path, names: Iterable[str]) -> ssl.SSLContext:
        """A TLS server context with a certificate for these DNS names, issued by this CA."""
        names = list(names)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        cert = (
            _builder(subject, self._cert.subject, key.public_key())
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=False), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        cert_file, key_file = folder / f"{names[0]}.pem", folder / f"{names[0]}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


def _builder(subject: Any, issuer: Any, public_key: Any) -> Any:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _usage(*, cert_sign: bool) -> Any:
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    local_address: str  # the address the receiver was reached on: the client's peer


# What a receiver does with a request: (status, headers, body), or None to answer nothing.
Answer = Callable[["Receiver", BaseHTTPRequestHandler], tuple[int, dict[str, str], bytes] | None]


def answer_with(status: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Answer:
    return lambda _receiver, _handler: (status, headers or {}, body)


@dataclass
class Receiver:
    """An HTTPS server on a loopback address; counts connections and records requests."""

    tls: ssl.SSLContext
    address: str = "127.0.0.1"
    port: int = 0
    answer: Answer = field(default_factory=lambda: answer_with(200))
    connections: int = 0
    requests: list[Received] = field(default_factory=list)
    server_names: list[str | None] = field(default_factory=list)  # SNI of each handshake
    _server: ThreadingHTTPServer | None = None

    def start(self) -> "Receiver":
        receiver = self
        self.tls.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> tuple[Any, Any]:
                sock, peer = self.socket.accept()
                receiver.connections += 1
                # The handshake happens in the request's thread, on first read.
                wrapped = receiver.tls.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                )
                return wrapped, peer

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that refused our certificate, or hung up: expected in tests

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                local = self.connection.getsockname()[0]
                receiver.requests.append(Received(self.path, dict(self.headers), body, local))
                reply = receiver.answer(receiver, self)
                if reply is None:
                    return
                status, headers, content = reply
                self.send_response(status)
                for name, value in {"Content-Length": str(len(content)), **headers}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(content)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = Server((self.address, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


class SilentListener:
    """Accepts TCP connections and never says anything (a receiver that hangs)."""

    def __init__(self, address: str = "127.0.0.1") -> None:
        self._socket = socket.socket()
        self._socket.bind((address, 0))
        self._socket.listen()
        self.port = self._socket.getsockname()[1]
        self.connections = 0
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._socket.accept()
            except OSError:
                return
            self.connections += 1
            self._open.append(conn)

    def stop(self) -> None:
        self._socket.close()
        for conn in self._open:
            conn.close()


def drip(interval: float) -> Answer:
    """An answer that sends its head one byte at a time, forever (a slowloris receiver)."""

    def answer(_receiver: Receiver, handler: BaseHTTPRequestHandler) -> None:
        head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
        try:
            for byte in head:
                handler.wfile.write(bytes([byte]))
                handler.wfile.flush()
                time.sleep(interval)
        except OSError:
            return

    return answer


class Dns:
    """A DNS server the test controls: each name answers its address lists in turn (the last
    one from then on); unknown names do not resolve. ``calls`` lists the names asked."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        asked = self.calls.count(host)
        self.calls.append(host)
        if host not in self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        lists = self.answers[host]
        addresses = lists[min(asked, len(lists) - 1)]
        return [
            info
            for address in addresses
            for info in socket.getaddrinfo(
                address, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST
            )
        ]
