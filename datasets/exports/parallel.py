"""Building a version's lines in helper processes, a window each at a time.

One build process is bounded by its own CPU: per row it opens two sealed values and builds and
encodes a record, in Python, under one interpreter lock (docs/performance.md). So a build on
PostgreSQL, outside a transaction, of more than one window, forks ``EXPORT_PROCESSES`` helpers
(when that is above one). The job works out the windows' bounds and hands window k to helper
k mod n through a pipe, a window ahead; the helper reads the window through a connection of its
own, builds its records with the job's own reader (inherited by the fork) and encodes them, and
sends the bytes back through a second pipe with the row count and the annotators' counts. The
job takes the windows in order, so the file is byte for byte the one a single process writes.

A helper is a fork of the job: it has the job's project keys in memory (nothing is unwrapped
twice) and the job's database connection, whose socket it must neither use nor close: it sets
it aside and opens its own. It never returns into the caller's code; it ends with ``os._exit``.

Kill safety: a helper dies with the job (the kernel sends it SIGKILL when the job dies, through
``PR_SET_PDEATHSIG``) and stops when the job stops listening (its pipes close). When a helper
dies, its pipe ends early: the job kills the others and the version fails ("interrupted").
The kernel ties that signal to the thread that forked: Celery's solo and prefork pools run
jobs on the process's main thread; under a pool of threads that end, a helper would die with
its thread, which fails the build the same clean way.
"""

import contextlib
import ctypes
import fcntl
import gc
import itertools
import logging
import os
import signal
import struct
import traceback
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import orjson
from django.conf import settings
from django.db import connection, connections

from core.errors import ApplicationError
from datasets.exports.windows import read_window, window_bounds

if TYPE_CHECKING:
    from datasets.exports.rows import RowReader

logger = logging.getLogger(__name__)

# What a format hands in: a window's records to the bytes it writes for them.
Encode = Callable[[list[dict[str, Any]]], bytes | bytearray]
# What a build yields: each window's bytes and how many rows they hold.
Lines = Generator[tuple[bytes | bytearray, int], None, None]

# Job to helper: a window's bounds (after, upto; -1 for "to the end").
_COMMAND = struct.Struct("<qq")
# Helper to job: kind, the length of the details (JSON), the length of the bytes after them.
_HEADER = struct.Struct("<BQQ")
_WINDOW, _ERROR = 0, 1
# Bytes a pipe holds before its writer waits (the kernel's default ceiling for this call).
_PIPE_BYTES = 1 << 20
_PR_SET_PDEATHSIG = 1
# Signals a helper leaves to their default action: the worker's own handlers (a Celery warm
# shutdown on SIGTERM, say) are not a helper's to run.
_DEFAULT_SIGNALS = ("SIGTERM", "SIGINT", "SIGQUIT", "SIGHUP", "SIGUSR1", "SIGUSR2")

# The job's connections as a helper inherited them: kept, never used or closed (closing one
# would end the job's session on the server; a helper leaves by os._exit, which runs no
# finalizer).
_SET_ASIDE: list[Any] = []


class HelperFailed(ApplicationError):
    """An application error met by a helper (a sealed value that fails authentication, a key
    provider that is down, ...), raised in the job with its code and message."""

    status = 500


class BuildInterrupted(ApplicationError):
    """A helper process stopped before the version was written."""

    code = "interrupted"
    status = 500


def usable() -> bool:
    """Whether a build here may use helpers: PostgreSQL (other connections see what this one
    sees, outside a transaction) and more than one process allowed."""
    return (
        settings.EXPORT_PROCESSES > 1
        and connection.vendor == "postgresql"
        and not connection.in_atomic_block
    )


def lines(reader: "RowReader", encode: Encode) -> Lines:
    """Each window's encoded records and their count, in order; the reader's annotator counts
    are kept as if it had read every window itself. Helpers only once there are two windows
    or more; one window is built here."""
    bounds = window_bounds(reader.project)
    first = next(bounds)
    if first[1] is None:  # one window: not worth a process
        records = reader.window_records(read_window(reader.project, reader.flt, *first))
        yield encode(records), len(records)
        return
    crew = _Crew(reader)
    try:
        crew.start(encode, settings.EXPORT_PROCESSES)
        yield from crew.run(itertools.chain([first], bounds))
    finally:
        crew.stop()


@dataclass
class _Helper:
    pid: int
    commands: int  # the job writes bounds here
    results: int  # and reads windows here
    exited: int | None = None  # the wait status, once reaped


