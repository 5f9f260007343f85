"""Master key providers: they create, wrap and unwrap project keys and never hand out the master.

``local`` keeps a keyring file of 256-bit master keys (mode 0600; the last line is the current
key, older lines still unwrap until rotation retires them). ``aws-kms`` lives in ``vault.kms``.
"""

import base64
import binascii
import logging
import os
import secrets
import stat
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vault import crypto
from vault.errors import KeyProviderUnavailable

logger = logging.getLogger(__name__)

_WRAP_PURPOSE = b"labelkeep.project-key.v1"
_HEADER = (
    "# Labelkeep master keyring: one '<id>:<base64 key>' per line, the last line is current.\n"
    "# Keep it secret, mode 0600, and back it up apart from the database and the key store.\n"
)


class KeyProvider(Protocol):
    name: str

    def current_master_id(self) -> str: ...

    def generate(self, context: Mapping[str, str]) -> tuple[bytes, bytes, str]:
        """A new project key: (plaintext, wrapped form, id of the master key that wrapped it)."""
        ...

    def unwrap(self, wrapped: bytes, context: Mapping[str, str], master_id: str) -> bytes: ...

    def rewrap(
        self, wrapped: bytes, context: Mapping[str, str], master_id: str
    ) -> tuple[bytes, str]:
        """The same key wrapped under the current master key: (wrapped form, master id)."""
        ...

    def is_current(self, master_id: str) -> bool: ...


@dataclass(frozen=True)
class _Keyring:
    keys: dict[str, bytes]
    current: str
    signature: tuple[int, int, int]  # (inode, size, mtime_ns): reload when the file changes


def _unavailable(path: Path, problem: str) -> KeyProviderUnavailable:
    return KeyProviderUnavailable(
        f"The master keyring {path} {problem}.", details={"provider": "local"}
    )


def _signature(path: Path) -> tuple[int, int, int]:
    info = path.stat()
    return (info.st_ino, info.st_size, info.st_mtime_ns)


def _parse(path: Path, text: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        key_id, _, encoded = line.strip().partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            key = b""
        if not key_id.startswith("mk-") or len(key) != crypto.KEY_BYTES:
            raise _unavailable(path, f"is malformed at line {number}")
        keys[key_id] = key
    if not keys:
        raise _unavailable(path, "holds no key")
    return keys


def _render(keys: Mapping[str, bytes]) -> str:
    lines = [f"{key_id}:{base64.b64encode(key).decode()}" for key_id, key in keys.items()]
    return _HEADER + "\n".join(lines) + "\n"


def _new_key_id() -> str:
    return f"mk-{secrets.token_hex(6)}"


def write_private(path: Path, text: str, *, exclusive: bool = False) -> None:
    """Write a secret file atomically with mode 0600 (a crash leaves the old file or the new)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temp, path)  # atomic, and fails if the name exists
        else:
            os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def create_keyring(path: Path) -> str:
    """Create a keyring file with one fresh master key; refuses to overwrite one."""
    key_id = _new_key_id()
    write_private(path, _render({key_id: crypto.random_key()}), exclusive=True)
    return key_id


class LocalProvider:
    """Master keys in a local keyring file; project keys are wrapped with AES-256-GCM."""

    name = "local"

    def __init__(self, *, path: Path, generate: bool) -> None:
        self.path = path
        self._generate = generate
        self._lock = threading.Lock()
        self._ring: _Keyring | None = None

    def _load(self) -> _Keyring:
        if self._generate and not self.path.exists():
            try:
                create_keyring(self.path)
                logger.info("Generated a master keyring at %s", self.path)
            except FileExistsError:
                pass  # another process created it first; read theirs
        try:
            mode = self.path.stat().st_mode
            text = self.path.read_text()
            signature = _signature(self.path)
        except OSError as exc:
            raise _unavailable(self.path, f"cannot be read ({exc.strerror})") from exc
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise _unavailable(self.path, "is readable by others: chmod 600 it")
        keys = _parse(self.path, text)
        return _Keyring(keys=keys, current=list(keys)[-1], signature=signature)

    def _ring_fresh(self) -> _Keyring:
        # A rotation (another process) rewrites the file; a stat is cheap next to a key wrap.
        with self._lock:
            ring = self._ring
            try:
                stale = ring is None or _signature(self.path) != ring.signature
            except OSError:
                stale = True
            if ring is None or stale:
                ring = self._ring = self._load()
            return ring

    def _master(self, master_id: str) -> bytes:
        ring = self._ring_fresh()
        if master_id not in ring.keys:
            raise _unavailable(self.path, f"does not hold the master key {master_id} (retired?)")
        return ring.keys[master_id]

    def current_master_id(self) -> str:
        return self._ring_fresh().current

    def is_current(self, master_id: str) -> bool:
        return master_id == self.current_master_id()

    def generate(self, context: Mapping[str, str]) -> tuple[bytes, bytes, str]:
        key = crypto.random_key()
        ring = self._ring_fresh()
        aad = _WRAP_PURPOSE + crypto.context_bytes(context)
        return key, crypto.wrap_key(ring.keys[ring.current], key, aad=aad), ring.current

    def unwrap(self, wrapped: bytes, context: Mapping[str, str], master_id: str) -> bytes:
        aad = _WRAP_PURPOSE + crypto.context_bytes(context)
        return crypto.unwrap_key(self._master(master_id), wrapped, aad=aad, what="project key")

    def rewrap(
        self, wrapped: bytes, context: Mapping[str, str], master_id: str
    ) -> tuple[bytes, str]:
        key = self.unwrap(wrapped, context, master_id)
        ring = self._ring_fresh()
        aad = _WRAP_PURPOSE + crypto.context_bytes(context)
        return crypto.wrap_key(ring.keys[ring.current], key, aad=aad), ring.current

    def add_master_key(self) -> str:
        """Append a fresh master key, which becomes current; older keys still unwrap."""
        with self._lock:
            keys = self._load().keys
            key_id = _new_key_id()
            keys[key_id] = crypto.random_key()
            write_private(self.path, _render(keys))
            self._ring = None
        return key_id

    def retire_master_keys(self) -> list[str]:
        """Drop every master key but the current one; call only once nothing uses them."""
        with self._lock:
            ring = self._load()
            retired = [key_id for key_id in ring.keys if key_id != ring.current]
            write_private(self.path, _render({ring.current: ring.keys[ring.current]}))
            self._ring = None
        return retired
