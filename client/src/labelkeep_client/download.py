"""A version's file into a ``.part`` file, resuming what an earlier attempt left, hashed as it
arrives, and checked against the signed manifest before anyone may use it.

Resuming asks for ``Range: bytes=N-`` with ``If-Range`` set to the ETag the manifest implies
(``"sha256:<hex>"``): a server whose file is not the manifest's answers 200 with the whole file,
and the download starts over. A connection that breaks mid-file is resumed the same way, a few
times, before the error reaches the caller (the ``.part`` stays for the next run).
"""

import hashlib
import http.client
import re
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from labelkeep_client.errors import ApiError, ChecksumMismatch
from labelkeep_client.transport import Transport
from labelkeep_client.verify import CHUNK, check_digest

Progress = Callable[[int, int], None]
ATTEMPTS = 4
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")
_BROKEN = (http.client.HTTPException, ConnectionError, TimeoutError, ssl.SSLError)


def download(
    transport: Transport,
    path: str,
    part: Path,
    manifest: Mapping[str, Any],
    progress: Progress | None = None,
) -> None:
    """Fill ``part`` with the manifest's file, or raise: ChecksumMismatch (the ``.part`` is
    then deleted, so that the next attempt starts clean) or ApiError (it is kept to resume)."""
    size = int(manifest["file"]["size"])
    for attempt in range(ATTEMPTS):
        received = _attempt(transport, path, part, manifest, progress)
        if received >= size:
            break
        if attempt == ATTEMPTS - 1:
            raise ApiError(
                "download_interrupted",
                f"The download stopped at {received} of {size} bytes; run again to resume.",
            )
    try:
        check_digest(manifest, size=part.stat().st_size, sha256=_sha256_of(part))
    except ChecksumMismatch:
        part.unlink(missing_ok=True)
        raise


def _attempt(
    transport: Transport,
    path: str,
    part: Path,
    manifest: Mapping[str, Any],
    progress: Progress | None,
) -> int:
    """One request: appends to ``part`` and returns its size afterwards."""
    size = int(manifest["file"]["size"])
    have = part.stat().st_size if part.exists() else 0
    if have > size:
        have = 0
    if have == size:
        part.touch()  # an empty file (a version of no rows) needs no request
        return have
    headers = {"Accept": "*/*"}
    if have:
        headers["Range"] = f"bytes={have}-"
        headers["If-Range"] = f'"sha256:{manifest["file"]["sha256"]}"'
    with transport.open(path, headers) as response:
        if response.status != 206 or _range_start(response) != have:
            have = 0
        with part.open("ab" if have else "wb") as out:
            return have + _copy(response, out, start=have, size=size, progress=progress)


def _copy(
    response: http.client.HTTPResponse,
    out: BinaryIO,
    *,
    start: int,
    size: int,
    progress: Progress | None,
) -> int:
    done = start
    if progress:
        progress(done, size)
    try:
        # One byte more than expected is enough to know the file is wrong; never read on.
        while done <= size and (chunk := response.read(min(CHUNK, size + 1 - done))):
            out.write(chunk)
            done += len(chunk)
            if progress:
                progress(done, size)
    except _BROKEN:
        pass
    return done - start


def _range_start(response: http.client.HTTPResponse) -> int | None:
    match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    return int(match.group(1)) if match else None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
