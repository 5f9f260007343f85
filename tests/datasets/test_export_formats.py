"""The export formats at the writer level: each format's rows read back with its consumers' own
library, byte-identical rewrites, option checks, and memory that does not grow with the rows."""

import csv
import dataclasses
import io
import json
import os
import subprocess
import sys
import tarfile
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from nltk.chunk import tree2conlltags  # type: ignore[import-untyped]
from nltk.corpus.reader import ConllCorpusReader  # type: ignore[import-untyped]
from pycocotools.coco import COCO  # type: ignore[import-untyped]
from pycocotools.cocoeval import COCOeval  # type: ignore[import-untyped]

from core.errors import ValidationFailed
from datasets.exports.formats import FORMATS, ExportFailed, format_allows, format_get
from datasets.exports.formats.conll import TOKEN
from datasets.exports.formats.tabular import ROW_GROUP_ROWS
from datasets.exports.rows import ExportContext, ExportRow, ImageInfo

SCHEMAS: dict[str, dict[str, Any]] = {
    "classification": {
        "multiple": True,
        "labels": [{"name": "positive"}, {"name": "negative"}, {"name": 'mixed, "both"'}],
    },
    "ner": {
        "labels": [{"name": "PER"}, {"name": "LOC"}, {"name": "Org Name"}],
        "allow_overlap": True,
    },
    "boxes": {"labels": [{"name": "cat"}, {"name": "dog"}, {"name": "bird"}], "min_size": 0},
    "pairwise": {"choices": ["a", "b", "tie"], "strength": {"min": 1, "max": 3}},
    "rubric": {
        "criteria": [
            {"name": "helpfulness", "scale": {"min": 1, "max": 5}},
            {"name": "harmlessness", "scale": {"min": 0, "max": 2}, "required": False},
        ],
        "comments": True,
    },
    "free_text": {"mode": "rewrite", "min_length": 1},
    "chat": {
        "turn_ratings": {"min": 1, "max": 5},
        "conversation_rating": {"min": 1, "max": 5},
        "flags": [{"name": "unsafe"}, {"name": "wrong"}],
        "comments": True,
    },
}
TEXTS = [
    'Zoë said "hi, there", then left.\nNext line: 東京 😀 — done',
    "مرحبا بالعالم, 1,2,3; tabs\tand\r\nCRLF 'quotes'",
    "   leading spaces and a trailing one ",
]
METADATA: list[dict[str, Any] | None] = [
    {},
    None,
    {"source": 'web, "quoted"', "nested": {"b": [1, 2.5, None], "a": "ß"}},
]
ANNOTATORS = ["ann-3f9c", "ann-a17e", "ann-ff02"]


class OnlyWrites(io.RawIOBase):
    """A stream like the version job's: write-only, neither seekable nor telling its place."""

    def __init__(self) -> None:
        super().__init__()
        self.data = bytearray()
        self.writes = 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.data += data
        self.writes += 1
        return len(data)

    def seekable(self) -> bool:
        return False

    def tell(self) -> int:
        raise io.UnsupportedOperation("tell")

    def seek(self, *_args: Any) -> int:
        raise io.UnsupportedOperation("seek")


def context(task_type: str, **options: Any) -> ExportContext:
    return ExportContext(
        project_name='Reviews "EU", 2025',
        task_type=task_type,
        label_schema=SCHEMAS[task_type],
        instructions="Label it.",
        version_name="v3",
        options=options,
    )


def write(name: str, rows: Any, task_type: str, **options: Any) -> tuple[int, bytes]:
    out = OnlyWrites()
    count = FORMATS[name].write(iter(rows), out, context(task_type, **options))  # type: ignore[arg-type]
    return count, bytes(out.data)


def make_row(
    task_type: str, task: int, annotator: int, data: dict[str, Any], result: dict[str, Any], **kw
) -> ExportRow:
    fields: dict[str, Any] = {
        "task_id": f"00000000-0000-4000-8000-{task:012d}",
        "external_id": None if task % 3 == 2 else f"ext-{task}",
        "data": data,
        "metadata": METADATA[task % 3],
        "annotation_id": f"10000000-0000-4000-8000-{task * 10 + annotator:012d}",
        "annotator": ANNOTATORS[annotator],
        "result": result,
        "review_state": ["accepted", "pending", ""][annotator % 3],
        "revision": 1 + annotator,
        "time_spent": 12.5 + task,
        "submitted_at": f"2025-03-0{1 + task % 9}T05:06:07Z",
        "agreement": None if task % 2 else 0.75,
        "is_gold": task == 1,
    }
    fields.update(kw)
    return ExportRow(**fields)


def classification_rows() -> list[ExportRow]:
    labels = [["positive"], ["negative", 'mixed, "both"'], ["positive"]]
    return [
        make_row("classification", task, who, {"text": TEXTS[task]}, {"labels": labels[who]})
        for task in range(3)
        for who in range(2)
    ]


NER_TEXT = "Ada Lovelace met Charles Babbage in London 😀 in 1833; Lon-don too."


def ner_rows() -> list[ExportRow]:
    spans = [
        {"start": 0, "end": 12, "label": "PER"},
        {"start": 17, "end": 32, "label": "PER"},
        {"start": 36, "end": 42, "label": "LOC"},
    ]
    return [
        make_row("ner", 0, 0, {"text": NER_TEXT}, {"spans": spans}),
        make_row("ner", 0, 1, {"text": NER_TEXT}, {"spans": spans[:1]}),
        make_row("ner", 1, 0, {"text": TEXTS[0]}, {"spans": []}),
    ]


