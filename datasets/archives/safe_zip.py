"""The archive as the importer sees it: its files, its manifest, and a stream for each."""

import io
from dataclasses import dataclass
from typing import BinaryIO

from datasets.archives.directory import _reject
from datasets.archives.members import _is_junk, _read_members
from datasets.archives.reading import _CHUNK, _EntryStream, _inflate
from datasets.limits import ImportLimits

MANIFEST_FORMATS = {
    "manifest.jsonl": "jsonl",
    "manifest.csv": "csv",
    "manifest.json": "json",
    "manifest.tsv": "tsv",
}


@dataclass(frozen=True)
class ArchiveEntry:
    path: str
    size: int


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
