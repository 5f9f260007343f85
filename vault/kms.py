"""The ``aws-kms`` master key provider: project keys are generated, unwrapped and re-wrapped by
AWS KMS (or a KMS-compatible server) under one customer master key, with an encryption context
that names the project, so a wrapped key moved to another project's record fails to unwrap.

One of the two modules allowed to import boto3 (with ``vault.s3``).
"""

import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from vault.errors import CiphertextInvalid, KeyProviderUnavailable

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

_INVALID = {"InvalidCiphertextException", "IncorrectKeyException"}


def _client(*, endpoint_url: str, region: str, timeout: float) -> "KMSClient":
    config = Config(
        connect_timeout=timeout,
        read_timeout=timeout,
        retries={"mode": "standard", "max_attempts": 3},
    )
    return boto3.session.Session().client(
        "kms", endpoint_url=endpoint_url or None, region_name=region, config=config
    )


class KmsProvider:
    name = "aws-kms"

    def __init__(
        self, *, key_id: str, endpoint_url: str = "", region: str, timeout: float = 5.0
    ) -> None:
        self._key_id = key_id
        self._client = _client(endpoint_url=endpoint_url, region=region, timeout=timeout)
        self._lock = threading.Lock()
        self._arn: str | None = None

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response: dict[str, Any] = getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in _INVALID:
                raise CiphertextInvalid(
                    "KMS refused to unwrap the project key: it was tampered with or belongs "
                    "to another project."
                ) from None
            raise KeyProviderUnavailable(
                f"The KMS refused the request ({code or 'error'}).",
                details={"provider": self.name, "reason": code},
            ) from None
        except BotoCoreError as exc:
            raise KeyProviderUnavailable(
                "The KMS cannot be reached.",
                details={"provider": self.name, "reason": type(exc).__name__},
            ) from None
        return response

    def current_master_id(self) -> str:
        # Wrapped keys record the ARN KMS reports; the setting may name an alias or a key id.
        with self._lock:
            if self._arn is None:
                self._arn = str(
                    self._call("describe_key", KeyId=self._key_id)["KeyMetadata"]["Arn"]
                )
            return self._arn

    def is_current(self, master_id: str) -> bool:
        return master_id == self.current_master_id()

    def generate(self, context: Mapping[str, str]) -> tuple[bytes, bytes, str]:
        response = self._call(
            "generate_data_key",
            KeyId=self.current_master_id(),
            KeySpec="AES_256",
            EncryptionContext=dict(context),
        )
        return response["Plaintext"], response["CiphertextBlob"], str(response["KeyId"])

    def unwrap(self, wrapped: bytes, context: Mapping[str, str], master_id: str) -> bytes:
        response = self._call(
            "decrypt", CiphertextBlob=wrapped, EncryptionContext=dict(context), KeyId=master_id
        )
        return bytes(response["Plaintext"])

    def rewrap(
        self, wrapped: bytes, context: Mapping[str, str], master_id: str
    ) -> tuple[bytes, str]:
        # ReEncrypt runs inside KMS: the project key is never in this process while re-wrapping.
        response = self._call(
            "re_encrypt",
            CiphertextBlob=wrapped,
            SourceEncryptionContext=dict(context),
            SourceKeyId=master_id,
            DestinationKeyId=self.current_master_id(),
            DestinationEncryptionContext=dict(context),
        )
        return response["CiphertextBlob"], str(response["KeyId"])
