"""What every export format is written from: one row per exported annotation.

The rows come in a stable order (task by task in import order, then annotator by pseudonym), so
that the same filter over unchanged data always yields the same rows and so the same bytes.
"""

import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Min, Q

import vault
from datasets.exports.filters import ExportFilter
from datasets.models import ProjectFile
from labeling.models import (
    Annotation,
    AnnotationRevision,
    AnnotationStatus,
    Decision,
    Review,
    ReviewState,
    RevisionKind,
    Task,
    TaskState,
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


@dataclass(frozen=True, slots=True)
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

# Tasks per window: one query finds where the window ends, one reads its annotations.
_BATCH = 5000


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


def _iso(moment: datetime) -> str:
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")[:26] + "Z"


@dataclass(slots=True)
class _Judged:
    pk: uuid.UUID
    annotator_id: Any
    result: dict[str, Any]
    review_state: str
    revision: int
    time_spent: float
    submitted_at: datetime


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

    def count_expected(self) -> int:
        """About how many rows the version will have (for progress): the submitted work."""
        rows = Annotation.objects.filter(project=self.project, status=AnnotationStatus.SUBMITTED)
        if not self.flt.include_gold:
            rows = rows.filter(is_gold=False)
        return rows.count()

    def _window(self, after: int, upto: int | None) -> Any:
        """The submitted annotations of the tasks with ``after < seq <= upto``, with their
        task, in task order: one query, over the task index and the annotations' index."""
        rows = Annotation.objects.filter(
            project=self.project,
            status=AnnotationStatus.SUBMITTED,
            task__project=self.project,
            task__seq__gt=after,
        )
        if upto is not None:
            rows = rows.filter(task__seq__lte=upto)
        if self.flt.complete_only:
            rows = rows.filter(task__state=TaskState.COMPLETE)
        else:
            rows = rows.filter(task__state__in=(TaskState.OPEN, TaskState.COMPLETE))
        if not self.flt.include_gold:
            rows = rows.filter(task__is_gold=False)
        # Whether the annotation changed after ``until`` is decided by the database: parsing
        # one more timestamp per row costs more than everything else the row needs.
        late = ExpressionWrapper(Q(updated_at__gt=self.flt.until), output_field=BooleanField())
        return (
            rows.order_by("task__seq")
            .annotate(late=late)
            .values_list(
                "task_id",
                "task__payload",
                "task__is_gold",
                "pk",
                "annotator_id",
                "result",
                "review_state",
                "revision",
                "time_spent",
                "submitted_at",
                "late",
            )
        )

    def __iter__(self) -> Iterator[ExportRow]:
        seqs = Task.objects.filter(project=self.project).order_by("seq")
        last = -1
        while True:
            bound = list(
                seqs.filter(seq__gt=last).values_list("seq", flat=True)[_BATCH - 1 : _BATCH]
            )
            upto = bound[0] if bound else None
            tasks, judged = self._judged(self._window(last, upto))
            for task_id, (payload, is_gold) in tasks.items():
                found = judged.get(task_id)
                if found:
                    yield from self._rows(task_id, payload, is_gold, found)
            if upto is None:
                return
            last = upto

    def _judged(
        self, rows: Any
    ) -> tuple[dict[uuid.UUID, tuple[Any, bool]], dict[uuid.UUID, list[_Judged]]]:
        """The window's tasks (payload, gold) in order, and their annotations to export."""
        since = self.flt.since
        unseal = self._results.unseal
        tasks: dict[uuid.UUID, tuple[Any, bool]] = {}
        out: dict[uuid.UUID, list[_Judged]] = defaultdict(list)
        late: list[tuple[Any, ...]] = []
        for (
            task_id, payload, is_gold, pk, annotator_id, result, review, revision, spent,
            submitted, changed,
        ) in rows:  # fmt: skip
            if task_id not in tasks:
                tasks[task_id] = (payload, is_gold)
            if changed:
                late.append((pk, task_id, annotator_id, spent))
                continue
            if submitted is None or result is None:
                continue
            if (since is not None and submitted < since) or not self._wanted(review):
                continue
            out[task_id].append(
                _Judged(pk, annotator_id, unseal(str(pk), result), review, revision, spent,
                        submitted)
            )  # fmt: skip
        for task_id, judged in self._as_of_until(late):
            out[task_id].append(judged)
        return tasks, out

    def _wanted(self, review_state: str) -> bool:
        if review_state == ReviewState.REJECTED:
            return False
        return self.flt.status == "submitted" or review_state == ReviewState.ACCEPTED

    def _as_of_until(self, late: list[tuple[Any, ...]]) -> Iterator[tuple[uuid.UUID, _Judged]]:
        """Annotations changed after ``until``, as they stood at ``until``: their last revision
        made by then, and the review of that revision made by then, if any."""
        if not late:
            return
        until = self.flt.until
        ids = [row[0] for row in late]
        revisions: dict[Any, Any] = {}
        for made in (
            AnnotationRevision.objects.filter(annotation_id__in=ids, created_at__lte=until)
            .order_by("annotation_id", "number")
            .values_list("annotation_id", "pk", "number", "kind", "result", "created_at")
        ):
            revisions[made[0]] = made  # the last one made by then wins
        decisions: dict[tuple[Any, int], str] = {}
        for annotation_id, number, decision in (
            Review.objects.filter(annotation_id__in=ids, created_at__lte=until)
            .order_by("annotation_id", "created_at")
            .values_list("annotation_id", "revision", "decision")
        ):
            decisions[annotation_id, number] = decision
        first_submitted = dict(
            AnnotationRevision.objects.filter(annotation_id__in=ids, created_at__lte=until)
            .values("annotation_id")
            .annotate(first=Min("created_at"))
            .values_list("annotation_id", "first")
        )
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
            yield task_id, _Judged(pk, annotator_id, result, review, number, spent, submitted)

    def _rows(
        self, task_id: uuid.UUID, payload: bytes | memoryview, is_gold: bool, judged: list[_Judged]
    ) -> Iterator[ExportRow]:
        named = sorted(((self._pseudonym(j.annotator_id), j) for j in judged), key=itemgetter(0))
        agreement = self._agreement([j.result for _name, j in named])
        if self.flt.min_agreement is not None and (
            agreement is None or agreement < self.flt.min_agreement
        ):
            return
        content = self._payloads.unseal(str(task_id), payload)
        data = content.get("data", {})
        image = self._image(data.get("image")) if self.project.task_type == TaskType.BOXES else None
        for name, j in named:
            if self.flt.labels is not None and not (_labels_of(j.result) & self.flt.labels):
                continue
            self.annotators[name] += 1
            yield ExportRow(
                task_id=str(task_id),
                external_id=content.get("external_id"),
                data=data,
                metadata=content.get("metadata"),
                annotation_id=str(j.pk),
                annotator=name,
                result=j.result,
                review_state=j.review_state,
                revision=j.revision,
                time_spent=round(j.time_spent, 3),
                submitted_at=_iso(j.submitted_at),
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
