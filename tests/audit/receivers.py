"""SIEM stand-ins on loopback: a TCP syslog receiver and an HTTP collector, each able to be
down (nothing listening on its port) and to come back on the same port."""

import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SyslogTcpReceiver:
    """Reads RFC 6587 octet-counted frames; ``messages`` holds each frame's text."""

    def __init__(self, port: int, tls: ssl.SSLContext | None = None) -> None:
        self.port = port
        self.tls = tls
        self.messages: list[str] = []
        self._server: socket.socket | None = None

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen()
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _accept(self) -> None:
        server = self._server
        while server is not None:
            try:
                conn, _ = server.accept()
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
            except OSError:  # closed, or a client that refused our certificate
                if self._server is None:
                    return
                continue
            self._read(conn)

    def _read(self, conn: socket.socket) -> None:
        data = b""
        with conn:
            while chunk := conn.recv(65536):
                data += chunk
        while data:
            length, _, rest = data.partition(b" ")
            size = int(length)
            self.messages.append(rest[:size].decode("ascii"))
            data = rest[size:]

    def records(self, *, expect: int) -> list[dict[str, Any]]:
        """The records received, once ``expect`` of them arrived (or after a few seconds)."""
        deadline = time.monotonic() + 5
        while len(self.messages) < expect and time.monotonic() < deadline:
            time.sleep(0.01)
        return [json.loads(m[m.index(" {") + 1 :]) for m in self.messages]


class HttpCollector:
    """Accepts POSTed JSON lines; answers ``status`` (503 while "failing")."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.status = 200
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if collector.status == 200:
                    collector.bodies.append(body)
                    collector.headers.append(dict(self.headers))
                self.send_response(collector.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def lines(self) -> list[str]:
        return [line for body in self.bodies for line in body.decode("ascii").splitlines()]

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]
