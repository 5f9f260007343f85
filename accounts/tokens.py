"""API token format: ``lk_<prefix>_<secret>``. The prefix finds the row; sha256(secret) is kept.

The secret has 256 bits of entropy, so a fast hash is enough: brute force is hopeless whatever
the hash costs, and a slow hash would only make every API call slower.
"""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

PREFIX_BYTES = 9
SECRET_BYTES = 32


@dataclass(frozen=True)
class TokenParts:
    prefix: str
    secret: str

    @property
    def plaintext(self) -> str:
        return f"lk_{self.prefix}_{self.secret}"


def generate() -> TokenParts:
    # token_hex keeps "_" out of the parts, so parsing by "_" is unambiguous.
    prefix = secrets.token_hex(PREFIX_BYTES)[:16]
    return TokenParts(prefix, secrets.token_urlsafe(SECRET_BYTES).replace("_", "-"))


def parse(raw: str) -> TokenParts | None:
    pieces = raw.split("_")
    if len(pieces) != 3 or pieces[0] != "lk" or not pieces[1] or not pieces[2]:
        return None
    return TokenParts(pieces[1], pieces[2])


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), stored_hash)
