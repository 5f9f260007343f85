"""Verifying an uploaded image before it is stored and shown to annotators.

Every file is treated as hostile: its kind is told by its magic bytes, its name must agree, its
declared dimensions are checked before any pixel is decoded, and then every frame is decoded in
full, so that what annotators' browsers later receive is an image that Pillow could read whole.
Problems name the file and the reason, never its bytes.
"""

import struct
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import PurePosixPath
from typing import NoReturn

from PIL import Image, ImageFile

from datasets.limits import ImportLimits
from datasets.problems import ImportRejected, Problem

# The default, pinned: a truncated image must fail to load rather than come out part-grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(frozen=True)
class ImageInfo:
    content_type: str
    extension: str
    width: int
    height: int
    size: int


@dataclass(frozen=True)
class _Kind:
    label: str
    pillow_format: str
    content_type: str
    extension: str


_PNG = _Kind("a PNG image", "PNG", "image/png", "png")
_JPEG = _Kind("a JPEG image", "JPEG", "image/jpeg", "jpg")
_GIF = _Kind("a GIF image", "GIF", "image/gif", "gif")
_WEBP = _Kind("a WebP image", "WEBP", "image/webp", "webp")

_KIND_BY_EXTENSION = {
    ".png": _PNG,
    ".jpg": _JPEG,
    ".jpeg": _JPEG,
    ".gif": _GIF,
    ".webp": _WEBP,
}

