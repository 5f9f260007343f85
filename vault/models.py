"""The vault's own rows: re-encryption jobs and crypto-shredding receipts.

Both hold ids and counts only, never content or key material, and name projects and users by
plain id (no foreign keys): a receipt must outlive the project it records the end of.
"""

import uuid

from django.db import models
from django.utils import timezone


class JobState(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class ReencryptionJob(models.Model):
    """Re-seals a project's stored values under its newest key version, in resumable batches.

    ``cursor`` names the sealed field being walked and the last primary key done; each batch
    commits together with the cursor, so a killed worker resumes where it stopped.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project_id = models.UUIDField(db_index=True)
    target_version = models.PositiveIntegerField()
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    total = models.BigIntegerField(default=0, help_text="Stored values to examine.")
    done = models.BigIntegerField(default=0, help_text="Stored values examined.")
    resealed = models.BigIntegerField(default=0, help_text="Values re-sealed under the target.")
    cursor = models.JSONField(default=dict, blank=True)
    error = models.CharField(max_length=200, blank=True)
    requested_by_id = models.UUIDField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"re-encryption {self.id} ({self.state})"

    @property
    def progress(self) -> float:
        if self.state == JobState.SUCCEEDED:
            return 1.0
        return min(1.0, self.done / self.total) if self.total else 0.0


class PurgeState(models.TextChoices):
    PENDING = "pending"
    PURGING = "purging"
    PURGED = "purged"
    FAILED = "failed"


class ShredReceipt(models.Model):
    """The record of a project's crypto-shredding and of the purge that follows it."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    project_id = models.UUIDField(unique=True)
    requested_by_id = models.UUIDField(null=True, blank=True)
    destroyed_at = models.DateTimeField()
    key_ids = models.JSONField(default=list, help_text="Ids of the key versions destroyed.")
    counts = models.JSONField(default=dict, help_text="Rows and files found at deletion.")
    purge_state = models.CharField(
        max_length=16, choices=PurgeState.choices, default=PurgeState.PENDING
    )
    purged_counts = models.JSONField(default=dict, blank=True)
    purge_heartbeat_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-destroyed_at"]

    def __str__(self) -> str:
        return f"shred receipt {self.id} for project {self.project_id}"

    def as_dict(self) -> dict[str, object]:
        return {
            "receipt_id": str(self.id),
            "project_id": str(self.project_id),
            "destroyed_at": self.destroyed_at.isoformat(),
            "key_ids": list(self.key_ids),
            "counts": dict(self.counts),
            "purge_state": self.purge_state,
            "purged_counts": dict(self.purged_counts),
            "purged_at": self.purged_at.isoformat() if self.purged_at else None,
        }
