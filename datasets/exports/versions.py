"""Dataset versions: created by a manager or an export token, built by a job, then immutable.

The job reads the project's annotations as they stood at the filter's ``until`` (rows.py),
hands them to the format's writer, and encrypts what it writes into the blob store as it goes
(constant memory, nothing in plaintext on disk). Only when the whole file is stored does one
transaction give the version its size, SHA-256, row count and signed manifest and mark it
succeeded; a worker killed before that leaves the version running with a stale heartbeat, and
the next attempt rebuilds it from the start (the file is replaced whole), or the version fails.
"""

import contextlib
import gc
import hashlib
import logging
import queue
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.services import Actor, record
from core.errors import ApplicationError, Conflict, NotFound, ValidationFailed
from datasets.exports import formats, parallel
from datasets.exports.filters import filter_load, filter_parse
from datasets.exports.manifest import MANIFEST_TYPE, canonical, manifest_sign
from datasets.exports.rows import ExportContext, ExportRow, RowReader, pseudonyms
from datasets.models import DatasetVersion, VersionState
from projects.models import Project
from vault import config as vault_config

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")
# Plaintext handed to the encrypting thread at a time, and how many such chunks may wait.
_CHUNK = 1024 * 1024
_QUEUED_CHUNKS = 4
# Progress is written every this many rows.
_PROGRESS_EVERY = 20_000
# Allocations between two collections of the youngest generation while building (default 700).
_GC_THRESHOLD = 70_000


# --- Create -------------------------------------------------------------------------------------


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValidationFailed(
            "name must be 1 to 100 letters, digits, dots, dashes or underscores, starting with "
            "a letter or digit (it names the file pipelines pull).",
            code="invalid_version_name",
            details={"field": "name"},
        )
    if re.fullmatch(r"[0-9]+", name):
        raise ValidationFailed(
            "name cannot be only digits: numbers address versions by their number.",
            code="invalid_version_name",
            details={"field": "name"},
        )
    return name


def version_create(
    *,
    actor: Actor,
    project: Project,
    format_name: Any,
    name: Any = None,
    filter_raw: Any = None,
    options_raw: Any = None,
    token_id: uuid.UUID | None = None,
) -> DatasetVersion:
    """Record a version to build and queue its job (managers and export tokens)."""
    fmt = formats.format_get(format_name)
    formats.format_allows(fmt, project.task_type)
    options = fmt.options(options_raw or {}, project.task_type)
    flt = filter_parse(filter_raw, project, now=timezone.now())
    if name is not None:
        name = _check_name(name)
    for _attempt in range(5):
        try:
            with transaction.atomic():
                number = (
                    DatasetVersion.objects.filter(project=project).aggregate(n=Max("number"))["n"]
                    or 0
                ) + 1
                version = DatasetVersion.objects.create(
                    project=project,
                    number=number,
                    name=name or f"v{number}",
                    format=fmt.name,
                    filter=flt.as_json(),
                    options=options,
                    created_by=actor.user,
                    created_by_token_id=token_id,
                )
                record(
                    actor=actor,
                    action="version.created",
                    project_id=project.pk,
                    object_type="version",
                    object_id=str(version.pk),
                    details={"number": number, "format": fmt.name, "filter": version.filter},
                )
                transaction.on_commit(partial(_enqueue, version.pk))
                return version
        except IntegrityError:
            if name is not None and DatasetVersion.objects.filter(project=project, name=name):
                raise Conflict(
                    f"The project already has a version named '{name}'.",
                    code="version_name_taken",
                    details={"field": "name"},
                ) from None
            continue  # another version took the number: take the next one
    raise Conflict("Too many versions started at once; try again.", code="version_busy")


def _enqueue(version_id: uuid.UUID) -> None:
    from datasets.tasks import version_build_task  # the tasks module imports this one

    version_build_task.apply_async(args=(str(version_id),))


# --- Read ---------------------------------------------------------------------------------------


def version_list(project: Project) -> "QuerySet[DatasetVersion]":
    return DatasetVersion.objects.filter(project=project).select_related("created_by")


def version_get(project: Project, ref: Any) -> DatasetVersion:
    """A version of the project by id, number or name; NotFound alike for any other."""
    versions = version_list(project)
    text = str(ref)
    try:
        found = versions.filter(pk=uuid.UUID(text)).first()
    except ValueError:
        found = (
            versions.filter(number=int(text)).first()
            if text.isdigit() and len(text) < 10
            else versions.filter(name=text).first()
        )
    if found is None:
        raise NotFound("No such version in this project.", code="version_not_found")
    return found


