"""Tasks: one item of a project's dataset, sealed, with what the work queue needs in clear.

Content (the data, metadata and external id, pre-annotations, gold answers) is stored only
sealed through the vault, bound to the task's id. What stays in clear is what the database must
compare or order: priority, state, counts, and keyed fingerprints (``vault.fingerprints``) that
enforce "no duplicate payload" and "one task per external id" per project without revealing
either.

``seq`` orders a project's tasks: ``import number << 32 | row``, so the tasks of one import are
one contiguous range (what the data browser filters on and an import's deletion removes), and
"oldest first" is the order they were imported in.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from projects.models import Project

SEQ_IMPORT_SHIFT = 32


class TaskState(models.TextChoices):
    # Written by an import that has not finished: seen by no one, removed if it fails.
    STAGED = "staged", "Staged"
    OPEN = "open", "Open"
    COMPLETE = "complete", "Complete"


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by the (project, seq) constraint below, which every lookup starts with.
    # No foreign key in the database: its check ran once per inserted row (a quarter of a
    # million-row import's time). Tasks are written only by imports, and each transaction
    # that writes them first takes the lock that check took, on the project's row, once
    # (``datasets.writers.hold_project``): the project exists, is not being deleted, and
    # cannot be until the rows are committed. Deleting a project deletes its tasks first.
    project = models.ForeignKey(
        Project,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    seq = models.BigIntegerField()
    state = models.CharField(max_length=8, choices=TaskState.choices, default=TaskState.OPEN)
    priority = models.SmallIntegerField(default=0)
    # Annotations submitted (or accepted, when the project reviews) so far.
    annotation_count = models.PositiveSmallIntegerField(default=0)
    # Slots the work queue may still hand out: overlap minus the annotations that hold one
    # (leased, submitted, in review or accepted). Gold tasks keep 0: they are handed out by
    # the gold mix, to every annotator, never by the main queue.
    open_slots = models.PositiveSmallIntegerField(default=0)
    # Sealed (vault kinds task.payload, task.prediction, task.gold). The payload holds the
    # task's data, external id and metadata: {"data": {...}, "external_id": ..., "metadata": ...}.
    payload = models.BinaryField()
    prediction = models.BinaryField(null=True)
    gold = models.BinaryField(null=True)
    is_gold = models.BooleanField(default=False)
    # Keyed fingerprints (vault.fingerprints) of the payload and of the external id.
    fingerprint = models.BinaryField(max_length=16)
    external_key = models.BinaryField(max_length=16, null=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "seq"], name="task_seq"),
            models.UniqueConstraint(fields=["project", "fingerprint"], name="task_fingerprint"),
            models.UniqueConstraint(
                fields=["project", "external_key"],
                condition=Q(external_key__isnull=False),
                name="task_external_key",
            ),
        ]
        indexes = [
            # The work queue: tasks with a slot to hand out, highest priority first, then
            # oldest. Partial, so that the first entry is the answer, however large the project.
            models.Index(
                fields=["project", "-priority", "seq"],
                condition=Q(state="open", open_slots__gt=0),
                name="task_ready",
            ),
            # Gold tasks: few, found without scanning the others (data browser, quality).
            models.Index(fields=["project", "seq"], condition=Q(is_gold=True), name="task_gold"),
        ]

    def __str__(self) -> str:
        return f"task {self.pk}"

    @property
    def import_number(self) -> int:
        return self.seq >> SEQ_IMPORT_SHIFT

    @property
    def row(self) -> int:
        return self.seq & ((1 << SEQ_IMPORT_SHIFT) - 1)


class AnnotationStatus(models.TextChoices):
    # Holds one of the task's slots until the lease ends (a draft may be saved meanwhile).
    LEASED = "leased", "Leased"
    # Holds its slot for good, unless a reviewer rejects it.
    SUBMITTED = "submitted", "Submitted"
    SKIPPED = "skipped", "Skipped"
    RELEASED = "released", "Released"
    EXPIRED = "expired", "Expired"


class ReviewState(models.TextChoices):
    NONE = "", "Not reviewed"
    PENDING = "pending", "Awaiting review"
    ACCEPTED = "accepted", "Accepted"
    # The slot went back to the queue; the author may still revise and resubmit.
    REJECTED = "rejected", "Rejected"


class SkipReason(models.TextChoices):
    UNCLEAR = "unclear", "The task or the instructions are unclear"
    EXPERTISE = "expertise", "Needs expertise I do not have"
    BROKEN = "broken", "The data is broken or missing"
    SENSITIVE = "sensitive", "Offensive or sensitive content"
    OTHER = "other", "Other"


class Annotation(models.Model):
    """One annotator's slot on one task: leased by the queue, then drafted, submitted, reviewed.

    At most one per (task, annotator), which is what makes "never the same task twice" hold
    whatever the concurrency. Results and drafts are sealed (``annotation.result``,
    ``annotation.draft``, bound to this row's id).
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="+", db_index=False)
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    status = models.CharField(max_length=10, choices=AnnotationStatus.choices)
    review_state = models.CharField(
        max_length=10, choices=ReviewState.choices, default=ReviewState.NONE, blank=True
    )
    lease_expires_at = models.DateTimeField(null=True)
    is_gold = models.BooleanField(default=False)
    # Pairwise tasks: whether this annotator was shown the two responses exchanged.
    swapped = models.BooleanField(default=False)
    result = models.BinaryField(null=True)
    draft = models.BinaryField(null=True)
    draft_saved_at = models.DateTimeField(null=True)
    revision = models.PositiveIntegerField(default=0)
    time_spent = models.FloatField(default=0.0, help_text="Seconds, summed over sessions.")
    gold_score = models.FloatField(null=True)
    skip_reason = models.CharField(max_length=10, choices=SkipReason.choices, blank=True)
    skip_note = models.BinaryField(null=True)
    review_leased_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    review_lease_expires_at = models.DateTimeField(null=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    submitted_at = models.DateTimeField(null=True)
    reviewed_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "annotator"], name="annotation_one_each"),
        ]
        indexes = [
            # An annotator's leases and history in a project.
            models.Index(fields=["annotator", "project", "status"], name="annotation_mine"),
            # Leases to expire: only live leases are in it.
            models.Index(
                fields=["project", "lease_expires_at"],
                condition=Q(status="leased"),
                name="annotation_lease",
            ),
            # The review queue: oldest submission first.
            models.Index(
                fields=["project", "submitted_at"],
                condition=Q(review_state="pending"),
                name="annotation_review",
            ),
            # Quality figures walk a project's submitted work.
            models.Index(fields=["project", "status", "task"], name="annotation_project"),
        ]

    def __str__(self) -> str:
        return f"annotation {self.pk}"

    @property
    def holds_slot(self) -> bool:
        if self.status == AnnotationStatus.LEASED:
            return True
        return self.status == AnnotationStatus.SUBMITTED and self.review_state != (
            ReviewState.REJECTED
        )


