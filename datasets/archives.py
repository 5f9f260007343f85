"""Reading an uploaded zip archive that may have been crafted to hurt us.

The central directory is parsed here, not by ``zipfile``, so that nothing is held in memory
before the entry count is known to be within the limit, and so that every field that decides
what is read is one we checked: names (no escaping paths, no control characters), file types
(no symlinks), encryption, compression method, declared sizes and ratios, and the layout of
the entries' data (no two entries sharing bytes, the trick of non-recursive zip bombs). Entries
are inflated here too, stopping as soon as one produces more than its header declared.
"""

import io
import re
import stat
import struct
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, BinaryIO, NoReturn

from datasets.limits import ImportLimits
from datasets.problems import ImportRejected, Problem

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

MANIFEST_FORMATS = {
    "manifest.jsonl": "jsonl",
    "manifest.csv": "csv",
    "manifest.json": "json",
    "manifest.tsv": "tsv",
}
# Longer names are no real dataset's; the bound also caps what the directory costs in memory.
MAX_NAME_BYTES = 1024

_END = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_END_SIGNATURE = b"PK\x05\x06"
_MAX_U16 = 0xFFFF
_MAX_U32 = 0xFFFFFFFF

_STORED = 0
_DEFLATED = 8
_AES_ENCRYPTED = 99
_FLAG_ENCRYPTED = 0x1
_FLAG_STRONG_ENCRYPTION = 0x40
_FLAG_UTF8 = 0x800
_FLAG_DIRECTORY_ENCRYPTED = 0x2000

_CHUNK = 64 * 1024
_DRIVE_LETTER = re.compile(r"[A-Za-z]:")
# Control characters (Unicode category Cc), and the bidirectional overrides that make a name
# display as something else (a.gnp.exe shown as a.exe.png).
_UNSAFE_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db"})


@dataclass(frozen=True)
class ArchiveEntry:
    path: str
    size: int


@dataclass(frozen=True, slots=True)
class _EndRecord:
    count: int
    directory_offset: int
    directory_size: int


@dataclass(frozen=True, slots=True)
class _Record:
    """One central directory record, with zip64 sizes and offset already applied."""

    number: int
    raw_name: bytes
    flags: int
    method: int
    crc: int
    compressed_size: int
    size: int
    external_attr: int
    header_offset: int


@dataclass(frozen=True, slots=True)
class _Member:
    path: str
    method: int
    crc: int
    compressed_size: int
    size: int
    data_offset: int


class SafeZip:
    """A zip archive whose whole central directory was validated on opening.

    Raises ``ImportRejected`` on the first fatal problem, from the constructor or from reads.
    """

    def __init__(self, file: BinaryIO, *, limits: ImportLimits) -> None:
        self._file = file
        self._members = {member.path: member for member in _read_members(file, limits)}
        self._entries = [
            ArchiveEntry(member.path, member.size)
            for member in self._members.values()
            if not _is_junk(member.path)
        ]

    def entries(self) -> list[ArchiveEntry]:
        """Files in archive order, without directories and operating-system junk."""
        return list(self._entries)

    def __contains__(self, path: object) -> bool:
        return path in self._members

    def manifest(self) -> tuple[str, str] | None:
        """The manifest at the archive's root and its format, if there is one."""
        found = [name for name in MANIFEST_FORMATS if name in self._members]
        if len(found) > 1:
            _reject(
                "file",
                f"the archive holds more than one manifest at its root: {', '.join(found)}",
                "two_manifests",
            )
        return (found[0], MANIFEST_FORMATS[found[0]]) if found else None

    def open(self, path: str, *, max_bytes: int | None = None) -> BinaryIO:
        """Stream one file entry; raises ``KeyError`` for a path that is not one."""
        member = self._members[path]
        where = f"entry {path}"
        if max_bytes is not None and member.size > max_bytes:
            _reject(
                where,
                f"the file is {member.size} bytes, over the limit of {max_bytes}",
                "too_large",
            )
        return io.BufferedReader(_EntryStream(_inflate(self._file, member, where)), _CHUNK)

    def read(self, path: str, *, max_bytes: int | None = None) -> bytes:
        """One file entry, whole; ``max_bytes`` bounds it (an image's limit, say)."""
        with self.open(path, max_bytes=max_bytes) as stream:
            return stream.read()


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


