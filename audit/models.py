import uuid

from django.db import models


class Outcome(models.TextChoices):
    SUCCESS = "success"
    DENIED = "denied"
    FAILURE = "failure"


class AuditEvent(models.Model):
    """One append-only record of an action.

    References are plain ids, not foreign keys: the record must outlive (and never cascade
    with) the users, projects and objects it names. ``prev_hash``/``hash`` are filled by the
    hash chain; they are part of the row from the first migration so that chaining never
    means rewriting events.
    """

    seq = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurred_at = models.DateTimeField(db_index=True)
    action = models.CharField(max_length=64, db_index=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.SUCCESS)
    actor_id = models.UUIDField(null=True, db_index=True)
    actor_label = models.CharField(max_length=254, blank=True)
    auth_method = models.CharField(max_length=16, blank=True)
    token_id = models.UUIDField(null=True)
    project_id = models.UUIDField(null=True, db_index=True)
    object_type = models.CharField(max_length=32, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    ip = models.GenericIPAddressField(null=True)
    user_agent = models.CharField(max_length=256, blank=True)
    request_id = models.CharField(max_length=64, blank=True)
    details = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["seq"]
        indexes = [models.Index(fields=["project_id", "seq"], name="audit_project_seq")]

    def __str__(self) -> str:
        return f"{self.seq} {self.action} {self.outcome}"
