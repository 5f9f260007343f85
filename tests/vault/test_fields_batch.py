"""Opening sealed values in batches: the same values and the same refusals as one by one."""

import uuid

import pytest

import vault
from vault import config, fields
from vault.errors import CiphertextInvalid


@pytest.fixture
def pid() -> uuid.UUID:
    project_id = uuid.uuid4()
    config.project_keys().create(project_id)
    return project_id


def test_a_batch_opens_every_kind_of_value_as_unseal_does(pid):
    values = [{"labels": ["a"]}, "text", b"\x00bytes", [1, 2.5, None], 2**70, {"é": "ü"}]
    ids = [uuid.uuid4() for _ in values]
    sealed = [vault.seal(pid, "task.payload", i, v) for i, v in zip(ids, values, strict=True)]
    sealer = vault.field_sealer(pid, "task.payload")
    batch = [(str(i), s) for i, s in zip(ids, sealed, strict=True)]
    opened = sealer.unseal_batch(batch)
    assert opened == values
    assert opened == [sealer.unseal(i, s) for i, s in batch]


def test_a_batch_takes_memoryviews_and_ids_of_any_type(pid):
    sealed = [vault.seal(pid, "task.payload", object_id, "v") for object_id in (7, "x", pid)]
    opened = vault.field_sealer(pid, "task.payload").unseal_batch(
        [(7, memoryview(sealed[0])), ("x", sealed[1]), (pid, memoryview(sealed[2]))]
    )
    assert opened == ["v", "v", "v"]


def test_a_batch_opens_values_sealed_under_an_older_key_version(pid):
    old = vault.seal(pid, "task.payload", 1, {"n": 1})
    config.project_keys().rotate(pid)
    config.project_keys().forget(pid)
    new = vault.seal(pid, "task.payload", 2, {"n": 2})
    assert fields.key_version_of(old) == 1
    assert fields.key_version_of(new) == 2
    sealer = vault.field_sealer(pid, "task.payload")
    assert sealer.unseal_batch([(1, old), (2, new)]) == [{"n": 1}, {"n": 2}]


def test_a_value_of_another_object_in_a_batch_is_refused(pid):
    sealer = vault.field_sealer(pid, "annotation.result")
    first, second = sealer.seal(1, {"a": 1}), sealer.seal(2, {"a": 2})
    with pytest.raises(CiphertextInvalid, match="failed authentication"):
        sealer.unseal_batch([(1, first), (1, second)])


def test_a_flipped_bit_or_a_truncation_in_a_batch_is_refused(pid):
    sealer = vault.field_sealer(pid, "task.payload")
    sealed = sealer.seal(1, {"text": "a" * 40})
    for position in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(CiphertextInvalid):
            sealer.unseal_batch([(1, sealed), (1, bytes(tampered))])
    for length in range(len(sealed)):
        with pytest.raises(CiphertextInvalid):
            sealer.unseal_batch([(1, sealed[:length])])


def test_a_key_version_that_never_existed_is_refused(pid):
    sealed = bytearray(vault.seal(pid, "task.payload", 1, "v"))
    sealed[1:5] = (9).to_bytes(4, "big")
    with pytest.raises(CiphertextInvalid, match="never existed"):
        vault.field_sealer(pid, "task.payload").unseal_batch([(1, bytes(sealed))])
