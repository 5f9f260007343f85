"""Imports: an upload, stored encrypted, becomes a project's tasks, all or nothing.

``import_create`` (the API's and the page's upload) streams the body into the blob store,
encrypted as it arrives, then records the import and queues its job. ``import_run`` (the job)
reads the upload back in a stream, checks every record, seals and fingerprints it, and writes
tasks in large batches through ``datasets.writers``; nothing holds the whole file. The import
succeeds with every task or fails with none, and a worker killed at any point leaves an import
that the next worker takes over (``imports_resume``) and runs again from the start.
"""

import io
import json
import logging
import os
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

import vault
from audit.models import Outcome
from audit.services import Actor, record
from core.errors import ApplicationError, Conflict, TooLarge, ValidationFailed
from datasets import formats, writers
from datasets.limits import ImportLimits
from datasets.models import FINISHED_STATES, Import, ImportState, OnDuplicate
from datasets.problems import ImportRejected, ProblemLog
from datasets.records import CleanRecord, RecordChecker
from labeling.models import SEQ_IMPORT_SHIFT
from projects.models import Project, TaskType
from projects.services import require_active
from vault import config as vault_config

logger = logging.getLogger(__name__)

BATCH_ROWS = 5000
REPORT_EVERY_SECONDS = 0.5
ZIP = "zip"
_UPLOAD_CHUNK = 1024 * 1024


class _Cancelled(Exception):
    pass


class _Failed(Exception):
    pass


# --- Upload -----------------------------------------------------------------------------------


class _LimitedSource(io.RawIOBase):
    """The request body, refused once it passes the size limit."""

    def __init__(self, source: BinaryIO, limit: int) -> None:
        self._source = source
        self._limit = limit
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        data = self._source.read(min(len(target), _UPLOAD_CHUNK))
        if not data:
            return 0
        self.count += len(data)
        if self.count > self._limit:
            raise TooLarge(
                f"The upload is larger than the limit of {self._limit:,} bytes "
                "(LABELKEEP_IMPORT_MAX_UPLOAD_BYTES).",
                code="upload_too_large",
                details={"limit": self._limit},
            )
        target[: len(data)] = data
        return len(data)


@dataclass(frozen=True)
class ImportOptions:
    file_name: str
    format: str
    gzip: bool
    on_duplicate: str = OnDuplicate.SKIP
    mapping: dict[str, str | None] = field(default_factory=dict)


def import_options(
    project: Project,
    *,
    file_name: str,
    on_duplicate: str = OnDuplicate.SKIP,
    mapping: dict[str, str | None] | None = None,
) -> ImportOptions:
    """Check an import's parameters before any byte of the upload is read."""
    name = file_name.strip().replace("\\", "/").rsplit("/", 1)[-1]
    if not name or len(name) > 255 or any(ord(c) < 32 for c in name):
        raise ValidationFailed(
            "file_name must be the upload's file name (1 to 255 characters), such as tasks.jsonl.",
            code="invalid_file_name",
            details={"field": "file_name"},
        )
    if name.lower().endswith(".zip"):
        if project.task_type != TaskType.BOXES:
            raise ValidationFailed(
                "A zip of images can only be imported into an image bounding box project.",
                code="unsupported_format",
                details={"field": "file_name"},
            )
        fmt, gzip = ZIP, False
    else:
        try:
            parsed, gzip = formats.format_from_name(name)
        except ImportRejected as exc:
            raise ValidationFailed(
                exc.problem.message, code=exc.problem.code, details={"field": "file_name"}
            ) from None
        fmt = parsed.value
    if on_duplicate not in OnDuplicate.values:
        raise ValidationFailed(
            f"on_duplicate must be one of: {', '.join(OnDuplicate.values)}.",
            code="invalid_on_duplicate",
            details={"field": "on_duplicate"},
        )
    mapping = mapping or {}
    if mapping and fmt not in (formats.Format.CSV, formats.Format.TSV):
        raise ValidationFailed(
            "A column mapping applies to CSV and TSV files only.",
            code="bad_mapping",
            details={"field": "mapping"},
        )
    for column, target in mapping.items():
        if not isinstance(column, str) or not (target is None or isinstance(target, str)):
            raise ValidationFailed(
                "mapping must map column names to field names (or null to ignore a column).",
                code="bad_mapping",
                details={"field": "mapping"},
            )
    return ImportOptions(name, fmt, gzip, on_duplicate, dict(mapping))


