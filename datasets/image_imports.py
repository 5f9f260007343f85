"""Image tasks for box projects: from a zip of images (with an optional manifest), or from a
JSONL/CSV file naming images uploaded before (``POST .../files/``).

Each image is checked (``datasets.images``) and stored encrypted before its task is written;
images of an import are published with its tasks, and deleted with them if it fails. A task's
payload is ``{"image": "<file id>"}``; its fingerprint is that of the image's content, so the
same picture twice is a duplicate whatever its name.
"""

import json
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import vault
from datasets import formats
from datasets.archives import SafeZip
from datasets.files import store_image
from datasets.images import inspect_image
from datasets.import_job import short_key
from datasets.models import OnDuplicate, ProjectFile
from datasets.problems import ImportRejected
from datasets.records import CleanRecord, RecordChecker
from labeling.models import Task
from vault.blobs import EncryptedBlobStore

if TYPE_CHECKING:
    from datasets.import_job import ImportJob


IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".webp")
_LOOKUP_BATCH = 500


def _image_record(
    rec: CleanRecord, file_id: Any, content_key: bytes, fingerprint: bytes
) -> CleanRecord:
    data = {"image": str(file_id)}
    rec.data = data
    rec.data_json = json.dumps(data, separators=(",", ":")).encode()
    rec.fingerprint = fingerprint
    return rec


def _image_fingerprint(job: "ImportJob", content_key: bytes) -> bytes:
    return vault.fingerprinter(job.project_id, "task.payload").digest(
        b"file.content:" + content_key
    )


def _duplicate(job: "ImportJob", where: str, fingerprint: bytes) -> bool:
    """Whether the image repeats one of this file or of the project (reported as configured)."""
    short = short_key(fingerprint)
    earlier = short in job._seen
    if (
        not earlier
        and not Task.objects.filter(project_id=job.project_id, fingerprint=fingerprint).exists()
    ):
        return False
    if job.imp.on_duplicate == OnDuplicate.REJECT:
        what = "an earlier entry" if earlier else "a task the project already has"
        job.problems.add(where, f"This image is the same as {what}.", "duplicate_task")
    else:
        job.duplicates += 1
    return True


def read_zip(job: "ImportJob", store: EncryptedBlobStore, _plain: Any) -> Iterator[CleanRecord]:
    """The tasks of a zip of images: one per image, or one per row of its manifest."""
    project = job.imp.project
    archive_file = store.open_seekable(project_id=project.pk, name=job.imp.upload_blob)
    try:
        archive = SafeZip(archive_file, limits=job.limits)
        yield from _zip_records(job, archive)
    finally:
        archive_file.close()


def _zip_records(job: "ImportJob", archive: SafeZip) -> Iterator[CleanRecord]:
    checker = RecordChecker(job.imp.project.task_type, job.limits, job.problems)
    entries = {entry.path: entry for entry in archive.entries()}
    manifest = archive.manifest()
    if manifest is not None:
        path, fmt = manifest
        checker = RecordChecker(
            job.imp.project.task_type,
            job.limits,
            job.problems,
            from_text_cells=fmt in ("csv", "tsv"),
        )
        rows: Iterable[tuple[str, dict[str, Any]]] = formats.read_records(
            archive.open(path),
            formats.Format(fmt),
            limits=job.limits,
            problems=job.problems,
        )
        rows = ((f"{path} {where}", record) for where, record in rows)
    else:
        rows = (
            (f"entry {path}", {"image": path})
            for path in entries
            if path.lower().endswith(IMAGE_EXTENSIONS)
        )
    content_fp = vault.fingerprinter(job.project_id, "file.content")
    stored_any = False
    done, total = 0, max(1, len(entries))
    for where, raw in rows:
        done += 1
        job.bytes_read = job.imp.upload_bytes * min(done, total) // total
        rec = checker.check(where, raw)
        if rec is None:
            job.rows_read += 1
            continue
        path = str(rec.data["image"])
        if path not in entries:
            job.rows_read += 1
            job.problems.add(
                where, "The archive has no entry with this path.", "missing_image", "image"
            )
            continue
        try:
            data = archive.read(path, max_bytes=job.limits.max_image_bytes)
            info = inspect_image(data, name=path, where=f"entry {path}", limits=job.limits)
        except ImportRejected as exc:
            job.rows_read += 1
            job.problems.add_problem(exc.problem)
            continue
        content_key = content_fp.digest(data)
        fingerprint = _image_fingerprint(job, content_key)
        if _duplicate(job, where, fingerprint) or job.problems:
            job.rows_read += 1
            continue
        stored = store_image(
            project=job.imp.project,
            name=path,
            data=data,
            info=info,
            folder=job.imp.files_folder,
            source_import=job.imp,
            published=False,
        )
        job.files_stored += 1
        stored_any = True
        yield _image_record(rec, stored.pk, content_key, fingerprint)
    if not stored_any and not job.problems:
        job.problems.add("file", "The archive holds no image (.png, .jpg, .gif, .webp).", "empty")


def resolve_uploaded(
    job: "ImportJob", rows: Iterable[tuple[str, dict[str, Any]]], checker: RecordChecker
) -> Iterator[CleanRecord]:
    """Rows naming images uploaded before: each name looked up (in batches) to its file."""
    batch: list[CleanRecord] = []
    for where, raw in rows:
        rec = checker.check(where, raw)
        if rec is None:
            job.rows_read += 1
            continue
        batch.append(rec)
        if len(batch) >= _LOOKUP_BATCH:
            yield from _resolve(job, batch)
            batch = []
    yield from _resolve(job, batch)


def _resolve(job: "ImportJob", batch: list[CleanRecord]) -> Iterator[CleanRecord]:
    if not batch:
        return
    name_fp = vault.fingerprinter(job.project_id, "file.name")
    keys = [name_fp.text(str(rec.data["image"])) for rec in batch]
    found = {
        bytes(f.name_key): f
        for f in ProjectFile.objects.filter(
            project_id=job.project_id,
            name_key__in=keys,
            source_import__isnull=True,
            published=True,
        )
    }
    for key, rec in zip(keys, batch, strict=True):
        stored = found.get(key)
        if stored is None:
            job.rows_read += 1
            job.problems.add(
                rec.where,
                "No uploaded image of this project has this name; upload it first "
                "(POST .../files/?name=...).",
                "missing_image",
                "image",
            )
            continue
        content_key = bytes(stored.content_key)
        yield _image_record(rec, stored.pk, content_key, _image_fingerprint(job, content_key))