# --- The job ------------------------------------------------------------------------------------


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.JOB_STALE_SECONDS)


def _claim(version_id: uuid.UUID) -> bool:
    now = timezone.now()
    claimable = Q(state=VersionState.QUEUED) | Q(
        state=VersionState.RUNNING, heartbeat_at__lt=now - _stale_after()
    )
    taken = DatasetVersion.objects.filter(claimable, pk=version_id).update(
        state=VersionState.RUNNING,
        started_at=Coalesce(F("started_at"), now),
        heartbeat_at=now,
        attempts=F("attempts") + 1,
        rows_written=0,
    )
    return taken == 1


class _Failed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def version_build(*, version_id: uuid.UUID) -> DatasetVersion:
    """Build (or take over and rebuild) a version; harmless if another worker has it."""
    if not _claim(version_id):
        return DatasetVersion.objects.get(pk=version_id)
    version = DatasetVersion.objects.select_related("project").get(pk=version_id)
    try:
        if version.attempts > MAX_ATTEMPTS:
            raise _Failed(
                "interrupted", f"The build was interrupted {MAX_ATTEMPTS} times; create it again."
            )
        built = _write(version)
    except _Failed as exc:
        return _fail(version, exc.code, exc.message)
    except ApplicationError as exc:  # the key provider or the file store is down, ...
        return _fail(version, exc.code, exc.message)
    except Exception:
        logger.exception("Version %s failed unexpectedly", version.pk)
        return _fail(version, "internal", "The build failed because of an internal error.")
    return _succeed(version, built)


@dataclass
class _Built:
    size: int
    sha256: str
    rows: int
    annotators: dict[str, int]


class _Sink:
    """The write-only file the format writes to: hashes the plaintext and hands it, in large
    chunks, to the thread that encrypts it into the blob store."""

    def __init__(self, chunks: "queue.Queue[bytes | None]", broken: threading.Event) -> None:
        self._chunks = chunks
        self._broken = broken
        self._buffer = bytearray()
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.hash.update(data)
        self.size += len(data)
        self._buffer += data
        if len(self._buffer) >= _CHUNK:
            if self._broken.is_set():
                raise _Aborted
            self._chunks.put(bytes(self._buffer))
            self._buffer.clear()
        return len(data)

    def flush(self) -> None:
        pass

    def writable(self) -> bool:
        return True

    def close(self) -> None:
        if self._buffer:
            self._chunks.put(bytes(self._buffer))
            self._buffer.clear()


class _Aborted(Exception):
    pass


def _drain(
    chunks: "queue.Queue[bytes | None]", stop: threading.Event, ended: threading.Event
) -> Iterator[bytes]:
    while True:
        chunk = chunks.get()
        if chunk is None:
            ended.set()
            if stop.is_set():
                raise _Aborted  # the writer failed: the store discards what it had
            return
        yield chunk


