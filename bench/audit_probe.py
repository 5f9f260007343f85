"""gunicorn settings for ``bench/audit.py`` only: each worker measures, request by request, the
time spent recording audit events. Never part of a deployment.

``bench/audit.py`` passes ``--config bench/audit_probe.py`` in ``GUNICORN_CMD_ARGS``, so the
server is otherwise started exactly as ``bench.harness.start`` starts it. After a worker has
loaded the application, it wraps ``audit.services.record`` (in ``audit.services`` and in every
module that imported the function by name) and the checkpoint nudge that ``record`` schedules
after commit (``audit.checkpoints._enqueue``), and wraps the WSGI application. Each request
then appends one tab-separated line to ``$BENCH_AUDIT_PROBE_DIR/worker-<pid>.tsv``:

    phase  kind  serve_s  serve_cpu_s  record_s  record_cpu_s  events

``phase`` is the client's ``X-Bench-Phase`` header; ``kind`` is ``next``, ``submit`` or
``other``; ``serve_s`` runs from the WSGI call until the response is closed (Django's request
is over: its transaction committed, its connection handled); ``record_s`` is the wall time
inside ``record`` plus the nudge, and, for an event written with its transaction's COMMIT
(``audit.chain``), the Python side of that write plus the server's time on the statement
(waiting for and holding a chain's head row, drawing the number, hashing, inserting) in place
of the round trip it shares with COMMIT; the ``_cpu_s`` figures are the same spans in CPU
time of the worker's thread (the CPU one includes the client's side of the whole round trip).
gunicorn's sync workers serve one request at a time, so module-level counters are per request.
"""

import functools
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


class _Spent:
    """What the current request spent recording."""

    wall = 0.0
    cpu = 0.0
    events = 0

    def reset(self) -> None:
        self.wall, self.cpu, self.events = 0.0, 0.0, 0


_spent = _Spent()


def _timed(func: Callable[..., Any], *, events: int) -> Callable[..., Any]:
    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            _spent.wall += time.perf_counter() - wall
            _spent.cpu += time.thread_time() - cpu
            _spent.events += events

    return timed


def _wrap_recording() -> None:
    from django.urls import get_resolver

    import audit.chain
    import audit.checkpoints
    import audit.services

    # Resolving the URL conf imports every view, and so every service that records.
    _ = get_resolver().url_patterns
    original = audit.services.record
    timed = _timed(original, events=1)
    for module in list(sys.modules.values()):
        try:
            if getattr(module, "record", None) is original:
                vars(module)["record"] = timed
        except Exception:  # noqa: BLE001, S112 -- a lazy module may refuse getattr; not ours
            continue
    audit.checkpoints._enqueue = _timed(audit.checkpoints._enqueue, events=0)
    audit.chain.spent.measuring = True
    audit.chain._append_with_commit = _committed(audit.chain._append_with_commit)


def _committed(func: Callable[..., Any]) -> Callable[..., Any]:
    """Times an event's statement sent with COMMIT: its Python side, and the server's time on
    the statement instead of the round trip, which is the commit's (``audit.chain.Spent``)."""
    import audit.chain

    spent = audit.chain.spent

    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        round_trip, server = spent.round_trip_s, spent.server_s
        wall, cpu = time.perf_counter(), time.thread_time()
        try:
            return func(*args, **kwargs)
        finally:
            waited = spent.round_trip_s - round_trip
            _spent.wall += time.perf_counter() - wall - waited + (spent.server_s - server)
            _spent.cpu += time.thread_time() - cpu

    return timed


def _kind(environ: dict[str, Any]) -> str:
    path = str(environ.get("PATH_INFO", ""))
    if path.endswith("/next"):
        return "next"
    return "submit" if path.endswith("/annotations/") else "other"


class _Body:
    """The application's response, which reports the request once the server closes it."""

    def __init__(self, body: Iterable[bytes], done: Callable[[], None]) -> None:
        self.body, self.done = body, done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.body)

    def close(self) -> None:
        try:
            close = getattr(self.body, "close", None)
            if close is not None:
                close()
        finally:
            self.done()


class _Measured:
    def __init__(self, app: Callable[..., Any], out: Any) -> None:
        self.app, self.out = app, out

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> _Body:
        _spent.reset()
        wall, cpu = time.perf_counter(), time.thread_time()

        def done() -> None:
            serve, serve_cpu = time.perf_counter() - wall, time.thread_time() - cpu
            phase = str(environ.get("HTTP_X_BENCH_PHASE", "-"))
            fields = (phase, _kind(environ), f"{serve:.6f}", f"{serve_cpu:.6f}",
                      f"{_spent.wall:.6f}", f"{_spent.cpu:.6f}", str(_spent.events))  # fmt: skip
            self.out.write("\t".join(fields) + "\n")

        return _Body(self.app(environ, start_response), done)


def post_worker_init(worker: Any) -> None:
    _wrap_recording()
    out = Path(os.environ["BENCH_AUDIT_PROBE_DIR"]) / f"worker-{os.getpid()}.tsv"
    worker.wsgi = _Measured(worker.wsgi, out.open("a", buffering=1, encoding="utf-8"))
