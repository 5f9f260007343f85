"""The canary test: values carrying a random canary go in through the public API; the raw
database, the key store, the file store and the bucket must not hold the canary anywhere.

Later issues extend ``store_canaries`` with imports, annotations and exports.
"""

import base64
import json
import secrets

import pytest

import vault
from tests.conftest import make_project
from tests.s3 import all_objects
from tests.vault.conftest import seal_notes
from tests.vault.snapshots import database_copy
from vault import config
from vault.blobs import EncryptedBlobStore, FilesystemBackend


def store_canaries(project, canary: str, tmp_path) -> None:
    seal_notes(
        project.pk,
        [canary, f"text around {canary} and after", {"text": canary, "meta": [canary]}],
    )
    document = f"id,text\n1,{canary}\n".encode() * 5000
    config.blob_store().put(project_id=project.pk, name="imports/canary.csv", source=document)
    filesystem = EncryptedBlobStore(
        backend=FilesystemBackend(tmp_path / "blobs"), keys=config.project_keys()
    )
    filesystem.put(project_id=project.pk, name="exports/canary.jsonl", source=document)


def occurrences(needles: list[bytes], haystacks: dict[str, bytes]) -> list[str]:
    return [name for name, data in haystacks.items() for needle in needles if needle in data]


@pytest.mark.django_db(transaction=True)
def test_no_canary_and_no_key_is_stored_in_the_clear(
    admin, notes, s3_bucket, moto_endpoint, tmp_path
):
    canary = f"CANARY-{secrets.token_hex(16)}"
    project = make_project(admin, name="Canary project")
    store_canaries(project, canary, tmp_path)

    _version, project_key = config.project_keys().key(project.pk)
    keyring = (tmp_path / "master_keyring").read_text().splitlines()
    master_keys = [
        base64.b64decode(line.split(":")[1]) for line in keyring if line.startswith("mk-")
    ]
    stored = {
        "database": database_copy(tmp_path / "dump"),
        **{str(p): p.read_bytes() for p in (tmp_path / "keystore").rglob("*") if p.is_file()},
        **{str(p): p.read_bytes() for p in (tmp_path / "blobs").rglob("*") if p.is_file()},
        **all_objects(moto_endpoint, s3_bucket),
    }
    assert len(stored) >= 4
    canaries = [canary.encode(), canary.encode("utf-16-le"), base64.b64encode(canary.encode())]
    assert occurrences(canaries, stored) == []
    assert occurrences([project_key, *master_keys], stored) == []
    # The scan itself works: metadata kept in the clear (the project's name) is found.
    assert occurrences([b"Canary project"], stored) == ["database"]
    assert canary in json.dumps(
        [vault.unseal(project.pk, "note.body", n.pk, n.body) for n in notes.objects.all()]
    )
