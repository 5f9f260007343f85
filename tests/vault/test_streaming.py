"""The segmented file format on its own: round trips and a tampering corpus."""

import io
import os
import threading
import time
from functools import partial

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: TID251 -- a bare key
from hypothesis import example, given, settings
from hypothesis import strategies as st

from vault import streaming
from vault.errors import CiphertextInvalid

SEG = 64
WRAP = AESGCM(os.urandom(32))
BIND = streaming.binding(b"p" * 16, "imports/a.csv")
H = streaming.HEADER_BYTES
STORED_SEG = SEG + streaming.TAG


def encrypt(data: bytes, *, segment_size: int = SEG, binding: bytes = BIND) -> bytes:
    chunks = streaming.encrypt(
        wrap_aead=WRAP,
        key_version=1,
        binding=binding,
        source=io.BytesIO(data),
        segment_size=segment_size,
    )
    return b"".join(chunks)


def decrypt_into(released: list[bytes], blob: bytes, *, binding: bytes = BIND) -> None:
    """Decrypt, appending each chunk to ``released`` as it is handed out."""
    header = streaming.parse_header(blob[:H])
    cipher = streaming.open_data_key(header, wrap_aead=WRAP, binding=binding)
    for chunk in streaming.decrypt(header, cipher, io.BytesIO(blob[H:])):
        released.append(chunk)


def decrypt(blob: bytes, *, binding: bytes = BIND) -> bytes:
    released: list[bytes] = []
    decrypt_into(released, blob, binding=binding)
    return b"".join(released)


def segments(blob: bytes) -> list[bytes]:
    body = blob[H:]
    return [body[i : i + STORED_SEG] for i in range(0, len(body), STORED_SEG)]


@given(st.binary(max_size=SEG * 6 + 7))
@example(b"")
@example(b"x")
@example(b"x" * (SEG - 1))
@example(b"x" * SEG)
@example(b"x" * (SEG + 1))
@example(b"x" * (SEG * 4))
def test_any_content_round_trips_through_segments(data):
    blob = encrypt(data)
    assert decrypt(blob) == data
    assert streaming.plaintext_size(len(blob), SEG) == len(data)


@settings(max_examples=10, deadline=None)
@given(st.integers(min_value=0, max_value=3 * streaming.SEGMENT_SIZE + 5))
@example(0)
@example(streaming.SEGMENT_SIZE - 1)
@example(streaming.SEGMENT_SIZE)
@example(streaming.SEGMENT_SIZE + 1)
def test_production_segment_size_round_trips(size):
    data = os.urandom(size)
    blob = encrypt(data, segment_size=streaming.SEGMENT_SIZE)
    assert decrypt(blob) == data


def test_the_same_content_encrypts_differently_each_time():
    assert encrypt(b"same") != encrypt(b"same")


@pytest.mark.parametrize(
    ("region", "start", "end"),
    [
        ("magic", 0, 4),
        ("version", 4, 5),
        ("key version", 5, 9),
        ("segment size", 9, 13),
        ("nonce prefix", 13, 20),
        ("wrap nonce", 20, 32),
        ("wrapped data key", 32, 64),
        ("wrap tag", 64, 80),
    ],
)
def test_a_flipped_bit_anywhere_in_the_header_is_rejected(region, start, end):
    blob = bytearray(encrypt(os.urandom(SEG * 2 + 3)))
    for position in range(start, end):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= bit
            with pytest.raises(CiphertextInvalid):
                decrypt(bytes(tampered))


def test_a_flipped_bit_in_any_body_or_tag_byte_is_rejected():
    blob = encrypt(os.urandom(SEG * 2 + 3))
    for position in range(H, len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 1 << (position % 8)
        with pytest.raises(CiphertextInvalid):
            decrypt(bytes(tampered))


def test_truncation_at_every_segment_boundary_and_inside_segments_is_rejected():
    blob = encrypt(os.urandom(SEG * 4))
    cuts = {H + i * STORED_SEG for i in range(5)} | {H + 10, H + STORED_SEG + 5, len(blob) - 1}
    for cut in sorted(cuts - {len(blob)}):
        with pytest.raises(CiphertextInvalid):
            decrypt(blob[:cut])
    with pytest.raises(CiphertextInvalid):
        decrypt(blob[: H - 1])


def test_appended_data_after_the_last_segment_is_rejected():
    blob = encrypt(os.urandom(SEG * 2))
    with pytest.raises(CiphertextInvalid):
        decrypt(blob + segments(blob)[-1])
    with pytest.raises(CiphertextInvalid):
        decrypt(blob + b"\x00" * 20)


def _rebuild(blob: bytes, parts: list[bytes]) -> bytes:
    return blob[:H] + b"".join(parts)


@pytest.mark.parametrize(
    "rearrange",
    [
        pytest.param(lambda p: p[1:], id="dropped-first"),
        pytest.param(lambda p: p[:2] + p[3:], id="dropped-middle"),
        pytest.param(lambda p: p[:-1], id="dropped-last"),
        pytest.param(lambda p: p[:2] + p[1:], id="duplicated"),
        pytest.param(lambda p: [p[1], p[0], *p[2:]], id="swapped"),
        pytest.param(lambda p: [p[-1], *p[:-1]], id="last-moved-first"),
    ],
)
def test_dropped_duplicated_and_swapped_segments_are_rejected(rearrange):
    blob = encrypt(os.urandom(SEG * 4 + 9))
    with pytest.raises(CiphertextInvalid):
        decrypt(_rebuild(blob, rearrange(segments(blob))))


def test_segments_spliced_from_another_file_are_rejected():
    data = os.urandom(SEG * 3)
    one, two = encrypt(data), encrypt(data)
    spliced = segments(one)
    spliced[1] = segments(two)[1]
    with pytest.raises(CiphertextInvalid):
        decrypt(_rebuild(one, spliced))


def test_a_header_from_another_file_is_rejected():
    one, two = encrypt(os.urandom(SEG * 2)), encrypt(os.urandom(SEG * 2))
    with pytest.raises(CiphertextInvalid):
        decrypt(two[:H] + one[H:])


def test_a_file_moved_to_another_name_or_project_is_rejected():
    blob = encrypt(b"payload")
    for other in (
        streaming.binding(b"p" * 16, "imports/b.csv"),
        streaming.binding(b"q" * 16, "imports/a.csv"),
    ):
        with pytest.raises(CiphertextInvalid):
            decrypt(blob, binding=other)


def test_no_plaintext_of_a_bad_segment_is_released():
    data = os.urandom(SEG * 4)
    blob = bytearray(encrypt(data))
    blob[H + 2 * STORED_SEG + 3] ^= 0x40  # inside the third segment
    released: list[bytes] = []
    with pytest.raises(CiphertextInvalid, match="Segment 2"):
        decrypt_into(released, bytes(blob))
    assert b"".join(released) == data[: 2 * SEG]


def pipeline_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("vault-segments")]


