"""The aws-kms provider and the S3 key store, against moto's server on loopback, and the
fail-closed behaviour when KMS is down or refusing."""

import base64
import json
import uuid

import pytest
from django.conf import settings as django_settings

import vault
from projects.models import Project
from tests.conftest import make_project
from tests.s3 import all_objects, client, closed_port_url, make_bucket
from vault import config
from vault.errors import CiphertextInvalid, KeyDestroyed, KeyProviderUnavailable
from vault.keys import wrap_context


@pytest.fixture
def kms_key(moto_endpoint, aws_env, settings) -> str:
    key_id = client(moto_endpoint, "kms").create_key(Description="labelkeep master")
    settings.LABELKEEP_KEY_PROVIDER = "aws-kms"
    settings.LABELKEEP_KMS_KEY_ID = key_id["KeyMetadata"]["KeyId"]
    settings.LABELKEEP_KMS_ENDPOINT_URL = moto_endpoint
    settings.LABELKEEP_KMS_REGION = "us-east-1"
    return str(key_id["KeyMetadata"]["Arn"])


@pytest.fixture
def s3_keystore(moto_endpoint, settings, s3_bucket) -> str:
    """Keys in a versioned bucket of their own, apart from the data bucket."""
    name = make_bucket(moto_endpoint, versioned=True)
    settings.LABELKEEP_KEYSTORE_URL = f"s3://{name}/keystore"
    return name


def test_project_keys_are_generated_and_unwrapped_by_kms(kms_key, vault_dirs):
    pid = uuid.uuid4()
    info = config.project_keys().create(pid)
    assert info.provider == "aws-kms"
    assert info.master_key_id == kms_key
    sealed = vault.seal(pid, "task.payload", 1, {"q": "2+2"})
    config.reset()  # a fresh process: the key must come back through KMS
    assert vault.unseal(pid, "task.payload", 1, sealed) == {"q": "2+2"}
    _version, plain = config.project_keys().key(pid)
    assert plain not in (vault_dirs / "keystore" / f"{pid}/v000001.key").read_bytes()


def test_the_encryption_context_names_the_project(kms_key, vault_dirs, moto_endpoint):
    pid, other = uuid.uuid4(), uuid.uuid4()
    config.project_keys().create(pid)
    root = vault_dirs / "keystore"
    record = json.loads((root / f"{pid}/v000001.key").read_text())
    wrapped = base64.b64decode(record["wrapped"])
    kms = client(moto_endpoint, "kms")
    assert kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=wrap_context(pid, 1))
    record["project_id"] = str(other)
    (root / f"{other}").mkdir()
    (root / f"{other}/v000001.key").write_text(json.dumps(record))
    with pytest.raises(CiphertextInvalid):
        config.project_keys().key(other)


def test_master_rotation_reencrypts_inside_kms_and_data_still_opens(
    kms_key, moto_endpoint, settings, vault_dirs
):
    pid = uuid.uuid4()
    config.project_keys().create(pid)
    sealed = vault.seal(pid, "task.payload", 1, "kept")
    kms = client(moto_endpoint, "kms")
    new_key = kms.create_key(Description="labelkeep master 2")["KeyMetadata"]
    settings.LABELKEEP_KMS_KEY_ID = new_key["KeyId"]
    report = config.project_keys().rewrap_all()
    assert (report.rewrapped, report.master_key_id) == (1, new_key["Arn"])
    record = json.loads((vault_dirs / "keystore" / f"{pid}/v000001.key").read_text())
    assert record["master_key_id"] == new_key["Arn"]
    wrapped = base64.b64decode(record["wrapped"])
    context = wrap_context(pid, 1)
    kms.decrypt(CiphertextBlob=wrapped, EncryptionContext=context, KeyId=new_key["KeyId"])
    config.reset()
    assert vault.unseal(pid, "task.payload", 1, sealed) == "kept"


def test_an_unreachable_kms_fails_closed_and_creates_no_project(kms_key, settings, admin):
    settings.LABELKEEP_KMS_ENDPOINT_URL = closed_port_url()
    with pytest.raises(KeyProviderUnavailable) as caught:
        make_project(admin, name="Never created")
    assert caught.value.status == 503
    assert not Project.objects.filter(name="Never created").exists()


def test_the_api_answers_503_when_kms_is_down(kms_key, settings, admin):
    from tests.conftest import client_for
    from tests.factories import CLASSIFICATION_SCHEMA

    settings.LABELKEEP_KMS_ENDPOINT_URL = closed_port_url()
    response = client_for(admin).post(
        "/api/v1/projects/",
        {"name": "Down", "task_type": "classification", "label_schema": CLASSIFICATION_SCHEMA},
        format="json",
    )
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "key_provider_unavailable"
    assert not Project.objects.filter(name="Down").exists()


def test_sealing_with_kms_down_fails_closed(kms_key, settings):
    pid = uuid.uuid4()
    config.project_keys().create(pid)
    settings.LABELKEEP_KMS_ENDPOINT_URL = closed_port_url()
    with pytest.raises(KeyProviderUnavailable):
        vault.seal(pid, "task.payload", 1, b"never written in plaintext")
    with pytest.raises(KeyProviderUnavailable):
        config.blob_store().put(project_id=pid, name="f", source=b"never written")
    assert config.blob_store().names(project_id=pid) == []


def test_a_kms_that_refuses_fails_closed(kms_key, settings):
    settings.LABELKEEP_KMS_KEY_ID = str(uuid.uuid4())  # a key this KMS does not have
    with pytest.raises(KeyProviderUnavailable, match="refused") as caught:
        config.project_keys().create(uuid.uuid4())
    assert caught.value.details["reason"] == "NotFoundException"


def test_the_s3_key_store_keeps_keys_and_shreds_every_version(kms_key, moto_endpoint, s3_keystore):
    pid = uuid.uuid4()
    keys = config.project_keys()
    keys.create(pid)
    keys.rotate(pid)
    sealed = vault.seal(pid, "task.payload", 1, "in a bucket")
    config.reset()
    assert vault.unseal(pid, "task.payload", 1, sealed) == "in a bucket"
    assert list(config.project_keys().store.project_ids()) == [pid]
    config.project_keys().destroy(pid)
    left = all_objects(moto_endpoint, s3_keystore)
    assert [key.split("@")[0] for key in left] == [f"keystore/{pid}/destroyed.json"]
    config.reset()
    with pytest.raises(KeyDestroyed):
        vault.unseal(pid, "task.payload", 1, sealed)


def test_rewrapping_in_the_s3_key_store_leaves_no_old_wrapping_behind(
    kms_key, moto_endpoint, settings, s3_keystore
):
    pid = uuid.uuid4()
    config.project_keys().create(pid)
    settings.LABELKEEP_KMS_KEY_ID = client(moto_endpoint, "kms").create_key()["KeyMetadata"][
        "KeyId"
    ]
    config.project_keys().rewrap_all()
    versions = all_objects(moto_endpoint, s3_keystore)
    assert len(versions) == 1
    assert django_settings.LABELKEEP_KMS_KEY_ID in next(iter(versions.values())).decode()
