"""What an upload is, from its name and first bytes, and its gzip layer, unpacked under guard."""

import codecs
import io
import zlib
from enum import StrEnum
from typing import TYPE_CHECKING, BinaryIO

from datasets.formats.rejections import _rejected
from datasets.limits import ImportLimits

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


CHUNK_BYTES = 1024 * 1024
SNIFF_BYTES = 8 * 1024
# Small files compress well for innocent reasons; the ratio guard starts after this much output.
RATIO_GRACE_BYTES = 1024 * 1024
_GZIP_READ_BYTES = 64 * 1024


class Format(StrEnum):
    JSON = "json"
    JSONL = "jsonl"
    CSV = "csv"
    TSV = "tsv"


_EXTENSIONS = {
    ".jsonl": Format.JSONL,
    ".ndjson": Format.JSONL,
    ".json": Format.JSON,
    ".csv": Format.CSV,
    ".tsv": Format.TSV,
}
_SIGNATURES = (
    (b"PK\x03\x04", "a zip archive"),
    (b"PK\x05\x06", "a zip archive"),
    (b"%PDF-", "a PDF document"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
)
# UTF-32 first: its little-endian mark starts with UTF-16's.
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def format_from_name(filename: str) -> tuple[Format, bool]:
    """(format, gzip) from the upload's name; anything else is rejected as unknown_format."""
    name = filename.strip().lower()
    gzip = name.endswith(".gz")
    if gzip:
        name = name.removesuffix(".gz")
    for extension, fmt in _EXTENSIONS.items():
        if name.endswith(extension):
            return fmt, gzip
    accepted = ", ".join(_EXTENSIONS)
    raise _rejected(
        "file",
        f"unknown file type: the name must end in {accepted} (or those + .gz)",
        "unknown_format",
    )


class _FillingRaw(io.RawIOBase):
    """Any binary stream as a raw stream whose reads fill the buffer unless at the end, so a
    buffered reader over it can peek a full sniffing window even from a short-reading source."""

    def __init__(self, source: BinaryIO) -> None:
        super().__init__()
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            data = self._source.read(len(view) - filled)
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled


class _GunzipRaw(io.RawIOBase):
    """Decompressed gzip (any number of members), checked against the size and ratio limits as
    it goes, so a bomb is stopped after a bounded amount of output rather than at the end."""

    def __init__(self, source: BinaryIO, limits: ImportLimits) -> None:
        super().__init__()
        self._source = source
        self._limits = limits
        self._inflater = zlib.decompressobj(wbits=31)
        self._pending = b""
        self._in_member = False
        self._finished = False
        self.compressed_bytes = 0
        self.decompressed_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view) and not self._finished:
            data = self._inflate(len(view) - filled)
            view[filled : filled + len(data)] = data
            filled += len(data)
        return filled

    def _inflate(self, size: int) -> bytes:
        if not self._next_input():
            return b""
        self._in_member = True
        try:
            data = self._inflater.decompress(self._pending, size)
        except zlib.error:
            raise _rejected("file", "corrupt gzip data", "corrupt_gzip") from None
        if self._inflater.eof:
            self._pending = self._inflater.unused_data
            self._inflater = zlib.decompressobj(wbits=31)
            self._in_member = False
        else:
            self._pending = self._inflater.unconsumed_tail
        self._count(len(data))
        return data

    def _next_input(self) -> bool:
        """Makes ``_pending`` hold compressed input; False after the last member."""
        while True:
            if not self._in_member:
                # Another member may follow; zero padding after the last one is tolerated.
                self._pending = self._pending.lstrip(b"\x00")
            if self._pending:
                return True
            self._pending = self._source.read(_GZIP_READ_BYTES)
            self.compressed_bytes += len(self._pending)
            if self._pending:
                continue
            if self._in_member:
                raise _rejected("file", "corrupt gzip data: it ends early", "corrupt_gzip")
            self._finished = True
            return False

    def _count(self, produced: int) -> None:
        self.decompressed_bytes += produced
        limits = self._limits
        if self.decompressed_bytes > limits.max_uncompressed_bytes:
            raise _rejected(
                "file",
                f"over {limits.max_uncompressed_bytes:,} bytes once uncompressed",
                "too_large",
            )
        consumed = self.compressed_bytes - len(self._pending)
        ratio_exceeded = self.decompressed_bytes > limits.max_compression_ratio * consumed
        if self.decompressed_bytes > RATIO_GRACE_BYTES and ratio_exceeded:
            raise _rejected(
                "file",
                f"expands more than {limits.max_compression_ratio}:1 when uncompressed "
                "(a compression bomb?)",
                "compression_bomb",
            )


def open_text_source(stream: BinaryIO, *, gzip: bool, limits: ImportLimits) -> BinaryIO:
    """The stream to parse, after checking that its first bytes are what the name promised;
    reads no more than one buffer ahead."""
    compressed = io.BufferedReader(_FillingRaw(stream), CHUNK_BYTES)
    magic = compressed.peek(2)[:2]
    if not magic:
        return compressed  # read_records says it is empty
    is_gzip = magic == b"\x1f\x8b"
    if gzip and not is_gzip:
        raise _rejected("file", "named .gz but not gzip-compressed", "not_gzip")
    if is_gzip and not gzip:
        raise _rejected("file", "gzip-compressed but not named .gz", "unexpected_gzip")
    text = io.BufferedReader(_GunzipRaw(compressed, limits), CHUNK_BYTES) if gzip else compressed
    _check_text_head(text.peek(SNIFF_BYTES)[:SNIFF_BYTES])
    return text


def _check_text_head(head: bytes) -> None:
    for signature, looks_like in _SIGNATURES:
        if head.startswith(signature):
            raise _rejected("file", f"not a text file: looks like {looks_like}", "not_text")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        raise _rejected("file", "not a text file: looks like a WebP image", "not_text")
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            raise _rejected("file", f"encoded as {encoding}: must be UTF-8", "bad_encoding")
    if b"\x00" in head:
        raise _rejected("file", "not a text file: contains NUL bytes (binary data?)", "not_text")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError as error:
        raise _rejected(
            "file", f"not a text file: byte {error.start + 1} is not valid UTF-8", "not_text"
        ) from None
