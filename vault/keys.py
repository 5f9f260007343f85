"""Project keys: created with the project, versioned, destroyed for crypto-shredding.

The key store holds only wrapped keys. Unwrapped keys (and the AEAD objects derived from them)
are cached in this process for ``LABELKEEP_KEY_CACHE_SECONDS`` so that a million-row batch pays
the cipher, not a key-store read and a KMS call per row. The cache is also why a shred takes
effect in *other* processes only when their entry expires: the shredding process forgets at
once, the others within the cache lifetime (docs/encryption.md).
"""

import contextlib
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.utils import timezone

from core.errors import Conflict
from vault import crypto
from vault.errors import KeyDestroyed, KeyNotFound, KeyProviderUnavailable
from vault.keystore import KeyRecord, KeyStore
from vault.providers import KeyProvider

T = TypeVar("T")

# The lab key: a reserved key-store entry, not a project's. It encrypts what must outlive every
# project (the audit archive); ``destroy`` refuses it, so deleting a project can never shred it.
LAB_KEY_ID = uuid.UUID(int=0)


@dataclass(frozen=True)
class KeyInfo:
    project_id: uuid.UUID
    version: int
    key_id: str
    provider: str
    master_key_id: str
    created_at: str

    @classmethod
    def of(cls, record: KeyRecord) -> "KeyInfo":
        return cls(
            project_id=record.project_id,
            version=record.version,
            key_id=record.key_id,
            provider=record.provider,
            master_key_id=record.master_key_id,
            created_at=record.created_at,
        )


@dataclass(frozen=True)
class RewrapReport:
    projects: int
    versions: int
    rewrapped: int
    master_key_id: str


@dataclass
class _Entry:
    records: dict[int, KeyRecord]
    expires: float
    plain: dict[int, bytes] = field(default_factory=dict)
    derived: dict[tuple[int, bytes], AESGCM] = field(default_factory=dict)
    memo: dict[Any, Any] = field(default_factory=dict)

    @property
    def current(self) -> int:
        return max(self.records)


def wrap_context(project_id: uuid.UUID, version: int) -> dict[str, str]:
    """The encryption context of a wrapped project key: KMS and the keyfile both bind it."""
    return {
        "labelkeep:project": str(project_id),
        "labelkeep:purpose": "project-key",
        "labelkeep:version": str(version),
    }