def _reject(where: str, message: str, code: str) -> NoReturn:
    raise ImportRejected(Problem(where=where, message=message, code=code))


def _corrupt(where: str, message: str) -> NoReturn:
    _reject(where, message, "corrupt_zip")


# The end of central directory record, and the zip64 one when there is one.


def _read_end_record(file: BinaryIO) -> _EndRecord:
    size = file.seek(0, io.SEEK_END)
    tail_size = min(size, _END.size + _MAX_U16)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    position = _find_end_record(tail)
    if position is None:
        _corrupt("file", "not a zip archive: it has no end of central directory record")
    _, disk, directory_disk, disk_count, count, directory_size, directory_offset, _ = (
        _END.unpack_from(tail, position)
    )
    if disk or directory_disk or disk_count != count:
        _corrupt("file", "the archive spans several disks, which is not supported")
    end_offset = size - tail_size + position
    if end_offset >= _ZIP64_LOCATOR.size:
        file.seek(end_offset - _ZIP64_LOCATOR.size)
        locator = file.read(_ZIP64_LOCATOR.size)
        if locator.startswith(b"PK\x06\x07"):
            zip64 = _read_zip64_end_record(file, locator, end_offset - _ZIP64_LOCATOR.size)
            _check_zip64_agrees((count, directory_size, directory_offset), zip64)
            return zip64
    return _located(_EndRecord(count, directory_offset, directory_size), end_offset)


def _find_end_record(tail: bytes) -> int | None:
    """The last signature whose comment runs exactly to the end of the file."""
    position = tail.rfind(_END_SIGNATURE)
    while position >= 0:
        if position + _END.size <= len(tail):
            (comment_size,) = struct.unpack_from("<H", tail, position + _END.size - 2)
            if position + _END.size + comment_size == len(tail):
                return position
        position = tail.rfind(_END_SIGNATURE, 0, position + len(_END_SIGNATURE) - 1)
    return None


def _read_zip64_end_record(file: BinaryIO, locator: bytes, locator_offset: int) -> _EndRecord:
    _, disk, record_offset, disks = _ZIP64_LOCATOR.unpack(locator)
    if disk or disks != 1:
        _corrupt("file", "the archive spans several disks, which is not supported")
    file.seek(record_offset)
    raw = file.read(_ZIP64_END.size)
    if len(raw) < _ZIP64_END.size or not raw.startswith(b"PK\x06\x06"):
        _corrupt("file", "the zip64 end of central directory record is missing or damaged")
    _, record_size, _, _, disk, directory_disk, disk_count, count, directory_size, offset = (
        _ZIP64_END.unpack(raw)
    )
    if record_offset + 12 + record_size != locator_offset:
        _corrupt("file", "the zip64 end of central directory record is not where it is said to be")
    if disk or directory_disk or disk_count != count:
        _corrupt("file", "the archive spans several disks, which is not supported")
    return _located(_EndRecord(count, offset, directory_size), record_offset)


def _check_zip64_agrees(classic: tuple[int, int, int], zip64: _EndRecord) -> None:
    """Tools that ignore zip64 read the classic fields: both must tell the same story."""
    sentinels = (_MAX_U16, _MAX_U32, _MAX_U32)
    values = (zip64.count, zip64.directory_size, zip64.directory_offset)
    for old, sentinel, new in zip(classic, sentinels, values, strict=True):
        if old not in {sentinel, new}:
            _corrupt("file", "the zip64 and classic end records disagree")


def _located(end: _EndRecord, end_offset: int) -> _EndRecord:
    if end.directory_offset + end.directory_size != end_offset:
        _corrupt("file", "the central directory is not where the end record says it is")
    return end


# The central directory.


def _read_central_directory(file: BinaryIO, end: _EndRecord) -> list[_Record]:
    file.seek(end.directory_offset)
    records: list[_Record] = []
    consumed = 0
    for number in range(1, end.count + 1):
        record, record_size = _read_central_record(file, number)
        consumed += record_size
        if consumed > end.directory_size:
            _corrupt("file", "the central directory holds more than it declares")
        records.append(record)
    if consumed != end.directory_size:
        _corrupt("file", f"the central directory holds more than its {end.count} declared entries")
    return records


