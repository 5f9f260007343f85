"""The end of central directory record (classic and zip64) and the central directory it
locates, parsed record by record so that nothing is held before the count is checked."""

import io
import struct
from dataclasses import dataclass
from typing import BinaryIO, NoReturn

from datasets.problems import ImportRejected, Problem

# Longer names are no real dataset's; the bound also caps what the directory costs in memory.
MAX_NAME_BYTES = 1024

_END = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END_SIGNATURE = b"PK\x05\x06"
_MAX_U16 = 0xFFFF
_MAX_U32 = 0xFFFFFFFF


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