IMAGES = [ImageInfo("file-1", "scans/a.png", 640, 480), ImageInfo("file-2", "b, c.jpg", 100, 50)]


def box_rows() -> list[ExportRow]:
    boxes = [
        {"x": 0.1, "y": 0.2, "w": 0.3, "h": 0.4, "label": "dog"},
        {"x": 0.0, "y": 0.0, "w": 1.0, "h": 1.0, "label": "cat"},
    ]
    return [
        make_row("boxes", 0, 0, {"image": "file-1"}, {"boxes": boxes}, image=IMAGES[0]),
        make_row("boxes", 0, 1, {"image": "file-1"}, {"boxes": boxes[:1]}, image=IMAGES[0]),
        make_row("boxes", 1, 0, {"image": "file-2"}, {"boxes": []}, image=IMAGES[1]),
    ]


def pairwise_data(task: int) -> dict[str, str]:
    return {
        "prompt": f"Question {task}: {TEXTS[task % 3]}",
        "response_a": f'Answer A{task}, "quoted"\nsecond line',
        "response_b": f"Answer B{task} — ünïcödé",
    }


def pairwise_rows(choices: list[list[str]], agreement: list[float | None]) -> list[ExportRow]:
    rows = []
    for task, picks in enumerate(choices):
        for who, pick in enumerate(picks):
            result: dict[str, Any] = {"choice": pick}
            if pick != "tie":
                result["strength"] = 1 + who
            if who == 0:
                result["rationale"] = 'It is "clearer", and shorter.'
            rows.append(
                make_row(
                    "pairwise", task, who, pairwise_data(task), result, agreement=agreement[task]
                )
            )
    return rows


def rubric_rows() -> list[ExportRow]:
    return [
        make_row(
            "rubric",
            0,
            0,
            {"prompt": "Explain tides.", "response": TEXTS[0]},
            {"scores": {"helpfulness": 4, "harmlessness": 2}, "comments": "Good,\nclear."},
        ),
        make_row("rubric", 1, 0, {"response": TEXTS[1]}, {"scores": {"helpfulness": 1}}),
    ]


def free_text_rows() -> list[ExportRow]:
    return [
        make_row(
            "free_text",
            0,
            0,
            {"prompt": "Write a haiku.", "response": "An old one."},
            {"text": "Autumn moonlight—\na worm digs silently\ninto the chestnut."},
        ),
        make_row("free_text", 1, 1, {"prompt": TEXTS[1]}, {"text": TEXTS[0]}),
    ]


CONVERSATION = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi 👋"},
    {"role": "assistant", "content": "Hello! How can I help?"},
    {"role": "user", "content": 'Tell me a secret, "please".'},
    {"role": "assistant", "content": "No.\nSorry."},
]


def chat_row(task: int, turns: dict[str, Any], conversation: int | None) -> ExportRow:
    result: dict[str, Any] = {"turns": turns}
    if conversation is not None:
        result["conversation"] = conversation
    return make_row("chat", task, 0, {"messages": CONVERSATION}, result)


def chat_rows() -> list[ExportRow]:
    return [
        chat_row(0, {"2": {"rating": 5}, "4": {"rating": 4}}, 5),
        chat_row(1, {"2": {"rating": 4}, "4": {"rating": 1, "flags": ["wrong"]}}, 2),
        chat_row(2, {"2": {"rating": 2, "flags": ["unsafe"]}, "4": {"rating": 5}}, 4),
    ]


ROWS_BY_TYPE = {
    "classification": classification_rows,
    "ner": ner_rows,
    "boxes": box_rows,
    "pairwise": lambda: pairwise_rows([["a", "b"], ["b", "tie"], ["a", "a"]], [0.5, None, 1.0]),
    "rubric": rubric_rows,
    "free_text": free_text_rows,
    "chat": chat_rows,
}


def expected_record(row: ExportRow) -> dict[str, Any]:
    return dataclasses.asdict(row)


# --- The registry and options --------------------------------------------------------------------


def test_every_format_named_in_the_issue_is_registered():
    assert set(FORMATS) == {
        "jsonl",
        "csv",
        "parquet",
        "hf",
        "coco",
        "conll",
        "preference",
        "sft",
        "rubric",
    }
    for name, fmt in FORMATS.items():
        assert fmt.name == name
        assert fmt.media_type
        assert fmt.extension


def test_an_unknown_format_is_a_400_listing_the_valid_names():
    for name in ("xlsx", None, 3, ""):
        with pytest.raises(ValidationFailed) as caught:
            format_get(name)
        assert caught.value.status == 400
        assert caught.value.code == "unknown_format"
        assert caught.value.details["field"] == "format"
        assert caught.value.details["allowed"] == list(FORMATS)
        assert "jsonl" in caught.value.message