def import_create(
    *,
    actor: Actor,
    project: Project,
    options: ImportOptions,
    source: BinaryIO,
    declared_size: int | None = None,
) -> Import:
    """Store the upload encrypted, record the import and queue its job (managers)."""
    require_active(project)
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if declared_size is not None and declared_size > limit:
        raise TooLarge(
            f"The upload is larger than the limit of {limit:,} bytes "
            "(LABELKEEP_IMPORT_MAX_UPLOAD_BYTES).",
            code="upload_too_large",
            details={"limit": limit},
        )
    import_id = uuid.uuid4()
    blob = f"imports/{import_id}/upload"
    store = vault_config.blob_store()
    reader = io.BufferedReader(_LimitedSource(source, limit), buffer_size=_UPLOAD_CHUNK)
    try:
        info = store.put(project_id=project.pk, name=blob, source=reader)
        if info.size == 0:
            raise ValidationFailed(
                "The upload is empty.", code="empty_upload", details={"field": "file"}
            )
        return _import_record(actor, project, import_id, options, info.size)
    except BaseException:
        store.delete(project_id=project.pk, name=blob)
        raise


def _import_record(
    actor: Actor, project: Project, import_id: uuid.UUID, options: ImportOptions, size: int
) -> Import:
    for _attempt in range(5):
        try:
            with transaction.atomic():
                number = (
                    Import.objects.filter(project=project).aggregate(n=Max("number"))["n"] or 0
                ) + 1
                imp = Import.objects.create(
                    id=import_id,
                    project=project,
                    number=number,
                    created_by=actor.user,
                    file_name=options.file_name,
                    format=options.format,
                    gzip=options.gzip,
                    on_duplicate=options.on_duplicate,
                    mapping=options.mapping,
                    upload_bytes=size,
                )
                record(
                    actor=actor,
                    action="import.created",
                    project_id=project.pk,
                    object_type="import",
                    object_id=str(imp.pk),
                    details={
                        "format": imp.format,
                        "gzip": imp.gzip,
                        "bytes": size,
                        "on_duplicate": imp.on_duplicate,
                    },
                )
                transaction.on_commit(partial(_enqueue, imp.pk))
                return imp
        except IntegrityError:
            continue  # another import of the project took the number: take the next one
    raise Conflict("Too many imports started at once; try again.", code="import_busy")


def _enqueue(import_id: uuid.UUID, countdown: float | None = None) -> None:
    from datasets.tasks import import_run_task  # the tasks module imports this one

    if countdown is None:
        import_run_task.apply_async(args=(str(import_id),))
    else:
        import_run_task.apply_async(args=(str(import_id),), countdown=countdown)


# --- Cancel, delete ---------------------------------------------------------------------------


def import_cancel(*, actor: Actor, imp: Import) -> Import:
    """Ask the job to stop; a queued import is cancelled at once. Nothing of it remains."""
    with transaction.atomic():
        imp = Import.objects.select_for_update().get(pk=imp.pk)
        if imp.state in FINISHED_STATES:
            raise Conflict(
                f"This import has already {imp.state}; only a queued or running import can "
                "be cancelled.",
                code="import_finished",
            )
        imp.cancel_requested = True
        fields = ["cancel_requested"]
        if imp.state == ImportState.QUEUED:
            imp.state = ImportState.CANCELLED
            imp.finished_at = timezone.now()
            fields += ["state", "finished_at"]
        imp.save(update_fields=fields)
        record(
            actor=actor,
            action="import.cancel_requested",
            project_id=imp.project_id,
            object_type="import",
            object_id=str(imp.pk),
        )
    if imp.state == ImportState.CANCELLED:
        _discard_upload(imp)
    return imp


