"""Imports (an upload becoming tasks) and the image files a box project's tasks show."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from projects.models import Project


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


FINISHED_STATES = frozenset({ImportState.SUCCEEDED, ImportState.FAILED, ImportState.CANCELLED})


class OnDuplicate(models.TextChoices):
    SKIP = "skip", "Skip duplicates"
    REJECT = "reject", "Reject the import"


class Import(models.Model):
    """One upload and the job that turns it into tasks, all or nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # 1, 2, 3... per project: the high half of its tasks' ``seq``.
    number = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    state = models.CharField(max_length=10, choices=ImportState.choices, default="queued")
    file_name = models.CharField(max_length=255)
    format = models.CharField(max_length=8)
    gzip = models.BooleanField(default=False)
    on_duplicate = models.CharField(max_length=8, choices=OnDuplicate.choices, default="skip")
    # CSV/TSV: {column: target or null}; empty for the default (columns named after fields).
    mapping = models.JSONField(default=dict, blank=True)
    upload_bytes = models.BigIntegerField(default=0)
    # Progress, written by the job as it goes.
    bytes_read = models.BigIntegerField(default=0)
    rows_read = models.BigIntegerField(default=0)
    tasks_created = models.BigIntegerField(default=0)
    duplicates_skipped = models.BigIntegerField(default=0)
    files_stored = models.IntegerField(default=0)
    # The first problems found (where, code, field, message; never content) and their number.
    problems = models.JSONField(default=list, blank=True)
    problem_count = models.IntegerField(default=0)
    error = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    cancel_requested = models.BooleanField(default=False)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deleted_tasks_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="import_number"),
        ]
        indexes = [
            models.Index(fields=["project", "-created_at"], name="import_project_created"),
            models.Index(fields=["state", "heartbeat_at"], name="import_state_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"import {self.pk}"

    @property
    def upload_blob(self) -> str:
        return f"imports/{self.pk}/upload"

    @property
    def files_folder(self) -> str:
        return f"imports/{self.pk}/files"

    @property
    def progress(self) -> float:
        if self.state == ImportState.SUCCEEDED:
            return 1.0
        if not self.upload_bytes:
            return 0.0
        return min(self.bytes_read / self.upload_bytes, 0.999)

    @property
    def rows_per_second(self) -> float | None:
        if self.started_at is None or not self.rows_read:
            return None
        end = self.finished_at or self.heartbeat_at or timezone.now()
        seconds = (end - self.started_at).total_seconds()
        return self.rows_read / seconds if seconds > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        if self.state != ImportState.RUNNING or self.started_at is None or not self.bytes_read:
            return None
        elapsed = ((self.heartbeat_at or timezone.now()) - self.started_at).total_seconds()
        left = self.upload_bytes - self.bytes_read
        return max(0.0, elapsed * left / self.bytes_read)


class ProjectFile(models.Model):
    """An image stored encrypted in the blob store, shown by tasks of a box project."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    source_import = models.ForeignKey(
        Import, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Sealed name (vault kind file.name) and its keyed fingerprint, unique per project.
    name = models.BinaryField()
    name_key = models.BinaryField(max_length=16)
    # Keyed fingerprint of the content (vault kind file.content).
    content_key = models.BinaryField(max_length=16)
    blob = models.CharField(max_length=200)
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.BigIntegerField()
    # False while the import that brings it has not finished: served to no one.
    published = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            # Names tasks refer to: those of files uploaded one by one. Images from a zip
            # are named after their entries and referred to by id.
            models.UniqueConstraint(
                fields=["project", "name_key"],
                condition=models.Q(source_import__isnull=True),
                name="file_name_key",
            ),
        ]

    def __str__(self) -> str:
        return f"file {self.pk}"