@pytest.mark.parametrize(
    ("name", "task_type", "allowed"),
    [
        ("coco", "boxes", True),
        ("coco", "ner", False),
        ("conll", "ner", True),
        ("conll", "classification", False),
        ("preference", "pairwise", True),
        ("preference", "rubric", False),
        ("sft", "free_text", True),
        ("sft", "chat", True),
        ("sft", "pairwise", False),
        ("rubric", "rubric", True),
        ("rubric", "chat", False),
        ("jsonl", "chat", True),
        ("csv", "boxes", True),
        ("parquet", "ner", True),
        ("hf", "pairwise", True),
    ],
)
def test_formats_are_allowed_only_for_their_task_types(name, task_type, allowed):
    fmt = format_get(name)
    if allowed:
        format_allows(fmt, task_type)
        return
    with pytest.raises(ValidationFailed) as caught:
        format_allows(fmt, task_type)
    assert caught.value.code == "format_not_for_task_type"
    assert caught.value.details == {"field": "format", "task_types": sorted(fmt.task_types or [])}


@pytest.mark.parametrize(
    ("name", "task_type", "raw", "field"),
    [
        ("jsonl", "classification", {"delimiter": ";"}, "options.delimiter"),
        ("csv", "classification", {"bom": True}, "options.bom"),
        ("parquet", "ner", {"compression": "gzip"}, "options.compression"),
        ("hf", "ner", {"shard_rows": 999}, "options.shard_rows"),
        ("hf", "ner", {"shard_rows": "1000"}, "options.shard_rows"),
        ("hf", "ner", {"shard_rows": True}, "options.shard_rows"),
        ("preference", "pairwise", {"aggregate": "mean"}, "options.aggregate"),
        ("preference", "pairwise", {"ties": "keep"}, "options.ties"),
        ("preference", "pairwise", {"min_agreement": 1.5}, "options.min_agreement"),
        ("preference", "pairwise", {"min_agreement": True}, "options.min_agreement"),
        ("preference", "pairwise", {"min_agreement": "0.5"}, "options.min_agreement"),
        ("preference", "pairwise", {"style": "chatml"}, "options.style"),
        ("sft", "chat", {"min_turn_rating": 2.5}, "options.min_turn_rating"),
        ("sft", "chat", {"min_conversation_rating": 101}, "options.min_conversation_rating"),
        ("sft", "chat", {"exclude_flags": "unsafe"}, "options.exclude_flags"),
        ("sft", "chat", {"exclude_flags": ["unsafe", ""]}, "options.exclude_flags[1]"),
        ("sft", "chat", {"on_bad_turn": "skip"}, "options.on_bad_turn"),
        # Chat's options mean nothing to a free-text project: refused, not ignored.
        ("sft", "free_text", {"min_turn_rating": 3}, "options.min_turn_rating"),
        ("rubric", "rubric", {"normalize": "yes"}, "options.normalize"),
        ("coco", "boxes", {"categories": []}, "options.categories"),
        ("conll", "ner", {"scheme": "BILOU"}, "options.scheme"),
    ],
)
def test_each_bad_option_is_a_400_naming_it(name, task_type, raw, field):
    with pytest.raises(ValidationFailed) as caught:
        format_get(name).options(raw, task_type)
    assert caught.value.status == 400
    assert caught.value.code == "invalid_export_options"
    assert caught.value.details == {"field": field}
    assert caught.value.message.startswith(field + ": ")


def test_options_that_are_not_an_object_are_a_400_on_options():
    with pytest.raises(ValidationFailed) as caught:
        format_get("jsonl").options(["ties"], "pairwise")  # type: ignore[arg-type]
    assert caught.value.details == {"field": "options"}


def test_options_come_back_with_their_defaults_filled_in():
    assert format_get("jsonl").options({}, "ner") == {}
    assert format_get("parquet").options({}, "ner") == {"compression": "zstd"}
    assert format_get("hf").options({"compression": "snappy"}, "ner") == {
        "compression": "snappy",
        "shard_rows": 500_000,
    }
    assert format_get("preference").options({"min_agreement": 1}, "pairwise") == {
        "aggregate": "annotation",
        "min_agreement": 1.0,
        "style": "standard",
        "ties": "drop",
    }
    assert format_get("sft").options({}, "free_text") == {}
    assert format_get("sft").options({"exclude_flags": ["wrong", "unsafe", "wrong"]}, "chat") == {
        "exclude_flags": ["unsafe", "wrong"],
        "min_conversation_rating": None,
        "min_turn_rating": None,
        "on_bad_turn": "drop_conversation",
    }
    assert format_get("rubric").options({}, "rubric") == {"normalize": False}


# --- JSONL ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("task_type", sorted(ROWS_BY_TYPE))
def test_jsonl_holds_every_field_of_every_row(task_type):
    rows = ROWS_BY_TYPE[task_type]()
    count, data = write("jsonl", rows, task_type)
    assert count == len(rows)
    lines = data.decode().split("\n")
    assert lines[-1] == ""
    assert [json.loads(line) for line in lines[:-1]] == [expected_record(row) for row in rows]


def test_jsonl_keys_are_sorted_so_equal_rows_give_equal_bytes():
    row = classification_rows()[4]
    assert row.metadata is not None
    assert len(row.metadata) == 2
    reordered = {key: row.metadata[key] for key in reversed(list(row.metadata))}
    assert json.dumps(reordered) != json.dumps(row.metadata)
    shuffled = dataclasses.replace(row, metadata=reordered)
    assert write("jsonl", [row], "classification") == write("jsonl", [shuffled], "classification")


def test_jsonl_writes_integers_beyond_64_bits_in_metadata():
    row = dataclasses.replace(classification_rows()[0], metadata={"big": 2**70, "small": -(2**70)})
    _count, data = write("jsonl", [row], "classification")
    assert json.loads(data)["metadata"] == {"big": 2**70, "small": -(2**70)}