class RevisionKind(models.TextChoices):
    SUBMIT = "submit", "Submitted"
    EDIT = "edit", "Edited after submitting"
    CORRECTION = "correction", "Corrected by a reviewer"


class AnnotationRevision(models.Model):
    """Every submitted version of an annotation's result, with its author and time."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=10, choices=RevisionKind.choices)
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    result = models.BinaryField()  # sealed, annotation.revision
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["annotation", "number"], name="revision_number"),
        ]
        indexes = [models.Index(fields=["project"], name="revision_project")]

    def __str__(self) -> str:
        return f"revision {self.number} of {self.annotation_id}"


class Decision(models.TextChoices):
    ACCEPT = "accept", "Accepted"
    REJECT = "reject", "Rejected"
    CORRECT = "correct", "Corrected"


class Review(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    decision = models.CharField(max_length=8, choices=Decision.choices)
    comment = models.BinaryField(null=True)  # sealed, review.comment
    revision = models.PositiveIntegerField(help_text="The annotation revision reviewed.")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["project", "created_at"], name="review_project")]

    def __str__(self) -> str:
        return f"review {self.pk}"


class Comment(models.Model):
    """A note on an annotation, by its author or by a reviewer or manager."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    body = models.BinaryField()  # sealed, annotation.comment
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["project"], name="comment_project")]

    def __str__(self) -> str:
        return f"comment {self.pk}"


class Standing(models.Model):
    """An annotator's running gold figures in a project, and whether they are paused."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    gold_answers = models.PositiveIntegerField(default=0)
    gold_score_sum = models.FloatField(default=0.0)
    paused_at = models.DateTimeField(null=True)
    paused_reason = models.CharField(max_length=32, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "annotator"], name="standing_one_each"),
        ]

    def __str__(self) -> str:
        return f"standing of {self.annotator_id} in {self.project_id}"

    @property
    def gold_accuracy(self) -> float | None:
        return self.gold_score_sum / self.gold_answers if self.gold_answers else None


class ReportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class QualityReport(models.Model):
    """Agreement and per-annotator figures of a project, computed by a job (its id is the job's)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    state = models.CharField(max_length=10, choices=ReportState.choices, default="queued")
    progress = models.FloatField(default=0.0)
    figures = models.JSONField(default=dict)
    error = models.CharField(max_length=64, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True)
    finished_at = models.DateTimeField(null=True)
    heartbeat_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["project", "-created_at"], name="report_project")]

    def __str__(self) -> str:
        return f"quality report {self.pk}"