def import_tasks_delete(*, actor: Actor, imp: Import) -> int:
    """Delete the tasks an import created (managers), in batches. Returns how many."""
    require_active(imp.project)
    if imp.state != ImportState.SUCCEEDED:
        raise Conflict("Only a succeeded import has tasks to delete.", code="import_not_succeeded")
    if imp.deleted_tasks_at is not None:
        raise Conflict("This import's tasks were deleted already.", code="tasks_deleted")
    deleted = 0
    tasks = writers.import_tasks(imp)
    while True:
        with transaction.atomic():
            last = list(tasks.order_by("seq").values_list("seq", flat=True)[9999:10000])
            batch = tasks.filter(seq__lte=last[0]) if last else tasks
            deleted += int(batch.delete()[0])
        if not last:
            break
    with transaction.atomic():
        Import.objects.filter(pk=imp.pk).update(deleted_tasks_at=timezone.now())
        record(
            actor=actor,
            action="import.tasks_deleted",
            project_id=imp.project_id,
            object_type="import",
            object_id=str(imp.pk),
            details={"deleted": deleted},
        )
    imp.refresh_from_db()
    return deleted


# --- The job ----------------------------------------------------------------------------------


def _stale_after() -> timedelta:
    return timedelta(seconds=settings.JOB_STALE_SECONDS)


def _claim(import_id: uuid.UUID) -> bool:
    """Take the import: queued, or running with a heartbeat so old that its worker died."""
    now = timezone.now()
    claimable = Q(state=ImportState.QUEUED) | Q(
        state=ImportState.RUNNING, heartbeat_at__lt=now - _stale_after()
    )
    taken = Import.objects.filter(claimable, pk=import_id, cancel_requested=False).update(
        state=ImportState.RUNNING,
        started_at=Coalesce(F("started_at"), now),
        heartbeat_at=now,
        attempts=F("attempts") + 1,
    )
    return taken == 1


MAX_ATTEMPTS = 3


def import_run(*, import_id: uuid.UUID) -> Import:
    """Run (or take over and rerun) an import to its end; harmless if another worker has it."""
    if not _claim(import_id):
        imp = Import.objects.select_related("project", "created_by").get(pk=import_id)
        if imp.state == ImportState.RUNNING and imp.cancel_requested:
            _cancel_abandoned(imp)
        return Import.objects.get(pk=import_id)
    imp = Import.objects.select_related("project", "created_by").get(pk=import_id)
    if imp.attempts > 1:
        _clean_leftovers(imp)
    job = _Job(imp, ImportLimits.from_settings())
    state = _attempt(imp, job)
    if state != ImportState.SUCCEEDED:
        return _finish(imp, job, state)
    _discard_upload(imp)
    imp.refresh_from_db()
    return imp


def _attempt(imp: Import, job: "_Job") -> str:
    """Run the job once; the state it ends in (its problems say why it failed)."""
    if imp.attempts > MAX_ATTEMPTS:
        job.problems.add(
            "file",
            f"The import was interrupted {MAX_ATTEMPTS} times; start it again.",
            "interrupted",
        )
        return ImportState.FAILED
    state = ImportState.FAILED
    try:
        job.run()
        state = ImportState.SUCCEEDED
    except _Cancelled:
        state = ImportState.CANCELLED
    except _Failed:
        pass
    except ApplicationError as exc:  # the key provider or the file store is down, ...
        job.problems.add("file", exc.message, exc.code)
    except IntegrityError:
        # Rows of the file that repeat an external id, or another import that wrote the same
        # tasks at the same time.
        if not job.repeated_external_ids():
            job.problems.add(
                "file",
                "Another import into this project wrote some of the same tasks at the same "
                "time; run this import again to add what is missing.",
                "concurrent_import",
            )
    except Exception:
        logger.exception("Import %s failed unexpectedly", imp.pk)
        job.problems.add(
            "file", "The import failed because of an internal error; it was logged.", "internal"
        )
    return state