# --- CSV -----------------------------------------------------------------------------------------


def csv_expected(row: ExportRow, task_type: str) -> dict[str, Any]:
    keys = {
        "classification": ["text"],
        "ner": ["text"],
        "boxes": ["image"],
        "pairwise": ["prompt", "response_a", "response_b"],
        "rubric": ["response", "prompt"],
        "free_text": ["prompt", "response"],
        "chat": ["messages"],
    }[task_type]
    out: dict[str, Any] = {
        "task_id": row.task_id,
        "external_id": row.external_id or "",
        "annotation_id": row.annotation_id,
        "annotator": row.annotator,
        "review_state": row.review_state,
        "revision": str(row.revision),
        "time_spent": repr(row.time_spent),
        "submitted_at": row.submitted_at,
        "agreement": "" if row.agreement is None else repr(row.agreement),
        "is_gold": "true" if row.is_gold else "false",
    }
    for key in keys:
        value = row.data.get(key)
        out[f"data.{key}"] = "" if value is None else value
    if task_type == "boxes":
        assert row.image is not None
        out.update(
            {
                "image.id": row.image.id,
                "image.file_name": row.image.file_name,
                "image.width": str(row.image.width),
                "image.height": str(row.image.height),
            }
        )
    out["metadata"] = row.metadata
    out["result"] = row.result
    return out


@pytest.mark.parametrize("task_type", sorted(ROWS_BY_TYPE))
def test_csv_reads_back_with_the_csv_module_and_pandas(task_type):
    rows = ROWS_BY_TYPE[task_type]()
    count, data = write("csv", rows, task_type)
    assert count == len(rows)
    assert data.split(b"\r\n", 1)[0].startswith(b"task_id,external_id,annotation_id,")
    assert data.endswith(b"\r\n")
    read = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    expected = [csv_expected(row, task_type) for row in rows]
    assert list(read[0]) == list(expected[0])
    for got, want in zip(read, expected, strict=True):
        json_cells = {"metadata", "result", "data.messages"}
        assert {k: v for k, v in got.items() if k not in json_cells} == {
            k: v for k, v in want.items() if k not in json_cells
        }
        assert (json.loads(got["metadata"]) if got["metadata"] else None) == want["metadata"]
        assert json.loads(got["result"]) == want["result"]
        if "data.messages" in got:
            assert json.loads(got["data.messages"]) == want["data.messages"]
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert list(frame.columns) == list(expected[0])
    assert frame["task_id"].tolist() == [row.task_id for row in rows]
    assert frame["annotator"].tolist() == [row.annotator for row in rows]
    numbers = pd.read_csv(io.BytesIO(data))
    assert numbers["time_spent"].tolist() == [row.time_spent for row in rows]
    assert numbers["revision"].tolist() == [row.revision for row in rows]


def test_csv_columns_depend_on_the_task_type_not_on_the_rows():
    _count, empty = write("csv", [], "pairwise")
    _count, full = write("csv", pairwise_rows([["a"]], [None]), "pairwise")
    assert empty == full.split(b"\r\n", 1)[0] + b"\r\n"
    assert empty.decode().rstrip().split(",")[10:] == [
        "data.prompt",
        "data.response_a",
        "data.response_b",
        "metadata",
        "result",
    ]


# --- Parquet -------------------------------------------------------------------------------------


def parquet_expected(row: ExportRow) -> dict[str, Any]:
    record = dataclasses.asdict(row)
    for key in ("data", "metadata", "result"):
        record[key] = None if record[key] is None else json.dumps(record[key], sort_keys=True)
    return record


def parquet_rows(table: Any) -> list[dict[str, Any]]:
    out = []
    for record in table.to_pylist():
        for key in ("data", "metadata", "result"):
            if record[key] is not None:
                record[key] = json.dumps(json.loads(record[key]), sort_keys=True)
        record.setdefault("image", None)
        out.append(record)
    return out


@pytest.mark.parametrize("task_type", sorted(ROWS_BY_TYPE))
def test_parquet_reads_back_with_pyarrow_and_pandas(task_type):
    rows = ROWS_BY_TYPE[task_type]()
    count, data = write("parquet", rows, task_type)
    assert count == len(rows)
    table = pq.read_table(io.BytesIO(data))
    assert parquet_rows(table) == [parquet_expected(row) for row in rows]
    frame = pd.read_parquet(io.BytesIO(data))
    assert frame["task_id"].tolist() == [row.task_id for row in rows]
    assert [json.loads(cell) for cell in frame["result"]] == [row.result for row in rows]
    assert frame["is_gold"].dtype == bool


def test_parquet_schema_is_the_same_with_or_without_rows():
    _count, empty = write("parquet", [], "boxes")
    _count, full = write("parquet", box_rows(), "boxes", compression="snappy")
    assert pq.read_schema(io.BytesIO(empty)) == pq.read_schema(io.BytesIO(full))
    assert pq.read_table(io.BytesIO(empty)).num_rows == 0
    metadata = pq.ParquetFile(io.BytesIO(full)).metadata
    assert metadata.row_group(0).column(0).compression == "SNAPPY"


def tiny_rows(count: int) -> Iterator[ExportRow]:
    for index in range(count):
        yield make_row(
            "classification",
            index,
            index % 3,
            {"text": f"text number {index}"},
            {"labels": ["positive"]},
        )


