"""What one import may hold, from settings (``LABELKEEP_IMPORT_*``, docs/imports.md)."""

from dataclasses import dataclass

from django.conf import settings

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
