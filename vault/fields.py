"""Sealing dataset values for the database: AES-256-GCM under a subkey of the project key.

Format of a sealed value (34 bytes of overhead)::

    0      format version (1)
    1..4   project key version, big-endian
    5      value type: 0 bytes, 1 UTF-8 text, 2 JSON
    6..17  random 96-bit nonce
    18..   ciphertext, then the 16-byte GCM tag

The associated data binds the header, the project, the kind of value (``task.payload``,
``annotation.result``, ...) and the id of the object it belongs to, so a sealed value copied
into another row, column or project fails to open. Each kind has its own subkey (HKDF of the
project key), which also spreads the random-nonce budget of a key across kinds.

For a batch, build one ``FieldSealer`` and reuse it: the key lookup happens once and each value
then costs only the cipher.
"""

import json
import os
import re
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault import config, crypto
from vault.errors import CiphertextInvalid, KeyNotFound
from vault.keys import ProjectKeys

FORMAT_VERSION = 1
HEADER_BYTES = 6
_BODY = HEADER_BYTES + crypto.NONCE_BYTES
OVERHEAD = _BODY + crypto.TAG_BYTES
BYTES, TEXT, JSON = 0, 1, 2
_TYPE = {BYTES: b"\x00", TEXT: b"\x01", JSON: b"\x02"}
_KIND = re.compile(r"[a-z][a-z0-9_.]{0,63}\Z")

ObjectId = str | int | uuid.UUID


def _purpose(kind: str) -> bytes:
    return b"labelkeep.field.v1|" + kind.encode()


def _encode(value: object) -> tuple[int, bytes]:
    if isinstance(value, bytes | bytearray | memoryview):
        return BYTES, bytes(value)
    if isinstance(value, str):
        return TEXT, value.encode()
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return JSON, text.encode()


def _decode(kind: int, data: bytes) -> Any:
    if kind == BYTES:
        return data
    if kind == TEXT:
        return data.decode()
    if kind == JSON:
        try:
            return orjson.loads(data)  # several times faster; the same values
        except orjson.JSONDecodeError:
            return json.loads(data)  # what orjson declines: integers beyond 64 bits
    raise CiphertextInvalid("A sealed value has an unknown value type.")


def _object_id(object_id: ObjectId) -> bytes:
    encoded = str(object_id).encode()
    return len(encoded).to_bytes(2, "big") + encoded


def key_version_of(sealed: bytes | memoryview) -> int:
    """The project key version that sealed a value, read from its header without opening it."""
    header = bytes(sealed[:HEADER_BYTES])
    if len(header) < HEADER_BYTES or header[0] != FORMAT_VERSION:
        raise CiphertextInvalid("Not a sealed value of a known format.")
    return int.from_bytes(header[1:5], "big")