def _read_central_record(file: BinaryIO, number: int) -> tuple[_Record, int]:
    where = f"entry number {number}"
    header = file.read(_CENTRAL.size)
    if len(header) < _CENTRAL.size or not header.startswith(b"PK\x01\x02"):
        _corrupt(where, "its central directory record is missing or damaged")
    fields = _CENTRAL.unpack(header)
    flags, method, _, _, crc, compressed_size, size, name_size, extra_size, comment_size = fields[
        5:15
    ]
    external_attr, header_offset = fields[17:]
    if name_size > MAX_NAME_BYTES:
        _reject(
            where,
            f"the name is {name_size} bytes long, over the limit of {MAX_NAME_BYTES}",
            "unsafe_path",
        )
    raw_name = file.read(name_size)
    extra = file.read(extra_size)
    file.seek(comment_size, io.SEEK_CUR)
    if len(raw_name) != name_size or len(extra) != extra_size:
        _corrupt(where, "its central directory record is cut short")
    size, compressed_size, header_offset = _apply_zip64(
        (size, compressed_size, header_offset), extra, where
    )
    record = _Record(
        number, raw_name, flags, method, crc, compressed_size, size, external_attr, header_offset
    )
    return record, _CENTRAL.size + name_size + extra_size + comment_size


def _apply_zip64(values: tuple[int, int, int], extra: bytes, where: str) -> tuple[int, int, int]:
    """Sizes and offset that overflow 32 bits come, in this order, from the zip64 extra field."""
    if _MAX_U32 not in values:
        return values
    wanted = values.count(_MAX_U32)
    position = 0
    while position + 4 <= len(extra):
        header_id, block_size = struct.unpack_from("<HH", extra, position)
        if header_id == 1 and block_size >= 8 * wanted:
            replacements = iter(struct.unpack_from(f"<{wanted}Q", extra, position + 4))
            size, compressed, offset = (
                next(replacements) if value == _MAX_U32 else value for value in values
            )
            return size, compressed, offset
        position += 4 + block_size
    _corrupt(where, "its zip64 sizes are missing")


# Checking each entry.


def _read_members(file: BinaryIO, limits: ImportLimits) -> list[_Member]:
    end = _read_end_record(file)
    if end.count > limits.max_zip_entries:
        _reject(
            "file",
            f"the archive holds {end.count} entries, over the limit of {limits.max_zip_entries}",
            "too_many_entries",
        )
    records = _read_central_directory(file, end)
    paths = _checked_paths(records, limits)
    data_offsets = _checked_layout(file, records, paths, end.directory_offset)
    return [
        _Member(path, record.method, record.crc, record.compressed_size, record.size, offset)
        for record, path, offset in zip(records, paths, data_offsets, strict=True)
        if path is not None
    ]


def _checked_paths(records: list[_Record], limits: ImportLimits) -> list[str | None]:
    """Each record's normalized path, or None for a directory."""
    paths: list[str | None] = []
    first_number: dict[str, int] = {}
    total = 0
    for record in records:
        path, is_directory = _normalized_path(record)
        where = f"entry {path}" if path else f"entry number {record.number}"
        _check_type(record, is_directory, where)
        _check_encoding(record, where)
        if is_directory:
            paths.append(None)
            continue
        _check_sizes(record, limits, where)
        if path in first_number:
            _reject(
                where,
                f"the archive holds this path twice (entries number {first_number[path]} and "
                f"{record.number})",
                "duplicate_entry",
            )
        first_number[path] = record.number
        total += record.size
        if total > limits.max_uncompressed_bytes:
            _reject(
                where,
                "the declared sizes add up to more than the "
                f"{limits.max_uncompressed_bytes} bytes an archive may hold",
                "compression_bomb",
            )
        paths.append(path)
    return paths


def _normalized_path(record: _Record) -> tuple[str, bool]:
    """Forward slashes, NFC, no empty or "." components; ``..`` and absolute paths refused."""
    where = f"entry number {record.number}"
    name = unicodedata.normalize("NFC", _decoded_name(record, where)).replace("\\", "/")
    if _UNSAFE_CHARACTERS.search(name):
        _reject(
            where, "the name holds a NUL, control or direction-override character", "unsafe_path"
        )
    if name.startswith("/"):
        _reject(where, "the name is an absolute path", "unsafe_path")
    if _DRIVE_LETTER.match(name):
        _reject(where, "the name starts with a drive letter", "unsafe_path")
    parts = [part for part in name.split("/") if part not in {"", "."}]
    if ".." in parts:
        _reject(
            where,
            "the name has a '..' component, which could climb out of the archive",
            "unsafe_path",
        )
    is_directory = name.endswith("/")
    if not parts and not is_directory:
        _reject(where, "the name is empty", "unsafe_path")
    return "/".join(parts), is_directory


