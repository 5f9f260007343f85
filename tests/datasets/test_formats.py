"""Streaming readers of uploads: each format, each way a file can be wrong, and the limits."""

import codecs
import gzip
import io
import json
import random
from collections.abc import Iterator
from typing import Any

import pytest

from datasets.formats import (
    CHUNK_BYTES,
    Format,
    format_from_name,
    max_line_bytes,
    open_text_source,
    read_records,
)
from datasets.limits import ImportLimits
from datasets.problems import ImportRejected, Problem, ProblemLog

LIMITS = ImportLimits()


class GeneratedStream(io.RawIOBase):
    """A stream whose bytes are made as they are read, counting how many were read."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = b""
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            self._pending = next(self._chunks, b"")
            if not self._pending:
                return 0
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        self.bytes_read += size
        return size


def read(
    data: bytes,
    fmt: Format,
    *,
    gzip: bool = False,
    limits: ImportLimits = LIMITS,
    mapping: dict[str, str | None] | None = None,
) -> tuple[list[tuple[str, dict[str, Any]]], ProblemLog]:
    problems = ProblemLog()
    source = open_text_source(io.BytesIO(data), gzip=gzip, limits=limits)
    rows = list(read_records(source, fmt, limits=limits, problems=problems, mapping=mapping))
    return rows, problems


def rejection(data: bytes, fmt: Format, **options) -> Problem:
    with pytest.raises(ImportRejected) as caught:
        read(data, fmt, **options)
    return caught.value.problem


def listed(problems: ProblemLog) -> list[tuple[str, str, str | None]]:
    return [(p.where, p.code, p.field) for p in problems.listed]


def lines(*rows: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


# Names


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("tasks.jsonl", (Format.JSONL, False)),
        ("tasks.ndjson", (Format.JSONL, False)),
        ("tasks.json", (Format.JSON, False)),
        ("tasks.csv", (Format.CSV, False)),
        ("tasks.tsv", (Format.TSV, False)),
        ("Tasks.JSONL.GZ", (Format.JSONL, True)),
        ("a.b.ndjson.gz", (Format.JSONL, True)),
        ("tasks.json.gz", (Format.JSON, True)),
        ("tasks.csv.gz", (Format.CSV, True)),
        ("tasks.tsv.gz", (Format.TSV, True)),
    ],
)
def test_format_and_compression_come_from_the_name(name, expected):
    assert format_from_name(name) == expected


@pytest.mark.parametrize("name", ["tasks.txt", "tasks.xlsx", "tasks.gz", "tasks.jsonl.zip", "csv"])
def test_an_unknown_extension_is_rejected_naming_the_accepted_ones(name):
    with pytest.raises(ImportRejected) as caught:
        format_from_name(name)
    problem = caught.value.problem
    assert (problem.where, problem.code) == ("file", "unknown_format")
    assert ".jsonl, .ndjson, .json, .csv, .tsv" in problem.message


# What the first bytes say


def test_a_file_named_gz_must_be_gzip():
    problem = rejection(b'{"text": "a"}\n', Format.JSONL, gzip=True)
    assert (problem.where, problem.code) == ("file", "not_gzip")
    assert problem.message == "named .gz but not gzip-compressed"


def test_gzip_data_must_be_named_gz():
    problem = rejection(gzip.compress(b'{"text": "a"}\n'), Format.JSONL)
    assert (problem.code, problem.message) == (
        "unexpected_gzip",
        "gzip-compressed but not named .gz",
    )


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.mark.parametrize(
    ("head", "looks_like"),
    [
        (b"PK\x03\x04\x14\x00\x00\x00", "a zip archive"),
        (b"%PDF-1.7\n%\xe2\xe3", "a PDF document"),
        (PNG, "a PNG image"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
        (b"GIF89a\x01\x00", "a GIF image"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "a WebP image"),
    ],
)
def test_binary_files_named_csv_are_not_text(head, looks_like):
    problem = rejection(head + b"\x00" * 100, Format.CSV)
    assert (problem.where, problem.code) == ("file", "not_text")
    assert problem.message == f"not a text file: looks like {looks_like}"


def test_a_gzipped_png_is_recognised_after_decompression():
    problem = rejection(gzip.compress(PNG + b"\x00" * 100), Format.CSV, gzip=True)
    assert problem.message == "not a text file: looks like a PNG image"


def test_nul_bytes_at_the_start_mean_binary_data():
    problem = rejection(b"text\n" + b"\x00\x01\x02" * 10, Format.CSV)
    assert problem.code == "not_text"
    assert "NUL" in problem.message


def test_invalid_utf8_in_the_first_8_kib_is_not_text():
    problem = rejection(b"text\nr\xe9sum\xe9\n", Format.CSV)
    assert (problem.code, problem.message) == (
        "not_text",
        "not a text file: byte 7 is not valid UTF-8",
    )


@pytest.mark.parametrize(
    ("encoding", "name"),
    [("utf-16", "UTF-16"), ("utf-16-be", "UTF-16"), ("utf-32", "UTF-32")],
)
def test_utf16_and_utf32_are_rejected_with_their_name(encoding, name):
    bom = {"utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    problem = rejection(bom + "text\nhello\n".encode(encoding), Format.CSV)
    assert (problem.code, problem.message) == ("bad_encoding", f"encoded as {name}: must be UTF-8")


def test_utf16_without_a_mark_is_not_text():
    assert rejection("text\nhello\n".encode("utf-16-le"), Format.CSV).code == "not_text"


def test_a_utf8_byte_order_mark_is_skipped():
    rows, _ = read(codecs.BOM_UTF8 + b"text,label\nhi,x\n", Format.CSV)
    assert rows == [("line 2", {"text": "hi", "label": "x"})]
    rows, _ = read(codecs.BOM_UTF8 + lines({"text": "hi"}), Format.JSONL)
    assert rows == [("line 1", {"text": "hi"})]
    rows, _ = read(codecs.BOM_UTF8 + b'[{"text": "hi"}]', Format.JSON)
    assert rows == [("element 1 (line 1)", {"text": "hi"})]


# gzip


def test_each_format_reads_the_same_gzipped():
    files = {
        Format.JSONL: lines({"text": "a"}, {"text": "b"}),
        Format.JSON: b'[{"text": "a"},\n{"text": "b"}]',
        Format.CSV: b"text\na\nb\n",
        Format.TSV: b"text\tlabel\na\tx\nb\ty\n",
    }
    for fmt, data in files.items():
        plain, _ = read(data, fmt)
        packed, _ = read(gzip.compress(data), fmt, gzip=True)
        assert packed == plain
        assert len(plain) == 2


def test_gzip_members_are_read_one_after_another_and_zero_padding_ignored():
    data = gzip.compress(lines({"n": 1})) + gzip.compress(lines({"n": 2})) + b"\x00" * 16
    rows, _ = read(data, Format.JSONL, gzip=True)
    assert rows == [("line 1", {"n": 1}), ("line 2", {"n": 2})]


def test_corrupt_gzip_data_is_rejected():
    data = bytearray(gzip.compress(lines(*({"n": n} for n in range(2000)))))
    data[len(data) // 2 : len(data) // 2 + 8] = b"\xff" * 8
    problem = rejection(bytes(data), Format.JSONL, gzip=True)
    assert (problem.where, problem.code) == ("file", "corrupt_gzip")
    assert problem.message.startswith("corrupt gzip data")


def test_truncated_gzip_data_is_rejected():
    data = gzip.compress(lines(*({"n": n} for n in range(2000))))
    problem = rejection(data[: len(data) - 20], Format.JSONL, gzip=True)
    assert (problem.code, problem.message) == ("corrupt_gzip", "corrupt gzip data: it ends early")


def blank_lines_gzipped(total_bytes: int) -> Iterator[bytes]:
    """``total_bytes`` of blank lines as gzip: 16 MiB members, compressed once (~1000:1)."""
    member_bytes = 16 * 1024**2
    member = gzip.compress((b" " * 1023 + b"\n") * (member_bytes // 1024), compresslevel=9)
    for _ in range(total_bytes // member_bytes):
        yield member


def read_generated(stream: GeneratedStream, fmt: Format, *, gzip: bool, limits: ImportLimits):
    problems = ProblemLog()
    source = open_text_source(io.BufferedReader(stream), gzip=gzip, limits=limits)
    return read_records(source, fmt, limits=limits, problems=problems)


def test_a_compression_bomb_is_stopped_early():
    stream = GeneratedStream(blank_lines_gzipped(10 * 1024**3))
    limits = ImportLimits(max_compression_ratio=100)
    with pytest.raises(ImportRejected) as caught:
        list(read_generated(stream, Format.JSONL, gzip=True, limits=limits))
    problem = caught.value.problem
    assert (problem.where, problem.code) == ("file", "compression_bomb")
    assert "more than 100:1" in problem.message
    # 10 GiB compresses to about 10 MB; no more than one read buffer of it was taken.
    assert stream.bytes_read <= CHUNK_BYTES + 64 * 1024


def test_more_than_the_uncompressed_limit_is_rejected():
    stream = GeneratedStream(blank_lines_gzipped(1024**3))
    limits = ImportLimits(max_uncompressed_bytes=5 * 1024**2, max_compression_ratio=10**9)
    with pytest.raises(ImportRejected) as caught:
        list(read_generated(stream, Format.JSONL, gzip=True, limits=limits))
    assert caught.value.problem.code == "too_large"
    assert caught.value.problem.message == "over 5,242,880 bytes once uncompressed"


def test_a_small_file_that_compresses_well_is_accepted():
    data = lines(*({"text": "the same words again"} for _ in range(20000)))
    assert len(data) < 1024**2
    assert len(data) / len(gzip.compress(data)) > 100
    rows, _ = read(
        gzip.compress(data), Format.JSONL, gzip=True, limits=ImportLimits(max_compression_ratio=20)
    )
    assert len(rows) == 20000


# JSONL


def test_jsonl_rows_name_their_physical_line_and_skip_blank_lines():
    data = b'{"text": "a"}\n\n   \n{"text": "b"}\r\n  {"text": "c"}  \n{"text": "d"}'
    rows, problems = read(data, Format.JSONL)
    assert rows == [
        ("line 1", {"text": "a"}),
        ("line 4", {"text": "b"}),
        ("line 5", {"text": "c"}),
        ("line 6", {"text": "d"}),
    ]
    assert not problems


def test_bad_jsonl_lines_are_listed_and_reading_goes_on():
    data = (
        b'{"text": "ok"}\n'
        b'{"text": "a",}\n'
        b'["an", "array"]\n'
        b'"a string"\n'
        b'{"score": NaN}\n'
        b'{"score": -Infinity}\n'
        b'{"score": 1e999}\n'
        b'{"text": "caf\xe9"}\n'
        b'{"a": 1} {"b": 2}\n' + b"[" * 200_000 + b"\n"
        b'{"text": "last"}\n'
    )
    rows, problems = read(b"\n" * 9000 + data, Format.JSONL)
    first = 9001
    assert rows == [(f"line {first}", {"text": "ok"}), (f"line {first + 10}", {"text": "last"})]
    assert listed(problems) == [
        (f"line {first + 1}", "invalid_json", None),
        (f"line {first + 2}", "not_object", None),
        (f"line {first + 3}", "not_object", None),
        (f"line {first + 4}", "invalid_json", None),
        (f"line {first + 5}", "invalid_json", None),
        (f"line {first + 6}", "invalid_json", None),
        (f"line {first + 7}", "bad_encoding", None),
        (f"line {first + 8}", "invalid_json", None),
        (f"line {first + 9}", "invalid_json", None),
    ]
    messages = [p.message for p in problems.listed]
    assert messages[0] == (
        "not valid JSON: Expecting property name enclosed in double quotes at line 1 column 14"
    )
    assert messages[1] == "a record must be a JSON object, got an array"
    assert messages[2] == "a record must be a JSON object, got a string"
    assert "NaN" in messages[3]
    assert messages[6] == "not valid UTF-8 at byte 14 of the line"
    assert messages[7].startswith("not valid JSON: Extra data")
    assert messages[8] == "not valid JSON: nested too deeply"


def test_a_jsonl_line_over_the_limit_is_listed_and_the_next_line_read():
    limits = ImportLimits(max_task_bytes=1024)
    too_long = json.dumps({"text": "x" * (max_line_bytes(limits) + 10)}).encode()
    exactly = b'{"text": "' + b"y" * (max_line_bytes(limits) - 12) + b'"}'
    assert len(exactly) == max_line_bytes(limits)
    data = lines({"n": 1}) + too_long + b"\n" + exactly + b"\n" + lines({"n": 4})
    rows, problems = read(data, Format.JSONL, limits=limits)
    assert [where for where, _ in rows] == ["line 1", "line 3", "line 4"]
    assert listed(problems) == [("line 2", "too_long", None)]
    assert problems.listed[0].message == "longer than 69,632 bytes, the limit for one line"


@pytest.mark.parametrize(("data", "gzip"), [(b"", False), (b"", True), (b"\n\n  \r\n", False)])
def test_an_empty_jsonl_file_is_rejected(data, gzip):
    problem = rejection(data, Format.JSONL, gzip=gzip)
    assert (problem.where, problem.code, problem.message) == ("file", "empty", "the file is empty")


@pytest.mark.parametrize("fmt", list(Format))
def test_more_rows_than_the_limit_are_rejected_naming_it(fmt):
    files = {
        Format.JSONL: lines(*({"n": n} for n in range(4))),
        Format.JSON: json.dumps([{"n": n} for n in range(4)]).encode(),
        Format.CSV: b"n\n0\n1\n2\n3\n",
        Format.TSV: b"n\n0\n1\n2\n3\n",
    }
    problem = rejection(files[fmt], fmt, limits=ImportLimits(max_rows=3))
    assert (problem.where, problem.code) == ("file", "too_many_rows")
    assert problem.message == "more than 3 rows, the limit for one import"
    rows, _ = read(files[fmt], fmt, limits=ImportLimits(max_rows=4))
    assert len(rows) == 4


def test_rows_with_problems_count_towards_the_row_limit():
    problem = rejection(b"[1]\n[2]\n[3]\n[4]\n", Format.JSONL, limits=ImportLimits(max_rows=3))
    assert problem.code == "too_many_rows"


# JSON arrays


def test_json_array_elements_name_their_number_and_line():
    data = json.dumps([{"text": "a"}, {"text": "b", "meta": [1, 2]}], indent=2).encode()
    rows, problems = read(data, Format.JSON)
    assert rows == [
        ("element 1 (line 2)", {"text": "a"}),
        ("element 2 (line 5)", {"text": "b", "meta": [1, 2]}),
    ]
    assert not problems


def test_json_elements_across_read_chunks_keep_their_line_numbers():
    elements = [{"text": f"row {n}", "pad": "p" * 40} for n in range(60_000)]
    data = ("[\n" + ",\n".join(json.dumps(e) for e in elements) + "\n]\n").encode()
    assert len(data) > 3 * CHUNK_BYTES
    rows, _ = read(data, Format.JSON)
    assert [where for where, _ in rows] == [f"element {n} (line {n + 1})" for n in range(1, 60_001)]
    assert [record for _, record in rows] == elements


def test_a_json_array_broken_midway_names_the_element_line_and_column():
    data = b'[\n  {"text": "a"},\n  {"text": "b",\n   "label": }\n]'
    seen: list[tuple[str, dict[str, Any]]] = []
    records = read_records(io.BytesIO(data), Format.JSON, limits=LIMITS, problems=ProblemLog())
    with pytest.raises(ImportRejected) as caught:
        seen.extend(records)
    assert seen == [("element 1 (line 2)", {"text": "a"})]
    problem = caught.value.problem
    assert (problem.where, problem.code) == ("element 2 (line 3)", "invalid_json")
    assert problem.message == "not valid JSON: Expecting value at line 4 column 13"


def test_columns_stay_right_on_a_long_single_line_array():
    good = b'{"a":"' + b"x" * 100 + b'"},'
    data = b"[" + good * 30_000 + b'{"a":}]'
    assert len(data) > 3 * CHUNK_BYTES
    problem = rejection(data, Format.JSON)
    assert problem.where == "element 30001 (line 1)"
    assert problem.message == f"not valid JSON: Expecting value at line 1 column {len(data) - 1}"


@pytest.mark.parametrize(
    ("data", "where", "message"),
    [
        (b'[{"a": 1}\n {"b": 2}]', "line 2 column 2", "expected ',' or ']' after element 1"),
        (
            b'[{"a": 1},\n{"b": 2}',
            "line 2 column 9",
            "the array is not closed: the file ends after element 2",
        ),
        (
            b'[{"a": 1}]\n[{"b": 2}]',
            "line 2 column 1",
            "unexpected data after the array's closing ']'",
        ),
        (
            b'[{"a": 1}, ]',
            "element 2 (line 1)",
            "not valid JSON: Expecting value at line 1 column 12",
        ),
        (
            b'[{"a": NaN}]',
            "element 1 (line 1)",
            "not valid JSON: NaN, Infinity and numbers too large for a float are not allowed",
        ),
        (
            b'[{"a": "unterminated}]',
            "element 1 (line 1)",
            "not valid JSON: Unterminated string starting at line 1 column 8",
        ),
    ],
)
def test_broken_json_arrays_are_rejected_where_they_break(data, where, message):
    problem = rejection(data, Format.JSON)
    assert (problem.where, problem.code, problem.message) == (where, "invalid_json", message)


def test_a_top_level_object_is_not_an_array_and_hints_at_jsonl():
    problem = rejection(b'\n {"text": "a"}\n', Format.JSON)
    assert (problem.where, problem.code) == ("line 2 column 2", "not_array")
    assert problem.message == (
        "the top level must be a JSON array of objects (for one object per line, name the "
        "file .jsonl)"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"  \n ", "the file is empty"),
        (b"[ \n ]", "the file holds an empty array"),
    ],
)
def test_an_empty_json_file_or_array_is_rejected(data, message):
    assert (rejection(data, Format.JSON).code, rejection(data, Format.JSON).message) == (
        "empty",
        message,
    )


def test_json_elements_that_are_not_objects_are_listed_and_reading_goes_on():
    rows, problems = read(b'[{"n": 1}, [2], "three", null, {"n": 5}]', Format.JSON)
    assert [where for where, _ in rows] == ["element 1 (line 1)", "element 5 (line 1)"]
    assert listed(problems) == [
        ("element 2 (line 1)", "not_object", None),
        ("element 3 (line 1)", "not_object", None),
        ("element 4 (line 1)", "not_object", None),
    ]
    assert problems.listed[2].message == "an element must be a JSON object, got null"


@pytest.mark.parametrize("followed", [True, False])
def test_a_json_element_over_the_limit_is_rejected(followed):
    limits = ImportLimits(max_task_bytes=1024)
    elements = [{"n": 1}, {"text": "x" * 80_000}] + ([{"n": 3}] * 50 if followed else [])
    problem = rejection(json.dumps(elements).encode(), Format.JSON, limits=limits)
    assert (problem.where, problem.code) == ("element 2 (line 1)", "too_long")
    assert problem.message == "longer than 69,632 characters, the limit for one element"


def test_invalid_utf8_in_a_json_array_is_rejected_naming_the_line():
    data = b"[\n" + b'{"n": 1},\n' * 2000 + b'{"text": "caf\xe9"}\n]'
    problem = rejection(data, Format.JSON)
    assert (problem.where, problem.code) == ("line 2002", "bad_encoding")


# CSV and TSV


def test_csv_rows_map_columns_to_fields_and_omit_empty_cells():
    data = b'text,label,external_id\r\nhello,pos,1\r\n,neg,\r\n\r\n"a, b",,x\r\n'
    rows, problems = read(data, Format.CSV)
    assert rows == [
        ("line 2", {"text": "hello", "label": "pos", "external_id": "1"}),
        ("line 3", {"label": "neg"}),
        ("line 5", {"text": "a, b", "external_id": "x"}),
    ]
    assert not problems


def test_a_quoted_multiline_cell_keeps_the_line_numbers_right():
    data = b'text,label\n"first\nsecond\nthird",a\nplain,b\n"x\r\ny",c\nlast,d\n'
    rows, _ = read(data, Format.CSV)
    assert rows == [
        ("line 2", {"text": "first\nsecond\nthird", "label": "a"}),
        ("line 5", {"text": "plain", "label": "b"}),
        ("line 6", {"text": "x\r\ny", "label": "c"}),
        ("line 8", {"text": "last", "label": "d"}),
    ]


def test_a_ragged_row_is_listed_and_reading_goes_on():
    data = b"a,b,c,d\n1,2,3,4\n1,2,3,4,5\n1\n1,2,3,4\n"
    rows, problems = read(data, Format.CSV)
    assert [where for where, _ in rows] == ["line 2", "line 5"]
    assert listed(problems) == [("line 3", "ragged_row", None), ("line 4", "ragged_row", None)]
    assert [p.message for p in problems.listed] == [
        "5 cells, but the header has 4",
        "1 cell, but the header has 4",
    ]


def test_tsv_is_read_with_tabs():
    data = b'text\tlabel\nhello, world\tpos\n"with\ttab"\tneg\n'
    rows, _ = read(data, Format.TSV)
    assert rows == [
        ("line 2", {"text": "hello, world", "label": "pos"}),
        ("line 3", {"text": "with\ttab", "label": "neg"}),
    ]


def test_metadata_columns_are_gathered_into_metadata():
    data = b"text,metadata.source,metadata.batch\na,web,\nb,,\n"
    rows, _ = read(data, Format.CSV)
    assert rows == [
        ("line 2", {"text": "a", "metadata": {"source": "web"}}),
        ("line 3", {"text": "b"}),
    ]


def test_a_mapping_renames_drops_and_gathers_columns():
    data = b"Body,Tag,Origin,Notes,label\nhello,pos,web,skip me,x\n"
    mapping = {"Body": "text", "Tag": "metadata.tag", "Origin": "metadata.origin", "Notes": None}
    rows, _ = read(data, Format.CSV, mapping=mapping)
    assert rows == [
        ("line 2", {"text": "hello", "label": "x", "metadata": {"tag": "pos", "origin": "web"}}),
    ]


@pytest.mark.parametrize(
    ("header", "mapping", "field"),
    [
        (b"text,label", {"Body": "text"}, "Body"),
        (b"a,b", {"a": "text", "b": "text"}, "text"),
        (b"a,b", {"a": "metadata.k", "b": "metadata.k"}, "k"),
        (b"text,metadata,source", {"source": "metadata.source"}, "metadata"),
        (b"text,source", {"source": "metadata."}, "metadata."),
    ],
)
def test_a_mapping_that_cannot_apply_is_rejected(header, mapping, field):
    problem = rejection(header + b"\n1,2\n", Format.CSV, mapping=mapping)
    assert (problem.where, problem.code, problem.field) == ("line 1", "bad_mapping", field)


def test_a_mapping_is_refused_for_json_formats():
    problem = rejection(lines({"text": "a"}), Format.JSONL, mapping={"text": "prompt"})
    assert (problem.code, problem.message) == (
        "bad_mapping",
        "a column mapping applies only to CSV and TSV",
    )


@pytest.mark.parametrize(
    ("data", "code", "message", "field"),
    [
        (
            b"\ntext\na\n",
            "missing_header",
            "the first line must be the header naming every column; column 1 has no name",
            None,
        ),
        (
            b"text,,label\na,b,c\n",
            "missing_header",
            "the first line must be the header naming every column; column 2 has no name",
            None,
        ),
        (
            b"text,label,text\na,b,c\n",
            "duplicate_header",
            "columns 1 and 3 have the same name",
            "text",
        ),
        (b"text\n", "empty", "the file has a header but no rows", None),
        (b"", "empty", "the file is empty", None),
    ],
)
def test_csv_header_problems_stop_the_reading(data, code, message, field):
    problem = rejection(data, Format.CSV)
    assert (problem.code, problem.message, problem.field) == (code, message, field)


def test_invalid_utf8_in_a_csv_names_its_line():
    data = b"text,label\n" + b"abc,x\n" * 3000 + b"caf\xe9,y\n" + b"abc,x\n" * 3000
    seen: list[tuple[str, dict[str, Any]]] = []
    records = read_records(io.BytesIO(data), Format.CSV, limits=LIMITS, problems=ProblemLog())
    with pytest.raises(ImportRejected) as caught:
        seen.extend(records)
    assert (caught.value.problem.where, caught.value.problem.code) == ("line 3002", "bad_encoding")
    # Rows decoded in the same chunk as the bad byte are not yielded: it stops the file anyway.
    assert len(seen) <= 3000


def test_a_csv_cell_over_the_limit_is_rejected():
    limits = ImportLimits(max_task_bytes=1024)
    data = b"text,label\na,b\n" + b"x" * 2000 + b",c\nd,e\n"
    problem = rejection(data, Format.CSV, limits=limits)
    assert (problem.where, problem.code) == ("line 3", "too_long")
    assert problem.message.startswith("a cell is longer than 1,024 characters")


def test_the_csv_reader_leaves_the_callers_stream_open():
    stream = io.BufferedReader(io.BytesIO(b"text\na\n"))
    rows = read_records(stream, Format.CSV, limits=LIMITS, problems=ProblemLog())
    assert len(list(rows)) == 1
    del rows
    assert not stream.closed


# Streaming


def jsonl_lines() -> Iterator[bytes]:
    line = json.dumps({"text": "streamed " * 30}).encode() + b"\n"
    for _ in range(200_000):
        yield line


def json_elements() -> Iterator[bytes]:
    yield b"["
    for line in jsonl_lines():
        yield line + b","
    yield b'{"last": true}]'


def csv_rows() -> Iterator[bytes]:
    yield b"text,label\n"
    for _ in range(400_000):
        yield b'"streamed, ' + b"word " * 30 + b'",pos\n'


@pytest.mark.parametrize(
    ("fmt", "chunks"),
    [(Format.JSONL, jsonl_lines), (Format.JSON, json_elements), (Format.CSV, csv_rows)],
)
def test_records_are_read_incrementally_not_after_loading_the_file(fmt, chunks):
    stream = GeneratedStream(chunks())
    records = read_generated(stream, fmt, gzip=False, limits=LIMITS)
    next(records)
    # The generated file is over 50 MB; a record comes out after a buffer or two of it.
    assert 0 < stream.bytes_read <= 3 * CHUNK_BYTES
    for _ in range(20_000):
        next(records)
    assert stream.bytes_read <= 12 * CHUNK_BYTES


def test_gzip_is_decompressed_incrementally_too():
    rng = random.Random(7)
    text = b"".join(
        json.dumps({"text": rng.randbytes(60).hex()}).encode() + b"\n" for _ in range(100_000)
    )
    compressed = gzip.compress(text, compresslevel=1)
    assert len(compressed) > 4 * CHUNK_BYTES
    pieces = (compressed[i : i + 65536] for i in range(0, len(compressed), 65536))
    stream = GeneratedStream(pieces)
    records = read_generated(stream, Format.JSONL, gzip=True, limits=LIMITS)
    next(records)
    assert stream.bytes_read <= CHUNK_BYTES + 64 * 1024
    assert sum(1 for _ in records) == 99_999
