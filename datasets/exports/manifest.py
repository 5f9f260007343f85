"""A version's manifest: what it holds and how it was made, signed with the installation key.

The manifest is canonical JSON text (sorted keys, no spaces, UTF-8), stored exactly as signed.
The signature is Ed25519 over ``SIGNED_PREFIX + text``: the prefix keeps a manifest signature
from ever being mistaken for a signature of anything else the key signs (audit checkpoints).
Pipelines verify it with the public key from ``GET /api/v1/signing-keys``, pinned ahead of time
so that the check needs neither the server nor trust in it.
"""

import base64
import json
from typing import Any

from vault import signing

MANIFEST_TYPE = "labelkeep.dataset-version/v1"
SIGNED_PREFIX = b"labelkeep/manifest/v1\n"


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def manifest_sign(text: str) -> tuple[str, str]:
    """The signature (base64) of the manifest text and the id of the key that made it."""
    key = signing.signing_key()
    return key.sign(SIGNED_PREFIX + text.encode()), key.key_id


def manifest_verify(text: str, signature: str, key_id: str) -> bool:
    """Whether a trusted key of this installation signed exactly this text."""
    key = signing.trusted_public_keys().get(key_id)
    signed = SIGNED_PREFIX + text.encode()
    return key is not None and signing.signature_valid(key, signature, signed)


def public_keys() -> list[dict[str, Any]]:
    """The keys whose signatures pipelines should accept: the current one and retired ones."""
    current = signing.signing_key().key_id
    return [
        {
            "key_id": key_id,
            "algorithm": "ed25519",
            "public_key": base64.b64encode(raw).decode("ascii"),
            "current": key_id == current,
        }
        for key_id, raw in sorted(signing.trusted_public_keys().items())
    ]