class _Crew:
    """The helpers of one build, and the job's side of their pipes."""

    def __init__(self, reader: "RowReader") -> None:
        self.reader = reader
        self.helpers: list[_Helper] = []
        self.done = False  # every window taken: the helpers are ending by themselves

    def start(self, encode: Encode, size: int) -> None:
        # The job's objects go to the permanent generation: the helpers' collections neither
        # walk them nor, by touching them, copy their pages.
        gc.freeze()
        try:
            for _ in range(size):
                siblings = [
                    fd for helper in self.helpers for fd in (helper.commands, helper.results)
                ]
                self.helpers.append(_fork(self.reader, encode, siblings))
        finally:
            gc.unfreeze()

    def run(self, bounds: Iterator[tuple[int, int | None]]) -> Lines:
        """Window k goes to helper k mod n, sent before window k - n is taken from it, so
        that each helper has its next window while the job takes its last."""
        size = len(self.helpers)
        sent = taken = 0
        more = True

        def send() -> None:
            nonlocal sent, more
            after, upto = next(bounds)
            helper = self.helpers[sent % size]
            _write_all(helper.commands, _COMMAND.pack(after, -1 if upto is None else upto))
            sent += 1
            more = upto is not None

        while more and sent < size:
            send()
        while taken < sent:
            if more:
                send()
            else:
                self._close_commands()  # the helpers exit once their last window is sent
            helper = self.helpers[taken % size]
            rows, annotators, data = self._result(helper)
            self.reader.annotators.update(annotators)
            taken += 1
            self.done = taken == sent and not more
            yield data, rows

    def _result(self, helper: _Helper) -> tuple[int, dict[str, int], bytearray]:
        head = _read_exact(helper.results, _HEADER.size)
        if head is None:
            raise self._gone(helper)
        kind, meta_size, data_size = _HEADER.unpack(head)
        meta = _read_exact(helper.results, meta_size)
        data = _read_exact(helper.results, data_size)
        if meta is None or data is None:
            raise self._gone(helper)
        details = orjson.loads(meta)
        if kind == _ERROR:
            logger.error("A helper of the build failed:\n%s", details["traceback"])
            if details["code"] is not None:  # an ApplicationError: the version fails with it
                raise HelperFailed(details["message"], code=details["code"])
            raise RuntimeError(f"A helper of the build failed ({details['type']}).")
        rows, annotators = details
        return rows, annotators, data

    def _gone(self, helper: _Helper) -> BuildInterrupted:
        self._reap(helper, block=True)
        status = helper.exited
        how = "ended"
        if status is not None and os.WIFSIGNALED(status):
            how = f"was killed ({signal.Signals(os.WTERMSIG(status)).name})"
        elif status is not None and os.WIFEXITED(status):
            how = f"ended (status {os.WEXITSTATUS(status)})"
        return BuildInterrupted(
            f"A process building the version {how} before it was done; create it again."
        )

    def _close_commands(self) -> None:
        for helper in self.helpers:
            if helper.commands >= 0:
                os.close(helper.commands)
                helper.commands = -1

    def stop(self) -> None:
        """Close the pipes and reap the helpers: once every window is taken they exit by
        themselves (no more windows); otherwise (the job failed or stopped reading) they are
        killed."""
        self._close_commands()
        for helper in self.helpers:
            os.close(helper.results)
            self._reap(helper, block=self.done)
            if helper.exited is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(helper.pid, signal.SIGKILL)
                self._reap(helper, block=True)

    @staticmethod
    def _reap(helper: _Helper, *, block: bool) -> None:
        if helper.exited is not None:
            return
        try:
            pid, status = os.waitpid(helper.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:  # reaped by someone else (a SIGCHLD handler)
            helper.exited = 0
            return
        if pid:
            helper.exited = status


# --- The helper's side ----------------------------------------------------------------------


def _fork(reader: "RowReader", encode: Encode, siblings: list[int]) -> _Helper:
    commands_read, commands_write = os.pipe()
    results_read, results_write = os.pipe()
    with contextlib.suppress(OSError):  # the default size works too, with more system calls
        fcntl.fcntl(results_write, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)
    parent = os.getpid()
    pid = os.fork()
    if pid == 0:  # the helper
        os.close(commands_write)
        os.close(results_read)
        for fd in siblings:  # the other helpers' pipes: a copy held here would keep them open
            os.close(fd)
        _serve(reader, encode, parent, commands_read, results_write)
    os.close(commands_read)
    os.close(results_write)
    return _Helper(pid=pid, commands=commands_write, results=results_read)


def _serve(
    reader: "RowReader", encode: Encode, parent: int, commands: int, results: int
) -> NoReturn:
    """A helper's life: windows in, bytes out, until the job closes the command pipe."""
    code = 0
    try:
        _detach(parent)
        project, flt = reader.project, reader.flt
        counts = reader.annotators
        while (command := _read_exact(commands, _COMMAND.size)) is not None:
            after, upto = _COMMAND.unpack(command)
            rows = read_window(project, flt, after, None if upto < 0 else upto)
            counts.clear()
            records = reader.window_records(rows)
            del rows
            data = encode(records)
            meta = orjson.dumps([len(records), counts])
            del records
            _write_all(results, _HEADER.pack(_WINDOW, len(meta), len(data)) + meta)
            _write_all(results, data)
            del data
    except BrokenPipeError:
        code = 1  # the job stopped listening: nothing to tell it
    except BaseException as exc:  # noqa: BLE001 -- told to the job, which raises it
        code = 1
        known = exc if isinstance(exc, ApplicationError) else None
        meta = orjson.dumps(
            {
                "type": type(exc).__name__,
                "code": known.code if known else None,
                "message": known.message if known else None,
                "traceback": traceback.format_exc(),
            }
        )
        with contextlib.suppress(OSError):
            _write_all(results, _HEADER.pack(_ERROR, len(meta), 0) + meta)
    finally:
        os._exit(code)


def _detach(parent: int) -> None:
    """Make a fresh fork of the job a helper: dies with the job, runs no handler of the
    worker's, and uses connections of its own."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the job died before the call took effect
        os._exit(1)
    for name in _DEFAULT_SIGNALS:
        try:
            signal.signal(getattr(signal, name), signal.SIG_DFL)
        except ValueError:  # forked from a thread that Python does not take for the main one
            break
    for wrapper in connections.all(initialized_only=True):
        if wrapper.connection is not None:
            _SET_ASIDE.append(wrapper.connection)
            wrapper.connection = None


def _read_exact(fd: int, size: int) -> bytearray | None:
    """``size`` bytes from the pipe, or None if it ends first."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        count = os.readv(fd, [view[got:]])
        if count == 0:
            return None
        got += count
    return buffer


def _write_all(fd: int, data: bytes | bytearray) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