def test_parquet_is_written_in_row_groups_of_bounded_size():
    count, data = write("parquet", tiny_rows(ROW_GROUP_ROWS + 10), "classification")
    assert count == ROW_GROUP_ROWS + 10
    metadata = pq.ParquetFile(io.BytesIO(data)).metadata
    assert [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)] == [
        ROW_GROUP_ROWS,
        10,
    ]
    assert metadata.row_group(0).column(0).compression == "ZSTD"


# --- The Hugging Face folder ---------------------------------------------------------------------

LOAD_SCRIPT = """
import json, sys
from datasets import load_dataset
loaded = load_dataset(sys.argv[1], cache_dir=sys.argv[2])
json_files = sys.argv[3:]
extra = {}
for path in json_files:
    part = load_dataset("json", data_files=path, cache_dir=sys.argv[2])["train"]
    extra[path] = {"rows": part.to_list(), "columns": part.column_names}
print(json.dumps({
    "splits": sorted(loaded),
    "rows": loaded["train"].to_list(),
    "features": {k: str(v) for k, v in loaded["train"].features.items()},
    "json": extra,
}))
"""


def hf_load(folder: Path, tmp: Path, *json_files: Path) -> dict[str, Any]:
    """Load the folder with Hugging Face ``datasets``, offline, in a process of its own: its
    top-level package is also called ``datasets``, like our app, which the tests import."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DJANGO"))}
    env.update(
        HF_DATASETS_OFFLINE="1",
        HF_HUB_OFFLINE="1",
        HF_HOME=str(tmp / "hf-home"),
        HF_HUB_DISABLE_TELEMETRY="1",
        TQDM_DISABLE="1",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            LOAD_SCRIPT,
            str(folder),
            str(tmp / "hf-cache"),
            *map(str, json_files),
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def untar(data: bytes, folder: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as archive:
        members = archive.getmembers()
        archive.extractall(folder, filter="data")
    return members


def test_hf_folder_loads_with_datasets_load_dataset(tmp_path):
    rows = box_rows()
    count, data = write("hf", rows, "boxes")
    assert count == len(rows)
    members = untar(data, tmp_path / "folder")
    assert [m.name for m in members] == ["data", "data/train-00000.parquet", "README.md"]
    assert {(m.mtime, m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, 0, "", "")}
    card = (tmp_path / "folder" / "README.md").read_text()
    assert card.startswith("---\n")
    front = card.split("---\n")[1]
    assert "license: other\n" in front
    assert "  - split: train\n    path: data/train-*.parquet\n" in front
    assert 'pretty_name: "Reviews \\"EU\\", 2025 (v3)"' in front
    assert "- Task type: boxes\n" in card
    assert "- Version: v3\n" in card
    assert "- Rows: 3 " in card
    assert "owns this data" in card
    loaded = hf_load(tmp_path / "folder", tmp_path)
    assert loaded["splits"] == ["train"]
    assert parquet_rows(_Table(loaded["rows"])) == [parquet_expected(row) for row in rows]
    assert loaded["features"]["revision"] == "Value('int64')"


class _Table:
    """Rows loaded elsewhere, read like a pyarrow table's ``to_pylist``."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows

    def to_pylist(self) -> list[dict[str, Any]]:
        return self.rows


def test_hf_folder_is_split_into_shards_that_load_in_order(tmp_path):
    count, data = write("hf", tiny_rows(2_500), "classification", shard_rows=1_000)
    assert count == 2_500
    members = untar(data, tmp_path / "folder")
    assert [m.name for m in members if m.name.endswith(".parquet")] == [
        "data/train-00000.parquet",
        "data/train-00001.parquet",
        "data/train-00002.parquet",
    ]
    sizes = [
        pq.read_metadata(tmp_path / "folder" / name).num_rows
        for name in (
            "data/train-00000.parquet",
            "data/train-00001.parquet",
            "data/train-00002.parquet",
        )
    ]
    assert sizes == [1_000, 1_000, 500]
    loaded = hf_load(tmp_path / "folder", tmp_path)
    assert [row["task_id"] for row in loaded["rows"]] == [row.task_id for row in tiny_rows(2_500)]


def test_an_empty_hf_folder_has_one_shard_with_the_columns(tmp_path):
    # datasets itself refuses an empty split ("corresponds to no data"), so this is read with
    # pyarrow: the columns are there for a consumer that checks them.
    count, data = write("hf", [], "pairwise")
    assert count == 0
    members = untar(data, tmp_path / "folder")
    assert [m.name for m in members] == ["data", "data/train-00000.parquet", "README.md"]
    shard = pq.read_table(tmp_path / "folder" / "data" / "train-00000.parquet")
    assert shard.num_rows == 0
    assert shard.schema == pq.read_schema(io.BytesIO(write("parquet", [], "pairwise")[1]))
    assert "- Rows: 0 " in (tmp_path / "folder" / "README.md").read_text()