class _Progress:
    """Counts the rows the writer takes and keeps the heartbeat fresh."""

    def __init__(self, version: DatasetVersion, rows: RowReader) -> None:
        self.version = version
        self.rows = rows
        self.count = 0

    def __iter__(self) -> Iterator[ExportRow]:
        for row in self.rows:
            self.count += 1
            if self.count % _PROGRESS_EVERY == 0:
                self._beat()
            yield row

    def lines(self, encode: parallel.Encode) -> parallel.Lines:
        """The reader's encoded windows (``RowReader.lines``), counted."""
        for data, records in self.rows.lines(encode):
            before, self.count = self.count, self.count + records
            if self.count // _PROGRESS_EVERY > before // _PROGRESS_EVERY:
                self._beat()
            yield data, records

    def _beat(self) -> None:
        DatasetVersion.objects.filter(pk=self.version.pk).update(
            rows_written=self.count, heartbeat_at=timezone.now()
        )


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a version is built.

    A build allocates a dozen small containers per row (rows, opened values, records) and
    keeps a window's worth alive, so with Python's default threshold (a collection every 700
    allocations) the collector takes about 40 % of the job's CPU, finding nothing: rows hold
    no cycles. Collections still run, a hundred times less often; memory is unchanged.
    """
    before = gc.get_threshold()
    gc.set_threshold(_GC_THRESHOLD, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _write(version: DatasetVersion) -> _Built:
    with _fewer_collections():
        return _write_file(version)


def _write_file(version: DatasetVersion) -> _Built:
    project = version.project
    fmt = formats.format_get(version.format)
    reader = RowReader(project, filter_load(version.filter))
    DatasetVersion.objects.filter(pk=version.pk).update(rows_expected=reader.count_expected())
    context = ExportContext(
        project_name=project.name,
        task_type=project.task_type,
        label_schema=project.label_schema,
        instructions=project.instructions,
        version_name=version.name,
        options=version.options,
    )
    chunks: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED_CHUNKS)
    stop = threading.Event()
    broken = threading.Event()
    ended = threading.Event()  # the writer's last word (None) was taken
    stored: list[Any] = []
    failed: list[BaseException] = []
    store = vault_config.blob_store()

    def encrypt() -> None:
        try:
            stored.append(
                store.put(
                    project_id=project.pk, name=version.blob, source=_drain(chunks, stop, ended)
                )
            )
        except Exception as exc:  # noqa: BLE001 -- handed to the writing thread, raised there
            failed.append(exc)
            broken.set()  # the writer stops at its next write
            # Unblock the writer until it says it is done, unless it has said so already (it
            # failed: waiting for a second word would hang the job).
            while not ended.is_set() and chunks.get() is not None:
                pass

    thread = threading.Thread(target=encrypt, name=f"version-{version.pk}", daemon=True)
    thread.start()
    sink = _Sink(chunks, broken)
    progress = _Progress(version, reader)
    try:
        rows = fmt.write(progress, sink, context)  # type: ignore[arg-type]
        sink.close()
    except BaseException:
        stop.set()
        chunks.put(None)
        thread.join()
        if failed and not isinstance(failed[0], _Aborted):
            _raise_stored(failed[0])  # the store failed first; the writer only stopped
        raise
    chunks.put(None)
    thread.join()
    if failed:
        _raise_stored(failed[0])
    return _Built(
        size=sink.size, sha256=sink.hash.hexdigest(), rows=rows, annotators=dict(reader.annotators)
    )


def _raise_stored(exc: BaseException) -> None:
    if isinstance(exc, ApplicationError):
        raise exc
    raise RuntimeError("Storing the version's file failed.") from exc


def _manifest(version: DatasetVersion, built: _Built, finished: Any) -> str:
    project = version.project
    fmt = formats.format_get(version.format)
    creator = pseudonyms(project.pk)(version.created_by_id)
    return canonical(
        {
            "type": MANIFEST_TYPE,
            "project": {"id": str(project.pk), "name": project.name},
            "version": {"id": str(version.pk), "number": version.number, "name": version.name},
            "format": version.format,
            "filter": version.filter,
            "options": version.options,
            "file": {
                "name": file_name(version),
                "media_type": fmt.media_type,
                "size": built.size,
                "sha256": built.sha256,
                "rows": built.rows,
            },
            "task_type": project.task_type,
            "label_schema": project.label_schema,
            "instructions": project.instructions,
            "annotators": [
                {"id": name, "rows": count} for name, count in sorted(built.annotators.items())
            ],
            "created_at": _iso(version.created_at),
            "finished_at": _iso(finished),
            "created_by": {
                "id": creator,
                "via": "token" if version.created_by_token_id else "user",
            },
        }
    )


def _iso(moment: Any) -> str:
    return str(moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


def file_name(version: DatasetVersion) -> str:
    """The file's name as downloaded: the project's slug-ish name, the version's name."""
    fmt = formats.format_get(version.format)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", version.project.name).strip("-.")[:60] or "project"
    return f"{stem}-{version.name}.{fmt.extension}"


def _succeed(version: DatasetVersion, built: _Built) -> DatasetVersion:
    finished = timezone.now()
    text = _manifest(version, built, finished)
    signature, key_id = manifest_sign(text)
    with transaction.atomic():
        updated = DatasetVersion.objects.filter(
            pk=version.pk, state=VersionState.RUNNING, attempts=version.attempts
        ).update(
            state=VersionState.SUCCEEDED,
            rows_written=built.rows,
            row_count=built.rows,
            size=built.size,
            sha256=built.sha256,
            manifest=text,
            signature=signature,
            key_id=key_id,
            finished_at=finished,
            heartbeat_at=finished,
        )
        if updated != 1:
            # Another worker took the version over (this one was thought dead): its build
            # replaces this file and finishes the version.
            return DatasetVersion.objects.get(pk=version.pk)
        record(
            actor=Actor.system("export"),
            action="version.built",
            project_id=version.project_id,
            object_type="version",
            object_id=str(version.pk),
            details={"rows": built.rows, "size": built.size, "sha256": built.sha256},
        )
        version.refresh_from_db()
        for hook in VERSION_READY:
            hook(version)
    return version


