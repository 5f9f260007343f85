"""What one import may hold, from settings (``LABELKEEP_IMPORT_*``, docs/imports.md)."""

from dataclasses import dataclass

from django.conf import settings

from core.errors import TooLarge, ValidationFailed

# The first this many problems of a failed import are kept and shown; all are counted.
MAX_LISTED_PROBLEMS = 100


@dataclass(frozen=True)
class ImportLimits:
    max_upload_bytes: int = 4 * 1024**3
    max_rows: int = 2_000_000
    max_task_bytes: int = 256 * 1024
    max_field_bytes: int = 64 * 1024
    max_uncompressed_bytes: int = 16 * 1024**3
    max_compression_ratio: int = 200
    max_zip_entries: int = 100_000
    max_image_bytes: int = 64 * 1024**2
    max_image_pixels: int = 100_000_000

    @classmethod
    def from_settings(cls) -> "ImportLimits":
        return cls(
            max_upload_bytes=settings.IMPORT_MAX_UPLOAD_BYTES,
            max_rows=settings.IMPORT_MAX_ROWS,
            max_task_bytes=settings.IMPORT_MAX_TASK_BYTES,
            max_field_bytes=settings.IMPORT_MAX_FIELD_BYTES,
            max_uncompressed_bytes=settings.IMPORT_MAX_UNCOMPRESSED_BYTES,
            max_compression_ratio=settings.IMPORT_MAX_COMPRESSION_RATIO,
            max_zip_entries=settings.IMPORT_MAX_ZIP_ENTRIES,
            max_image_bytes=settings.IMPORT_MAX_IMAGE_BYTES,
            max_image_pixels=settings.IMPORT_MAX_IMAGE_PIXELS,
        )


def upload_too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"The upload is larger than the limit of {limit:,} bytes "
        "(LABELKEEP_IMPORT_MAX_UPLOAD_BYTES).",
        code="upload_too_large",
        details={"limit": limit},
    )


def image_too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"The image is larger than the limit of {limit:,} bytes "
        "(LABELKEEP_IMPORT_MAX_IMAGE_BYTES).",
        code="image_too_large",
        details={"limit": limit},
    )


def incomplete_upload(received: int, declared: int, field: str) -> ValidationFailed:
    """A client gone mid-upload: what arrived is never imported in part."""
    return ValidationFailed(
        f"The upload ended after {received:,} of the {declared:,} bytes it announced; "
        "send it again.",
        code="incomplete_upload",
        details={"field": field},
    )
