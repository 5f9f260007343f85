"""Images of box projects: stored encrypted, checked for what they claim to be, served only
through an authorized endpoint that records each read.

A file has a name, unique in its project, by which tasks refer to it (``"image": "scan.png"``)
and which is stored sealed with a keyed fingerprint for lookups; its content is checked by
``datasets.images`` before a byte is stored.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from django.db import IntegrityError, transaction

import vault
from audit.services import Actor, record
from core.errors import Conflict, NotFound, ValidationFailed
from datasets.images import ImageInfo, inspect_image
from datasets.limits import ImportLimits, image_too_large, incomplete_upload
from datasets.models import Import, ProjectFile
from datasets.problems import ImportRejected
from labeling.models import Task
from projects.models import Project, TaskType
from projects.services import require_active
from vault import config as vault_config

MAX_NAME = 255


@dataclass(frozen=True)
class StoredFile:
    id: uuid.UUID
    name: str
    content_type: str
    width: int
    height: int
    size: int
    created_at: Any


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_NAME or any(ord(c) < 32 for c in name) or "\\" in name:
        raise ValidationFailed(
            "name must be the image's file name (1 to 255 characters, no control characters).",
            code="invalid_file_name",
            details={"field": "name"},
        )
    return name


def _read_limited(source: BinaryIO, limit: int) -> bytes:
    """The whole body, read until it ends (a read may return less than asked), up to ``limit``."""
    parts: list[bytes] = []
    size = 0
    while size <= limit and (part := source.read(min(limit + 1 - size, 1024 * 1024))):
        parts.append(part)
        size += len(part)
    data = b"".join(parts)
    if len(data) > limit:
        raise image_too_large(limit)
    return data


def store_image(
    *,
    project: Project,
    name: str,
    data: bytes,
    info: ImageInfo,
    folder: str,
    source_import: Import | None,
    published: bool,
) -> ProjectFile:
    """Seal and store one checked image; the caller owns the transaction."""
    file_id = uuid.uuid4()
    blob = f"{folder}/{file_id}"
    vault_config.blob_store().put(project_id=project.pk, name=blob, source=data)
    return ProjectFile.objects.create(
        id=file_id,
        project=project,
        source_import=source_import,
        name=vault.seal(project.pk, "file.name", file_id, name),
        name_key=vault.fingerprinter(project.pk, "file.name").text(name),
        content_key=vault.fingerprinter(project.pk, "file.content").digest(data),
        blob=blob,
        content_type=info.content_type,
        width=info.width,
        height=info.height,
        size=info.size,
        published=published,
    )


def file_upload(
    *, actor: Actor, project: Project, name: str, source: BinaryIO, declared_size: int | None
) -> StoredFile:
    """One image uploaded for a box project's later imports (managers)."""
    require_active(project)
    if project.task_type != TaskType.BOXES:
        raise ValidationFailed(
            "Images can only be uploaded to an image bounding box project.",
            code="unsupported_file",
            details={"field": "body"},
        )
    name = _check_name(name)
    limits = ImportLimits.from_settings()
    if declared_size is not None and declared_size > limits.max_image_bytes:
        raise image_too_large(limits.max_image_bytes)
    data = _read_limited(source, limits.max_image_bytes)
    if declared_size is not None and len(data) != declared_size:
        raise incomplete_upload(len(data), declared_size, "body")
    try:
        info = inspect_image(data, name=name, where="file", limits=limits)
    except ImportRejected as exc:
        raise ValidationFailed(
            exc.problem.message, code=exc.problem.code, details={"field": "body"}
        ) from None
    name_key = vault.fingerprinter(project.pk, "file.name").text(name)
    named = ProjectFile.objects.filter(project=project, name_key=name_key)
    if named.filter(source_import__isnull=True).exists():  # the names tasks refer to
        raise Conflict(f"The project already has a file named {name!r}.", code="file_exists")
    try:
        with transaction.atomic():
            stored = store_image(
                project=project,
                name=name,
                data=data,
                info=info,
                folder="files",
                source_import=None,
                published=True,
            )
            record(
                actor=actor,
                action="file.uploaded",
                project_id=project.pk,
                object_type="file",
                object_id=str(stored.pk),
                details={"content_type": info.content_type, "size": info.size},
            )
    except IntegrityError:
        raise Conflict(
            f"The project already has a file named {name!r}.", code="file_exists"
        ) from None
    return StoredFile(
        stored.pk, name, info.content_type, info.width, info.height, info.size, stored.created_at
    )


@dataclass(frozen=True)
class OpenedFile:
    content_type: str
    size: int
    chunks: Iterator[bytes]


def file_get(project: Project, file_id: Any) -> ProjectFile:
    try:
        pk = uuid.UUID(str(file_id))
    except ValueError:
        pk = None
    found = (
        None
        if pk is None
        else ProjectFile.objects.filter(project=project, pk=pk, published=True).first()
    )
    if found is None:
        raise NotFound("File not found.", code="file_not_found")
    return found


def file_open(*, actor: Actor, project: Project, file_id: Any) -> OpenedFile:
    """The image's bytes, decrypted as they stream; recorded as ``file.read``."""
    found = file_get(project, file_id)
    chunks = vault_config.blob_store().read(project_id=project.pk, name=found.blob)
    with transaction.atomic():
        record(
            actor=actor,
            action="file.read",
            project_id=project.pk,
            object_type="file",
            object_id=str(found.pk),
        )
    return OpenedFile(found.content_type, found.size, chunks)


def task_image_open(*, actor: Actor, task: Task, project: Project) -> OpenedFile:
    """The image of a box task, for whoever may see the task (the caller checks that: an
    annotator the queue gave it to, a reviewer); recorded as ``file.read``."""
    payload = vault.unseal(project.pk, "task.payload", str(task.pk), task.payload)
    image = payload["data"].get("image") if project.task_type == TaskType.BOXES else None
    if not isinstance(image, str):
        raise NotFound("This task has no image.", code="no_image")
    return file_open(actor=actor, project=project, file_id=image)


def file_name(found: ProjectFile) -> str:
    name: str = vault.unseal_text(found.project_id, "file.name", found.pk, found.name)
    return name
