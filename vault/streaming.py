"""Streaming authenticated encryption for files, in segments (the design of Tink's streaming
AEAD and of age): constant memory in both directions, and every segment is verified before any
of its plaintext is released.

Layout of an encrypted file::

    header (80 bytes)
      0..3    magic "LKBF"
      4       format version (1)
      5..8    project key version, big-endian
      9..12   segment size in bytes (plaintext per segment; 1 MiB by default)
      13..19  random 56-bit nonce prefix
      20..79  the file's own data key, wrapped (AES-GCM: nonce, key, tag) by a subkey of the
              project key, with associated data = bytes 0..19 + project + object name
    segments, each: ciphertext of ``segment size`` plaintext bytes (the last may be shorter,
              or empty for an empty file) followed by its 16-byte tag

Segment ``i`` uses nonce = prefix || i (32 bits) || last-flag (1 byte). Reordering changes the
counter, truncation at a boundary leaves a segment without the last flag, appending adds one
after it, and a header from another file brings another data key: all fail authentication.

Segments are sealed on a small pool of threads (AES-GCM releases the GIL) while the caller's
thread reads the source and writes the result: a bounded, ordered pipeline, so memory stays a few
segments and results, errors included, come out in file order. Decryption stays on the caller's
thread: its input is usually in the page cache, and the pool only added handoffs and cache misses
(measured with bench/vault.py). A regular file is decrypted from memory-mapped windows rather
than read into the process first.
"""

import io
import mmap
import os
import stat
import struct
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import NoReturn, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from vault import crypto
from vault.errors import CiphertextInvalid

MAGIC = b"LKBF"
FORMAT_VERSION = 1
SEGMENT_SIZE = 1 << 20
MIN_SEGMENT_SIZE = 16
MAX_SEGMENT_SIZE = 64 << 20
_PREFIX = struct.Struct(">4sBII7s")
HEADER_BYTES = _PREFIX.size + crypto.WRAPPED_KEY_BYTES
TAG = crypto.TAG_BYTES
WRAP_PURPOSE = b"labelkeep.blob-key-wrap.v1"
_MAX_SEGMENTS = 1 << 32
# One worker per core, one segment in flight each: more in flight only added memory and cache
# misses in bench/vault.py.
_WORKERS = 2
_IN_FLIGHT = 2
# Segments of a regular file mapped at a time when decrypting (8 MiB with the default size).
_MAPPED_SEGMENTS = 8
# Pages of a window are read in when it is mapped, not one fault at a time.
_MAP_FLAGS = mmap.MAP_SHARED | getattr(mmap, "MAP_POPULATE", 0)
_ADVISE = getattr(os, "posix_fadvise", None)  # Linux has it; macOS does not


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...


@dataclass(frozen=True)
class Header:
    key_version: int
    segment_size: int
    nonce_prefix: bytes
    signed: bytes  # bytes 0..19, authenticated by the data-key wrap
    wrapped_key: bytes


def read_exact(source: Readable, size: int) -> bytes:
    """Up to ``size`` bytes; fewer only at the end of the stream."""
    data = source.read(size)
    if len(data) == size or not data:
        return data
    parts = [data]
    missing = size - len(data)
    while missing:
        more = source.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


def binding(project_id_bytes: bytes, name: str) -> bytes:
    return crypto.frame(b"labelkeep.blob.v1", project_id_bytes, name.encode())


def _nonce(prefix: bytes, counter: int, last: bool) -> bytes:
    if counter >= _MAX_SEGMENTS:
        raise ValueError("The file has more segments than the format allows.")
    return prefix + counter.to_bytes(4, "big") + (b"\x01" if last else b"\x00")


def _raise(error: Exception) -> NoReturn:
    raise error


def _in_place(jobs: Iterator[Callable[[], bytes]]) -> Iterator[Callable[[], bytes]]:
    """The jobs, then one that raises what producing them raised (reading the source, say): the
    error then reaches the caller after the results before it, where it happened."""
    try:
        yield from jobs
    except Exception as error:  # noqa: BLE001 -- not swallowed: raised again in its turn
        yield partial(_raise, error)


def _in_order(jobs: Iterator[Callable[[], bytes]]) -> Generator[bytes, None, None]:
    """Run ``jobs`` on the pool, at most ``_IN_FLIGHT`` at a time; yield results in job order.

    A job's error is raised in its turn, so the output stops exactly where the input failed.
    """
    pool = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="vault-segments")
    pending: deque[Future[bytes]] = deque()
    try:
        for job in _in_place(jobs):
            pending.append(pool.submit(job))
            if len(pending) == _IN_FLIGHT:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        # Also on an error or when the caller stops early (generator close): queued segments
        # are dropped and the running ones awaited, so no thread outlives the stream.
        pool.shutdown(wait=True, cancel_futures=True)


def encrypt(
    *,
    wrap_aead: AESGCM,
    key_version: int,
    binding: bytes,
    source: Readable,
    segment_size: int = SEGMENT_SIZE,
) -> Generator[bytes, None, None]:
    """Yield the header, then each encrypted segment, reading ``source`` as it goes."""
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise ValueError(f"segment_size must be within {MIN_SEGMENT_SIZE}..{MAX_SEGMENT_SIZE}.")
    data_key, prefix = crypto.random_key(), os.urandom(7)
    signed = _PREFIX.pack(MAGIC, FORMAT_VERSION, key_version, segment_size, prefix)
    wrap_nonce = os.urandom(crypto.NONCE_BYTES)
    yield signed + wrap_nonce + wrap_aead.encrypt(wrap_nonce, data_key, signed + binding)
    yield from _in_order(_seal_jobs(AESGCM(data_key), prefix, source, segment_size))


