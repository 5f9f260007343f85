"""COCO object detection JSON, for box projects.

The file is one object whose keys come in sorted order: ``annotations`` (streamed, one per box
of every exported annotation), then ``categories`` and ``images``, which are small tables kept
while the annotations stream (one entry per label, one per image). Boxes are stored normalized
(0..1) and written in pixels: ``[x * width, y * height, w * width, h * height]``, rounded to
4 decimals, with ``area`` = w x h in pixels. Every annotator's boxes are written, each with the
extra key ``annotator`` (their pseudonym), so a consumer can keep one annotator or merge them.
"""

from collections.abc import Iterable
from typing import Any, BinaryIO

from datasets.exports.formats.base import BaseFormat, Batched, ExportFailed, json_bytes
from datasets.exports.rows import ExportContext, ExportRow, ImageInfo
from projects.models import TaskType

DECIMALS = 4


class _Tables:
    """Images and categories, numbered from 1 in the order they are first met."""

    def __init__(self, label_schema: dict[str, Any]) -> None:
        self.categories: dict[str, int] = {}
        for label in label_schema.get("labels", []):
            self.category(label["name"])
        self.images: dict[str, dict[str, Any]] = {}

    def category(self, name: str) -> int:
        # A label dropped from the schema after it was used still gets a category, after the
        # schema's own.
        return self.categories.setdefault(name, len(self.categories) + 1)

    def image(self, image: ImageInfo) -> int:
        entry = self.images.get(image.id)
        if entry is None:
            entry = {
                "id": len(self.images) + 1,
                "file_name": image.file_name,
                "width": image.width,
                "height": image.height,
            }
            self.images[image.id] = entry
        return int(entry["id"])


def _annotation(
    box: dict[str, Any], image: ImageInfo, *, number: int, image_id: int, category: int, who: str
) -> dict[str, Any]:
    width, height = box["w"] * image.width, box["h"] * image.height
    return {
        "id": number,
        "image_id": image_id,
        "category_id": category,
        "bbox": [
            round(box["x"] * image.width, DECIMALS),
            round(box["y"] * image.height, DECIMALS),
            round(width, DECIMALS),
            round(height, DECIMALS),
        ],
        "area": round(width * height, DECIMALS),
        "iscrowd": 0,
        "annotator": who,
    }


def _image(row: ExportRow) -> ImageInfo:
    if row.image is None:
        raise ExportFailed(
            "A box task has no image; COCO needs every image's size.",
            code="missing_image",
            details={"task_id": row.task_id},
        )
    return row.image


def _tail(tables: _Tables, context: ExportContext) -> bytes:
    """Everything after the annotations: the keys that sort after theirs."""
    categories = [
        {"id": number, "name": name, "supercategory": ""}
        for name, number in tables.categories.items()
    ]
    info = {"description": context.project_name, "version": context.version_name}
    return b"".join(
        [
            b'],"categories":',
            json_bytes(categories),
            b',"images":',
            json_bytes(list(tables.images.values())),
            b',"info":',
            json_bytes(info),
            b',"licenses":[]}',
        ]
    )


class Coco(BaseFormat):
    name = "coco"
    media_type = "application/json"
    extension = "json"
    task_types = frozenset({TaskType.BOXES.value})

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        tables, batch = _Tables(context.label_schema), Batched(out)
        batch.add(b'{"annotations":[')
        count = number = 0
        for row in rows:
            image = _image(row)
            image_id = tables.image(image)
            for box in row.result.get("boxes", []):
                number += 1
                entry = _annotation(
                    box,
                    image,
                    number=number,
                    image_id=image_id,
                    category=tables.category(box["label"]),
                    who=row.annotator,
                )
                batch.add((b"," if number > 1 else b"") + json_bytes(entry))
            count += 1
        batch.add(_tail(tables, context))
        batch.flush()
        return count
