"""What every export format is written from: one row per exported annotation.

The rows come in a stable order (task by task in import order, then annotator by pseudonym), so
that the same filter over unchanged data always yields the same rows and so the same bytes.
"""

import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from django.db.models import Min

import vault
from datasets.exports import parallel
from datasets.exports.filters import ExportFilter
from datasets.exports.windows import Row, iso, windows
from datasets.models import ProjectFile
from labeling.models import (
    Annotation,
    AnnotationRevision,
    AnnotationStatus,
    Decision,
    Review,
    ReviewState,
    RevisionKind,
)
from labeling.scoring import score_gold
from projects.models import Project, TaskType


@dataclass(frozen=True, slots=True)
class ImageInfo:
    """The image a box task shows: the project file's id, its name, and its size in pixels."""

    id: str
    file_name: str
    width: int
    height: int


# Not frozen: a frozen dataclass costs three times as much to build, and a version builds
# millions. Writers only read rows.
@dataclass(slots=True)
class ExportRow:
    task_id: str
    # The task as imported: its data (per task type: text; image; prompt, response_a,
    # response_b; messages), its external id and metadata.
    external_id: str | None
    data: dict[str, Any]
    metadata: dict[str, Any] | None
    annotation_id: str
    # Pseudonymous id of the annotator, stable within the project, never an email or a user id.
    annotator: str
    # The result in the task's own order (pairwise sides un-randomized); shapes in docs/work.md.
    result: dict[str, Any]
    # "" (the project does not review), "accepted" or "pending" (when exporting all submitted).
    review_state: str
    revision: int
    time_spent: float
    # ISO 8601, UTC, with Z.
    submitted_at: str
    # Agreement of this task's exported annotations with each other (0..1), None below two.
    agreement: float | None
    is_gold: bool
    # Box projects only: the image the task shows.
    image: ImageInfo | None = None


def image_record(image: ImageInfo | None) -> dict[str, Any] | None:
    if image is None:
        return None
    return {
        "id": image.id,
        "file_name": image.file_name,
        "width": image.width,
        "height": image.height,
    }


def row_record(row: ExportRow) -> dict[str, Any]:
    """A row as a JSON Lines record: every field, the image as an object (or null)."""
    return {
        "task_id": row.task_id,
        "external_id": row.external_id,
        "data": row.data,
        "metadata": row.metadata,
        "annotation_id": row.annotation_id,
        "annotator": row.annotator,
        "result": row.result,
        "review_state": row.review_state,
        "revision": row.revision,
        "time_spent": row.time_spent,
        "submitted_at": row.submitted_at,
        "agreement": row.agreement,
        "is_gold": row.is_gold,
        "image": image_record(row.image),
    }


@dataclass(frozen=True, slots=True)
class ExportContext:
    """What a format needs besides the rows."""

    project_name: str
    task_type: str
    label_schema: dict[str, Any]
    instructions: str
    version_name: str
    # Per-format options, validated by the format (e.g. {"ties": "drop"} for preference pairs).
    options: dict[str, Any]


# --- Reading the rows -----------------------------------------------------------------------


def pseudonyms(project_id: uuid.UUID) -> Callable[[Any], str]:
    """The project's pseudonym of a user: stable within the project, unlinkable across
    projects and meaningless without the project key (a keyed hash of the user's id)."""
    digest = vault.fingerprinter(project_id, "person.pseudonym").digest
    cache: dict[Any, str] = {}

    def of(user_id: Any) -> str:
        name = cache.get(user_id)
        if name is None:
            name = cache[user_id] = "p-" + digest(str(user_id).encode()).hex()[:16]
        return name

    return of


# An annotation to export: id, annotator, result, review state, revision, time spent,
# submitted at (ISO text).
_Judged = tuple[str, Any, dict[str, Any], str, int, float, str]


