"""The one place that talks to S3-compatible object storage (AWS S3, MinIO) through boto3.

A small bucket client used by the encrypted blob store and by the S3 key store. It speaks
filesystem semantics to them (``FileNotFoundError``, ``FileExistsError``) and turns every other
failure into ``StorageUnavailable``. Uploads of any size stream through multipart upload with
one part in memory at a time. Presigned URLs are never issued: objects are ciphertext that only
this process can decrypt, so every download streams through it.
"""

import contextlib
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from vault.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PART_SIZE = 8 * 1024 * 1024
_Style = Literal["auto", "virtual", "path"]
_MISSING = {"NoSuchKey", "404", "NotFound", "NoSuchVersion"}
_EXISTS = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


@dataclass(frozen=True)
class S3Settings:
    endpoint_url: str
    region: str
    access_key_id: str
    secret_access_key: str
    addressing_style: str = "auto"
    timeout: float = 30.0


def make_client(conf: S3Settings) -> "S3Client":
    config = Config(
        signature_version="s3v4",
        s3={"addressing_style": cast(_Style, conf.addressing_style)},
        connect_timeout=5,
        read_timeout=conf.timeout,
        retries={"mode": "standard", "max_attempts": 3},
        # Integrity is end to end (every segment is authenticated); extra checksums only
        # break older S3-compatible servers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )
    # Without explicit credentials boto3 looks for them itself (environment, instance role).
    return boto3.session.Session().client(
        "s3",
        endpoint_url=conf.endpoint_url or None,
        region_name=conf.region,
        config=config,
        aws_access_key_id=conf.access_key_id or None,
        aws_secret_access_key=conf.secret_access_key or None,
    )


def _translate(exc: Exception, key: str) -> Exception:
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if code in _MISSING:
            return FileNotFoundError(key)
        if code in _EXISTS:
            return FileExistsError(key)
        return StorageUnavailable(
            f"Object storage refused the request ({code or 'error'}).",
            details={"backend": "s3", "reason": code},
        )
    return StorageUnavailable(
        "Object storage cannot be reached.",
        details={"backend": "s3", "reason": type(exc).__name__},
    )


class _Body:
    """A streaming response body whose failures read as ``StorageUnavailable``."""

    def __init__(self, body: Any, key: str) -> None:
        self._body = body
        self._key = key

    def read(self, size: int | None = None) -> bytes:
        try:
            return bytes(self._body.read(size))
        except (BotoCoreError, OSError) as exc:
            raise _translate(exc, self._key) from None

    def close(self) -> None:
        self._body.close()


class Bucket:
    def __init__(self, *, client: "S3Client", name: str) -> None:
        self.client = client
        self.name = name

    def _call(self, operation: Callable[..., Any], key: str, **kwargs: Any) -> Any:
        try:
            return operation(Bucket=self.name, **kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, key) from None

    def put(self, key: str, body: bytes, *, if_absent: bool = False) -> None:
        extra = {"IfNoneMatch": "*"} if if_absent else {}
        self._call(self.client.put_object, key, Key=key, Body=body, **extra)

    def get(self, key: str) -> bytes:
        body = self.open(key)
        try:
            return body.read()
        finally:
            body.close()

    def open(self, key: str, *, start: int = 0) -> _Body:
        extra = {"Range": f"bytes={start}-"} if start else {}
        return _Body(self._call(self.client.get_object, key, Key=key, **extra)["Body"], key)

    def size(self, key: str) -> int:
        return int(self._call(self.client.head_object, key, Key=key)["ContentLength"])

    def upload(self, key: str, chunks: Iterable[bytes], *, part_size: int = PART_SIZE) -> int:
        """Stream ``chunks`` into one object; a failure aborts the upload and leaves nothing."""
        part = io.BytesIO()  # the one part in memory; boto3 streams it from there
        total = 0
        upload: _Multipart | None = None
        try:
            for chunk in chunks:
                part.write(chunk)
                total += len(chunk)
                if part.tell() >= part_size:
                    upload = upload or _Multipart(self, key)
                    upload.send(part)
                    part = io.BytesIO()
            if upload is None:
                self.put(key, part.getvalue())
                return total
            if part.tell():
                upload.send(part)
            upload.complete()
        except BaseException:
            if upload is not None:
                upload.abort()
            raise
        return total

    def keys(self, prefix: str) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
                for item in page.get("Contents", []):
                    yield item["Key"]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, prefix) from None

    def _version_pages(self, prefix: str) -> Iterator[list[dict[str, Any]]]:
        # Versioned buckets keep deleted and overwritten objects: shredding and purging must
        # remove every version and delete marker, not just hide the object.
        paginator = self.client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=self.name, Prefix=prefix):
                items = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
                yield [
                    {
                        "Key": item["Key"],
                        "VersionId": item.get("VersionId", "null"),
                        "IsLatest": item.get("IsLatest", False) and "Size" in item,
                    }
                    for item in items
                ]
        except (ClientError, BotoCoreError) as exc:
            raise _translate(exc, prefix) from None

    def _delete(self, versions: list[dict[str, Any]]) -> None:
        if not versions:
            return
        batch = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in versions]
        response = self._call(
            self.client.delete_objects, batch[0]["Key"], Delete={"Objects": batch, "Quiet": True}
        )
        if response.get("Errors"):
            raise StorageUnavailable(
                "Object storage refused to delete some objects.",
                details={"backend": "s3", "reason": response["Errors"][0].get("Code", "")},
            )

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under ``prefix``, all versions, a page (<= 1,000) at a time.

        Returns how many objects there were (current versions).
        """
        count = 0
        for page in self._version_pages(prefix):
            self._delete(page)
            count += sum(1 for version in page if version["IsLatest"])
        return count

    def delete(self, key: str) -> None:
        for page in self._version_pages(key):
            self._delete([v for v in page if v["Key"] == key])

    def delete_noncurrent(self, key: str) -> None:
        for page in self._version_pages(key):
            self._delete([v for v in page if v["Key"] == key and not v["IsLatest"]])


class _Multipart:
    def __init__(self, bucket: Bucket, key: str) -> None:
        self.bucket = bucket
        self.key = key
        response = bucket._call(bucket.client.create_multipart_upload, key, Key=key)
        self.upload_id: str = response["UploadId"]
        self.parts: list[dict[str, Any]] = []

    def send(self, body: io.BytesIO) -> None:
        body.seek(0)
        number = len(self.parts) + 1
        response = self.bucket._call(
            self.bucket.client.upload_part,
            self.key,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=body,
        )
        self.parts.append({"PartNumber": number, "ETag": response["ETag"]})

    def complete(self) -> None:
        self.bucket._call(
            self.bucket.client.complete_multipart_upload,
            self.key,
            Key=self.key,
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )

    def abort(self) -> None:
        # The original failure matters more; a lifecycle rule reaps uploads left behind.
        with contextlib.suppress(ClientError, BotoCoreError):
            self.bucket.client.abort_multipart_upload(
                Bucket=self.bucket.name, Key=self.key, UploadId=self.upload_id
            )