def _decoded_name(record: _Record, where: str) -> str:
    """UTF-8 when flagged; unflagged names are UTF-8 from most tools today, else CP437."""
    try:
        return record.raw_name.decode("utf-8")
    except UnicodeDecodeError:
        if record.flags & _FLAG_UTF8:
            _reject(where, "the name is flagged as UTF-8 but is not valid UTF-8", "unsafe_path")
        return record.raw_name.decode("cp437")


def _check_type(record: _Record, is_directory: bool, where: str) -> None:
    file_type = stat.S_IFMT(record.external_attr >> 16)
    if file_type == stat.S_IFLNK:
        _reject(where, "the entry is a symbolic link", "symlink_entry")
    if file_type == stat.S_IFDIR and not is_directory:
        _reject(where, "the entry is marked as a directory but named as a file", "special_entry")
    if file_type not in {0, stat.S_IFREG, stat.S_IFDIR}:
        _reject(
            where, f"the entry is not a regular file (file type {file_type:#o})", "special_entry"
        )


def _check_encoding(record: _Record, where: str) -> None:
    encrypted_flags = _FLAG_ENCRYPTED | _FLAG_STRONG_ENCRYPTION | _FLAG_DIRECTORY_ENCRYPTED
    if record.flags & encrypted_flags or record.method == _AES_ENCRYPTED:
        _reject(where, "the entry is encrypted", "encrypted_entry")
    if record.method not in {_STORED, _DEFLATED}:
        _reject(
            where,
            f"the entry uses compression method {record.method}; only stored (0) and "
            "deflate (8) are supported",
            "unsupported_compression",
        )


def _check_sizes(record: _Record, limits: ImportLimits, where: str) -> None:
    if record.method == _STORED and record.compressed_size != record.size:
        _corrupt(where, "a stored entry declares different stored and uncompressed sizes")
    if record.size > record.compressed_size * limits.max_compression_ratio:
        _reject(
            where,
            f"the entry declares {record.size} bytes from {record.compressed_size} compressed, "
            f"a ratio over the limit of {limits.max_compression_ratio}",
            "compression_bomb",
        )


def _checked_layout(
    file: BinaryIO, records: list[_Record], paths: list[str | None], directory_offset: int
) -> list[int]:
    """Where each entry's data starts, after checking that no two entries' bytes overlap."""
    wheres = [
        f"entry {path}" if path else f"entry number {r.number}"
        for r, path in zip(records, paths, strict=True)
    ]
    data_offsets = [
        _data_offset(file, record, where) for record, where in zip(records, wheres, strict=True)
    ]
    order = sorted(range(len(records)), key=lambda index: records[index].header_offset)
    next_offsets = [records[index].header_offset for index in order[1:]] + [directory_offset]
    for index, next_offset in zip(order, next_offsets, strict=True):
        if data_offsets[index] + records[index].compressed_size > next_offset:
            _reject(
                wheres[index],
                "its data overlaps another entry or the central directory",
                "compression_bomb",
            )
    return data_offsets


def _data_offset(file: BinaryIO, record: _Record, where: str) -> int:
    file.seek(record.header_offset)
    header = file.read(_LOCAL.size)
    if len(header) < _LOCAL.size or not header.startswith(b"PK\x03\x04"):
        _corrupt(where, "its local header is missing or damaged")
    fields = _LOCAL.unpack(header)
    flags: int = fields[3]
    method: int = fields[4]
    name_size: int = fields[10]
    extra_size: int = fields[11]
    same_encryption = (flags & _FLAG_ENCRYPTED) == (record.flags & _FLAG_ENCRYPTED)
    if file.read(name_size) != record.raw_name or method != record.method or not same_encryption:
        _corrupt(where, "its local header disagrees with the central directory")
    return record.header_offset + _LOCAL.size + name_size + extra_size


def _is_junk(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.split("/", 1)[0] == "__MACOSX" or name in _JUNK_NAMES or name.startswith("._")


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
