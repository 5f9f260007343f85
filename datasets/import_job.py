"""One attempt at an import, in the job's thread: read the upload, check each record, find
repeats, seal and fingerprint, hand batches to the writer, report progress, and record the
outcome in the writer's transaction. ``datasets.imports`` claims imports, runs attempts and
cleans up after those that do not succeed.
"""

import io
import json
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from django.utils import timezone

import vault
from audit.services import Actor, record
from datasets import formats, writers
from datasets.limits import ImportLimits
from datasets.models import Import, ImportState, OnDuplicate
from datasets.problems import ImportRejected, Problem, ProblemLog
from datasets.records import CleanRecord, RecordChecker
from labeling.models import SEQ_IMPORT_SHIFT
from projects.models import TaskType
from vault import config as vault_config

BATCH_ROWS = 5000
REPORT_EVERY_SECONDS = 0.5
ZIP = "zip"
READ_CHUNK = 1024 * 1024


class Cancelled(Exception):
    """A manager asked to cancel: the attempt stops and nothing of it remains."""


class Failed(Exception):
    """The upload has problems (listed on the job): nothing is written."""


def short_key(fingerprint: bytes) -> int:
    """60 bits of a fingerprint, for the sets that find repeats within one file: an int of
    this size takes 32 bytes, so a million rows cost about 70 MB per set. Two different rows
    share 60 bits with a probability of about 4e-7 per million-row file."""
    return int.from_bytes(fingerprint[:8], "big") >> 4


def task_ids(count: int) -> list[bytes]:
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


def uuid_text(raw: bytes) -> str:
    """The canonical text of a UUID given as 16 bytes (what sealed values are bound to)."""
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_encode_text = json.encoder.encode_basestring


def payload_json(rec: CleanRecord) -> bytes:
    """What a task's sealed payload holds: its data, external id and metadata, as JSON."""
    parts = [b'{"data":', rec.data_json]
    if rec.external_id is not None:
        parts += [b',"external_id":', _encode_text(rec.external_id).encode()]
    if rec.metadata is not None:
        metadata = json.dumps(rec.metadata, ensure_ascii=False, separators=(",", ":"))
        parts += [b',"metadata":', metadata.encode()]
    parts.append(b"}")
    return b"".join(parts)


class CountingReader(io.RawIOBase):
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


class ImportJob:
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
        self._counter: CountingReader | None = None
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
                raise Failed
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
                self._counter = CountingReader(plain)
                counted = io.BufferedReader(self._counter, buffer_size=READ_CHUNK)
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
                data = short_key(rec.fingerprint or payload_fp.digest(rec.data_json))
                if data in seen_data or rec.external_id is None:
                    continue
                seen_data.add(data)
                short = short_key(external_fp.text(rec.external_id))
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
                raise ImportRejected(too_many_rows(max_rows))
            fingerprint = rec.fingerprint or payload_fp.digest(rec.data_json)
            short = short_key(fingerprint)
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
                short_ext = short_key(external_key)
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
                pending.rows.append(unsealed_row(fingerprint, external_key))
            else:
                if not ids:
                    ids = task_ids(BATCH_ROWS)
                task_id = ids.pop()
                object_id = uuid_text(task_id)
                pending.plain.append((object_id, payload_json(rec)))
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
            raise Cancelled

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


def unsealed_row(fingerprint: bytes, external_key: bytes | None) -> writers.TaskRow:
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


def too_many_rows(limit: int) -> Problem:
    return Problem(
        "file",
        f"The file has more than {limit:,} rows (LABELKEEP_IMPORT_MAX_ROWS).",
        "too_many_rows",
    )