def _cancel_abandoned(imp: Import) -> None:
    """A cancel asked of a running import whose worker is gone: nothing is left to stop."""
    if imp.heartbeat_at and imp.heartbeat_at < timezone.now() - _stale_after():
        _clean_leftovers(imp)
        _finish(imp, _Job(imp, ImportLimits.from_settings()), ImportState.CANCELLED)


def _clean_leftovers(imp: Import) -> None:
    """What an interrupted attempt left: staged tasks (SQLite) and stored images."""
    writers.staged_tasks_delete(imp)
    from datasets.models import ProjectFile

    ProjectFile.objects.filter(source_import=imp, published=False).delete()
    vault_config.blob_store().delete_folder(project_id=imp.project_id, folder=imp.files_folder)


def _discard_upload(imp: Import) -> None:
    vault_config.blob_store().delete(project_id=imp.project_id, name=imp.upload_blob)


def _finish(imp: Import, job: "_Job", state: str) -> Import:
    """End an import that did not succeed: nothing of it remains but its record."""
    _clean_leftovers(imp)
    _discard_upload(imp)
    problems = job.problems
    if state == ImportState.FAILED:
        first = problems.listed[0] if problems.listed else None
        error = first.code if first else "internal"
        message = (
            f"{problems.total:,} problem{'s' if problems.total != 1 else ''} found; "
            "no task was created."
        )
    else:
        error, message = "", "Cancelled; no task was created."
    now = timezone.now()
    with transaction.atomic():
        Import.objects.filter(pk=imp.pk).update(
            state=state,
            rows_read=job.rows_read,
            tasks_created=0,
            duplicates_skipped=job.duplicates,
            files_stored=0,
            problems=problems.as_list(),
            problem_count=problems.total,
            error=error,
            error_message=message,
            finished_at=now,
            heartbeat_at=now,
        )
        record(
            actor=Actor.system("import", user=imp.created_by),
            action=f"import.{state}",
            outcome=Outcome.FAILURE if state == ImportState.FAILED else Outcome.SUCCESS,
            project_id=imp.project_id,
            object_type="import",
            object_id=str(imp.pk),
            details={**job.counts(), "error": error},
        )
    imp.refresh_from_db()
    return imp


def _short(fingerprint: bytes) -> int:
    """60 bits of a fingerprint, for the sets that find repeats within one file: an int of
    this size takes 32 bytes, so a million rows cost about 70 MB per set. Two different rows
    share 60 bits with a probability of about 4e-7 per million-row file."""
    return int.from_bytes(fingerprint[:8], "big") >> 4


def _task_ids(count: int) -> list[bytes]:
    """Time-ordered random ids (UUID version 7, as 16 bytes), in reverse order for ``pop``.

    New rows land at the right edge of the primary key's index instead of all over it.
    """
    head = (time.time_ns() // 1_000_000).to_bytes(6, "big")
    randoms = os.urandom(10 * count)
    ids = []
    for start in range(10 * (count - 1), -1, -10):
        r = randoms[start : start + 10]
        ids.append(head + bytes((0x70 | (r[0] & 0x0F), r[1], 0x80 | (r[2] & 0x3F))) + r[3:])
    return ids


def _uuid_text(raw: bytes) -> str:
    """The canonical text of a UUID given as 16 bytes (what sealed values are bound to)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_encode_text = json.encoder.encode_basestring


def _payload_json(rec: CleanRecord) -> bytes:
    """What a task's sealed payload holds: its data, external id and metadata, as JSON."""
    parts = [b'{"data":', rec.data_json]
    if rec.external_id is not None:
        parts += [b',"external_id":', _encode_text(rec.external_id).encode()]
    if rec.metadata is not None:
        metadata = json.dumps(rec.metadata, ensure_ascii=False, separators=(",", ":"))
        parts += [b',"metadata":', metadata.encode()]
    parts.append(b"}")
    return b"".join(parts)


class _CountingReader(io.RawIOBase):
    def __init__(self, source: BinaryIO) -> None:
        self._source = source
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, target: Any) -> int:
        data = self._source.read(len(target))
        self.count += len(data)
        target[: len(data)] = data
        return len(data)


