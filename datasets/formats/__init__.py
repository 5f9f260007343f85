"""Rows out of an uploaded file, read as a stream in constant memory.

The import job hands over the decrypted upload as a binary stream. ``open_text_source`` checks
that it is what its name promised (and unpacks gzip behind a size and ratio guard);
``read_records`` turns it into ``(where, record)`` pairs, listing the rows it cannot read and
rejecting the file when reading cannot go on. Messages give positions, sizes and reasons, never
the content.
"""

from datasets.formats.json_readers import max_line_bytes
from datasets.formats.json_values import decode_json, json_error_reason, json_type
from datasets.formats.reading import read_records
from datasets.formats.sources import (
    CHUNK_BYTES,
    RATIO_GRACE_BYTES,
    SNIFF_BYTES,
    Format,
    format_from_name,
    open_text_source,
)

__all__ = [
    "CHUNK_BYTES",
    "RATIO_GRACE_BYTES",
    "SNIFF_BYTES",
    "Format",
    "decode_json",
    "format_from_name",
    "json_error_reason",
    "json_type",
    "max_line_bytes",
    "open_text_source",
    "read_records",
]