# Called in the transaction that marks a version succeeded (webhooks register here).
VERSION_READY: list[Any] = []


def _fail(version: DatasetVersion, code: str, message: str) -> DatasetVersion:
    with transaction.atomic():
        DatasetVersion.objects.filter(pk=version.pk, attempts=version.attempts).update(
            state=VersionState.FAILED,
            error=code[:64],
            error_message=message[:500],
            finished_at=timezone.now(),
        )
        record(
            actor=Actor.system("export"),
            action="version.failed",
            outcome="failure",
            project_id=version.project_id,
            object_type="version",
            object_id=str(version.pk),
            details={"error": code},
        )
    vault_config.blob_store().delete(project_id=version.project_id, name=version.blob)
    return DatasetVersion.objects.get(pk=version.pk)


def stale_seconds() -> int:
    return int(settings.JOB_STALE_SECONDS)


def versions_resume() -> int:
    """Queue versions whose worker died mid-build or whose message was lost."""
    cutoff = timezone.now() - _stale_after()
    lost = DatasetVersion.objects.filter(
        Q(state=VersionState.RUNNING, heartbeat_at__lt=cutoff)
        | Q(state=VersionState.QUEUED, created_at__lt=cutoff)
    ).values_list("pk", flat=True)
    count = 0
    for version_id in lost:
        _enqueue(version_id)
        count += 1
    return count


# --- Download -----------------------------------------------------------------------------------


class RangeNotSatisfiable(ApplicationError):
    status = 416
    code = "range_not_satisfiable"


_RANGE = re.compile(r"bytes=(\d{1,19})-(\d{0,19})\Z")


@dataclass
class Download:
    partial: bool
    start: int
    end: int  # inclusive; start - 1 for an empty file
    total: int
    chunks: Iterator[bytes]

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def etag(version: DatasetVersion) -> str:
    return f'"sha256:{version.sha256}"'


def _range(header: str | None, if_range: str | None, version: DatasetVersion) -> tuple[int, int]:
    total = version.size or 0
    whole = (0, total - 1)
    if not header or (if_range is not None and if_range.strip() != etag(version)):
        return whole
    match = _RANGE.match(header.strip())
    if match is None:
        return whole  # several ranges, suffix ranges: answered with the whole file (RFC 9110)
    start = int(match.group(1))
    end = int(match.group(2)) if match.group(2) else total - 1
    if start >= total or end < start:
        raise RangeNotSatisfiable(
            f"The file has {total} bytes; the range asked for starts beyond it.",
            details={"size": total},
        )
    return start, min(end, total - 1)


def _limited(chunks: Iterator[bytes], length: int) -> Iterator[bytes]:
    left = length
    for chunk in chunks:
        if left <= 0:
            break
        piece = chunk[:left] if len(chunk) > left else chunk
        left -= len(piece)
        yield piece
    if hasattr(chunks, "close"):
        chunks.close()


def version_download(
    *,
    actor: Actor,
    version: DatasetVersion,
    range_header: str | None = None,
    if_range: str | None = None,
) -> Download:
    """The version's file (or the asked-for part), decrypted as it streams; recorded."""
    if version.state != VersionState.SUCCEEDED:
        raise Conflict(
            f"The version is {version.state}; only a succeeded version has a file.",
            code="version_not_ready",
        )
    start, end = _range(range_header, if_range, version)
    total = version.size or 0
    partial = (start, end) != (0, total - 1)
    chunks = vault_config.blob_store().read(
        project_id=version.project_id, name=version.blob, start=start
    )
    record(
        actor=actor,
        action="version.downloaded",
        project_id=version.project_id,
        object_type="version",
        object_id=str(version.pk),
        details={"start": start, "end": end, "size": total},
    )
    return Download(
        partial=partial,
        start=start,
        end=end,
        total=total,
        chunks=_limited(chunks, end - start + 1),
    )
