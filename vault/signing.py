"""The audit log's checkpoint signing key: Ed25519, kept outside the database.

The private key is read from ``LABELKEEP_AUDIT_SIGNING_KEY_FILE`` (PEM, PKCS#8, as written by
``openssl genpkey -algorithm ed25519``) or, when that is not set, generated once into the var
directory with mode 0600. Verification trusts the current key's public half and the retired
public keys listed in ``LABELKEEP_AUDIT_TRUSTED_PUBLIC_KEYS``; never a key read from the
database, which an attacker able to rewrite the log could also rewrite.
"""

import base64
import binascii
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_GENERATED_NAME = "audit_signing_key.pem"
_RAW = serialization.Encoding.Raw, serialization.PublicFormat.Raw


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey
    key_id: str
    public_b64: str

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode("ascii")


def key_id_of(public_raw: bytes) -> str:
    """A short, stable name for a public key: the first 16 hex digits of its SHA-256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def key_path() -> Path:
    configured = settings.AUDIT_SIGNING_KEY_FILE
    return Path(configured) if configured else Path(settings.VAR_DIR) / _GENERATED_NAME


_loaded: dict[Path, SigningKey] = {}


def signing_key() -> SigningKey:
    """The current signing key, generated on first use unless a key file is configured."""
    path = key_path()
    if path not in _loaded:
        if not path.exists() and not settings.AUDIT_SIGNING_KEY_FILE:
            _generate(path)
        _loaded[path] = _load(path)
    return _loaded[path]


def trusted_public_keys() -> dict[str, bytes]:
    """Key id -> raw public key, for every key whose signatures verification accepts."""
    trusted = {}
    for text in settings.AUDIT_TRUSTED_PUBLIC_KEYS:
        raw = _decode_public(text)
        trusted[key_id_of(raw)] = raw
    if key_path().exists():
        current = signing_key()
        trusted[current.key_id] = base64.b64decode(current.public_b64)
    return trusted


def signature_valid(public_raw: bytes, signature_b64: str, data: bytes) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, data)
    except (InvalidSignature, ValueError, binascii.Error):
        return False
    return True


def new_private_key_pem() -> bytes:
    """A fresh Ed25519 private key as unencrypted PKCS#8 PEM (for key files and key rotation)."""
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _generate(path: Path) -> None:
    # Written to a private temporary file, then linked into place: concurrent first uses in
    # several processes agree on one key, and nobody ever reads a half-written file.
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(new_private_key_pem())
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)


def _load(path: Path) -> SigningKey:
    try:
        return key_from_pem(path.read_bytes())
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise ImproperlyConfigured(f"Audit signing key {path} cannot be read: {exc}") from exc


def key_from_pem(pem: bytes) -> SigningKey:
    """A signing key from PKCS#8 PEM; ValueError unless it is an unencrypted Ed25519 key."""
    private = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 key")
    raw = private.public_key().public_bytes(*_RAW)
    return SigningKey(private, key_id_of(raw), base64.b64encode(raw).decode("ascii"))


def _decode_public(text: str) -> bytes:
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise ImproperlyConfigured(
            f"LABELKEEP_AUDIT_TRUSTED_PUBLIC_KEYS: {text!r} is not a base64 Ed25519 public key."
        )
    return raw
