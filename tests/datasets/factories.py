"""Imports, tasks and files made directly, for tests that need them to exist (the permission
matrix); the import tests themselves go through the API."""

import io
import uuid

from PIL import Image

import vault
from datasets.files import store_image
from datasets.images import ImageInfo
from datasets.models import Import, ImportState, ProjectFile
from labeling.models import SEQ_IMPORT_SHIFT, Task
from projects.models import Project


def make_import(project: Project, state: str = ImportState.QUEUED, number: int = 1) -> Import:
    return Import.objects.create(
        project=project,
        number=number,
        created_by=project.created_by,
        state=state,
        file_name="made.jsonl",
        format="jsonl",
        upload_bytes=10,
    )


def make_task(project: Project, text: str, imp: Import | None = None, row: int = 1) -> Task:
    task_id = uuid.uuid4()
    data = {"text": text}
    encoded = vault.field_sealer(project.pk, "task.payload")
    number = imp.number if imp is not None else 0
    return Task.objects.create(
        id=task_id,
        project=project,
        seq=(number << SEQ_IMPORT_SHIFT) + row,
        payload=encoded.seal(str(task_id), {"data": data}),
        fingerprint=vault.fingerprinter(project.pk, "task.payload").text(text),
        open_slots=project.overlap,
        created_at=project.created_at,
    )


def png_bytes(width: int = 4, height: int = 4) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (1, 2, 3)).save(out, "PNG")
    return out.getvalue()


def make_file(project: Project, name: str = "made.png") -> ProjectFile:
    data = png_bytes()
    info = ImageInfo("image/png", "png", 4, 4, len(data))
    return store_image(
        project=project,
        name=name,
        data=data,
        info=info,
        folder="files",
        source_import=None,
        published=True,
    )
