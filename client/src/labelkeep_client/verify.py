"""Offline verification: a signed manifest document against trusted keys, a file against its
manifest. Nothing here talks to the network."""

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from labelkeep_client.errors import ChecksumMismatch, ManifestMismatch, SignatureInvalid
from labelkeep_client.keys import KeySource, trusted_keys

# Signatures cover this prefix and the manifest text, so that a signature made by the
# installation's key for some other purpose can never pass as a manifest's.
SIGNED_PREFIX = b"labelkeep/manifest/v1\n"
MANIFEST_TYPE = "labelkeep.dataset-version/v1"
ALGORITHM = "ed25519"
CHUNK = 1 << 20


def verify_manifest(
    document: Mapping[str, Any] | str | bytes,
    public_keys: Iterable[KeySource] | Mapping[str, bytes],
) -> dict[str, Any]:
    """The manifest of a signed document (as the server's ``/manifest`` answers it, parsed or
    as JSON text) once its signature verifies against one of ``public_keys``; else
    SignatureInvalid. ``public_keys`` are key sources, or key id -> raw key as
    ``keys.trusted_keys`` returns them."""
    fields = _document_fields(document)
    keys = public_keys if isinstance(public_keys, Mapping) else trusted_keys(public_keys)
    text, signature, key_id, algorithm = fields
    if algorithm != ALGORITHM:
        raise SignatureInvalid(f"Unsupported signature algorithm {algorithm!r}.")
    if key_id not in keys:
        raise SignatureInvalid(
            f"The manifest is signed by key {key_id!r}, which is not among the trusted keys "
            f"({', '.join(sorted(keys)) or 'none'})."
        )
    _check_signature(keys[key_id], signature, SIGNED_PREFIX + text.encode("utf-8"))
    return _parse_manifest(text)


def verify_file(path: str | os.PathLike[str], manifest: Mapping[str, Any]) -> None:
    """Raise ChecksumMismatch unless the file's size and SHA-256 are the manifest's."""
    size = os.path.getsize(path)
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    check_digest(manifest, size=size, sha256=digest.hexdigest())


def check_digest(manifest: Mapping[str, Any], *, size: int, sha256: str) -> None:
    """Raise ChecksumMismatch unless ``size`` and ``sha256`` are the manifest file's."""
    expected = manifest["file"]
    if size != expected["size"]:
        raise ChecksumMismatch(f"The file has {size} bytes; the manifest says {expected['size']}.")
    if sha256 != expected["sha256"]:
        raise ChecksumMismatch(
            f"The file's SHA-256 is {sha256}; the manifest says {expected['sha256']}."
        )


def _document_fields(document: Mapping[str, Any] | str | bytes) -> tuple[str, str, str, str]:
    if isinstance(document, str | bytes):
        try:
            document = json.loads(document)
        except ValueError as exc:
            raise SignatureInvalid(f"The signed manifest document is not JSON: {exc}") from exc
    if not isinstance(document, Mapping):
        raise SignatureInvalid("The signed manifest document is not a JSON object.")
    names = ("manifest", "signature", "key_id", "algorithm")
    values = [document.get(name) for name in names]
    missing = [
        name for name, value in zip(names, values, strict=True) if not isinstance(value, str)
    ]
    if missing:
        raise SignatureInvalid(f"The signed manifest document lacks {', '.join(missing)}.")
    text, signature, key_id, algorithm = (str(value) for value in values)
    return text, signature, key_id, algorithm


def _check_signature(public_raw: bytes, signature_b64: str, message: bytes) -> None:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        Ed25519PublicKey.from_public_bytes(public_raw).verify(signature, message)
    except (InvalidSignature, ValueError, binascii.Error):
        raise SignatureInvalid("The manifest's signature does not verify.") from None


def _parse_manifest(text: str) -> dict[str, Any]:
    # Parsed only after the signature verified: nothing unsigned is ever interpreted.
    try:
        manifest = json.loads(text)
    except ValueError as exc:
        raise ManifestMismatch(f"The signed manifest is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("type") != MANIFEST_TYPE:
        raise ManifestMismatch(f"The signed text is not a {MANIFEST_TYPE} manifest.")
    file = manifest.get("file")
    if not (
        isinstance(file, dict)
        and isinstance(file.get("size"), int)
        and isinstance(file.get("sha256"), str)
    ):
        raise ManifestMismatch("The manifest names no file size and SHA-256.")
    return manifest
