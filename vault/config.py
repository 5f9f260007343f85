"""The vault's configured objects, built from settings on first use (and rebuilt when a test
changes a setting). See docs/encryption.md for the variables.
"""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlparse

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from vault.blobs import Backend, EncryptedBlobStore, FilesystemBackend, S3Backend
from vault.keys import ProjectKeys
from vault.keystore import KeyStore, bucket_keystore, directory_keystore
from vault.kms import KmsProvider
from vault.providers import KeyProvider, LocalProvider
from vault.s3 import Bucket, S3Settings, make_client

T = TypeVar("T")
_lock = threading.RLock()
_built: dict[str, Any] = {}


def _once(name: str, build: Callable[[], T]) -> T:
    with _lock:
        if name not in _built:
            _built[name] = build()
        return cast(T, _built[name])


def reset() -> None:
    """Forget every configured object (and with them, every cached key)."""
    with _lock:
        _built.clear()


def on_setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting.startswith(("LABELKEEP_", "S3_")):
        reset()


def s3_settings() -> S3Settings:
    return S3Settings(
        endpoint_url=settings.S3_ENDPOINT_URL,
        region=settings.S3_REGION,
        access_key_id=settings.S3_ACCESS_KEY_ID,
        secret_access_key=settings.S3_SECRET_ACCESS_KEY,
        addressing_style=settings.S3_ADDRESSING_STYLE,
    )


def bucket(name: str) -> Bucket:
    client = _once("s3-client", lambda: make_client(s3_settings()))
    return Bucket(client=client, name=name)


def _provider() -> KeyProvider:
    if settings.LABELKEEP_KEY_PROVIDER == "aws-kms":
        return KmsProvider(
            key_id=settings.LABELKEEP_KMS_KEY_ID,
            endpoint_url=settings.LABELKEEP_KMS_ENDPOINT_URL,
            region=settings.LABELKEEP_KMS_REGION,
        )
    return LocalProvider(
        path=Path(settings.LABELKEEP_MASTER_KEY_FILE),
        generate=settings.LABELKEEP_MASTER_KEY_GENERATE,
    )


def provider() -> KeyProvider:
    return _once("provider", _provider)


def _keystore() -> KeyStore:
    url = urlparse(settings.LABELKEEP_KEYSTORE_URL)
    if url.scheme == "file":
        return directory_keystore(Path(unquote(url.path)))
    if url.scheme == "s3" and url.netloc:
        if url.netloc == settings.S3_BUCKET:
            # The data bucket may be versioned or locked for backups; the key store must let
            # a shred delete every version, and its copies must not travel with the data.
            raise ImproperlyConfigured(
                "LABELKEEP_KEYSTORE_URL must name a bucket other than S3_BUCKET."
            )
        return bucket_keystore(bucket(url.netloc), url.path)
    raise ImproperlyConfigured(
        "LABELKEEP_KEYSTORE_URL must be file:///absolute/path or s3://bucket/prefix."
    )


def project_keys() -> ProjectKeys:
    def build() -> ProjectKeys:
        return ProjectKeys(
            provider=provider(),
            store=_keystore(),
            cache_seconds=settings.LABELKEEP_KEY_CACHE_SECONDS,
        )

    return _once("project-keys", build)


def blob_store() -> EncryptedBlobStore:
    def build() -> EncryptedBlobStore:
        if settings.LABELKEEP_BLOB_STORE == "s3":
            if not settings.S3_BUCKET:
                raise ImproperlyConfigured("LABELKEEP_BLOB_STORE=s3 needs S3_BUCKET.")
            backend: Backend = S3Backend(bucket(settings.S3_BUCKET))
        else:
            backend = FilesystemBackend(Path(settings.LABELKEEP_BLOB_DIR))
        return EncryptedBlobStore(backend=backend, keys=project_keys())

    return _once("blob-store", build)
