"""An S3 and KMS server on loopback for the suites that need one (moto's standalone server).

Not autouse: only tests that ask for ``moto_endpoint`` (or a fixture built on it) start it, once
per session. Use from a conftest::

    from tests.s3 import moto_endpoint, s3_bucket  # noqa: F401  (fixtures)
"""

import socket
import uuid
from collections.abc import Iterator
from typing import Any

import boto3  # noqa: TID251 -- tests create the loopback server's buckets and keys
import pytest
from moto.server import ThreadedMotoServer

ACCESS_KEY = "labelkeep-test"
SECRET_KEY = "labelkeep-test-secret"
REGION = "us-east-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def closed_port_url() -> str:
    """A loopback URL where nothing listens: a server that is down."""
    return f"http://127.0.0.1:{_free_port()}"


def client(endpoint: str, service: str) -> Any:
    session: Any = boto3.session.Session()
    return session.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )


def make_bucket(endpoint: str, *, versioned: bool = False) -> str:
    name = f"lk-{uuid.uuid4().hex[:20]}"
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=name)
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


def all_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    """Every version of every object in the bucket, keyed ``key@version``."""
    s3 = client(endpoint, "s3")
    found: dict[str, bytes] = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
            found[f"{item['Key']}@{item['VersionId']}"] = body["Body"].read()
    return found


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def aws_env(monkeypatch, tmp_path):
    # boto3's default credential chain (used for KMS) must find these, and never a real profile.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def s3_bucket(moto_endpoint, settings) -> str:
    """A fresh bucket on the loopback server, configured as Labelkeep's blob store."""
    name = make_bucket(moto_endpoint)
    settings.S3_ENDPOINT_URL = moto_endpoint
    settings.S3_REGION = REGION
    settings.S3_ACCESS_KEY_ID = ACCESS_KEY
    settings.S3_SECRET_ACCESS_KEY = SECRET_KEY
    settings.S3_BUCKET = name
    settings.LABELKEEP_BLOB_STORE = "s3"
    return name
