"""The vault's errors, in the project's one hierarchy so the API turns them into clear answers.

The vault fails closed: when a key or the storage cannot be reached it raises one of these and
never falls back to writing or returning anything unencrypted.
"""

from core.errors import ApplicationError, NotFound, ServiceUnavailable


class KeyProviderUnavailable(ServiceUnavailable):
    """The master key provider (keyfile or KMS) or the key store is unreachable or refusing."""

    code = "key_provider_unavailable"


class StorageUnavailable(ServiceUnavailable):
    """The blob store (filesystem or S3) is unreachable or refusing."""

    code = "storage_unavailable"


class KeyDestroyed(NotFound):
    """The project's key was destroyed (crypto-shredding): its data can never be read again."""

    code = "key_destroyed"


class KeyNotFound(NotFound):
    """No key (or no such key version) exists for the project in the key store."""

    code = "key_not_found"


class BlobNotFound(NotFound):
    code = "blob_not_found"


class CiphertextInvalid(ApplicationError):
    """A stored value or file failed authentication: tampered, truncated, or moved elsewhere.

    A server-side integrity failure, not the caller's mistake, hence a 500-class status.
    """

    status = 500
    code = "ciphertext_invalid"
