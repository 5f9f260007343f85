"""Each central directory record checked: its name, file type, encryption, compression,
declared sizes, and where its data lies (no two entries sharing bytes)."""

import re
import stat
import struct
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

from datasets.archives.directory import (
    _corrupt,
    _read_central_directory,
    _read_end_record,
    _Record,
    _reject,
)
from datasets.limits import ImportLimits

_LOCAL = struct.Struct("<4s2B4HL2L2H")

_STORED = 0
_DEFLATED = 8
_AES_ENCRYPTED = 99
_FLAG_ENCRYPTED = 0x1
_FLAG_STRONG_ENCRYPTION = 0x40
_FLAG_UTF8 = 0x800
_FLAG_DIRECTORY_ENCRYPTED = 0x2000

_DRIVE_LETTER = re.compile(r"[A-Za-z]:")
# Control characters (Unicode category Cc), and the bidirectional overrides that make a name
# display as something else (a.gnp.exe shown as a.exe.png).
_UNSAFE_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_JUNK_NAMES = frozenset({".DS_Store", "Thumbs.db"})


@dataclass(frozen=True, slots=True)
class _Member:
    path: str
    method: int
    crc: int
    compressed_size: int
    size: int
    data_offset: int


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
