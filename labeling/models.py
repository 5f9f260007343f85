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
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    seq = models.BigIntegerField()
    state = models.CharField(max_length=8, choices=TaskState.choices, default=TaskState.OPEN)
    priority = models.SmallIntegerField(default=0)
    # Annotations submitted (or accepted, when the project reviews) so far.
    annotation_count = models.PositiveSmallIntegerField(default=0)
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
            # The work queue: open tasks of a project, highest priority first, then oldest.
            models.Index(fields=["project", "state", "-priority", "seq"], name="task_queue"),
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
