"""Encrypted blob storage through both backends: the filesystem and S3 (moto on loopback)."""

import os
import tracemalloc
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.s3 import client, closed_port_url
from vault import config, streaming
from vault.blobs import S3Backend
from vault.errors import BlobNotFound, CiphertextInvalid, KeyDestroyed, StorageUnavailable
from vault.s3 import PART_SIZE

SEG = streaming.SEGMENT_SIZE
fixture_ok = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None, max_examples=12
)


@pytest.fixture(params=["filesystem", "s3"])
def backend(request):
    """Each test below runs against both backends."""
    if request.param == "s3":
        request.getfixturevalue("s3_bucket")
    return request.param


@pytest.fixture
def pid(backend) -> uuid.UUID:
    project_id = uuid.uuid4()
    config.project_keys().create(project_id)
    return project_id


def put(pid, name, data, **kwargs):
    return config.blob_store().put(project_id=pid, name=name, source=data, **kwargs)


def get(pid, name, start=0) -> bytes:
    return b"".join(config.blob_store().read(project_id=pid, name=name, start=start))


@fixture_ok
@given(size=st.integers(min_value=0, max_value=3 * SEG + 17))
@example(size=0)
@example(size=1)
@example(size=SEG - 1)
@example(size=SEG)
@example(size=SEG + 1)
@example(size=3 * SEG)
def test_files_of_any_size_round_trip(pid, size):
    data = os.urandom(size)
    info = put(pid, f"files/{size}.bin", data)
    assert info.size == size
    assert get(pid, f"files/{size}.bin") == data
    assert config.blob_store().size(project_id=pid, name=f"files/{size}.bin") == size


@fixture_ok
@given(data=st.binary(max_size=900), segment=st.integers(min_value=16, max_value=300))
def test_small_segments_round_trip_from_chunked_sources(pid, data, segment):
    chunks = [data[i : i + 37] for i in range(0, len(data), 37)]
    put(pid, "chunked", iter(chunks), segment_size=segment)
    assert get(pid, "chunked") == data


def test_reads_can_start_at_any_offset(pid):
    data = os.urandom(2 * SEG + 100)
    put(pid, "ranged", data)
    for start in (0, 1, SEG - 1, SEG, SEG + 5, len(data) - 1, len(data), len(data) + 10):
        assert get(pid, "ranged", start) == data[start:]


def test_the_decrypted_file_reads_like_a_file(pid):
    data = b"line one\nline two\n" * 1000
    put(pid, "text.csv", data)
    handle = config.blob_store().open(project_id=pid, name="text.csv")
    assert handle.readline() == b"line one\n"
    assert handle.read() == data[9:]


def test_the_store_holds_only_ciphertext(pid, backend, vault_dirs, s3_or_none):
    data = b"CANARY-" * 5000
    put(pid, "plain.txt", data)
    stored = _raw(backend, vault_dirs, s3_or_none, f"projects/{pid}/plain.txt")
    assert stored[:4] == streaming.MAGIC
    assert b"CANARY" not in stored


def test_a_file_copied_to_another_name_or_project_fails_to_decrypt(pid, backend):
    other = uuid.uuid4()
    config.project_keys().create(other)
    put(pid, "a.bin", b"secret")
    store = config.blob_store()
    raw = b"".join(_raw_chunks(store, f"projects/{pid}/a.bin"))
    store.backend.write(f"projects/{pid}/b.bin", [raw])
    store.backend.write(f"projects/{other}/a.bin", [raw])
    for project_id, name in ((pid, "b.bin"), (other, "a.bin")):
        with pytest.raises(CiphertextInvalid):
            get(project_id, name)


def test_a_tampered_stored_file_is_rejected(pid):
    put(pid, "t.bin", os.urandom(SEG + 10))
    store = config.blob_store()
    raw = bytearray(b"".join(_raw_chunks(store, f"projects/{pid}/t.bin")))
    raw[streaming.HEADER_BYTES + SEG + 20] ^= 1
    store.backend.write(f"projects/{pid}/t.bin", [bytes(raw)])
    with pytest.raises(CiphertextInvalid):
        get(pid, "t.bin")


def test_a_missing_file_is_not_found(pid):
    with pytest.raises(BlobNotFound):
        config.blob_store().read(project_id=pid, name="nope")