def test_a_truncated_file_releases_every_whole_segment_before_failing():
    data = os.urandom(SEG * 6)
    released: list[bytes] = []
    with pytest.raises(CiphertextInvalid, match="truncated at segment 4"):
        decrypt_into(released, encrypt(data)[: H + 4 * STORED_SEG + 5])
    assert b"".join(released) == data[: 4 * SEG]


class FailingAfter:
    """A stream that serves ``data`` in reads of ``size``, then fails on the next read."""

    def __init__(self, data: bytes, size: int) -> None:
        self.parts = [data[i : i + size] for i in range(0, len(data), size)]

    def read(self, size: int, /) -> bytes:
        if not self.parts:
            raise OSError("disk gone")
        return self.parts.pop(0)


def test_a_read_error_reaches_the_reader_after_the_segments_before_it():
    data = os.urandom(SEG * 8)
    blob = encrypt(data)
    header = streaming.parse_header(blob[:H])
    cipher = streaming.open_data_key(header, wrap_aead=WRAP, binding=BIND)
    source = FailingAfter(blob[H : H + 5 * STORED_SEG], STORED_SEG)
    released: list[bytes] = []
    with pytest.raises(OSError, match="disk gone"):
        released.extend(streaming.decrypt(header, cipher, source))
    # Segment 4 was read but not its successor, which tells whether segment 4 is the last.
    assert b"".join(released) == data[: 4 * SEG]


def test_a_source_error_while_encrypting_comes_after_the_segments_before_it():
    source = FailingAfter(b"x" * SEG * 3, SEG)
    chunks = streaming.encrypt(
        wrap_aead=WRAP, key_version=1, binding=BIND, source=source, segment_size=SEG
    )
    produced: list[bytes] = []
    with pytest.raises(OSError, match="disk gone"):
        produced.extend(chunks)
    assert [len(chunk) for chunk in produced] == [H, STORED_SEG, STORED_SEG]
    assert pipeline_threads() == []


def test_a_writer_that_stops_early_leaves_no_thread_behind():
    source = io.BytesIO(bytes(SEG * 40))
    chunks = streaming.encrypt(
        wrap_aead=WRAP, key_version=1, binding=BIND, source=source, segment_size=SEG
    )
    assert [len(next(chunks)), len(next(chunks))] == [H, STORED_SEG]
    assert pipeline_threads() != []
    chunks.close()
    assert pipeline_threads() == []


def test_segments_finishing_out_of_order_are_released_in_order():
    def job(delay: float, value: bytes) -> bytes:
        time.sleep(delay)
        return value

    jobs = [partial(job, 0.05 if i % 2 == 0 else 0.0, bytes([i])) for i in range(8)]
    assert list(streaming._in_order(iter(jobs))) == [bytes([i]) for i in range(8)]


def test_a_writer_stops_at_an_error_of_the_pool_and_leaves_no_thread_behind(monkeypatch):
    def failing_jobs(*args):
        yield lambda: b"first"
        yield partial(streaming._raise, OSError("worker failed"))
        yield lambda: b"never"

    monkeypatch.setattr(streaming, "_seal_jobs", failing_jobs)
    produced: list[bytes] = []
    chunks = streaming.encrypt(wrap_aead=WRAP, key_version=1, binding=BIND, source=io.BytesIO())
    with pytest.raises(OSError, match="worker failed"):
        produced.extend(chunks)
    assert produced[1:] == [b"first"]
    assert pipeline_threads() == []


def test_many_segments_round_trip_in_order_through_the_pool():
    data = b"".join(i.to_bytes(4, "big") * (SEG // 4) for i in range(500))
    assert decrypt(encrypt(data)) == data


def test_reading_from_an_offset_starts_mid_file_and_still_verifies():
    data = os.urandom(SEG * 5 + 11)
    blob = encrypt(data)
    header = streaming.parse_header(blob[:H])
    cipher = streaming.open_data_key(header, wrap_aead=WRAP, binding=BIND)
    for start in (1, SEG - 1, SEG, SEG * 3 + 7, len(data) - 1):
        first, skip = divmod(start, SEG)
        rest = io.BytesIO(blob[H + first * STORED_SEG :])
        out = b"".join(streaming.decrypt(header, cipher, rest, first_segment=first, skip=skip))
        assert out == data[start:]


def test_invalid_segment_sizes_are_refused():
    with pytest.raises(ValueError, match="segment_size"):
        encrypt(b"x", segment_size=8)
