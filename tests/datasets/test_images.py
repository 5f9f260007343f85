"""inspect_image against real images made with Pillow, and files crafted to lie."""

import io
import struct
import warnings
import zlib
from dataclasses import replace

import pytest
from PIL import Image

from datasets.images import ImageInfo, inspect_image
from datasets.limits import ImportLimits
from datasets.problems import ImportRejected

LIMITS = ImportLimits()


def image_bytes(format_name: str, size: tuple[int, int] = (64, 48), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 90)).save(buffer, format_name, **save)
    return buffer.getvalue()


def animated_gif(frames: int, size: tuple[int, int] = (10, 10)) -> bytes:
    images = [Image.new("RGB", size, (80 * index, 0, 0)) for index in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">L", len(body)) + kind + body + struct.pack(">L", zlib.crc32(kind + body))


def crafted_png(width: int, height: int, rows: int) -> bytes:
    """An 8-bit greyscale PNG whose header says width x height but whose data holds ``rows``."""
    header = struct.pack(">2L5B", width, height, 8, 0, 0, 0, 0)
    pixels = zlib.compress((b"\x00" + bytes(width)) * rows)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


ADAM7_PASSES = (
    (0, 0, 8, 8),
    (4, 0, 8, 8),
    (0, 4, 4, 8),
    (2, 0, 4, 4),
    (0, 2, 2, 4),
    (1, 0, 2, 2),
    (0, 1, 1, 2),
)


def interlaced_png(width: int, height: int, declared_height: int | None = None) -> bytes:
    """An Adam7-interlaced RGB PNG (Pillow cannot write one), written pass by pass."""
    rows = [
        b"\x00" + bytes(3 * len(range(x0, width, dx)))
        for x0, y0, dx, dy in ADAM7_PASSES
        for _ in range(y0, height, dy)
        if x0 < width
    ]
    header = struct.pack(">2L5B", width, declared_height or height, 8, 2, 0, 0, 1)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + png_chunk(b"IEND", b"")
    )


def rejection(data: bytes, name: str, limits: ImportLimits = LIMITS, **kwargs) -> ImportRejected:
    with pytest.raises(ImportRejected) as caught:
        inspect_image(data, name=name, limits=limits, **kwargs)
    return caught.value


def where_and_code(data: bytes, name: str, limits: ImportLimits = LIMITS) -> tuple[str, str]:
    problem = rejection(data, name, limits).problem
    return problem.where, problem.code


# Good images.


@pytest.mark.parametrize(
    ("format_name", "name", "content_type", "extension"),
    [
        ("PNG", "a.png", "image/png", "png"),
        ("JPEG", "a.jpg", "image/jpeg", "jpg"),
        ("JPEG", "a.JPEG", "image/jpeg", "jpg"),
        ("GIF", "dir/a.gif", "image/gif", "gif"),
        ("WEBP", "a.webp", "image/webp", "webp"),
    ],
)
def test_a_real_image_is_described(format_name, name, content_type, extension):
    data = image_bytes(format_name)
    assert inspect_image(data, name=name, limits=LIMITS) == ImageInfo(
        content_type, extension, 64, 48, len(data)
    )


def test_a_lossless_webp_is_accepted():
    data = image_bytes("WEBP", lossless=True)
    assert inspect_image(data, name="a.webp", limits=LIMITS).width == 64


def test_an_animated_gif_within_the_pixel_limit_is_accepted():
    info = inspect_image(
        animated_gif(3), name="a.gif", limits=replace(LIMITS, max_image_pixels=300)
    )
    assert (info.width, info.height) == (10, 10)


def test_where_is_the_callers():
    problem = rejection(b"text", "images/a.png", where="entry images/a.png").problem
    assert problem.where == "entry images/a.png"


# Names and content that disagree.


def test_a_png_named_jpg_is_rejected():
    problem = rejection(image_bytes("PNG"), "a.jpg").problem
    assert (problem.where, problem.code) == ("file", "wrong_extension")
    assert problem.message == "not what its extension says: the content is a PNG image"


def test_a_text_file_named_png_is_rejected_without_quoting_it():
    problem = rejection(b"name,secret-diagnosis\nJane,flu\n", "a.png").problem
    assert (problem.where, problem.code) == ("file", "wrong_extension")
    assert problem.message == "not what its extension says: the content is text"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\x00\x01\x02\xff\xfe" * 20, "not a PNG, JPEG, GIF or WebP image"),
    ],
    ids=["empty", "pdf", "binary"],
)
def test_other_content_is_named_in_the_rejection(data, kind):
    assert rejection(data, "a.png").problem.message.endswith(f"the content is {kind}")


