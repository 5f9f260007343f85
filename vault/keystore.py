"""The key store: wrapped project keys, kept outside the main database.

A database backup alone therefore never holds what decrypts it. Each project key version is one
small JSON record (``<project>/v000001.key``) holding only the wrapped key and the id of the
master key that wrapped it; destroying a project's keys leaves a tombstone
(``<project>/destroyed.json``, ids only) so that every later use reads as "destroyed", not
"missing". Two backings share this logic: a directory (embedded default, under ``var/``) and an
S3 bucket of its own (production; see docs/encryption.md for why it is a separate bucket).
"""

import base64
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from django.utils import timezone

from vault.errors import KeyDestroyed, KeyNotFound, KeyProviderUnavailable, StorageUnavailable
from vault.providers import write_private
from vault.s3 import Bucket

_FORMAT = 1
_TOMBSTONE = "destroyed.json"


def key_id_of(project_id: uuid.UUID, version: int) -> str:
    return f"pk-{project_id}-v{version}"


@dataclass(frozen=True)
class KeyRecord:
    project_id: uuid.UUID
    version: int
    provider: str
    master_key_id: str
    wrapped: bytes
    created_at: str

    @property
    def key_id(self) -> str:
        return key_id_of(self.project_id, self.version)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": _FORMAT,
                "key_id": self.key_id,
                "project_id": str(self.project_id),
                "version": self.version,
                "provider": self.provider,
                "master_key_id": self.master_key_id,
                "wrapped": base64.b64encode(self.wrapped).decode(),
                "created_at": self.created_at,
            },
            indent=1,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "KeyRecord":
        raw = json.loads(data)
        if raw.get("format") != _FORMAT:
            raise KeyProviderUnavailable("A key store record has an unknown format.")
        return cls(
            project_id=uuid.UUID(raw["project_id"]),
            version=int(raw["version"]),
            provider=raw["provider"],
            master_key_id=raw["master_key_id"],
            wrapped=base64.b64decode(raw["wrapped"]),
            created_at=raw["created_at"],
        )


class _Objects(Protocol):
    """Named small objects: a directory or a bucket prefix."""

    where: str

    def read(self, name: str) -> bytes: ...

    def write(self, name: str, data: bytes, *, exclusive: bool = False) -> None: ...

    def names(self, prefix: str) -> list[str]: ...

    def erase(self, name: str) -> None: ...


class DirectoryObjects:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.where = str(root)

    def _path(self, name: str) -> Path:
        return self.root / name

    def read(self, name: str) -> bytes:
        return self._path(name).read_bytes()

    def write(self, name: str, data: bytes, *, exclusive: bool = False) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(path, data.decode(), exclusive=exclusive)

    def names(self, prefix: str) -> list[str]:
        base = self._path(prefix) if prefix else self.root
        if not base.is_dir():
            return []
        return sorted(
            str(path.relative_to(self.root))
            for path in base.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )

    def erase(self, name: str) -> None:
        path = self._path(name)
        path.unlink(missing_ok=True)
        if path.parent != self.root and not any(path.parent.iterdir()):
            shutil.rmtree(path.parent, ignore_errors=True)