def test_llm_formats_load_with_datasets_as_json(tmp_path):
    files = []
    for name, task_type in (
        ("preference", "pairwise"),
        ("sft", "chat"),
        ("sft", "free_text"),
        ("rubric", "rubric"),
    ):
        _count, data = write(name, ROWS_BY_TYPE[task_type](), task_type)
        files.append(tmp_path / f"{name}-{task_type}.jsonl")
        files[-1].write_bytes(data)
    _count, data = write("hf", rubric_rows(), "rubric")
    untar(data, tmp_path / "folder")
    loaded = hf_load(tmp_path / "folder", tmp_path, *files)["json"]
    preference = loaded[str(files[0])]
    assert preference["columns"][:3] == ["prompt", "chosen", "rejected"]
    assert len(preference["rows"]) == 5  # six judgements, one a tie
    chat = loaded[str(files[1])]
    assert chat["rows"][0]["messages"] == CONVERSATION
    assert chat["rows"][0]["ratings"] == [None, None, 5, None, 4]
    assert loaded[str(files[2])]["rows"][0]["messages"][1]["role"] == "assistant"
    assert loaded[str(files[3])]["rows"][1]["scores"] == {"helpfulness": 1, "harmlessness": None}


# --- COCO ----------------------------------------------------------------------------------------


def test_coco_loads_with_pycocotools_and_has_boxes_in_pixels(tmp_path):
    rows = box_rows()
    count, data = write("coco", rows, "boxes")
    assert count == 3
    path = tmp_path / "coco.json"
    path.write_bytes(data)
    coco = COCO(str(path))
    assert [coco.cats[i] for i in sorted(coco.cats)] == [
        {"id": 1, "name": "cat", "supercategory": ""},
        {"id": 2, "name": "dog", "supercategory": ""},
        {"id": 3, "name": "bird", "supercategory": ""},
    ]
    assert coco.imgs == {
        1: {"id": 1, "file_name": "scans/a.png", "width": 640, "height": 480},
        2: {"id": 2, "file_name": "b, c.jpg", "width": 100, "height": 50},
    }
    assert coco.getAnnIds(imgIds=[2]) == []
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[1]))
    assert [(a["id"], a["category_id"], a["annotator"]) for a in anns] == [
        (1, 2, ANNOTATORS[0]),
        (2, 1, ANNOTATORS[0]),
        (3, 2, ANNOTATORS[1]),
    ]
    assert anns[0]["bbox"] == [64.0, 96.0, 192.0, 192.0]
    assert anns[0]["area"] == pytest.approx(192.0 * 192.0)
    assert anns[1]["bbox"] == [0.0, 0.0, 640.0, 480.0]
    assert all(a["iscrowd"] == 0 and a["image_id"] == 1 for a in anns)
    assert coco.getCatIds(catNms=["dog"]) == [2]
    # pycocotools' evaluation takes the file as ground truth: its own boxes score AP 1.
    found = coco.loadRes([{**a, "score": 1.0} for a in coco.loadAnns(coco.getAnnIds())])
    evaluation = COCOeval(coco, found, "bbox")
    evaluation.evaluate()
    evaluation.accumulate()
    evaluation.summarize()
    assert evaluation.stats[0] == pytest.approx(1.0)


def test_coco_adds_a_category_for_a_label_the_schema_no_longer_has():
    row = box_rows()[1]
    old = dataclasses.replace(row, result={"boxes": [{**row.result["boxes"][0], "label": "fox"}]})
    _count, data = write("coco", [old], "boxes")
    document = json.loads(data)
    assert [c["name"] for c in document["categories"]] == ["cat", "dog", "bird", "fox"]
    assert document["annotations"][0]["category_id"] == 4
    assert list(document) == sorted(document)


def test_coco_refuses_a_box_row_without_its_image():
    row = dataclasses.replace(box_rows()[0], image=None)
    with pytest.raises(ExportFailed) as caught:
        write("coco", [row], "boxes")
    assert caught.value.code == "missing_image"
    assert caught.value.details == {"task_id": row.task_id}


# --- CoNLL ---------------------------------------------------------------------------------------


def conll_read(data: bytes, tmp_path: Path, monkeypatch) -> list[list[tuple[str, str]]]:
    """The file read by nltk's CoNLL corpus reader, our tag column as its chunk column."""
    (tmp_path / "ner.conll").write_bytes(data)
    monkeypatch.setenv("NLTK_DATA", str(tmp_path))  # nltk reads only below its data roots
    reader = ConllCorpusReader(
        str(tmp_path), ["ner.conll"], columntypes=("words", "pos", "ignore", "chunk")
    )
    return [[(word, tag) for word, _pos, tag in sent] for sent in reader.iob_sents() if sent]


def test_conll_tags_tokens_bio_and_reads_back_with_nltk(tmp_path, monkeypatch):
    rows = ner_rows()
    count, data = write("conll", rows, "ner")
    assert count == 3
    assert data.startswith(b"-DOCSTART- -X- -X- O\n\n")
    assert data.endswith(b" O\n\n")
    sentences = conll_read(data, tmp_path, monkeypatch)
    assert len(sentences) == 3
    assert sentences[0][:9] == [
        ("Ada", "B-PER"),
        ("Lovelace", "I-PER"),
        ("met", "O"),
        ("Charles", "B-PER"),
        ("Babbage", "I-PER"),
        ("in", "O"),
        ("London", "B-LOC"),
        ("😀", "O"),
        ("in", "O"),
    ]
    assert [word for word, _tag in sentences[2]] == TOKEN.findall(TEXTS[0])
    assert {tag for _word, tag in sentences[2]} == {"O"}
    reader = ConllCorpusReader(
        str(tmp_path), ["ner.conll"], columntypes=("words", "pos", "ignore", "chunk")
    )
    trees = [tree for tree in reader.chunked_sents() if len(tree)]
    entities = [
        (t.label(), " ".join(w for w, _p in t.leaves()))
        for t in trees[1].subtrees()
        if t.label() != "S"
    ]
    assert entities == [("PER", "Ada Lovelace")]
    assert [tag for _w, _p, tag in tree2conlltags(trees[0])][:2] == ["B-PER", "I-PER"]


