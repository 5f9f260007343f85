"""Trusted public keys: parsed from what a caller pins (base64, PEM text or a PEM file).

A key is named by its key id, the first 16 hex digits of the SHA-256 of its 32 raw bytes: the
same id the server puts beside each signature.
"""

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TypeAlias

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from labelkeep_client.errors import ConfigurationError

KeySource: TypeAlias = str | bytes | os.PathLike[str]
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw
_PEM_HEADER = "-----BEGIN PUBLIC KEY-----"


def key_id_of(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:16]


def trusted_keys(sources: Iterable[KeySource]) -> dict[str, bytes]:
    """Key id -> raw public key for each source; ConfigurationError names a bad one."""
    keys = {}
    for source in sources:
        raw = public_key_raw(source)
        keys[key_id_of(raw)] = raw
    return keys


def public_key_raw(source: KeySource) -> bytes:
    """The 32 raw bytes of an Ed25519 public key given as base64, PEM, a PEM file, or raw bytes."""
    if isinstance(source, bytes):
        return _from_pem(source) if source.lstrip().startswith(b"-----") else _checked(source)
    if isinstance(source, os.PathLike):
        return _from_file(Path(source))
    text = source.strip()
    if text.startswith(_PEM_HEADER):
        return _from_pem(text.encode("ascii"))
    if _looks_like_path(text):
        return _from_file(Path(text))
    return from_base64(text)


def from_base64(text: str) -> bytes:
    """The raw key of base64 text, and nothing else (never read as a file's name: keys the
    server lists go through here)."""
    try:
        return _checked(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ConfigurationError):
        raise ConfigurationError(
            f"{_shorten(text)!r} is neither a base64 Ed25519 public key nor a PEM file."
        ) from None


def _looks_like_path(text: str) -> bool:
    # Base64 has "/" too, so a key is a path only when a file of that name exists or it ends
    # like one; a missing key file is then reported as missing, not as bad base64.
    return os.path.exists(text) or text.endswith((".pem", ".pub"))


def _from_file(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"Public key file {path} cannot be read: {exc}") from exc
    if data.lstrip().startswith(b"-----"):
        return _from_pem(data)
    try:
        return _checked(base64.b64decode(data.strip(), validate=True))
    except binascii.Error:
        raise ConfigurationError(f"{path} holds no PEM or base64 public key.") from None


def _from_pem(pem: bytes) -> bytes:
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(f"Not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ConfigurationError("The PEM public key is not an Ed25519 key.")
    return key.public_bytes(*_RAW)


def _checked(raw: bytes) -> bytes:
    if len(raw) != 32:
        raise ConfigurationError(f"An Ed25519 public key has 32 bytes, not {len(raw)}.")
    return raw


def _shorten(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."