class ProjectKeys:
    def __init__(
        self,
        *,
        provider: KeyProvider,
        store: KeyStore,
        cache_seconds: float,
        cache_size: int = 1024,
    ) -> None:
        self.provider = provider
        self.store = store
        self.cache_seconds = cache_seconds
        self.cache_size = cache_size
        self._cache: OrderedDict[uuid.UUID, _Entry] = OrderedDict()
        self._lock = threading.Lock()

    def _new_record(self, project_id: uuid.UUID, version: int) -> KeyRecord:
        _plain, wrapped, master_id = self.provider.generate(wrap_context(project_id, version))
        return KeyRecord(
            project_id=project_id,
            version=version,
            provider=self.provider.name,
            master_key_id=master_id,
            wrapped=wrapped,
            created_at=timezone.now().isoformat(),
        )

    def create(self, project_id: uuid.UUID) -> KeyInfo:
        """The first key of a new project (version 1)."""
        record = self._new_record(project_id, 1)
        try:
            self.store.add(record)
        except FileExistsError:
            raise Conflict("This project already has a key.", code="key_exists") from None
        return KeyInfo.of(record)

    def rotate(self, project_id: uuid.UUID) -> KeyInfo:
        """Add a version: new writes use it, older versions still decrypt."""
        latest = self.store.records(project_id)[-1].version
        record = self._new_record(project_id, latest + 1)
        try:
            self.store.add(record)
        except FileExistsError:
            raise Conflict(
                "Another rotation of this project's key ran at the same time; try again.",
                code="rotation_conflict",
            ) from None
        self.forget(project_id)
        return KeyInfo.of(record)

    def ensure_lab_key(self) -> None:
        """Create the lab key on first use (concurrent first uses all find one key)."""
        try:
            self.store.records(LAB_KEY_ID)
        except KeyNotFound:
            with contextlib.suppress(Conflict):
                self.create(LAB_KEY_ID)

    def versions(self, project_id: uuid.UUID) -> list[KeyInfo]:
        return [KeyInfo.of(record) for record in self.store.records(project_id)]

    def destroy(self, project_id: uuid.UUID) -> list[str]:
        """Crypto-shred: destroy every version in the key store. Returns the key ids."""
        if project_id == LAB_KEY_ID:
            raise Conflict("The lab key cannot be destroyed.", code="lab_key")
        self.forget(project_id)
        key_ids = self.store.destroy(project_id)
        self.forget(project_id)
        return key_ids

    def forget(self, project_id: uuid.UUID | None = None) -> None:
        """Drop cached keys (of one project, or all)."""
        with self._lock:
            if project_id is None:
                self._cache.clear()
            else:
                self._cache.pop(project_id, None)

    def _entry(self, project_id: uuid.UUID, *, version: int | None = None) -> _Entry:
        now = time.monotonic()
        with self._lock:
            entry = self._cache.get(project_id)
            if (
                entry is not None
                and entry.expires > now
                and (version in entry.records or version is None)
            ):
                self._cache.move_to_end(project_id)
                return entry
        # Missing, expired, or asked for a version another process just added: read the store.
        records = {record.version: record for record in self.store.records(project_id)}
        entry = _Entry(records=records, expires=now + self.cache_seconds)
        with self._lock:
            self._cache[project_id] = entry
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return entry

    def _plain(self, project_id: uuid.UUID, entry: _Entry, version: int) -> bytes:
        key = entry.plain.get(version)
        if key is None:
            record = entry.records.get(version)
            if record is None:
                raise KeyNotFound(f"Key version {version} of this project does not exist.")
            if record.provider != self.provider.name:
                raise KeyProviderUnavailable(
                    f"This key was wrapped by the '{record.provider}' provider, but "
                    f"'{self.provider.name}' is configured.",
                    details={"provider": self.provider.name},
                )
            key = entry.plain[version] = self._unwrap(record, entry)
        return key

    def _unwrap(self, record: KeyRecord, entry: _Entry) -> bytes:
        context = wrap_context(record.project_id, record.version)
        try:
            return self.provider.unwrap(record.wrapped, context, record.master_key_id)
        except KeyProviderUnavailable:
            # A master-key rotation in another process may have re-wrapped this record and
            # retired the master key our cached copy names: read the record afresh, once.
            fresh = {r.version: r for r in self.store.records(record.project_id)}
            again = fresh.get(record.version)
            if again is None or again.master_key_id == record.master_key_id:
                raise
            entry.records[record.version] = again
            return self.provider.unwrap(again.wrapped, context, again.master_key_id)

    def key(self, project_id: uuid.UUID, version: int | None = None) -> tuple[int, bytes]:
        """The plaintext project key of ``version`` (default: current), and its version."""
        entry = self._entry(project_id, version=version)
        chosen = entry.current if version is None else version
        return chosen, self._plain(project_id, entry, chosen)

    def aead(
        self, project_id: uuid.UUID, purpose: bytes, version: int | None = None
    ) -> tuple[int, AESGCM]:
        """An AES-GCM cipher keyed by a subkey of the project key for one purpose."""
        entry = self._entry(project_id, version=version)
        chosen = entry.current if version is None else version
        cipher = entry.derived.get((chosen, purpose))
        if cipher is None:
            subkey = crypto.derive_key(self._plain(project_id, entry, chosen), purpose=purpose)
            cipher = entry.derived[(chosen, purpose)] = AESGCM(subkey)
        return chosen, cipher

    def memo(self, project_id: uuid.UUID, token: object, build: Callable[[], T]) -> T:
        """An object built from the project's current keys, cached as long as they are."""
        entry = self._entry(project_id)
        if token not in entry.memo:
            entry.memo[token] = build()
        result: T = entry.memo[token]
        return result

    def rewrap_all(self) -> RewrapReport:
        """Re-wrap every project key under the current master key. No data is rewritten.

        Resumable: keys already under the current master key are skipped.
        """
        projects = versions = rewrapped = 0
        for project_id in self.store.project_ids():
            try:
                records = self.store.records(project_id)
            except KeyDestroyed:
                continue  # shredded while we were listing
            projects += 1
            for record in records:
                versions += 1
                if self.provider.is_current(record.master_key_id):
                    continue
                context = wrap_context(project_id, record.version)
                wrapped, master_id = self.provider.rewrap(
                    record.wrapped, context, record.master_key_id
                )
                self.store.replace(replace(record, wrapped=wrapped, master_key_id=master_id))
                rewrapped += 1
        self.forget()
        current = self.provider.current_master_id()
        return RewrapReport(projects, versions, rewrapped, current)
