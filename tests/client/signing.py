"""Signed manifest documents made the way the server makes them (an Ed25519 key of
``vault.signing``, the manifest prefix), for the client's offline tests."""

import base64
import hashlib
import json
import uuid
from pathlib import Path
from typing import Any

from vault import signing

# The contract between server and client, restated here so that a change on either side fails.
SIGNED_PREFIX = b"labelkeep/manifest/v1\n"


def make_key() -> signing.SigningKey:
    return signing.key_from_pem(signing.new_private_key_pem())


def public_pem(key: signing.SigningKey) -> str:
    # SubjectPublicKeyInfo of an Ed25519 key: a fixed 12-byte DER header, then the raw key.
    der = bytes.fromhex("302a300506032b6570032100") + base64.b64decode(key.public_b64)
    body = base64.b64encode(der).decode("ascii")
    return f"-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n"


def manifest_for(data: bytes, **fields: Any) -> dict[str, Any]:
    return {
        "type": "labelkeep.dataset-version/v1",
        "project": {"id": str(uuid.uuid4()), "name": "Sentiment"},
        "version": {"id": str(uuid.uuid4()), "number": 1, "name": "v1"},
        "format": "jsonl",
        "file": {
            "name": "Sentiment-v1.jsonl",
            "media_type": "application/jsonl",
            "size": len(data),
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": data.count(b"\n"),
        },
        **fields,
    }


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(key: signing.SigningKey, manifest: dict[str, Any] | str) -> dict[str, Any]:
    text = manifest if isinstance(manifest, str) else canonical(manifest)
    return {
        "manifest": text,
        "signature": key.sign(SIGNED_PREFIX + text.encode("utf-8")),
        "key_id": key.key_id,
        "algorithm": "ed25519",
    }


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