def conll_tags(text: str, spans: list[dict[str, Any]]) -> list[tuple[str, str]]:
    row = make_row("ner", 0, 0, {"text": text}, {"spans": spans})
    _count, data = write("conll", [row], "ner")
    lines = data.decode().split("\n")[2:]
    return [(line.split(" ")[0], line.split(" ")[3]) for line in lines if line]


def test_conll_overlapping_spans_the_earliest_then_the_longest_wins():
    text = "New York City Hall"
    spans = [
        {"start": 0, "end": 8, "label": "LOC"},  # New York
        {"start": 0, "end": 13, "label": "Org Name"},  # New York City: longer, wins
        {"start": 9, "end": 18, "label": "PER"},  # City Hall: starts later
    ]
    assert conll_tags(text, spans) == [
        ("New", "B-Org_Name"),
        ("York", "I-Org_Name"),
        ("City", "I-Org_Name"),
        ("Hall", "B-PER"),
    ]


def test_conll_spans_off_token_boundaries_tag_the_tokens_they_touch():
    # "ondon" starts inside a token; "Lon" ends inside one; offsets count code points, so the
    # emoji before them is one position, as the API counts it.
    text = "😀 London Lon-don"
    assert text.index("ondon") == 3
    spans = [{"start": 3, "end": 8, "label": "LOC"}, {"start": 9, "end": 11, "label": "PER"}]
    assert conll_tags(text, spans) == [
        ("😀", "O"),
        ("London", "B-LOC"),
        ("Lon", "B-PER"),
        ("-", "O"),
        ("don", "O"),
    ]


def test_conll_adjacent_spans_of_one_label_each_begin_with_b():
    text = "Paris Berlin"
    spans = [{"start": 0, "end": 5, "label": "LOC"}, {"start": 6, "end": 12, "label": "LOC"}]
    assert conll_tags(text, spans) == [("Paris", "B-LOC"), ("Berlin", "B-LOC")]


def test_conll_leaves_out_an_annotation_without_tokens():
    row = make_row("ner", 0, 0, {"text": " \n\t "}, {"spans": []})
    count, data = write("conll", [row, *ner_rows()[:1]], "ner")
    assert count == 1
    assert data.count(b"\n\n") == 2


# --- Preference pairs ----------------------------------------------------------------------------


def lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode().splitlines()]


def test_preference_pairs_one_per_judgement_and_ties_dropped():
    rows = pairwise_rows([["a", "b"], ["b", "tie"]], [0.5, None])
    count, data = write("preference", rows, "pairwise")
    assert count == 3
    records = lines(data)
    first = pairwise_data(0)
    assert records[0] == {
        "prompt": first["prompt"],
        "chosen": first["response_a"],
        "rejected": first["response_b"],
        "task_id": rows[0].task_id,
        "annotator": ANNOTATORS[0],
        "strength": 1,
        "rationale": 'It is "clearer", and shorter.',
    }
    assert (records[1]["chosen"], records[1]["rejected"]) == (
        first["response_b"],
        first["response_a"],
    )
    assert records[1]["rationale"] is None
    assert records[1]["strength"] == 2
    assert [r["task_id"] for r in records] == [rows[0].task_id, rows[0].task_id, rows[2].task_id]
    assert list(records[0])[:3] == ["prompt", "chosen", "rejected"]


def test_preference_majority_writes_one_pair_per_task_by_plurality():
    rows = pairwise_rows(
        [["a", "a", "b"], ["b", "a"], ["tie", "b", "b"], ["a", "tie"]], [0.6, 0.0, 0.6, 0.0]
    )
    count, data = write("preference", rows, "pairwise", aggregate="majority")
    assert count == 2
    records = lines(data)
    assert [r["task_id"] for r in records] == [rows[0].task_id, rows[5].task_id]
    assert records[0]["chosen"] == pairwise_data(0)["response_a"]
    assert records[0]["votes"] == {"chosen": 2, "rejected": 1, "tie": 0}
    assert records[1]["chosen"] == pairwise_data(2)["response_b"]
    assert records[1]["votes"] == {"chosen": 2, "rejected": 0, "tie": 1}
    assert records[1]["agreement"] == 0.6
    assert "annotator" not in records[0]


def test_preference_min_agreement_drops_low_and_unknown_agreement():
    rows = pairwise_rows([["a", "a"], ["b", "b"], ["a"]], [0.9, 0.4, None])
    for aggregate, expected in (("annotation", 2), ("majority", 1)):
        count, data = write("preference", rows, "pairwise", aggregate=aggregate, min_agreement=0.5)
        assert count == expected
        assert {r["task_id"] for r in lines(data)} == {rows[0].task_id}


def test_preference_ties_can_fail_the_export():
    rows = pairwise_rows([["a"], ["tie"]], [None, None])
    with pytest.raises(ExportFailed) as caught:
        write("preference", rows, "pairwise", ties="error")
    assert caught.value.code == "ties_present"
    assert caught.value.details == {"task_id": rows[1].task_id}
    with pytest.raises(ExportFailed):
        write(
            "preference",
            pairwise_rows([["a", "b"]], [0.0]),
            "pairwise",
            aggregate="majority",
            ties="error",
        )