def test_names_must_stay_inside_the_project(pid):
    for bad in ("../x", "a/../../b", "/abs", ".hidden", "a//b", ""):
        with pytest.raises(ValueError, match="Invalid blob name"):
            put(pid, bad, b"x")


def test_purging_a_project_removes_only_its_files(pid):
    other = uuid.uuid4()
    config.project_keys().create(other)
    put(pid, "one", b"1")
    put(pid, "dir/two", b"2")
    put(other, "one", b"1")
    store = config.blob_store()
    assert store.purge_project(project_id=pid) == 2
    assert store.names(project_id=pid) == []
    assert store.names(project_id=other) == ["one"]


def test_after_shredding_stored_files_cannot_be_read(pid):
    put(pid, "doc", b"secret")
    config.project_keys().destroy(pid)
    with pytest.raises(KeyDestroyed):
        get(pid, "doc")


def test_a_failing_source_leaves_no_object_behind(pid):
    def source():
        yield os.urandom(9 * 1024 * 1024)  # past one S3 part: a multipart upload is under way
        raise OSError("upload interrupted")

    with pytest.raises(OSError, match="interrupted"):
        put(pid, "partial", source())
    assert config.blob_store().names(project_id=pid) == []


def _forty_mib():
    block = os.urandom(SEG)
    for _ in range(40):
        yield block


def test_large_files_stream_in_constant_memory(vault_dirs):
    # Filesystem only: the loopback S3 server runs in this process and would be measured too
    # (the S3 path is bounded by the next test, and measured as RSS by bench/vault.py).
    pid = uuid.uuid4()
    config.project_keys().create(pid)
    tracemalloc.start()
    try:
        put(pid, "big", _forty_mib())
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        total = sum(len(chunk) for chunk in config.blob_store().read(project_id=pid, name="big"))
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == 40 * SEG
    # A few segments in memory, however big the file: far below its 40 MiB.
    assert put_peak < 6 * SEG
    assert read_peak < 6 * SEG


def test_s3_uploads_hold_one_part_in_memory_at_a_time(s3_bucket, monkeypatch):
    pid = uuid.uuid4()
    config.project_keys().create(pid)
    backend = config.blob_store().backend
    assert isinstance(backend, S3Backend)
    bucket = backend.bucket
    sizes: list[int] = []
    send = bucket.client.upload_part

    def recording_upload_part(**kwargs):
        sizes.append(len(kwargs["Body"].getbuffer()))
        return send(**kwargs)

    monkeypatch.setattr(bucket.client, "upload_part", recording_upload_part)
    put(pid, "big", _forty_mib())
    assert len(sizes) == 5
    assert max(sizes) <= PART_SIZE + SEG + streaming.TAG
    assert sum(len(c) for c in config.blob_store().read(project_id=pid, name="big")) == 40 * SEG


@pytest.fixture
def s3_or_none(backend, request):
    return request.getfixturevalue("s3_bucket") if backend == "s3" else None


def _raw_chunks(store, key):
    stream = store.backend.open(key)
    try:
        while chunk := stream.read(1 << 16):
            yield chunk
    finally:
        stream.close()


def _raw(backend, root, bucket, key) -> bytes:
    if backend == "filesystem":
        return (root / "blobs" / key).read_bytes()
    from django.conf import settings

    body = client(settings.S3_ENDPOINT_URL, "s3").get_object(Bucket=bucket, Key=key)["Body"]
    return body.read()


def test_large_s3_uploads_use_multipart(moto_endpoint, s3_bucket):
    project_id = uuid.uuid4()
    config.project_keys().create(project_id)
    data = os.urandom(12 * 1024 * 1024)
    put(project_id, "multi", data)
    head = client(moto_endpoint, "s3").head_object(
        Bucket=s3_bucket, Key=f"projects/{project_id}/multi"
    )
    assert head["ETag"].strip('"').endswith("-2")
    assert get(project_id, "multi") == data


def test_an_unreachable_bucket_fails_closed(settings, s3_bucket):
    settings.S3_ENDPOINT_URL = closed_port_url()
    project_id = uuid.uuid4()
    config.project_keys().create(project_id)
    with pytest.raises(StorageUnavailable) as caught:
        put(project_id, "x", b"data")
    assert caught.value.status == 503
