"""Decrypting a regular file from memory-mapped windows: the same plaintext, the same errors at
the same place, as reading it through ``read``; windows crossed, offsets anywhere, early stops."""

import io
import os
import random
from collections.abc import Generator
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.vault.test_streaming import BIND, SEG, STORED_SEG, WRAP, H, encrypt
from vault import streaming
from vault.errors import CiphertextInvalid

# Several windows' worth of segments, so that windows are crossed and the last one is partial.
WINDOW = streaming._MAPPED_SEGMENTS
MANY = SEG * WINDOW * 3 + 5


def released(source, blob: bytes, *, first: int = 0, skip: int = 0) -> tuple[bytes, str | None]:
    """What decrypting hands out, and the error it ends with (None if it ends well)."""
    header = streaming.parse_header(blob[:H])
    cipher = streaming.open_data_key(header, wrap_aead=WRAP, binding=BIND)
    out: list[bytes] = []
    try:
        for chunk in streaming.decrypt(header, cipher, source, first_segment=first, skip=skip):
            assert isinstance(chunk, bytes)  # never a view of the mapping
            out.append(chunk)
    except CiphertextInvalid as error:
        return b"".join(out), str(error)
    return b"".join(out), None


def through_file(
    tmp_path: Path, blob: bytes, offset: int = H, **kwargs
) -> tuple[bytes, str | None]:
    path = tmp_path / "blob"
    path.write_bytes(blob)
    with open(path, "rb") as handle:
        handle.read(offset)  # as the store does: the header read through the buffered file
        handle.seek(offset)
        return released(handle, blob, **kwargs)


def through_memory(blob: bytes, offset: int = H, **kwargs) -> tuple[bytes, str | None]:
    return released(io.BytesIO(blob[offset:]), blob, **kwargs)


def test_a_regular_file_is_decrypted_from_the_mapping():
    with open(__file__, "rb") as handle:
        assert streaming._regular_file(handle) is not None
    read_end, write_end = os.pipe()
    try:
        with open(read_end, "rb", closefd=False) as pipe:
            assert streaming._regular_file(pipe) is None  # a pipe is read
    finally:
        os.close(read_end)
        os.close(write_end)
    assert streaming._regular_file(io.BytesIO(b"x")) is None


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=0, max_value=MANY))
@example(0)
@example(SEG * WINDOW)
@example(SEG * WINDOW - 1)
@example(SEG * WINDOW + 1)
@example(SEG * WINDOW * 2)
def test_any_length_round_trips_across_windows(tmp_path_factory, size):
    data = random.Random(size).randbytes(size)
    blob = encrypt(data)
    assert through_file(tmp_path_factory.mktemp("m"), blob) == (data, None)


def test_the_tampering_corpus_fails_the_same_way_from_the_mapping(tmp_path):
    data = os.urandom(MANY)
    blob = encrypt(data)
    last = len(blob)
    cases: list[bytes] = []
    # Truncation at and around every segment boundary, and inside the header's successor.
    for cut in range(H, last, STORED_SEG):
        cases += [blob[:cut], blob[: cut + 1], blob[: cut + streaming.TAG - 1]]
    cases.append(blob[: last - 1])
    # A flipped bit in a segment of each window, first and last bytes included.
    for position in (H, H + STORED_SEG * WINDOW - 1, H + STORED_SEG * WINDOW, last - 1):
        flipped = bytearray(blob)
        flipped[position] ^= 0x01
        cases.append(bytes(flipped))
    # Dropped, duplicated and swapped segments across a window's edge.
    body = [blob[i : i + STORED_SEG] for i in range(H, last, STORED_SEG)]
    edge = WINDOW - 1
    cases.append(blob[:H] + b"".join(body[:edge] + body[edge + 1 :]))
    cases.append(blob[:H] + b"".join(body[: edge + 1] + body[edge:]))
    swapped = [*body[:edge], body[edge + 1], body[edge], *body[edge + 2 :]]
    cases.append(blob[:H] + b"".join(swapped))
    cases.append(blob + b"\x00" * 20)  # appended after the last segment
    for case in cases:
        from_memory = through_memory(case)
        assert from_memory[1] is not None, "the corpus holds only bad files"
        assert through_file(tmp_path, case) == from_memory


def test_reading_from_any_offset_through_the_mapping(tmp_path):
    data = os.urandom(MANY)
    blob = encrypt(data)
    for start in (0, 1, SEG - 1, SEG * WINDOW, SEG * WINDOW + 3, SEG * (WINDOW * 2 + 1) + 7):
        first, skip = divmod(start, SEG)
        offset = H + first * STORED_SEG  # not a multiple of the page size
        got = through_file(tmp_path, blob, offset, first=first, skip=skip)
        assert got == (data[start:], None)


def test_a_reader_that_stops_early_releases_the_mapping(tmp_path):
    data = os.urandom(MANY)
    blob = encrypt(data)
    path = tmp_path / "blob"
    path.write_bytes(blob)
    header = streaming.parse_header(blob[:H])
    cipher = streaming.open_data_key(header, wrap_aead=WRAP, binding=BIND)
    with open(path, "rb") as handle:
        handle.seek(H)
        chunks = streaming.decrypt(header, cipher, handle)
        assert next(chunks) == data[:SEG]
        assert isinstance(chunks, Generator)
        chunks.close()  # a BufferError here would mean a view outlived its window
    with open(path, "rb") as handle:
        handle.seek(H)
        assert b"".join(streaming.decrypt(header, cipher, handle)) == data


@pytest.mark.parametrize("size", [0, 1, streaming.SEGMENT_SIZE + 1])
def test_production_segment_size_through_the_mapping(tmp_path, size):
    data = os.urandom(size)
    blob = encrypt(data, segment_size=streaming.SEGMENT_SIZE)
    assert through_file(tmp_path, blob) == (data, None)
