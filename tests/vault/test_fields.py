"""Sealed fields: round trips, binding to project, kind and object, tampering, nonces."""

import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import vault
from vault import config, fields
from vault.errors import CiphertextInvalid

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)


@pytest.fixture
def pid() -> uuid.UUID:
    project_id = uuid.uuid4()
    config.project_keys().create(project_id)
    return project_id


@fixture_ok
@given(value=st.binary(max_size=70_000))
@example(value=b"")
@example(value=b"\x00")
@example(value=b"a" * 300)
def test_bytes_of_any_size_round_trip(pid, value):
    sealed = vault.seal(pid, "task.payload", 7, value)
    assert len(sealed) == len(value) + fields.OVERHEAD
    assert vault.unseal(pid, "task.payload", 7, sealed) == value


@fixture_ok
@given(value=st.text(max_size=2000))
def test_text_round_trips_as_text(pid, value):
    sealed = vault.seal(pid, "review.comment", "c-1", value)
    assert vault.unseal_text(pid, "review.comment", "c-1", sealed) == value


@fixture_ok
@given(value=json_values)
def test_json_values_round_trip_with_their_type(pid, value):
    sealed = vault.seal(pid, "annotation.result", uuid.UUID(int=5), value)
    assert vault.unseal(pid, "annotation.result", uuid.UUID(int=5), sealed) == value


def test_the_same_value_seals_differently_each_time(pid):
    assert vault.seal(pid, "task.payload", 1, b"x") != vault.seal(pid, "task.payload", 1, b"x")


def test_a_value_moved_to_another_row_kind_or_project_fails_to_open(pid):
    other_project = uuid.uuid4()
    config.project_keys().create(other_project)
    sealed = vault.seal(pid, "task.payload", 1, "secret text")
    for project_id, kind, object_id in [
        (pid, "task.payload", 2),
        (pid, "gold.answer", 1),
        (other_project, "task.payload", 1),
    ]:
        with pytest.raises(CiphertextInvalid):
            vault.unseal(project_id, kind, object_id, sealed)


def test_a_flipped_bit_in_any_byte_is_rejected(pid):
    sealed = vault.seal(pid, "task.payload", 1, b"a" * 300)
    for position in range(len(sealed)):
        for bit in (0x01, 0x80):
            tampered = bytearray(sealed)
            tampered[position] ^= bit
            with pytest.raises(CiphertextInvalid):
                vault.unseal(pid, "task.payload", 1, bytes(tampered))


def test_truncated_values_are_rejected(pid):
    sealed = vault.seal(pid, "task.payload", 1, b"abc")
    for length in range(len(sealed)):
        with pytest.raises(CiphertextInvalid):
            vault.unseal(pid, "task.payload", 1, sealed[:length])


def test_the_header_records_the_format_and_key_version(pid):
    sealed = vault.seal(pid, "task.payload", 1, b"abc")
    assert sealed[0] == fields.FORMAT_VERSION
    assert fields.key_version_of(sealed) == 1


def test_unseal_text_refuses_a_value_sealed_as_bytes(pid):
    sealed = vault.seal(pid, "task.payload", 1, b"abc")
    with pytest.raises(CiphertextInvalid, match="not text"):
        vault.unseal_text(pid, "task.payload", 1, sealed)


def test_a_kind_must_be_a_lowercase_dotted_name(pid):
    with pytest.raises(ValueError, match="kind"):
        vault.seal(pid, "Task Payload", 1, b"x")


def test_batch_helpers_seal_and_open_in_order(pid):
    items = [(i, {"n": i}) for i in range(100)]
    sealed = list(vault.seal_many(pid, "task.payload", items))
    opened = list(vault.unseal_many(pid, "task.payload", zip(range(100), sealed, strict=True)))
    assert opened == [{"n": i} for i in range(100)]


def test_a_memoryview_from_the_database_opens(pid):
    sealed = vault.seal(pid, "task.payload", 1, b"abc")
    assert vault.unseal_bytes(pid, "task.payload", 1, memoryview(sealed)) == b"abc"


@pytest.mark.slow
def test_nonces_are_unique_over_a_million_encryptions(pid):
    sealer = vault.field_sealer(pid, "task.payload")
    nonces = {sealer.seal(i, b"v")[6:18] for i in range(1_000_000)}
    assert len(nonces) == 1_000_000
