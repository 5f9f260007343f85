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


class VersionState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class DatasetVersion(models.Model):
    """An export of a project: a filter and a format, built once by a job, then immutable.

    Only a succeeded version has a file, a manifest and a signature, all written in the one
    update that marks it succeeded; a worker that dies before that leaves a version that is
    rebuilt from the start or ends failed, never a file marked ready that is not whole.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    # 1, 2, 3... per project; pipelines may address a version by number or by name.
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    format = models.CharField(max_length=16)
    # The filter and the format's options, normalized (defaults filled in) when created.
    filter = models.JSONField(default=dict)
    options = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=VersionState.choices, default="queued")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_by_token = models.ForeignKey(
        "accounts.ApiToken", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Progress, written by the job as it goes: rows written of about rows_expected.
    rows_expected = models.BigIntegerField(default=0)
    rows_written = models.BigIntegerField(default=0)
    # The file, once succeeded: its plaintext size and SHA-256, and its row count.
    row_count = models.BigIntegerField(null=True, blank=True)
    size = models.BigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    # The manifest's canonical JSON text, exactly as signed, the signature and its key's id.
    manifest = models.TextField(blank=True)
    signature = models.CharField(max_length=128, blank=True)
    key_id = models.CharField(max_length=16, blank=True)
    error = models.CharField(max_length=64, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="version_number"),
            models.UniqueConstraint(fields=["project", "name"], name="version_name"),
        ]
        indexes = [
            models.Index(fields=["state", "heartbeat_at"], name="version_state_heartbeat"),
        ]

    def __str__(self) -> str:
        return f"version {self.pk}"

    @property
    def blob(self) -> str:
        return f"versions/{self.pk}/file"

    @property
    def progress(self) -> float:
        if self.state == VersionState.SUCCEEDED:
            return 1.0
        if not self.rows_expected:
            return 0.0
        return min(self.rows_written / self.rows_expected, 0.999)


class Webhook(models.Model):
    """An HTTPS URL of a lab's system told, with an HMAC-signed notice, when a version is ready."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    url = models.CharField(max_length=2000)
    # The HMAC secret, sealed (vault kind webhook.secret); shown once, when created.
    secret = models.BinaryField()
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["project", "created_at"], name="webhook_project")]

    def __str__(self) -> str:
        return f"webhook {self.pk}"


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One notice to one webhook; its id travels with it so receivers can drop duplicates."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    version = models.ForeignKey(
        DatasetVersion, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    event = models.CharField(max_length=32)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default="pending")
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    # The last attempt: the receiver's HTTP status, or why no answer came (never a body).
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["webhook", "version", "event"], name="delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="delivery_due",
            ),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk}"
