"""Project keys with the local provider: the keyring, the key store, versions, rotation,
destruction and the in-process cache."""

import json
import os
import stat
import uuid

import pytest
from django.core.exceptions import ImproperlyConfigured

import vault
from vault import config
from vault.errors import CiphertextInvalid, KeyDestroyed, KeyNotFound, KeyProviderUnavailable
from vault.keys import ProjectKeys
from vault.keystore import directory_keystore
from vault.providers import LocalProvider, create_keyring


@pytest.fixture
def pid() -> uuid.UUID:
    project_id = uuid.uuid4()
    config.project_keys().create(project_id)
    return project_id


def keystore_files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_the_embedded_keyring_is_generated_once_with_mode_0600(pid, vault_dirs):
    keyring = vault_dirs / "master_keyring"
    assert stat.S_IMODE(keyring.stat().st_mode) == 0o600
    before = keyring.read_text()
    config.reset()
    config.project_keys().create(uuid.uuid4())
    assert keyring.read_text() == before


def test_a_keyring_readable_by_others_is_refused(vault_dirs):
    keyring = vault_dirs / "master_keyring"
    create_keyring(keyring)
    os.chmod(keyring, 0o644)
    with pytest.raises(KeyProviderUnavailable, match="chmod 600"):
        config.project_keys().create(uuid.uuid4())


def test_a_named_keyring_that_is_missing_fails_closed(pid, settings, vault_dirs):
    settings.LABELKEEP_MASTER_KEY_GENERATE = False
    settings.LABELKEEP_MASTER_KEY_FILE = vault_dirs / "absent"
    for attempt in (
        lambda: vault.seal(pid, "task.payload", 1, b"never stored in plaintext"),
        lambda: config.project_keys().create(uuid.uuid4()),
    ):
        with pytest.raises(KeyProviderUnavailable) as caught:
            attempt()
        assert caught.value.status == 503
        assert caught.value.code == "key_provider_unavailable"
    assert not (vault_dirs / "absent").exists()


def test_the_key_store_holds_only_wrapped_keys(pid, vault_dirs):
    keys = config.project_keys()
    version, plain = keys.key(pid)
    files = keystore_files(vault_dirs / "keystore")
    assert list(files) == [f"{pid}/v000001.key"]
    stored = files[f"{pid}/v000001.key"]
    assert plain not in stored
    record = json.loads(stored)
    assert record["master_key_id"].startswith("mk-")
    assert version == 1


def test_a_wrapped_key_moved_to_another_project_fails_to_unwrap(pid, vault_dirs):
    other = uuid.uuid4()
    config.project_keys().create(other)
    root = vault_dirs / "keystore"
    moved = json.loads((root / f"{pid}/v000001.key").read_text())
    moved["project_id"] = str(other)
    (root / f"{other}/v000001.key").write_text(json.dumps(moved))
    config.reset()
    with pytest.raises(CiphertextInvalid):
        config.project_keys().key(other)


def test_rotation_adds_a_version_for_new_writes_and_old_data_still_opens(pid):
    old = vault.seal(pid, "task.payload", 1, "before")
    info = config.project_keys().rotate(pid)
    new = vault.seal(pid, "task.payload", 2, "after")
    assert info.version == 2
    assert vault.fields.key_version_of(new) == 2
    assert vault.unseal(pid, "task.payload", 1, old) == "before"
    assert vault.unseal(pid, "task.payload", 2, new) == "after"
    assert [v.version for v in config.project_keys().versions(pid)] == [1, 2]


def test_a_rotation_in_another_process_is_picked_up_on_first_use(pid, vault_dirs, settings):
    elsewhere = ProjectKeys(
        provider=config.provider(), store=config.project_keys().store, cache_seconds=60
    )
    vault.seal(pid, "task.payload", 1, "warm the cache")
    elsewhere.rotate(pid)
    sealed_elsewhere = vault.fields.FieldSealer(
        keys=elsewhere, project_id=pid, kind="task.payload"
    ).seal(9, "v2 value")
    # This process still writes version 1 until its cache expires, but opens version 2 at once.
    assert vault.unseal(pid, "task.payload", 9, sealed_elsewhere) == "v2 value"


