"""SafeZip against archives crafted to hurt: each one is built here, byte by byte if need be."""

import io
import random
import struct
import warnings
import zipfile
import zlib
from dataclasses import dataclass, replace

import pytest

from datasets.archives import ArchiveEntry, SafeZip
from datasets.limits import ImportLimits
from datasets.problems import ImportRejected

LIMITS = ImportLimits()
GIB = 1024**3


def noise(size: int, seed: int = 1) -> bytes:
    """Bytes that do not compress, so that no ratio limit is near."""
    return random.Random(seed).randbytes(size)


def make_zip(*members: tuple[str | zipfile.ZipInfo, bytes], method: int = zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


@dataclass
class Raw:
    """An entry written by hand, for what zipfile refuses or silently cleans up."""

    name: bytes
    data: bytes
    size: int
    method: int = zipfile.ZIP_DEFLATED
    crc: int = 0
    flags: int = 0
    external_attr: int = 0


def raw_zip(*entries: Raw) -> bytes:
    out = io.BytesIO()
    central = []
    for entry in entries:
        offset = out.tell()
        fields = (entry.flags, entry.method, 0, 0, entry.crc, len(entry.data), entry.size)
        out.write(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, *fields, len(entry.name), 0))
        out.write(entry.name + entry.data)
        central.append(
            struct.pack(
                "<4s4B4HL2L5H2L",
                b"PK\x01\x02",
                20,
                3,
                20,
                0,
                *fields,
                len(entry.name),
                0,
                0,
                0,
                0,
                entry.external_attr,
                offset,
            )
            + entry.name
        )
    directory_offset = out.tell()
    directory = b"".join(central)
    out.write(directory)
    count = len(entries)
    end = (b"PK\x05\x06", 0, 0, count, count, len(directory), directory_offset, 0)
    out.write(struct.pack("<4s4H2LH", *end))
    return out.getvalue()


def deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.fixture(scope="module")
def gigabyte_of_zeros() -> bytes:
    """A raw deflate stream of 1 GiB of zeros (about 1 MB), built without compressing 1 GiB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(16 * 1024**2)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    # Each later block only refers back to zeros, so the same bytes decode the same way.
    repeated = compressor.compress(zeros) + compressor.flush(zlib.Z_SYNC_FLUSH)
    return first + repeated * 63 + compressor.flush()


def open_zip(data: bytes, limits: ImportLimits = LIMITS) -> SafeZip:
    return SafeZip(io.BytesIO(data), limits=limits)


def rejection(data: bytes, limits: ImportLimits = LIMITS) -> tuple[str, str, str]:
    with pytest.raises(ImportRejected) as caught:
        open_zip(data, limits)
    return caught.value.problem.where, caught.value.problem.code, caught.value.problem.message


def read_rejection(archive: SafeZip, path: str, **kwargs) -> tuple[str, str]:
    with pytest.raises(ImportRejected) as caught:
        archive.read(path, **kwargs)
    return caught.value.problem.where, caught.value.problem.code


def patch_all(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new)
    assert old in data
    return data.replace(old, new)


# What a good archive looks like.


def test_entries_are_files_in_archive_order_without_directories_or_junk():
    data = make_zip(
        (zipfile.ZipInfo("images/"), b""),
        ("images/b.png", b"bb"),
        ("images/a.png", b"a"),
        ("__MACOSX/images/._a.png", b"junk"),
        ("images/.DS_Store", b"junk"),
        ("images/._b.png", b"junk"),
        ("Thumbs.db", b"junk"),
        ("manifest.csv", b"image\nimages/a.png\n"),
    )
    assert open_zip(data).entries() == [
        ArchiveEntry("images/b.png", 2),
        ArchiveEntry("images/a.png", 1),
        ArchiveEntry("manifest.csv", 19),
    ]


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_read_returns_the_entry_bytes(method):
    payload = noise(256_000)
    archive = open_zip(make_zip(("a.png", payload), ("b.png", b"x"), method=method))
    assert archive.read("a.png") == payload
    assert archive.read("b.png") == b"x"


def test_open_streams_an_entry_line_by_line():
    lines = [f'{{"image": "images/{n}.png"}}\n' for n in range(5000)]
    archive = open_zip(make_zip(("manifest.jsonl", "".join(lines).encode())))
    with archive.open("manifest.jsonl") as stream:
        assert list(io.TextIOWrapper(stream, encoding="utf-8")) == lines


def test_two_streams_over_one_file_do_not_disturb_each_other():
    first_bytes, second_bytes = noise(100_000, seed=1), noise(100_000, seed=2)
    archive = open_zip(make_zip(("a.txt", first_bytes), ("b.txt", second_bytes)))
    with archive.open("a.txt") as first, archive.open("b.txt") as second:
        assert first.read(10) == first_bytes[:10]
        assert second.read(10) == second_bytes[:10]
        assert first.read() == first_bytes[10:]


def test_names_are_normalized_to_forward_slashes_and_nfc():
    data = raw_zip(
        Raw(b"images\\a.png", b"a", 1, zipfile.ZIP_STORED, zlib.crc32(b"a")),
        Raw(b"./b//c.png", b"b", 1, zipfile.ZIP_STORED, zlib.crc32(b"b")),
        Raw("cafe\u0301.png".encode(), b"c", 1, zipfile.ZIP_STORED, zlib.crc32(b"c")),
    )
    archive = open_zip(data)
    assert [entry.path for entry in archive.entries()] == [
        "images/a.png",
        "b/c.png",
        "caf\u00e9.png",
    ]
    assert archive.read("b/c.png") == b"b"


def test_an_empty_file_deflated_to_no_bytes_reads_as_empty():
    archive = open_zip(raw_zip(Raw(b"empty.png", b"", 0), Raw(b"a.png", deflated(b"a"), 1)))
    assert archive.read("empty.png") == b""


def test_an_unknown_path_is_a_key_error():
    archive = open_zip(make_zip(("a.png", b"a")))
    assert "a.png" in archive
    assert "b.png" not in archive
    with pytest.raises(KeyError):
        archive.read("b.png")


def test_an_archive_comment_is_allowed():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.png", b"a")
        archive.comment = b"made by PK\x05\x06 a tool"
    assert open_zip(buffer.getvalue()).entries() == [ArchiveEntry("a.png", 1)]


def zip64_archive(monkeypatch) -> bytes:
    # Small limits make zipfile write the zip64 end record and zip64 sizes for small entries.
    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 1)
    monkeypatch.setattr(zipfile, "ZIP64_LIMIT", 10)
    data = make_zip(("a.png", b"a" * 100), ("b.png", b"b"))
    monkeypatch.undo()
    assert b"PK\x06\x06" in data
    return data


def test_zip64_records_are_read(monkeypatch):
    archive = open_zip(zip64_archive(monkeypatch))
    assert archive.entries() == [ArchiveEntry("a.png", 100), ArchiveEntry("b.png", 1)]
    assert archive.read("a.png") == b"a" * 100


# The manifest.


def test_manifest_at_the_root_is_found_with_its_format():
    archive = open_zip(make_zip(("images/a.png", b"a"), ("manifest.jsonl", b"{}\n")))
    assert archive.manifest() == ("manifest.jsonl", "jsonl")


def test_a_manifest_below_the_root_is_not_the_manifest():
    assert open_zip(make_zip(("data/manifest.csv", b"a\n"), ("a.png", b"a"))).manifest() is None


def test_two_manifests_are_rejected():
    archive = open_zip(make_zip(("manifest.csv", b"a\n"), ("manifest.tsv", b"a\n")))
    with pytest.raises(ImportRejected) as caught:
        archive.manifest()
    assert (caught.value.problem.where, caught.value.problem.code) == ("file", "two_manifests")


# Not a zip, or a broken one.


@pytest.mark.parametrize("data", [b"", b"hello, world\n" * 10, b"PK\x05\x06"])
def test_not_a_zip_is_rejected(data):
    assert rejection(data)[:2] == ("file", "corrupt_zip")


def test_a_cut_off_archive_is_rejected():
    assert rejection(make_zip(("a.png", b"a" * 1000))[:-5])[:2] == ("file", "corrupt_zip")


def test_bytes_before_the_archive_are_rejected():
    assert rejection(b"MZ" + make_zip(("a.png", b"a")))[:2] == ("file", "corrupt_zip")


def test_bytes_after_the_archive_are_rejected():
    assert rejection(make_zip(("a.png", b"a")) + b"trailing")[:2] == ("file", "corrupt_zip")


def test_zip64_and_classic_end_records_that_disagree_are_rejected(monkeypatch):
    data = zip64_archive(monkeypatch)
    position = data.rindex(b"PK\x05\x06")
    assert struct.unpack_from("<2H", data, position + 8) == (2, 2)
    data = data[: position + 8] + struct.pack("<2H", 1, 1) + data[position + 12 :]
    assert rejection(data)[:2] == ("file", "corrupt_zip")


def test_an_entry_count_that_hides_entries_is_rejected():
    data = make_zip(("a.png", b"a"), ("b.png", b"b"))
    position = data.rindex(b"PK\x05\x06")
    data = data[: position + 8] + struct.pack("<2H", 1, 1) + data[position + 12 :]
    assert rejection(data)[:2] == ("file", "corrupt_zip")


def test_data_after_the_end_of_a_deflate_stream_is_corrupt():
    data = raw_zip(Raw(b"a.png", deflated(b"abc") + b"hidden", 3, crc=zlib.crc32(b"abc")))
    assert read_rejection(open_zip(data), "a.png") == ("entry a.png", "corrupt_zip")


def test_a_bad_crc_is_found_on_reading():
    data = raw_zip(Raw(b"a.png", deflated(b"a" * 100), 100, crc=zlib.crc32(b"b" * 100)))
    assert read_rejection(open_zip(data), "a.png") == ("entry a.png", "corrupt_zip")


def test_corrupt_deflate_data_is_found_on_reading():
    data = raw_zip(Raw(b"a.png", b"\xff" * 50, 100))
    assert read_rejection(open_zip(data), "a.png") == ("entry a.png", "corrupt_zip")


def test_a_local_header_that_disagrees_with_the_directory_is_rejected():
    data = make_zip(("a.png", b"a"))
    local_name = data.index(b"a.png")
    data = data[:local_name] + b"b.png" + data[local_name + 5 :]
    assert rejection(data)[:2] == ("entry a.png", "corrupt_zip")


# Paths that escape, or names that lie.


@pytest.mark.parametrize(
    "name",
    [
        b"../evil.png",
        b"images/../../evil.png",
        b"..\\evil.png",
        b"/etc/passwd",
        b"\\\\server\\share\\a.png",
        b"C:/evil.png",
        b"c:evil.png",
        b"a\x00.png",
        b"a\x1b[31m.png",
        "\u202egnp.exe".encode(),
        b"",
        b".",
    ],
)
def test_unsafe_names_are_rejected_by_entry_number(name):
    data = raw_zip(Raw(b"ok.png", deflated(b"a"), 1), Raw(name, deflated(b"a"), 1))
    assert rejection(data)[:2] == ("entry number 2", "unsafe_path")


def test_a_name_flagged_utf8_that_is_not_is_rejected():
    data = raw_zip(Raw(b"\xff\xfe.png", deflated(b"a"), 1, flags=0x800))
    assert rejection(data)[:2] == ("entry number 1", "unsafe_path")


def test_a_directory_entry_for_the_root_is_skipped():
    data = raw_zip(Raw(b"./", b"", 0, zipfile.ZIP_STORED), Raw(b"a.png", deflated(b"a"), 1))
    assert open_zip(data).entries() == [ArchiveEntry("a.png", 1)]


def test_an_unflagged_name_that_is_not_utf8_is_read_as_cp437():
    data = raw_zip(Raw(b"caf\x82.png", b"a", 1, zipfile.ZIP_STORED, zlib.crc32(b"a")))
    assert open_zip(data).entries() == [ArchiveEntry("caf\u00e9.png", 1)]


def test_a_very_long_name_is_rejected():
    data = raw_zip(Raw(b"a" * 1100 + b".png", deflated(b"a"), 1))
    assert rejection(data)[:2] == ("entry number 1", "unsafe_path")


def test_a_symlink_entry_is_rejected():
    link = zipfile.ZipInfo("images/link.png")
    link.external_attr = 0o120777 << 16
    data = make_zip(("images/a.png", b"a"), (link, b"/etc/passwd"))
    assert rejection(data)[:2] == ("entry images/link.png", "symlink_entry")


@pytest.mark.parametrize("mode", [0o010644, 0o020644, 0o060644, 0o140644, 0o040755])
def test_other_special_files_are_rejected(mode):
    special = zipfile.ZipInfo("a.png")
    special.external_attr = mode << 16
    assert rejection(make_zip((special, b"a")))[:2] == ("entry a.png", "special_entry")


def test_regular_files_and_directories_with_unix_modes_are_accepted():
    regular = zipfile.ZipInfo("a.png")
    regular.external_attr = 0o100644 << 16
    directory = zipfile.ZipInfo("d/")
    directory.external_attr = (0o040755 << 16) | 0x10
    assert open_zip(make_zip((directory, b""), (regular, b"a"))).entries() == [
        ArchiveEntry("a.png", 1)
    ]


def test_duplicate_names_are_rejected():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile's own "Duplicate name"
        data = make_zip(("a.png", b"a"), ("b.png", b"b"), ("a.png", b"c"))
    where, code, message = rejection(data)
    assert (where, code) == ("entry a.png", "duplicate_entry")
    assert "1 and 3" in message


def test_names_that_normalize_alike_are_duplicates():
    data = make_zip(("images/a.png", b"a"), ("images//./a.png", b"b"))
    assert rejection(data)[:2] == ("entry images/a.png", "duplicate_entry")


# Encryption and compression methods.


def test_an_encrypted_entry_is_rejected():
    data = raw_zip(Raw(b"a.png", deflated(b"a"), 1), Raw(b"b.png", b"x" * 12, 1, flags=0x1))
    assert rejection(data)[:2] == ("entry b.png", "encrypted_entry")


def test_an_aes_encrypted_entry_is_rejected():
    data = raw_zip(Raw(b"a.png", b"x" * 40, 1, method=99))
    assert rejection(data)[:2] == ("entry a.png", "encrypted_entry")


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compression_other_than_stored_and_deflate_is_rejected(method):
    data = make_zip(("a.png", b"a" * 100), method=method)
    assert rejection(data)[:2] == ("entry a.png", "unsupported_compression")


# Limits and bombs.


def test_too_many_entries_are_rejected_before_reading_them():
    limits = replace(LIMITS, max_zip_entries=3)
    members = [(f"{n}.png", b"a") for n in range(4)]
    assert len(open_zip(make_zip(*members[:3]), limits).entries()) == 3
    assert rejection(make_zip(*members), limits)[:2] == ("file", "too_many_entries")


def test_a_gigabyte_of_zeros_is_a_compression_bomb(gigabyte_of_zeros):
    data = raw_zip(Raw(b"zeros.png", gigabyte_of_zeros, GIB))
    assert len(data) < 2 * 1024**2
    where, code, message = rejection(data)
    assert (where, code) == ("entry zeros.png", "compression_bomb")
    assert "ratio" in message


def test_declared_sizes_over_the_archive_limit_are_a_compression_bomb():
    limits = replace(LIMITS, max_uncompressed_bytes=1500)
    data = make_zip(*[(f"{n}.png", bytes(range(256)) * 2) for n in range(3)])
    assert rejection(data, limits)[:2] == ("entry 2.png", "compression_bomb")


def test_a_header_that_understates_the_size_stops_the_read(gigabyte_of_zeros):
    # 1000 bytes declared from ~1 MB compressed passes the ratio check; the data is 1 GiB.
    data = raw_zip(Raw(b"zeros.png", gigabyte_of_zeros, 1000))
    archive = open_zip(data)
    assert read_rejection(archive, "zeros.png") == ("entry zeros.png", "compression_bomb")
    # Streaming: the first inflated piece already overshoots, so even a small read fails.
    with archive.open("zeros.png") as stream, pytest.raises(ImportRejected) as caught:
        stream.read(100)
    assert caught.value.problem.code == "compression_bomb"


def test_a_header_that_overstates_the_size_is_corrupt():
    payload = bytes(range(256)) * 4
    data = raw_zip(Raw(b"a.png", deflated(payload), 1100, crc=zlib.crc32(payload)))
    assert read_rejection(open_zip(data), "a.png") == ("entry a.png", "corrupt_zip")


def test_a_stored_entry_with_two_sizes_is_corrupt():
    data = raw_zip(Raw(b"a.png", b"abc", 3000, zipfile.ZIP_STORED))
    assert rejection(data)[:2] == ("entry a.png", "corrupt_zip")


def test_entries_that_share_their_data_are_rejected():
    data = make_zip(("a.png", bytes(range(256))), ("b.png", bytes(range(256))))
    directory = data.index(b"PK\x01\x02")
    (compressed,) = struct.unpack_from("<L", data, directory + 20)
    grown = struct.pack("<L", compressed + 40)
    data = data[: directory + 20] + grown + data[directory + 24 :]
    assert rejection(data)[:2] == ("entry a.png", "compression_bomb")


def test_read_enforces_a_size_limit_for_one_entry():
    archive = open_zip(make_zip(("a.png", b"a" * 2000), ("b.png", b"b" * 100)))
    assert read_rejection(archive, "a.png", max_bytes=1024) == ("entry a.png", "too_large")
    assert archive.read("b.png", max_bytes=1024) == b"b" * 100


def test_messages_never_quote_entry_content():
    secret = b"patient-name-Jane-Doe" * 50
    data = raw_zip(Raw(b"a.png", deflated(secret), len(secret), crc=1))
    with pytest.raises(ImportRejected) as caught:
        open_zip(data).read("a.png")
    assert b"Jane" not in str(caught.value).encode()
