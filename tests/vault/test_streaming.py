"""The segmented file format on its own: round trips and a tampering corpus."""

import io
import os

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