def test_preference_conversational_style_writes_messages():
    _count, data = write(
        "preference", pairwise_rows([["b"]], [None]), "pairwise", style="conversational"
    )
    record = lines(data)[0]
    task = pairwise_data(0)
    assert record["prompt"] == [{"role": "user", "content": task["prompt"]}]
    assert record["chosen"] == [{"role": "assistant", "content": task["response_b"]}]
    assert record["rejected"] == [{"role": "assistant", "content": task["response_a"]}]


# --- SFT -----------------------------------------------------------------------------------------


def test_sft_free_text_is_a_user_and_an_assistant_message():
    rows = free_text_rows()
    count, data = write("sft", rows, "free_text")
    assert count == 2
    assert lines(data) == [
        {
            "messages": [
                {"role": "user", "content": row.data["prompt"]},
                {"role": "assistant", "content": row.result["text"]},
            ],
            "task_id": row.task_id,
            "annotator": row.annotator,
        }
        for row in rows
    ]


def test_sft_chat_keeps_the_conversation_with_ratings_beside_it():
    count, data = write("sft", chat_rows(), "chat")
    assert count == 3
    record = lines(data)[1]
    assert record["messages"] == CONVERSATION
    assert record["ratings"] == [None, None, 4, None, 1]
    assert record["flags"] == [[], [], [], [], ["wrong"]]
    assert record["conversation_rating"] == 2


def test_sft_chat_drops_or_truncates_conversations_with_bad_turns():
    rows = chat_rows()
    count, data = write("sft", rows, "chat", min_turn_rating=3)
    assert count == 1
    assert [r["task_id"] for r in lines(data)] == [rows[0].task_id]
    count, data = write("sft", rows, "chat", min_turn_rating=3, on_bad_turn="truncate")
    assert count == 2
    truncated = lines(data)[1]
    assert truncated["task_id"] == rows[1].task_id
    assert truncated["messages"] == CONVERSATION[:3]
    assert truncated["ratings"] == [None, None, 4]
    count, data = write("sft", rows, "chat", exclude_flags=["unsafe"], on_bad_turn="truncate")
    assert [r["task_id"] for r in lines(data)] == [rows[0].task_id, rows[1].task_id]
    count, data = write("sft", rows, "chat", min_conversation_rating=4)
    assert [r["task_id"] for r in lines(data)] == [rows[0].task_id, rows[2].task_id]


# --- Rubric --------------------------------------------------------------------------------------


def test_rubric_rows_have_scores_in_schema_order_and_optional_normalization():
    rows = rubric_rows()
    count, data = write("rubric", rows, "rubric", normalize=True)
    assert count == 2
    first, second = lines(data)
    assert first == {
        "task_id": rows[0].task_id,
        "prompt": "Explain tides.",
        "response": TEXTS[0],
        "annotator": ANNOTATORS[0],
        "scores": {"helpfulness": 4, "harmlessness": 2},
        "comments": "Good,\nclear.",
        "normalized": {"helpfulness": 0.75, "harmlessness": 1.0},
    }
    assert list(second["scores"]) == ["helpfulness", "harmlessness"]
    assert second["prompt"] is None
    assert second["comments"] is None
    assert second["normalized"] == {"helpfulness": 0.0, "harmlessness": None}
    _count, plain = write("rubric", rows, "rubric")
    assert "normalized" not in lines(plain)[0]


# --- Determinism and memory ----------------------------------------------------------------------

EVERY_FORMAT = [
    ("jsonl", "chat"),
    ("csv", "pairwise"),
    ("parquet", "ner"),
    ("hf", "boxes"),
    ("coco", "boxes"),
    ("conll", "ner"),
    ("preference", "pairwise"),
    ("sft", "chat"),
    ("sft", "free_text"),
    ("rubric", "rubric"),
    ("parquet", "classification"),
]


@pytest.mark.parametrize(("name", "task_type"), EVERY_FORMAT)
def test_the_same_rows_give_the_same_bytes(name, task_type):
    first = write(name, ROWS_BY_TYPE[task_type](), task_type)
    second = write(name, ROWS_BY_TYPE[task_type](), task_type)
    assert first == second
    assert first[1]


def test_large_writes_reach_the_stream_in_batches():
    out = OnlyWrites()
    FORMATS["jsonl"].write(tiny_rows(20_000), out, context("classification"))  # type: ignore[arg-type]
    assert 1 < out.writes < 10


class Discard(io.RawIOBase):
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        return len(data)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["jsonl", "parquet"])
def test_writing_200k_rows_keeps_memory_bounded(name):
    # What holding the rows would take, from a sample of 10,000.
    tracemalloc.start()
    sample = list(tiny_rows(10_000))
    held = tracemalloc.get_traced_memory()[0] * 20
    del sample
    tracemalloc.stop()
    assert held > 100 << 20
    # pyarrow sets itself up on its first conversion (once per process): not the writer's cost.
    FORMATS[name].write(tiny_rows(5_000), Discard(), context("classification"))  # type: ignore[arg-type]

    tracemalloc.start()
    count = FORMATS[name].write(tiny_rows(200_000), Discard(), context("classification"))  # type: ignore[arg-type]
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 200_000
    assert peak < held / 20, (peak, held)
    # A row group lives in Arrow's memory, which tracemalloc does not see: the pool's peak
    # since the process started stays small too.
    assert (pa.default_memory_pool().max_memory() or 0) < 96 << 20
