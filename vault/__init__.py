"""The vault: per-project keys, sealed fields and encrypted files (docs/encryption.md).

The small explicit API that services and selectors use for dataset content::

    sealed = vault.seal(project.pk, "task.payload", task.pk, payload)
    payload = vault.unseal(project.pk, "task.payload", task.pk, sealed)
    sealer = vault.field_sealer(project.pk, "task.payload")   # batches: one key lookup
    fingerprint = vault.fingerprinter(project.pk, "task.payload").digest(encoded)

Files go through ``vault.config.blob_store()`` (``put``, ``read``, ``open``, ``size``).
"""

from vault.fields import (
    field_sealer,
    seal,
    seal_many,
    unseal,
    unseal_bytes,
    unseal_many,
    unseal_text,
)
from vault.fingerprints import fingerprinter

__all__ = [
    "field_sealer",
    "fingerprinter",
    "seal",
    "seal_many",
    "unseal",
    "unseal_bytes",
    "unseal_many",
    "unseal_text",
]