@dataclass
class _Pending:
    where: list[str] = field(default_factory=list)
    rows: list[writers.TaskRow] = field(default_factory=list)
    # (object id, payload JSON) of each row, sealed together when the batch is flushed;
    # empty once the import is failing (rows are then only checked, never written).
    plain: list[tuple[str, bytes]] = field(default_factory=list)


class _Job:
    """One attempt at one import: read, check, seal, write, publish."""

    def __init__(self, imp: Import, limits: ImportLimits) -> None:
        self.imp = imp
        self.limits = limits
        self.problems = ProblemLog()
        self.project_id = imp.project_id
        self.created_at = timezone.now()
        self.rows_read = 0
        self.tasks_created = 0
        self.duplicates = 0
        self.files_stored = 0
        self.bytes_read = 0
        self._counter: _CountingReader | None = None
        self._seen: set[int] = set()
        self._seen_external: set[int] = set()
        self._pending = _Pending()
        self._last_report = 0.0
        self._seq_base = imp.number << SEQ_IMPORT_SHIFT
        self.sink: writers.Sink | None = None
        self._sealer = vault.field_sealer(imp.project_id, "task.payload")

    # Orchestration

    def run(self) -> None:
        self._had_tasks = writers.project_has_tasks(self.imp)
        self.sink = writers.sink_for(self.imp, self.created_at)
        try:
            self._read_all()
            if self.problems:
                self.repeated_external_ids()
                raise _Failed
            self._report(force=True)
        except BaseException:
            self.sink.rollback()
            raise
        self.sink.commit(self._succeed)

    def _read_all(self) -> None:
        store = vault_config.blob_store()
        plain = store.open(project_id=self.project_id, name=self.imp.upload_blob)
        try:
            if self.imp.format == ZIP:
                from datasets.image_imports import read_zip

                records: Iterable[CleanRecord] = read_zip(self, store, plain)
            else:
                self._counter = _CountingReader(plain)
                counted = io.BufferedReader(self._counter, buffer_size=_UPLOAD_CHUNK)
                records = self._text_records(counted)
            self._consume(records)
        except ImportRejected as exc:
            self.problems.add_problem(exc.problem)
        finally:
            plain.close()

    def repeated_external_ids(self) -> int:
        """A second pass over a text upload naming the rows whose external id an earlier row
        has (skipping rows that repeat an earlier row's data, as the first pass did). Runs
        only when the import fails, so its sets cost memory only then. Returns how many."""
        if self.imp.format == ZIP:
            return 0  # zips track external ids in memory in the first pass
        store = vault_config.blob_store()
        external_fp = vault.fingerprinter(self.project_id, "task.external_id")
        payload_fp = vault.fingerprinter(self.project_id, "task.payload")
        seen_data: set[int] = set()
        seen_ids: set[int] = set()
        scratch = ProblemLog()  # the first pass reported the other problems already
        found = 0
        plain = store.open(project_id=self.project_id, name=self.imp.upload_blob)
        try:
            for rec in self._text_records(plain, scratch):
                data = _short(rec.fingerprint or payload_fp.digest(rec.data_json))
                if data in seen_data or rec.external_id is None:
                    continue
                seen_data.add(data)
                short = _short(external_fp.text(rec.external_id))
                if short in seen_ids:
                    found += 1
                    self.problems.add(
                        rec.where,
                        "This external_id is used by an earlier row of the file.",
                        "duplicate_external_id",
                        "external_id",
                    )
                seen_ids.add(short)
        except ImportRejected:
            pass  # reported by the first pass
        finally:
            plain.close()
        self.problems.sort_listed()
        return found

    def _text_records(
        self, counted: BinaryIO, problems: ProblemLog | None = None
    ) -> Iterator[CleanRecord]:
        """The upload's valid records. The first pass logs problems on the import; a second
        pass (``repeated_external_ids``) gives its own log and resolves no image."""
        first_pass = problems is None
        log = self.problems if problems is None else problems
        fmt = formats.Format(self.imp.format)
        text = formats.open_text_source(counted, gzip=self.imp.gzip, limits=self.limits)
        checker = RecordChecker(
            self.imp.project.task_type,
            self.limits,
            log,
            from_text_cells=fmt in (formats.Format.CSV, formats.Format.TSV),
        )
        rows = formats.read_records(
            text, fmt, limits=self.limits, problems=log, mapping=self.imp.mapping or None
        )
        if first_pass and self.imp.project.task_type == TaskType.BOXES:
            from datasets.image_imports import resolve_uploaded

            yield from resolve_uploaded(self, rows, checker)
            return
        check = checker.check
        for where, raw in rows:
            clean = check(where, raw)
            if clean is not None:
                yield clean
            elif first_pass:
                self.rows_read += 1

    # Rows

    def _consume(self, records: Iterable[CleanRecord]) -> None:
        prediction_sealer = vault.field_sealer(self.project_id, "task.prediction")
        gold_sealer = vault.field_sealer(self.project_id, "task.gold")
        payload_fp = vault.fingerprinter(self.project_id, "task.payload")
        external_fp = vault.fingerprinter(self.project_id, "task.external_id")
        seen, seen_external = self._seen, self._seen_external
        # Repeats of an external id within a text file are left to the database's unique
        # index (and named by a second pass if the import fails): no set of every id here.
        track_external = self.imp.format == ZIP
        reject_duplicates = self.imp.on_duplicate == OnDuplicate.REJECT
        pending = self._pending
        ids: list[bytes] = []
        max_rows = self.limits.max_rows
        for rec in records:
            self.rows_read += 1
            if self.rows_read > max_rows:
                raise ImportRejected(_too_many_rows(max_rows))
            fingerprint = rec.fingerprint or payload_fp.digest(rec.data_json)
            short = _short(fingerprint)
            if short in seen:
                if reject_duplicates:
                    self.problems.add(
                        rec.where,
                        "This task repeats an earlier row of the file (same data).",
                        "duplicate_task",
                    )
                else:
                    self.duplicates += 1
                continue
            seen.add(short)
            external_key = None
            if rec.external_id is not None:
                external_key = external_fp.text(rec.external_id)
                short_ext = _short(external_key)
                if track_external and short_ext in seen_external:
                    self.problems.add(
                        rec.where,
                        "This external_id is used by an earlier row of the file.",
                        "duplicate_external_id",
                        "external_id",
                    )
                    continue
                if track_external:
                    seen_external.add(short_ext)
            pending.where.append(rec.where)
            if self.problems:
                # The import will fail: keep checking (against the project too), stop sealing.
                pending.rows.append(_unsealed(fingerprint, external_key))
            else:
                if not ids:
                    ids = _task_ids(BATCH_ROWS)
                task_id = ids.pop()
                object_id = _uuid_text(task_id)
                pending.plain.append((object_id, _payload_json(rec)))
                pending.rows.append(
                    writers.TaskRow(
                        id=task_id,
                        seq=self._seq_base + self.rows_read,
                        priority=rec.priority,
                        payload=b"",  # sealed with its batch, in _flush
                        prediction=None
                        if rec.prediction is None
                        else prediction_sealer.seal(object_id, rec.prediction),
                        gold=None if rec.gold is None else gold_sealer.seal(object_id, rec.gold),
                        fingerprint=fingerprint,
                        external_key=external_key,
                    )
                )
            if len(pending.rows) >= BATCH_ROWS:
                self._flush()
        self._flush()

    def _flush(self) -> None:
        pending = self._pending
        if not pending.rows:
            self._report()
            return
        rows, wheres, plain = pending.rows, pending.where, pending.plain
        pending.rows, pending.where, pending.plain = [], [], []
        if plain and not self.problems:
            for row, sealed in zip(rows, self._sealer.seal_json_texts(plain), strict=True):
                row.payload = sealed
        if self._had_tasks:
            rows, wheres = self._against_existing(rows, wheres)
        if rows and not self.problems:
            assert self.sink is not None
            self.sink.write(rows)
            self.tasks_created += len(rows)
        self._report()

    def _against_existing(
        self, rows: list[writers.TaskRow], wheres: list[str]
    ) -> tuple[list[writers.TaskRow], list[str]]:
        """Drop (or report) rows whose data or external id the project has already."""
        known = writers.existing(self.project_id, "fingerprint", [r.fingerprint for r in rows])
        externals = [r.external_key for r in rows if r.external_key is not None]
        known_external = (
            writers.existing(self.project_id, "external_key", externals) if externals else set()
        )
        kept: list[writers.TaskRow] = []
        kept_where: list[str] = []
        for row, where in zip(rows, wheres, strict=True):
            if row.fingerprint in known:
                if self.imp.on_duplicate == OnDuplicate.REJECT:
                    self.problems.add(
                        where,
                        "The project already has a task with the same data.",
                        "duplicate_task",
                    )
                else:
                    self.duplicates += 1
                continue
            if row.external_key is not None and row.external_key in known_external:
                self.problems.add(
                    where,
                    "The project already has a task with this external_id.",
                    "duplicate_external_id",
                    "external_id",
                )
                continue
            kept.append(row)
            kept_where.append(where)
        return kept, kept_where

    def _report(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_report < REPORT_EVERY_SECONDS:
            return
        self._last_report = now
        if self._counter is not None:
            self.bytes_read = self._counter.count
        cancel = writers.progress_report(
            self.imp,
            writers.Progress(
                bytes_read=self.bytes_read,
                rows_read=self.rows_read,
                tasks_created=self.tasks_created,
                duplicates_skipped=self.duplicates,
                files_stored=self.files_stored,
            ),
        )
        if cancel:
            raise _Cancelled

    # Outcome

    def _succeed(self) -> None:
        """In the writer's transaction: the import's record commits with its tasks."""
        from datasets.models import ProjectFile

        now = timezone.now()
        ProjectFile.objects.filter(source_import=self.imp, published=False).update(published=True)
        Import.objects.filter(pk=self.imp.pk).update(
            state=ImportState.SUCCEEDED,
            bytes_read=self.imp.upload_bytes,
            rows_read=self.rows_read,
            tasks_created=self.tasks_created,
            duplicates_skipped=self.duplicates,
            files_stored=self.files_stored,
            finished_at=now,
            heartbeat_at=now,
        )
        record(
            actor=Actor.system("import", user=self.imp.created_by),
            action="import.succeeded",
            project_id=self.project_id,
            object_type="import",
            object_id=str(self.imp.pk),
            details=self.counts(),
        )

    def counts(self) -> dict[str, int]:
        return {
            "rows_read": self.rows_read,
            "tasks_created": self.tasks_created,
            "duplicates_skipped": self.duplicates,
            "files_stored": self.files_stored,
            "problems": self.problems.total,
        }


def _unsealed(fingerprint: bytes, external_key: bytes | None) -> writers.TaskRow:
    """A row that is only checked for duplicates, never written."""
    return writers.TaskRow(
        id=b"",
        seq=0,
        priority=0,
        payload=b"",
        prediction=None,
        gold=None,
        fingerprint=fingerprint,
        external_key=external_key,
    )


def _too_many_rows(limit: int) -> Any:
    from datasets.problems import Problem

    return Problem(
        "file",
        f"The file has more than {limit:,} rows (LABELKEEP_IMPORT_MAX_ROWS).",
        "too_many_rows",
    )


def stale_seconds() -> int:
    return int(settings.JOB_STALE_SECONDS)


def imports_resume() -> int:
    """Queue imports that are running with a stale heartbeat, or queued for too long."""
    cutoff = timezone.now() - _stale_after()
    lost = Import.objects.filter(
        Q(state=ImportState.RUNNING, heartbeat_at__lt=cutoff)
        | Q(state=ImportState.QUEUED, created_at__lt=cutoff)
    ).values_list("pk", flat=True)
    count = 0
    for import_id in lost:
        _enqueue(import_id)
        count += 1
    return count
