"""Encrypted blob storage: files are encrypted in this process before they reach the disk or the
bucket, and decrypted as they stream back (``vault.streaming``), in constant memory.

One interface, two backends that only ever see ciphertext: ``FilesystemBackend`` (embedded
default, under ``var/``) and ``S3Backend`` (AWS S3, MinIO; multipart upload). Objects are named
``projects/<project id>/<name>``, so a project's files can be purged by prefix; files under the
lab key (``keys.LAB_KEY_ID``) are named ``lab/<name>`` and can never be purged with a project.
"""

import contextlib
import io
import os
import re
import secrets
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, cast

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault import streaming
from vault.errors import BlobNotFound, StorageUnavailable
from vault.keys import LAB_KEY_ID, ProjectKeys
from vault.s3 import Bucket

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}(/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}\Z")
Source = streaming.Readable | bytes | Iterable[bytes]


class Stream(Protocol):
    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """Raw object storage. Sees only ciphertext."""

    name: str

    def write(self, key: str, chunks: Iterable[bytes]) -> int: ...

    def open(self, key: str, *, start: int = 0) -> Stream: ...

    def size(self, key: str) -> int: ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int: ...

    def keys(self, prefix: str) -> Iterator[str]: ...


def _storage_error(exc: OSError) -> StorageUnavailable:
    return StorageUnavailable(
        f"The file store cannot be used ({exc.strerror or type(exc).__name__}).",
        details={"backend": "filesystem"},
    )


@contextlib.contextmanager
def _storage_errors() -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise _storage_error(exc) from exc


class FilesystemBackend:
    name = "filesystem"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / key

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        path = self._path(key)
        temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
        total = 0
        try:
            with _storage_errors():
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                for chunk in chunks:  # a failing source raises its own error, untouched
                    with _storage_errors():
                        handle.write(chunk)
                    total += len(chunk)
                with _storage_errors():
                    handle.flush()
                    os.fsync(handle.fileno())
            with _storage_errors():
                os.replace(temp, path)  # readers see the old file or the whole new one
        finally:
            temp.unlink(missing_ok=True)
        return total

    def open(self, key: str, *, start: int = 0) -> Stream:
        try:
            handle = open(self._path(key), "rb")  # noqa: SIM115 -- the caller closes it
        except FileNotFoundError:
            raise
        except OSError as exc:
            raise _storage_error(exc) from exc
        handle.seek(start)
        return handle

    def size(self, key: str) -> int:
        return self._path(key).stat().st_size

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self, prefix: str) -> Iterator[str]:
        base = self._path(prefix)
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                if path.is_file() and not path.name.endswith(".part"):
                    yield str(path.relative_to(self.root))

    def delete_prefix(self, prefix: str) -> int:
        count = sum(1 for _ in self.keys(prefix))
        try:
            shutil.rmtree(self._path(prefix))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise _storage_error(exc) from exc
        return count


class S3Backend:
    name = "s3"

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket

    def write(self, key: str, chunks: Iterable[bytes]) -> int:
        return self.bucket.upload(key, chunks)

    def open(self, key: str, *, start: int = 0) -> Stream:
        return self.bucket.open(key, start=start)

    def size(self, key: str) -> int:
        return self.bucket.size(key)

    def delete(self, key: str) -> None:
        self.bucket.delete(key)

    def keys(self, prefix: str) -> Iterator[str]:
        return self.bucket.keys(prefix)

    def delete_prefix(self, prefix: str) -> int:
        return self.bucket.delete_prefix(prefix)


@dataclass(frozen=True)
class BlobInfo:
    name: str
    size: int
    stored_size: int


class _Counting:
    """Reads any source as a stream and counts the plaintext bytes taken from it."""

    def __init__(self, source: Source) -> None:
        self.count = 0
        self._chunks: Iterator[bytes] = iter(())
        self._reader: streaming.Readable | None = None
        self._left = b""
        if isinstance(source, bytes):
            self._reader = io.BytesIO(source)
        elif hasattr(source, "read"):
            self._reader = cast(streaming.Readable, source)
        else:
            self._chunks = iter(source)

    def read(self, size: int, /) -> bytes:
        data = self._reader.read(size) if self._reader is not None else self._take(size)
        self.count += len(data)
        return data

    def _take(self, size: int) -> bytes:
        while not self._left:
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._left = bytes(chunk)
        data, self._left = self._left[:size], self._left[size:]
        return data


class _PlainReader(io.RawIOBase):
    """A read-only file object over decrypted segments (for parsers that want ``read``)."""

    def __init__(self, segments: Iterator[bytes]) -> None:
        self._segments = segments
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, target: "bytearray | memoryview") -> int:  # type: ignore[override]
        while not self._buffer:
            segment = next(self._segments, None)
            if segment is None:
                return 0
            self._buffer = memoryview(segment)
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        return count


class _SeekableReader(io.RawIOBase):
    """A stored file as a seekable plaintext stream (for zip archives, which read their
    directory at the end first). A seek within the segment at hand costs nothing; elsewhere
    it re-opens the file at the segment that holds the new position."""

    def __init__(self, store: "EncryptedBlobStore", project_id: uuid.UUID, name: str) -> None:
        self._store = store
        self._project_id = project_id
        self._name = name
        self._size = store.size(project_id=project_id, name=name)
        self._pos = 0
        self._segments: Iterator[bytes] | None = None
        self._buffer = memoryview(b"")

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        target = max(0, base + offset)
        ahead = target - self._pos
        if 0 <= ahead < len(self._buffer):
            self._buffer = self._buffer[ahead:]
        elif ahead != 0:
            self._drop()
        self._pos = target
        return target

    def _drop(self) -> None:
        if self._segments is not None:
            close = getattr(self._segments, "close", None)
            if close is not None:
                close()
        self._segments = None
        self._buffer = memoryview(b"")

    def readinto(self, target: "bytearray | memoryview") -> int:  # type: ignore[override]
        if self._pos >= self._size:
            return 0
        if not self._buffer:
            if self._segments is None:
                self._segments = self._store.read(
                    project_id=self._project_id, name=self._name, start=self._pos
                )
            self._buffer = memoryview(next(self._segments, b""))
            if not self._buffer:
                return 0
        count = min(len(target), len(self._buffer))
        target[:count] = self._buffer[:count]
        self._buffer = self._buffer[count:]
        self._pos += count
        return count

    def close(self) -> None:
        self._drop()
        super().close()