class FieldSealer:
    """Seals and opens one kind of value of one project, with its keys looked up once."""

    def __init__(
        self, *, keys: ProjectKeys, project_id: uuid.UUID, kind: str, version: int | None = None
    ) -> None:
        if not _KIND.match(kind):
            raise ValueError(f"Invalid kind {kind!r}: use lowercase words joined by dots.")
        self._keys = keys
        self.project_id = project_id
        self.kind = kind
        self._purpose = _purpose(kind)
        self.version, self._aead = keys.aead(project_id, self._purpose, version)
        self._head = bytes([FORMAT_VERSION]) + self.version.to_bytes(4, "big")
        self._binding = crypto.frame(project_id.bytes, kind.encode())
        self._openers: dict[int, AESGCM] = {self.version: self._aead}

    def seal(self, object_id: ObjectId, value: object) -> bytes:
        value_type, data = _encode(value)
        header = self._head + _TYPE[value_type]
        nonce = os.urandom(crypto.NONCE_BYTES)
        aad = header + self._binding + _object_id(object_id)
        return header + nonce + self._aead.encrypt(nonce, data, aad)

    def seal_json_text(self, object_id: ObjectId, encoded: bytes) -> bytes:
        """Seal a value already encoded as JSON (UTF-8); it opens as the decoded value.

        For bulk writers that encode each value once, to fingerprint and to store it.
        """
        header = self._head + _TYPE[JSON]
        nonce = os.urandom(crypto.NONCE_BYTES)
        aad = header + self._binding + _object_id(object_id)
        return header + nonce + self._aead.encrypt(nonce, encoded, aad)

    def seal_json_texts(self, items: Sequence[tuple[ObjectId, bytes]]) -> list[bytes]:
        """``seal_json_text`` for a batch: one call to the system's random source for all of
        its nonces (a bulk import seals a million values; each call costs a system call)."""
        header = self._head + _TYPE[JSON]
        head_binding = header + self._binding
        encrypt = self._aead.encrypt
        size = crypto.NONCE_BYTES
        nonces = os.urandom(size * len(items))
        sealed = []
        for index, (object_id, encoded) in enumerate(items):
            nonce = nonces[index * size : (index + 1) * size]
            sealed.append(
                header + nonce + encrypt(nonce, encoded, head_binding + _object_id(object_id))
            )
        return sealed

    def _opener(self, version: int) -> AESGCM:
        aead = self._openers.get(version)
        if aead is None:
            try:
                _version, aead = self._keys.aead(self.project_id, self._purpose, version)
            except KeyNotFound:
                raise CiphertextInvalid(
                    f"A sealed value names key version {version}, which never existed."
                ) from None
            self._openers[version] = aead
        return aead

    def _open(self, object_id: ObjectId, sealed: bytes | memoryview) -> tuple[int, bytes]:
        data = bytes(sealed)
        version = key_version_of(data)
        if len(data) < OVERHEAD:
            raise CiphertextInvalid("A sealed value is truncated.")
        header = data[:HEADER_BYTES]
        aad = header + self._binding + _object_id(object_id)
        try:
            plain = self._opener(version).decrypt(data[HEADER_BYTES:_BODY], data[_BODY:], aad)
        except InvalidTag:
            raise CiphertextInvalid(
                "A sealed value failed authentication: tampered, or moved from another "
                "object, kind or project."
            ) from None
        return header[5], plain

    def unseal(self, object_id: ObjectId, sealed: bytes | memoryview) -> Any:
        return _decode(*self._open(object_id, sealed))

    def unseal_batch(self, items: Iterable[tuple[ObjectId, bytes | memoryview]]) -> list[Any]:
        """``unseal`` for a batch, in order, with the same checks and errors.

        For exports, which open two values per row for millions of rows: the per-value work
        is kept to the cipher and the decoder (no intermediate tuples or copies of bytes).
        """
        binding = self._binding
        # Per header (format, key version, value type): the opener and the start of the
        # associated data. A batch's values nearly all share one header.
        known: dict[bytes, tuple[AESGCM, bytes]] = {}
        decrypt_bad, loads = InvalidTag, orjson.loads
        opened: list[Any] = []
        append = opened.append
        for object_id, sealed in items:
            data = sealed if type(sealed) is bytes else bytes(sealed)
            header = data[:HEADER_BYTES]
            entry = known.get(header)
            if entry is None or len(data) < OVERHEAD:
                if len(data) < OVERHEAD or data[0] != FORMAT_VERSION:
                    append(self.unseal(object_id, data))  # raises the error that fits
                    continue
                opener = self._opener(int.from_bytes(data[1:5], "big"))
                entry = known[header] = (opener, header + binding)
            aead, start = entry
            oid = (object_id if type(object_id) is str else str(object_id)).encode()
            try:
                plain = aead.decrypt(
                    data[HEADER_BYTES:_BODY],
                    data[_BODY:],
                    start + len(oid).to_bytes(2, "big") + oid,
                )
            except decrypt_bad:
                raise CiphertextInvalid(
                    "A sealed value failed authentication: tampered, or moved from another "
                    "object, kind or project."
                ) from None
            if data[5] == JSON:
                try:
                    append(loads(plain))
                except orjson.JSONDecodeError:
                    append(json.loads(plain))
            else:
                append(_decode(data[5], plain))
        return opened

    def reseal(self, object_id: ObjectId, sealed: bytes | memoryview) -> bytes:
        """The same value sealed under this sealer's key version (byte-exact plaintext)."""
        value_type, plain = self._open(object_id, sealed)
        if value_type not in _TYPE:
            raise CiphertextInvalid("A sealed value has an unknown value type.")
        header = self._head + _TYPE[value_type]
        nonce = os.urandom(crypto.NONCE_BYTES)
        aad = header + self._binding + _object_id(object_id)
        return header + nonce + self._aead.encrypt(nonce, plain, aad)


def field_sealer(project_id: uuid.UUID | str, kind: str) -> FieldSealer:
    """The batch helper: one key lookup, then only the cipher per value."""
    keys = config.project_keys()
    pid = project_id if isinstance(project_id, uuid.UUID) else uuid.UUID(project_id)
    return keys.memo(
        pid, ("sealer", kind), lambda: FieldSealer(keys=keys, project_id=pid, kind=kind)
    )


def seal(project_id: uuid.UUID | str, kind: str, object_id: ObjectId, value: object) -> bytes:
    """Seal ``value`` (bytes, text, or anything JSON can encode) for one object of a project."""
    return field_sealer(project_id, kind).seal(object_id, value)


def unseal(
    project_id: uuid.UUID | str, kind: str, object_id: ObjectId, sealed: bytes | memoryview
) -> Any:
    """Open a sealed value; returns it as it was sealed (bytes, str, or the JSON value)."""
    return field_sealer(project_id, kind).unseal(object_id, sealed)


def unseal_text(
    project_id: uuid.UUID | str, kind: str, object_id: ObjectId, sealed: bytes | memoryview
) -> str:
    value = unseal(project_id, kind, object_id, sealed)
    if not isinstance(value, str):
        raise CiphertextInvalid("The sealed value is not text.")
    return value


def unseal_bytes(
    project_id: uuid.UUID | str, kind: str, object_id: ObjectId, sealed: bytes | memoryview
) -> bytes:
    value = unseal(project_id, kind, object_id, sealed)
    if not isinstance(value, bytes):
        raise CiphertextInvalid("The sealed value is not bytes.")
    return value


def seal_many(
    project_id: uuid.UUID | str, kind: str, items: Iterable[tuple[ObjectId, object]]
) -> Iterator[bytes]:
    """Seal (object id, value) pairs lazily, in order."""
    sealer = field_sealer(project_id, kind)
    for object_id, value in items:
        yield sealer.seal(object_id, value)


def unseal_many(
    project_id: uuid.UUID | str, kind: str, items: Iterable[tuple[ObjectId, bytes | memoryview]]
) -> Iterator[Any]:
    """Open (object id, sealed value) pairs lazily, in order."""
    sealer = field_sealer(project_id, kind)
    for object_id, sealed in items:
        yield sealer.unseal(object_id, sealed)