def test_a_project_without_a_key_is_not_found():
    with pytest.raises(KeyNotFound):
        vault.seal(uuid.uuid4(), "task.payload", 1, b"x")


def test_a_project_key_cannot_be_created_twice(pid):
    from core.errors import Conflict

    with pytest.raises(Conflict):
        config.project_keys().create(pid)


def test_destroying_removes_every_version_and_leaves_a_tombstone(pid, vault_dirs):
    keys = config.project_keys()
    keys.rotate(pid)
    key_ids = keys.destroy(pid)
    assert key_ids == [f"pk-{pid}-v1", f"pk-{pid}-v2"]
    files = keystore_files(vault_dirs / "keystore")
    assert list(files) == [f"{pid}/destroyed.json"]
    assert json.loads(files[f"{pid}/destroyed.json"])["key_ids"] == key_ids
    with pytest.raises(KeyDestroyed):
        keys.key(pid)
    with pytest.raises(KeyDestroyed):
        keys.create(pid)


def test_destroying_again_is_harmless_and_reports_the_same_keys(pid):
    keys = config.project_keys()
    first = keys.destroy(pid)
    assert keys.destroy(pid) == first


def test_other_processes_forget_a_destroyed_key_when_their_cache_expires(pid, settings):
    sealed = vault.seal(pid, "task.payload", 1, "x")
    keys = config.project_keys()
    store = keys.store
    cached = ProjectKeys(provider=config.provider(), store=store, cache_seconds=60)
    uncached = ProjectKeys(provider=config.provider(), store=store, cache_seconds=0)
    for other in (cached, uncached):
        other.key(pid)
    keys.destroy(pid)
    cached.key(pid)  # still in that process's memory, for at most its cache lifetime
    with pytest.raises(KeyDestroyed):
        uncached.key(pid)
    with pytest.raises(KeyDestroyed):
        vault.unseal(pid, "task.payload", 1, sealed)


def test_master_rotation_rewraps_every_key_and_retires_the_old_master(pid, vault_dirs):
    sealed = vault.seal(pid, "task.payload", 1, "survives")
    provider = config.provider()
    assert isinstance(provider, LocalProvider)
    old_master = provider.current_master_id()
    before = (vault_dirs / "keystore" / f"{pid}/v000001.key").read_text()
    provider.add_master_key()
    report = config.project_keys().rewrap_all()
    retired = provider.retire_master_keys()
    assert report.rewrapped == 1
    assert retired == [old_master]
    assert old_master not in (vault_dirs / "master_keyring").read_text()
    after = (vault_dirs / "keystore" / f"{pid}/v000001.key").read_text()
    assert json.loads(after)["master_key_id"] == report.master_key_id != old_master
    assert json.loads(after)["wrapped"] != json.loads(before)["wrapped"]
    config.reset()
    assert vault.unseal(pid, "task.payload", 1, sealed) == "survives"


def test_a_keystore_backup_taken_before_master_rotation_is_useless_after(pid, vault_dirs):
    backup = keystore_files(vault_dirs / "keystore")
    provider = config.provider()
    assert isinstance(provider, LocalProvider)
    provider.add_master_key()
    config.project_keys().rewrap_all()
    provider.retire_master_keys()
    restored = vault_dirs / "restored"
    for name, data in backup.items():
        (restored / name).parent.mkdir(parents=True, exist_ok=True)
        (restored / name).write_bytes(data)
    from_backup = ProjectKeys(
        provider=provider, store=directory_keystore(restored), cache_seconds=0
    )
    with pytest.raises(KeyProviderUnavailable, match="does not hold the master key"):
        from_backup.key(pid)


def test_the_keystore_url_must_be_a_directory_or_a_separate_bucket(settings):
    settings.LABELKEEP_KEYSTORE_URL = "ftp://example/keys"
    with pytest.raises(ImproperlyConfigured):
        config.project_keys()
    settings.S3_BUCKET = "data"
    settings.LABELKEEP_KEYSTORE_URL = "s3://data/keys"
    with pytest.raises(ImproperlyConfigured, match="other than S3_BUCKET"):
        config.project_keys()
