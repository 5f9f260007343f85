"""Imports: an upload, stored encrypted, becomes a project's tasks, all or nothing.

``import_create`` (the API's and the page's upload) streams the body into the blob store,
encrypted as it arrives, then records the import and queues its job. ``import_run`` (the job)
reads the upload back in a stream, checks every record, seals and fingerprints it, and writes
tasks in large batches through ``datasets.writers``; nothing holds the whole file. The import
succeeds with every task or fails with none, and a worker killed at any point leaves an import
that the next worker takes over (``imports_resume``) and runs again from the start.
"""

import io
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Max, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from audit.models import Outcome
from audit.services import Actor, record
from core.errors import ApplicationError, Conflict, ValidationFailed
from datasets import formats, import_job, writers
from datasets.limits import ImportLimits, incomplete_upload, upload_too_large
from datasets.models import FINISHED_STATES, Import, ImportState, OnDuplicate
from datasets.problems import ImportRejected
from labeling.models import Task
from projects.models import Project, TaskType
from projects.services import require_active
from vault import config as vault_config

logger = logging.getLogger(__name__)

_UPLOAD_CHUNK = 1024 * 1024


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
            raise upload_too_large(self._limit)
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
        fmt, gzip = import_job.ZIP, False
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
        raise upload_too_large(limit)
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
        if declared_size is not None and info.size != declared_size:
            raise incomplete_upload(info.size, declared_size, "file")
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
    job = import_job.ImportJob(imp, ImportLimits.from_settings())
    state = _attempt(imp, job)
    if state != ImportState.SUCCEEDED:
        return _finish(imp, job, state)
    _discard_upload(imp)
    imp.refresh_from_db()
    _refresh_statistics(imp)
    return imp


# Imports that change a project by this many tasks refresh the planner's statistics.
_ANALYZE_AFTER = 10_000


def _refresh_statistics(imp: Import) -> None:
    """Give the query planner the new tasks' statistics now, not whenever autovacuum runs:
    without them PostgreSQL may pick a slower index for the queue's queries (seen: 300 ms
    instead of 0.03 ms right after a million-task import). The tasks are visible already."""
    if imp.tasks_created < _ANALYZE_AFTER:
        return
    table = Task._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit = 1000")
        cursor.execute(f"ANALYZE {table}")


def _attempt(imp: Import, job: "import_job.ImportJob") -> str:
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
    except import_job.Cancelled:
        state = ImportState.CANCELLED
    except import_job.Failed:
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
        _finish(imp, import_job.ImportJob(imp, ImportLimits.from_settings()), ImportState.CANCELLED)


def _clean_leftovers(imp: Import) -> None:
    """What an interrupted attempt left: staged tasks (SQLite) and stored images."""
    writers.staged_tasks_delete(imp)
    from datasets.models import ProjectFile

    ProjectFile.objects.filter(source_import=imp, published=False).delete()
    vault_config.blob_store().delete_folder(project_id=imp.project_id, folder=imp.files_folder)


def _discard_upload(imp: Import) -> None:
    vault_config.blob_store().delete(project_id=imp.project_id, name=imp.upload_blob)


def _finish(imp: Import, job: "import_job.ImportJob", state: str) -> Import:
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