def _check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"Invalid blob name {name!r}.")
    return name


class EncryptedBlobStore:
    def __init__(self, *, backend: Backend, keys: ProjectKeys) -> None:
        self.backend = backend
        self.keys = keys

    @staticmethod
    def _key(project_id: uuid.UUID, name: str) -> str:
        if project_id == LAB_KEY_ID:
            return f"lab/{_check_name(name)}"
        return f"projects/{project_id}/{_check_name(name)}"

    def put(
        self,
        *,
        project_id: uuid.UUID,
        name: str,
        source: Source,
        segment_size: int = streaming.SEGMENT_SIZE,
    ) -> BlobInfo:
        """Encrypt ``source`` (a stream, bytes, or chunks) into the store under ``name``."""
        key = self._key(project_id, name)
        version, wrap = self.keys.aead(project_id, streaming.WRAP_PURPOSE)
        counting = _Counting(source)
        chunks = streaming.encrypt(
            wrap_aead=wrap,
            key_version=version,
            binding=streaming.binding(project_id.bytes, name),
            source=counting,
            segment_size=segment_size,
        )
        stored = self.backend.write(key, chunks)
        return BlobInfo(name=name, size=counting.count, stored_size=stored)

    def _open(self, key: str, start: int = 0) -> Stream:
        try:
            return self.backend.open(key, start=start)
        except FileNotFoundError:
            raise BlobNotFound("No such file.") from None

    def read(self, *, project_id: uuid.UUID, name: str, start: int = 0) -> Iterator[bytes]:
        """Verified plaintext from byte ``start`` on, segment by segment.

        The header and the key are checked before returning, so a missing file, a destroyed
        key or a bad header fail here rather than in the middle of a response.
        """
        key = self._key(project_id, name)
        stream = self._open(key)
        try:
            header = streaming.parse_header(streaming.read_exact(stream, streaming.HEADER_BYTES))
            _version, wrap = self.keys.aead(project_id, streaming.WRAP_PURPOSE, header.key_version)
            bound = streaming.binding(project_id.bytes, name)
            cipher = streaming.open_data_key(header, wrap_aead=wrap, binding=bound)
        except BaseException:
            stream.close()
            raise
        if not start:
            return self._segments(stream, header, cipher, 0, 0)
        stream.close()
        if start >= streaming.plaintext_size(self.backend.size(key), header.segment_size):
            return iter(())
        first, skip = divmod(start, header.segment_size)
        offset = streaming.HEADER_BYTES + first * (header.segment_size + streaming.TAG)
        return self._segments(self._open(key, offset), header, cipher, first, skip)

    @staticmethod
    def _segments(
        stream: Stream, header: streaming.Header, cipher: AESGCM, first: int, skip: int
    ) -> Iterator[bytes]:
        try:
            yield from streaming.decrypt(header, cipher, stream, first_segment=first, skip=skip)
        finally:
            stream.close()

    def open(self, *, project_id: uuid.UUID, name: str) -> io.BufferedReader:
        """The decrypted file as a read-only binary file object."""
        segments = self.read(project_id=project_id, name=name)
        return io.BufferedReader(_PlainReader(segments), buffer_size=streaming.SEGMENT_SIZE)

    def open_seekable(self, *, project_id: uuid.UUID, name: str) -> io.BufferedReader:
        """The decrypted file as a seekable read-only binary file object."""
        return io.BufferedReader(_SeekableReader(self, project_id, name), buffer_size=64 * 1024)

    def size(self, *, project_id: uuid.UUID, name: str) -> int:
        """The plaintext size, from the stored size and the header (no decryption)."""
        key = self._key(project_id, name)
        stream = self._open(key)
        try:
            header = streaming.parse_header(streaming.read_exact(stream, streaming.HEADER_BYTES))
        finally:
            stream.close()
        return streaming.plaintext_size(self.backend.size(key), header.segment_size)

    def delete(self, *, project_id: uuid.UUID, name: str) -> None:
        self.backend.delete(self._key(project_id, name))

    def names(self, *, project_id: uuid.UUID) -> list[str]:
        prefix = "lab/" if project_id == LAB_KEY_ID else f"projects/{project_id}/"
        return [key[len(prefix) :] for key in self.backend.keys(prefix)]

    def delete_folder(self, *, project_id: uuid.UUID, folder: str) -> int:
        """Delete every file of the project under ``folder/`` (e.g. one import's files)."""
        if project_id == LAB_KEY_ID:
            raise ValueError("The lab's files are not deleted by folder.")
        return self.backend.delete_prefix(f"projects/{project_id}/{_check_name(folder)}/")

    def purge_project(self, *, project_id: uuid.UUID) -> int:
        """Delete every file of the project (every version, on S3). Returns how many."""
        if project_id == LAB_KEY_ID:
            raise ValueError("The lab's files are not a project's; they cannot be purged.")
        return self.backend.delete_prefix(f"projects/{project_id}/")