@pytest.mark.parametrize("name", ["a.bmp", "a.svg", "a", "a.png.exe", ".png"])
def test_an_unsupported_extension_is_rejected(name):
    assert where_and_code(image_bytes("PNG"), name) == ("file", "unsupported_file")


def test_a_bmp_named_bmp_is_unsupported_even_though_pillow_reads_it():
    assert where_and_code(image_bytes("BMP"), "a.bmp") == ("file", "unsupported_file")


# Limits.


def test_a_file_over_the_byte_limit_is_rejected():
    data = image_bytes("PNG")
    limits = replace(LIMITS, max_image_bytes=len(data) - 1)
    assert where_and_code(data, "a.png", limits) == ("file", "too_large")


def test_a_png_declaring_60000_by_60000_is_rejected_before_decoding():
    data = crafted_png(60000, 60000, rows=1)
    assert len(data) < 1000
    assert where_and_code(data, "a.png") == ("file", "image_too_large")


def test_an_image_over_our_pixel_limit_is_rejected_with_its_size():
    problem = rejection(
        image_bytes("JPEG"), "a.jpg", replace(LIMITS, max_image_pixels=1000)
    ).problem
    assert problem.code == "image_too_large"
    assert "64x48" in problem.message


def test_pillows_own_bomb_warning_rejects_too():
    # Over Pillow's MAX_IMAGE_PIXELS (warning) but under twice it (error) and under our limit.
    pillow_limit = Image.MAX_IMAGE_PIXELS
    assert pillow_limit is not None
    side = int(pillow_limit**0.5) + 10
    data = crafted_png(side, side, rows=1)
    limits = replace(LIMITS, max_image_pixels=2 * pillow_limit)
    with warnings.catch_warnings():
        # As in production, where the warning would otherwise only be printed.
        warnings.simplefilter("ignore")
        assert where_and_code(data, "a.png", limits) == ("file", "image_too_large")


def test_the_frames_of_an_animation_count_against_the_pixel_limit():
    limits = replace(LIMITS, max_image_pixels=250)
    problem = rejection(animated_gif(3), "a.gif", limits).problem
    assert problem.code == "image_too_large"
    assert "300 pixels in all" in problem.message


# Truncated, corrupt, lying.


@pytest.mark.parametrize("format_name", ["PNG", "JPEG", "GIF", "WEBP"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_a_truncated_image_is_corrupt(format_name, keep):
    data = image_bytes(
        format_name, size=(300, 200), **({"quality": 95} if format_name == "JPEG" else {})
    )
    name = f"a.{format_name.lower()}"
    problem = rejection(data[: int(len(data) * keep)], name).problem
    assert (problem.code, problem.message) == (
        "corrupt_image",
        "the image data is truncated or corrupt",
    )


def test_a_png_cut_just_before_its_end_chunk_is_corrupt():
    data = image_bytes("PNG")
    assert data.endswith(png_chunk(b"IEND", b""))
    assert where_and_code(data[:-12], "a.png") == ("file", "corrupt_image")


def test_a_png_with_data_after_its_end_is_corrupt():
    problem = rejection(image_bytes("PNG") + b"<html><script>", "a.png").problem
    assert (problem.code, problem.message) == (
        "corrupt_image",
        "the image data is truncated or corrupt: data follows its end",
    )


def test_a_png_that_lies_about_its_height_is_corrupt():
    assert inspect_image(crafted_png(40, 30, rows=30), name="a.png", limits=LIMITS).height == 30
    assert where_and_code(crafted_png(40, 60, rows=30), "a.png") == ("file", "corrupt_image")


@pytest.mark.parametrize(("width", "height"), [(1, 1), (5, 3), (9, 17)])
def test_an_interlaced_png_is_accepted_and_its_rows_counted(width, height):
    data = interlaced_png(width, height)
    assert inspect_image(data, name="a.png", limits=LIMITS).height == height
    lying = interlaced_png(width, height, declared_height=height + 8)
    assert where_and_code(lying, "a.png") == ("file", "corrupt_image")


def test_a_png_with_a_bad_chunk_crc_is_corrupt():
    data = bytearray(image_bytes("PNG"))
    data[-13] ^= 0xFF  # the IDAT chunk's CRC, which decoding alone never reads
    assert where_and_code(bytes(data), "a.png") == ("file", "corrupt_image")


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0)])
def test_a_png_of_zero_width_or_height_is_corrupt(width, height):
    assert where_and_code(crafted_png(width, height, rows=1), "a.png") == ("file", "corrupt_image")


def test_a_jpeg_with_garbage_after_its_header_is_corrupt():
    data = image_bytes("JPEG", size=(300, 200))
    garbage = data[:200] + bytes(range(256)) * 20
    assert where_and_code(garbage, "a.jpg") == ("file", "corrupt_image")