class RowReader:
    """Reads a project's annotations for a version, as ExportRows, in a stable order.

    Annotations changed after the filter's ``until`` are read from their history (revisions
    and reviews), so that a version holds the project as it stood then.
    """

    def __init__(self, project: Project, flt: ExportFilter) -> None:
        self.project = project
        self.flt = flt
        self.annotators: Counter[str] = Counter()
        self._pseudonym = pseudonyms(project.pk)
        self._payloads = vault.field_sealer(project.pk, "task.payload")
        self._results = vault.field_sealer(project.pk, "annotation.result")
        self._revisions = vault.field_sealer(project.pk, "annotation.revision")
        self._images: dict[str, ImageInfo | None] = {}
        self._one_pass = (
            flt.labels is None and flt.min_agreement is None and project.task_type != TaskType.BOXES
        )

    def count_expected(self) -> int:
        """About how many rows the version will have (for progress): the submitted work."""
        rows = Annotation.objects.filter(project=self.project, status=AnnotationStatus.SUBMITTED)
        if not self.flt.include_gold:
            rows = rows.filter(is_gold=False)
        return rows.count()

    def __iter__(self) -> Iterator[ExportRow]:
        for rows in windows(self.project, self.flt):
            yield from self._window(rows)

    def records(self) -> Iterator[list[dict[str, Any]]]:
        """The same rows as ``row_record`` makes them (the JSON Lines shape), a window at a
        time (``window_records``)."""
        for rows in windows(self.project, self.flt):
            yield self.window_records(rows)

    def lines(self, encode: parallel.Encode) -> parallel.Lines:
        """``records`` encoded by ``encode`` a window at a time, each with its count: by helper
        processes where the build can use them (``parallel.py``), else here."""
        if parallel.usable():
            yield from parallel.lines(self, encode)
            return
        for records in self.records():
            yield encode(records), len(records)

    def window_records(self, rows: list[Row]) -> list[dict[str, Any]]:
        """A window's records. Windows with nothing to work out (no annotation changed after
        ``until``, no label or agreement filter, no images) are read in one pass that builds
        no ExportRow: about a quarter less CPU to read and encode them
        (docs/performance.md)."""
        if self._one_pass and not any(row[9] for row in rows):
            return self._records(rows)
        return [row_record(row) for row in self._window(rows)]

    def _window(self, rows: list[Row]) -> Iterator[ExportRow]:
        tasks, judged = self._judged(rows)
        in_order = [
            (task_id, gold, payload, judged[task_id])
            for _seq, task_id, gold, payload in sorted(tasks.values())
            if task_id in judged
        ]
        yield from self._rows(in_order)

    def _records(self, rows: list[Row]) -> list[dict[str, Any]]:
        """``_window``'s rows as records, for a window where no annotation changed after
        ``until`` and no filter needs the results: the same checks, order and figures."""
        pseudonym = self._pseudonym
        accepted_only = self.flt.status != "submitted"  # as _wanted decides
        accepted, rejected = ReviewState.ACCEPTED, ReviewState.REJECTED
        # (seq, pseudonym, row) of each annotation to export: tasks in import order, each
        # task's annotations by pseudonym, as _rows orders them.
        kept = sorted(
            (row[11], pseudonym(row[3]), row)
            for row in rows
            if not (row[8] is None or row[4] is None or row[10])
            and (row[5] == accepted if accepted_only else row[5] != rejected)
        )
        if not kept:
            return []
        results = self._results.unseal_batch([(row[2], row[4]) for _, _, row in kept])
        firsts = [n for n, item in enumerate(kept) if n == 0 or item[0] != kept[n - 1][0]]
        contents = iter(self._payloads.unseal_batch([kept[n][2][:2] for n in firsts]))
        # The agreement of each task with more than one annotation, by its sequence number.
        agreements = {
            kept[first][0]: self._agreement(results[first:end])
            for first, end in zip(firsts, [*firsts[1:], len(kept)], strict=True)
            if end - first > 1
        }
        self.annotators.update(map(itemgetter(1), kept))
        out: list[dict[str, Any]] = []
        append = out.append
        task_seq = None
        data = external_id = metadata = agreement = None
        for (seq, name, row), result in zip(kept, results, strict=True):
            if seq != task_seq:
                task_seq, content = seq, next(contents)
                data = content.get("data", {})
                external_id, metadata = content.get("external_id"), content.get("metadata")
                agreement = agreements.get(seq)
            append(
                {
                    "task_id": row[0],
                    "external_id": external_id,
                    "data": data,
                    "metadata": metadata,
                    "annotation_id": row[2],
                    "annotator": name,
                    "result": result,
                    "review_state": row[5],
                    "revision": row[6],
                    "time_spent": row[7],
                    "submitted_at": row[8],
                    "agreement": agreement,
                    "is_gold": row[12],
                    "image": None,
                }
            )
        return out

    def _judged(
        self, rows: list[Row]
    ) -> tuple[dict[str, tuple[int, str, bool, Any]], dict[str, list[_Judged]]]:
        """The window's tasks (seq, id, gold, sealed payload) and the annotations to export,
        by task."""
        tasks: dict[str, tuple[int, str, bool, Any]] = {}
        current: list[Row] = []
        late: list[tuple[str, str, Any, float]] = []
        wanted = self._wanted
        for row in rows:
            (
                task_id, payload, pk, annotator_id, result, review, _revision, spent, submitted,
                changed, early, seq, gold,
            ) = row  # fmt: skip
            if task_id not in tasks:
                tasks[task_id] = (seq, task_id, gold, payload)
            if changed:
                late.append((pk, task_id, annotator_id, spent))
            elif not (submitted is None or result is None or early or not wanted(review)):
                current.append(row)
        opened = self._results.unseal_batch([(row[2], row[4]) for row in current])
        out: dict[str, list[_Judged]] = defaultdict(list)
        for row, result in zip(current, opened, strict=True):
            (
                task_id, _payload, pk, annotator_id, _sealed, review, revision, spent, submitted,
                _changed, _early, _seq, _gold,
            ) = row  # fmt: skip
            # submitted is not None: such rows were left out above.
            judged = (pk, annotator_id, result, review, revision, spent, submitted)
            out[task_id].append(judged)  # type: ignore[arg-type]
        for task_id, judged in self._as_of_until(late):
            out[task_id].append(judged)
        return tasks, out

    def _wanted(self, review_state: str) -> bool:
        if review_state == ReviewState.REJECTED:
            return False
        return self.flt.status == "submitted" or review_state == ReviewState.ACCEPTED

    def _as_of_until(
        self, late: list[tuple[str, str, Any, float]]
    ) -> Iterator[tuple[str, _Judged]]:
        """Annotations changed after ``until``, as they stood at ``until``: their last revision
        made by then, and the review of that revision made by then, if any."""
        if not late:
            return
        until = self.flt.until
        ids = [row[0] for row in late]
        revisions: dict[str, Any] = {}
        for made in (
            AnnotationRevision.objects.filter(annotation_id__in=ids, created_at__lte=until)
            .order_by("annotation_id", "number")
            .values_list("annotation_id", "pk", "number", "kind", "result", "created_at")
        ):
            revisions[str(made[0])] = made  # the last one made by then wins
        decisions: dict[tuple[str, int], str] = {}
        for annotation_id, number, decision in (
            Review.objects.filter(annotation_id__in=ids, created_at__lte=until)
            .order_by("annotation_id", "created_at")
            .values_list("annotation_id", "revision", "decision")
        ):
            decisions[str(annotation_id), number] = decision
        first_submitted = {
            str(annotation_id): first
            for annotation_id, first in AnnotationRevision.objects.filter(
                annotation_id__in=ids, created_at__lte=until
            )
            .values("annotation_id")
            .annotate(first=Min("created_at"))
            .values_list("annotation_id", "first")
        }
        for pk, task_id, annotator_id, spent in late:
            rev = revisions.get(pk)
            if rev is None:
                continue  # not submitted by then
            _annotation, rev_pk, number, kind, sealed, _made = rev
            submitted = first_submitted[pk]
            if self.flt.since is not None and submitted < self.flt.since:
                continue
            review: str
            if not self.project.review_required:
                review = ReviewState.NONE
            elif kind == RevisionKind.CORRECTION:
                review = ReviewState.ACCEPTED
            else:
                review = _REVIEW_OF_DECISION.get(
                    decisions.get((pk, number), ""), ReviewState.PENDING
                )
            if not self._wanted(review):
                continue
            result = self._revisions.unseal(str(rev_pk), sealed)
            yield task_id, (pk, annotator_id, result, review, number, spent, iso(submitted))

    def _rows(self, tasks: list[tuple[str, bool, Any, list[_Judged]]]) -> Iterator[ExportRow]:
        """The window's rows: task by task, each task's annotations by pseudonym."""
        pseudonym, min_agreement = self._pseudonym, self.flt.min_agreement
        kept: list[tuple[str, bool, Any, list[tuple[str, _Judged]], float | None]] = []
        for task_id, is_gold, payload, judged in tasks:
            named = [(pseudonym(j[1]), j) for j in judged]
            agreement = None
            if len(named) > 1:
                named.sort(key=itemgetter(0))
                agreement = self._agreement([j[2] for _name, j in named])
            if min_agreement is not None and (agreement is None or agreement < min_agreement):
                continue
            kept.append((task_id, is_gold, payload, named, agreement))
        contents = self._payloads.unseal_batch([(task[0], task[2]) for task in kept])
        labels, boxes = self.flt.labels, self.project.task_type == TaskType.BOXES
        counts = self.annotators
        for (task_id, is_gold, _, named, agreement), content in zip(kept, contents, strict=True):
            data = content.get("data", {})
            external_id, metadata = content.get("external_id"), content.get("metadata")
            image = self._image(data.get("image")) if boxes else None
            for name, (pk, _annotator, result, review, revision, spent, submitted) in named:
                if labels is not None and not (_labels_of(result) & labels):
                    continue
                counts[name] += 1
                yield ExportRow(
                    task_id=task_id,
                    external_id=external_id,
                    data=data,
                    metadata=metadata,
                    annotation_id=pk,
                    annotator=name,
                    result=result,
                    review_state=review,
                    revision=revision,
                    time_spent=spent,
                    submitted_at=submitted,
                    agreement=agreement,
                    is_gold=is_gold,
                    image=image,
                )

    def _agreement(self, results: list[dict[str, Any]]) -> float | None:
        """The mean agreement of every pair of the task's results (each pair scored both
        ways, so the figure does not depend on who is first), rounded for stable output."""
        if len(results) < 2:
            return None
        project = self.project
        total = 0.0
        pairs = 0
        for a, b in itertools.combinations(results, 2):
            try:
                total += score_gold(
                    task_type=project.task_type, label_schema=project.label_schema, result=a, gold=b
                )
                total += score_gold(
                    task_type=project.task_type, label_schema=project.label_schema, result=b, gold=a
                )
            except ValueError:
                continue
            pairs += 2
        return round(total / pairs, 4) if pairs else None

    def _image(self, file_id: Any) -> ImageInfo | None:
        if not isinstance(file_id, str):
            return None
        if file_id not in self._images:
            pk = _uuid_or_none(file_id)
            file = ProjectFile.objects.filter(project=self.project, pk=pk).first() if pk else None
            self._images[file_id] = (
                None
                if file is None
                else ImageInfo(
                    id=str(file.pk),
                    file_name=vault.unseal_text(self.project.pk, "file.name", file.pk, file.name),
                    width=file.width,
                    height=file.height,
                )
            )
        return self._images[file_id]


_REVIEW_OF_DECISION: dict[str, str] = {
    Decision.ACCEPT: ReviewState.ACCEPTED,
    Decision.CORRECT: ReviewState.ACCEPTED,
    Decision.REJECT: ReviewState.REJECTED,
}


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _labels_of(result: dict[str, Any]) -> set[str]:
    """The label names a classification, span or box result uses."""
    if "labels" in result:
        return set(result["labels"])
    items = result.get("spans") or result.get("boxes") or []
    return {item["label"] for item in items}
