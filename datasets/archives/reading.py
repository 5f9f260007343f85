"""An entry's bytes as a stream: stored or inflated, stopped as soon as it outgrows its
declared size, and CRC-checked at the end."""

import io
import zlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, BinaryIO

from datasets.archives.directory import _corrupt, _reject
from datasets.archives.members import _STORED, _Member

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer


_CHUNK = 64 * 1024


class _EntryStream(io.RawIOBase):
    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: "WriteableBuffer") -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        count = min(len(memoryview(buffer)), len(self._pending))
        memoryview(buffer).cast("B")[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


# Reading an entry.


def _inflate(file: BinaryIO, member: _Member, where: str) -> Iterator[bytes]:
    """The entry's bytes, stopping as soon as there are more than declared; CRC checked."""
    produced = 0
    crc = 0
    for piece in _stored_or_inflated(file, member, where):
        produced += len(piece)
        if produced > member.size:
            _reject(
                where,
                f"the entry holds more than the {member.size} bytes its header declares",
                "compression_bomb",
            )
        crc = zlib.crc32(piece, crc)
        yield piece
    if produced != member.size:
        _corrupt(where, f"the entry holds {produced} bytes, not the {member.size} it declares")
    if crc != member.crc:
        _corrupt(where, "the entry fails its CRC check")


def _stored_or_inflated(file: BinaryIO, member: _Member, where: str) -> Iterator[bytes]:
    # Some writers deflate an empty file to no bytes at all; the ratio check let only those by.
    if member.method == _STORED or member.compressed_size == 0:
        yield from _raw_chunks(file, member, where)
        return
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        for compressed in _raw_chunks(file, member, where):
            pending = compressed
            while True:
                piece = inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                if piece:
                    yield piece
                if inflater.eof or (not pending and len(piece) < _CHUNK):
                    break
    except zlib.error:
        _corrupt(where, "the entry's compressed data is corrupt")
    if not inflater.eof or inflater.unused_data or inflater.unconsumed_tail:
        _corrupt(where, "the entry's compressed data does not end where its header says")


def _raw_chunks(file: BinaryIO, member: _Member, where: str) -> Iterator[bytes]:
    """The entry's stored bytes; the file is re-positioned each time, as others share it."""
    offset = member.data_offset
    remaining = member.compressed_size
    while remaining:
        file.seek(offset)
        chunk = file.read(min(_CHUNK, remaining))
        if not chunk:
            _corrupt(where, "the archive ends inside this entry")
        offset += len(chunk)
        remaining -= len(chunk)
        yield chunk
