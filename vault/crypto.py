"""Small building blocks shared by the vault: AES-256-GCM key wrapping, key derivation and the
canonical encoding of associated data.
"""

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from vault.errors import CiphertextInvalid

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
WRAPPED_KEY_BYTES = NONCE_BYTES + KEY_BYTES + TAG_BYTES


def random_key() -> bytes:
    return os.urandom(KEY_BYTES)


def frame(*parts: bytes) -> bytes:
    """Length-prefix each part, so that no two different tuples of parts encode alike."""
    out = bytearray()
    for part in parts:
        if len(part) > 0xFFFF:
            raise ValueError("An associated-data part is longer than 65535 bytes.")
        out += len(part).to_bytes(2, "big") + part
    return bytes(out)


def context_bytes(context: Mapping[str, str]) -> bytes:
    """The canonical bytes of a KMS-style encryption context (sorted key/value pairs)."""
    return frame(*(p.encode() for key in sorted(context) for p in (key, context[key])))


def derive_key(key: bytes, *, purpose: bytes) -> bytes:
    """A subkey for one purpose, so that one key never serves two kinds of data."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose).derive(key)


def wrap_key(kek: bytes, key: bytes, *, aad: bytes) -> bytes:
    """Encrypt a key under a key-encryption key: nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, key, aad)


def unwrap_key(kek: bytes, wrapped: bytes, *, aad: bytes, what: str) -> bytes:
    if len(wrapped) != WRAPPED_KEY_BYTES:
        raise CiphertextInvalid(f"The wrapped {what} has the wrong length.")
    try:
        return AESGCM(kek).decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], aad)
    except InvalidTag:
        raise CiphertextInvalid(
            f"The wrapped {what} failed authentication (tampered, or bound to another object)."
        ) from None
