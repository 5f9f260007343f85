"""CoNLL-2003-style BIO for NER projects.

The file starts with ``-DOCSTART- -X- -X- O`` and a blank line; then each exported annotation is
one block (a "sentence" to CoNLL readers) of lines ``token -X- _ TAG``, the four columns of
CoNLL-2003 (word, part of speech, chunk, entity) with the two we do not have left as
placeholders. Each block ends with a blank line; blocks come in the rows' order (task, then
annotator), so block ``n`` is row ``n`` of the JSONL of the same version.

- Tokens: the regular expression ``\\w+|[^\\w\\s]`` over the task's text (runs of letters and
  digits, and every other non-space character alone); offsets are code points, as spans are.
- A token is tagged by the spans it overlaps; where several do, the one that starts first wins,
  then the longest, then the label name. ``B-`` marks the first token a span tags, ``I-`` the
  ones after it. A span that starts or ends inside a token still tags that token.
- Whitespace in a label name becomes ``_`` (a tag is one column).
- An annotation whose text has no token at all is left out (and not counted).
"""

import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from datasets.exports.formats.base import BaseFormat, Batched
from datasets.exports.rows import ExportContext, ExportRow
from projects.models import TaskType

TOKEN = re.compile(r"\w+|[^\w\s]")
DOCSTART = b"-DOCSTART- -X- -X- O\n\n"
_SPACE = re.compile(r"\s+")


def _ordered_spans(spans: list[dict[str, Any]]) -> list[tuple[int, int, str]]:
    """Spans in precedence order: first start, then longest, then label name."""
    return sorted(
        ((span["start"], span["end"], _SPACE.sub("_", span["label"])) for span in spans),
        key=lambda span: (span[0], -span[1], span[2]),
    )


def tag_tokens(text: str, spans: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
    """Each token of the text with its BIO tag."""
    ordered = _ordered_spans(spans)
    active: list[tuple[int, int, str]] = []
    following, previous = 0, None
    for match in TOKEN.finditer(text):
        start, end = match.span()
        while following < len(ordered) and ordered[following][0] < end:
            active.append(ordered[following])
            following += 1
        # Spans that end before this token cannot reach any later one either.
        active = [span for span in active if span[1] > start]
        winner = active[0] if active else None
        if winner is None:
            yield match.group(), "O"
        else:
            yield match.group(), ("I-" if winner is previous else "B-") + winner[2]
        previous = winner


class Conll(BaseFormat):
    name = "conll"
    media_type = "text/plain"
    extension = "conll"
    task_types = frozenset({TaskType.NER.value})

    def write(self, rows: Iterable[ExportRow], out: BinaryIO, context: ExportContext) -> int:
        batch = Batched(out)
        batch.add(DOCSTART)
        count = 0
        for row in rows:
            text = row.data.get("text") or ""
            lines = [f"{token} -X- _ {tag}\n" for token, tag in tag_tokens(text, _spans(row))]
            if not lines:
                continue
            batch.add("".join(lines).encode() + b"\n")
            count += 1
        batch.flush()
        return count


def _spans(row: ExportRow) -> list[dict[str, Any]]:
    spans = row.result.get("spans", [])
    return spans if isinstance(spans, list) else []