# Content we do not accept, named so that "not what its extension says" tells people why.
_OTHER_SIGNATURES = (
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive"),
    (b"BM", "a BMP image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"\x00\x00\x01\x00", "an icon file"),
)

_CORRUPT = "the image data is truncated or corrupt"

_INFLATE_STEP = 1024 * 1024
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_SINGLE_PASS = ((0, 0, 1, 1),)
_ADAM7_PASSES = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def inspect_image(
    data: bytes, *, name: str, limits: ImportLimits, where: str = "file"
) -> ImageInfo:
    """Check that ``data`` is a whole PNG, JPEG, GIF or WebP image its ``name`` admits to.

    Raises ``ImportRejected`` at ``where`` ("entry images/a.png", "file a.png") otherwise.
    """
    if len(data) > limits.max_image_bytes:
        _reject(
            where,
            f"the image is {len(data)} bytes, over the limit of {limits.max_image_bytes}",
            "too_large",
        )
    kind = _kind_for_name(name, where)
    content = _sniff(data)
    if content is not kind:
        label = content.label if content else _describe_unknown(data)
        _reject(where, f"not what its extension says: the content is {label}", "wrong_extension")
    width, height = _decode(data, kind, limits, where)
    return ImageInfo(kind.content_type, kind.extension, width, height, len(data))


def _kind_for_name(name: str, where: str) -> _Kind:
    suffix = PurePosixPath(name).suffix.lower()
    kind = _KIND_BY_EXTENSION.get(suffix)
    if kind is None:
        _reject(
            where,
            "not a supported image: the name must end in .png, .jpg, .jpeg, .gif or .webp",
            "unsupported_file",
        )
    return kind


def _sniff(data: bytes) -> _Kind | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _PNG
    if data.startswith(b"\xff\xd8\xff"):
        return _JPEG
    if data.startswith((b"GIF87a", b"GIF89a")):
        return _GIF
    if data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return _WEBP
    return None


def _describe_unknown(data: bytes) -> str:
    if not data:
        return "empty"
    for signature, label in _OTHER_SIGNATURES:
        if data.startswith(signature):
            return label
    return "text" if _looks_like_text(data[:4096]) else "not a PNG, JPEG, GIF or WebP image"


def _looks_like_text(head: bytes) -> bool:
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # The sample may end inside a multi-byte character; judge what came before it.
        text = head[:-3].decode("utf-8", errors="replace")
        if "\ufffd" in text:
            return False
    return all(char.isprintable() or char in "\t\r\n" for char in text)


def _decode(data: bytes, kind: _Kind, limits: ImportLimits, where: str) -> tuple[int, int]:
    """Open (headers only), bound the pixels, verify, then decode every frame in full.

    Pillow's own decompression-bomb warning is made an error here so that it rejects the file
    instead of being printed once to a log. ``catch_warnings`` is process-wide state: imports
    run in worker processes, not threads.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return _decode_frames(data, kind, limits, where)
        except ImportRejected:
            raise
        except Image.DecompressionBombError:
            _reject_bomb(where, 2 * (Image.MAX_IMAGE_PIXELS or 0))
        except Image.DecompressionBombWarning:
            _reject_bomb(where, Image.MAX_IMAGE_PIXELS or 0)
        # Pillow's parsers raise many kinds of error (OSError, SyntaxError, ValueError,
        # struct.error, EOFError, zlib.error...) on crafted input; all of them mean the same.
        except Exception:  # noqa: BLE001
            _reject(where, _CORRUPT, "corrupt_image")


def _decode_frames(data: bytes, kind: _Kind, limits: ImportLimits, where: str) -> tuple[int, int]:
    width, height = _declared_size(data, kind, limits, where)
    with Image.open(BytesIO(data), formats=[kind.pillow_format]) as image:
        decoded_pixels = 0
        frame = 0
        while True:
            decoded_pixels += _checked_frame_pixels(image, decoded_pixels, limits, where)
            image.load()
            if image.im is None or image.im.size != image.size:
                _reject(where, _CORRUPT, "corrupt_image")
            frame += 1
            try:
                image.seek(frame)
            except EOFError:
                return width, height


def _declared_size(data: bytes, kind: _Kind, limits: ImportLimits, where: str) -> tuple[int, int]:
    """The first frame's dimensions, read from the headers alone, within the pixel limit."""
    with Image.open(BytesIO(data), formats=[kind.pillow_format]) as image:
        width, height = image.size
        _checked_frame_pixels(image, 0, limits, where)
        if kind is _PNG:
            # Chunk CRCs and the closing IEND chunk: Pillow's decoder stops at the last pixel
            # and would accept a file cut off after it.
            image.verify()
    if kind is _PNG:
        _check_png_pixel_data(data, where)
    return width, height


def _check_png_pixel_data(data: bytes, where: str) -> None:
    """The IDAT stream must hold every row the header declares, and nothing may follow IEND.

    Pillow pads a stream that ends early with zeros instead of failing, so an image could claim
    more rows than it has; this counts the inflated bytes (without keeping them) instead.
    """
    expected = _png_pixel_data_size(data[16:29])
    inflater = zlib.decompressobj()
    produced = 0
    for body in _png_idat_bodies(data, where):
        produced += _inflated_size(inflater, body, expected + 1 - produced)
        if produced > expected:
            break
    if produced != expected or not inflater.eof:
        _reject(where, f"{_CORRUPT}: its pixel data does not match its size", "corrupt_image")


def _inflated_size(inflater: "zlib._Decompress", data: bytes, limit: int) -> int:
    """Bytes ``data`` inflates to, in steps, counting no further than ``limit``."""
    produced = 0
    pending = data
    while produced < limit:
        piece = inflater.decompress(pending, min(_INFLATE_STEP, limit - produced))
        produced += len(piece)
        pending = inflater.unconsumed_tail
        if inflater.eof or (not pending and not piece):
            break
    return produced


def _png_pixel_data_size(header: bytes) -> int:
    width, height, depth, colour_type, _, _, interlace = struct.unpack(">2L5B", header)
    bits_per_pixel = depth * _PNG_CHANNELS[colour_type]
    total = 0
    for x0, y0, dx, dy in _ADAM7_PASSES if interlace else _SINGLE_PASS:
        columns, rows = -(-(width - x0) // dx), -(-(height - y0) // dy)
        if columns > 0 and rows > 0:
            # Each row starts with a filter-type byte.
            total += rows * (1 + -(-columns * bits_per_pixel // 8))
    return total


def _png_idat_bodies(data: bytes, where: str) -> Iterator[bytes]:
    position = 8
    while True:
        length, chunk_type = struct.unpack_from(">L4s", data, position)
        if chunk_type == b"IEND":
            break
        if chunk_type == b"IDAT":
            yield data[position + 8 : position + 8 + length]
        position += 12 + length
    if position + 12 != len(data):
        _reject(where, f"{_CORRUPT}: data follows its end", "corrupt_image")


def _checked_frame_pixels(
    image: Image.Image, decoded_pixels: int, limits: ImportLimits, where: str
) -> int:
    """The pixels this frame will decode to, after checking them against the limit."""
    width, height = image.size
    if width <= 0 or height <= 0:
        _reject(where, f"{_CORRUPT}: it declares a size of {width}x{height}", "corrupt_image")
    total = decoded_pixels + width * height
    if total > limits.max_image_pixels:
        declared = f"{width}x{height} pixels" if not decoded_pixels else f"{total} pixels in all"
        _reject(
            where,
            f"the image is too large: it declares {declared}, over the limit of "
            f"{limits.max_image_pixels} pixels",
            "image_too_large",
        )
    return width * height


def _reject_bomb(where: str, pixels: int) -> NoReturn:
    message = f"the image is too large: it declares more than {pixels} pixels, too many to decode"
    _reject(where, message, "image_too_large")


def _reject(where: str, message: str, code: str) -> NoReturn:
    raise ImportRejected(Problem(where=where, message=message, code=code))