class BucketObjects:
    def __init__(self, bucket: Bucket, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.where = f"s3://{bucket.name}/{self.prefix}"

    def read(self, name: str) -> bytes:
        return self.bucket.get(self.prefix + name)

    def write(self, name: str, data: bytes, *, exclusive: bool = False) -> None:
        self.bucket.put(self.prefix + name, data, if_absent=exclusive)
        if not exclusive:
            # A re-wrapped record must not leave its old wrapping behind as an older version.
            self.bucket.delete_noncurrent(self.prefix + name)

    def names(self, prefix: str) -> list[str]:
        start = len(self.prefix)
        return sorted(key[start:] for key in self.bucket.keys(self.prefix + prefix))

    def erase(self, name: str) -> None:
        self.bucket.delete(self.prefix + name)


class KeyStore:
    def __init__(self, objects: _Objects) -> None:
        self.objects = objects

    def _unavailable(self, exc: Exception) -> KeyProviderUnavailable:
        return KeyProviderUnavailable(
            f"The key store {self.objects.where} cannot be used ({type(exc).__name__}).",
            details={"provider": "keystore"},
        )

    def _tombstone(self, project_id: uuid.UUID) -> dict[str, object] | None:
        try:
            return dict(json.loads(self.objects.read(f"{project_id}/{_TOMBSTONE}")))
        except FileNotFoundError:
            return None
        except (OSError, StorageUnavailable, ValueError) as exc:
            raise self._unavailable(exc) from exc

    def _check_alive(self, project_id: uuid.UUID) -> None:
        tombstone = self._tombstone(project_id)
        if tombstone is not None:
            raise KeyDestroyed(
                "This project's keys were destroyed; its data can no longer be read.",
                details={"destroyed_at": tombstone.get("destroyed_at")},
            )

    def _version_names(self, project_id: uuid.UUID) -> list[str]:
        try:
            names = self.objects.names(f"{project_id}/")
        except (OSError, StorageUnavailable) as exc:
            raise self._unavailable(exc) from exc
        return [name for name in names if name.endswith(".key")]

    def add(self, record: KeyRecord) -> None:
        """Store a new key version; refuses to overwrite one or to revive a destroyed project."""
        self._check_alive(record.project_id)
        name = f"{record.project_id}/v{record.version:06d}.key"
        try:
            self.objects.write(name, record.to_json(), exclusive=True)
        except FileExistsError:
            raise
        except (OSError, StorageUnavailable) as exc:
            raise self._unavailable(exc) from exc

    def replace(self, record: KeyRecord) -> None:
        """Overwrite an existing version with a re-wrapped form of the same key."""
        name = f"{record.project_id}/v{record.version:06d}.key"
        try:
            self.objects.write(name, record.to_json())
        except (OSError, StorageUnavailable) as exc:
            raise self._unavailable(exc) from exc

    def records(self, project_id: uuid.UUID) -> list[KeyRecord]:
        """Every version of the project's key, oldest first."""
        self._check_alive(project_id)
        try:
            records = [
                KeyRecord.from_json(self.objects.read(name))
                for name in self._version_names(project_id)
            ]
        except FileNotFoundError:
            records = []  # destroyed between listing and reading
        except (OSError, StorageUnavailable, ValueError, KeyError) as exc:
            raise self._unavailable(exc) from exc
        if not records:
            self._check_alive(project_id)
            raise KeyNotFound("This project has no key in the key store.")
        return sorted(records, key=lambda record: record.version)

    def destroy(self, project_id: uuid.UUID) -> list[str]:
        """Destroy every version: the tombstone first, so no reader can race the deletion.

        Idempotent: a repeat (after a crash) finishes the job and reports the same key ids.
        """
        names = self._version_names(project_id)
        previous = self._tombstone(project_id) or {}
        listed = previous.get("key_ids")
        earlier = [str(key_id) for key_id in listed] if isinstance(listed, list) else []
        key_ids = sorted({*earlier, *self._ids(project_id, names)})
        tombstone = {
            "format": _FORMAT,
            "project_id": str(project_id),
            "destroyed_at": previous.get("destroyed_at") or timezone.now().isoformat(),
            "key_ids": key_ids,
        }
        try:
            self.objects.write(f"{project_id}/{_TOMBSTONE}", json.dumps(tombstone).encode())
            for name in names:
                self.objects.erase(name)
        except (OSError, StorageUnavailable) as exc:
            raise self._unavailable(exc) from exc
        return key_ids

    @staticmethod
    def _ids(project_id: uuid.UUID, names: list[str]) -> list[str]:
        versions = [int(Path(name).stem.lstrip("v") or 0) for name in names]
        return [key_id_of(project_id, version) for version in versions]

    def project_ids(self) -> Iterator[uuid.UUID]:
        """Projects that hold live keys."""
        try:
            names = self.objects.names("")
        except (OSError, StorageUnavailable) as exc:
            raise self._unavailable(exc) from exc
        seen: set[str] = set()
        dead = {name.split("/")[0] for name in names if name.endswith(_TOMBSTONE)}
        for name in names:
            head = name.split("/")[0]
            if name.endswith(".key") and head not in seen and head not in dead:
                seen.add(head)
                yield uuid.UUID(head)


def directory_keystore(root: Path) -> KeyStore:
    root.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(root, 0o700)
    return KeyStore(DirectoryObjects(root))


def bucket_keystore(bucket: Bucket, prefix: str) -> KeyStore:
    return KeyStore(BucketObjects(bucket, prefix))