def _seal_jobs(
    cipher: AESGCM, prefix: bytes, source: Readable, segment_size: int
) -> Iterator[Callable[[], bytes]]:
    counter, current = 0, read_exact(source, segment_size)
    while True:
        # One segment of look-ahead tells whether this one is the last.
        following = read_exact(source, segment_size) if len(current) == segment_size else b""
        last = not following
        yield partial(cipher.encrypt, _nonce(prefix, counter, last), current, None)
        if last:
            return
        current, counter = following, counter + 1


def parse_header(data: bytes) -> Header:
    if len(data) < HEADER_BYTES:
        raise CiphertextInvalid("The encrypted file is truncated inside its header.")
    magic, version, key_version, segment_size, prefix = _PREFIX.unpack(data[: _PREFIX.size])
    if magic != MAGIC or version != FORMAT_VERSION:
        raise CiphertextInvalid("Not an encrypted file of a known format.")
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise CiphertextInvalid("The encrypted file's header names an invalid segment size.")
    return Header(
        key_version=key_version,
        segment_size=segment_size,
        nonce_prefix=prefix,
        signed=data[: _PREFIX.size],
        wrapped_key=data[_PREFIX.size : HEADER_BYTES],
    )


def open_data_key(header: Header, *, wrap_aead: AESGCM, binding: bytes) -> AESGCM:
    wrapped = header.wrapped_key
    try:
        key = wrap_aead.decrypt(
            wrapped[: crypto.NONCE_BYTES], wrapped[crypto.NONCE_BYTES :], header.signed + binding
        )
    except InvalidTag:
        raise CiphertextInvalid(
            "The encrypted file's header failed authentication (tampered, or from another file)."
        ) from None
    return AESGCM(key)


def decrypt(
    header: Header, cipher: AESGCM, source: Readable, *, first_segment: int = 0, skip: int = 0
) -> Iterator[bytes]:
    """Yield verified plaintext segment by segment; ``source`` starts at ``first_segment``."""
    counter = first_segment
    for current, last in _stored_segments(source, header.segment_size + TAG):
        if len(current) < TAG:
            raise CiphertextInvalid(f"The encrypted file is truncated at segment {counter}.")
        try:
            plain = cipher.decrypt(_nonce(header.nonce_prefix, counter, last), current, None)
        except InvalidTag:
            raise CiphertextInvalid(
                f"Segment {counter} of the encrypted file failed authentication "
                "(tampered, reordered, truncated or spliced)."
            ) from None
        if skip:
            plain, skip = plain[skip:], 0
        if plain:
            yield plain
        if last:
            return
        counter += 1


def _stored_segments(source: Readable, size: int) -> Iterator[tuple[bytes | memoryview, bool]]:
    """Each stored segment from the source's position on, and whether it is the last."""
    mapped = _regular_file(source)
    if mapped is not None:
        yield from _mapped_segments(*mapped, size)
        return
    current = read_exact(source, size)
    while True:
        # One segment of look-ahead tells whether this one is the last.
        following = read_exact(source, size) if len(current) == size else b""
        yield current, not following
        if not following:
            return
        current = following


def _regular_file(source: Readable) -> tuple[int, int, int] | None:
    """(descriptor, position, length) if ``source`` is an open regular file, else None."""
    fileno, tell = getattr(source, "fileno", None), getattr(source, "tell", None)
    if fileno is None or tell is None:
        return None
    try:
        fd = fileno()
        status = os.fstat(fd)
    except (OSError, ValueError, io.UnsupportedOperation):
        return None
    if not stat.S_ISREG(status.st_mode):
        return None
    return fd, tell(), status.st_size


def _mapped_segments(
    fd: int, start: int, end: int, size: int
) -> Iterator[tuple[bytes | memoryview, bool]]:
    """The segments of a regular file, decrypted straight from memory-mapped windows of the
    page cache: a cached file is then read without first being copied into the process (at
    memory speed, that copy cost as much as the decryption). A few segments are mapped at a
    time, so memory stays constant; the file's length, taken once, says which is the last (a
    blob is replaced whole, never rewritten in place; a file cut short in place by hand while
    mapped would stop the process with SIGBUS rather than fail the read)."""
    if start >= end:
        yield b"", True
        return
    window = _MAPPED_SEGMENTS * size
    while start < end:
        base = start - start % mmap.ALLOCATIONGRANULARITY
        stop = min(end, start + window)
        if stop < end and _ADVISE is not None:  # the disk reads the next window meanwhile
            _ADVISE(fd, stop, window, os.POSIX_FADV_WILLNEED)
        with mmap.mmap(
            fd, stop - base, prot=mmap.PROT_READ, flags=_MAP_FLAGS, offset=base
        ) as region:
            view = memoryview(region)
            try:
                while start < stop:
                    following = min(start + size, end)
                    if following > stop:  # the segment crosses the window: map the next one
                        break
                    segment = view[start - base : following - base]
                    try:
                        yield segment, following >= end
                    finally:
                        segment.release()
                    start = following
            finally:
                view.release()


def plaintext_size(stored: int, segment_size: int) -> int:
    """The plaintext length of an encrypted file of ``stored`` bytes."""
    body = stored - HEADER_BYTES
    full, rest = divmod(body, segment_size + TAG)
    segments = full + (1 if rest else 0)
    if body < TAG or (rest and rest < TAG):
        raise CiphertextInvalid("The encrypted file has an impossible length.")
    return body - segments * TAG
