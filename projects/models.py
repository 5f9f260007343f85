import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models
from django.utils import timezone


class TaskType(models.TextChoices):
    CLASSIFICATION = "classification", "Classification"
    NER = "ner", "Named entities (text spans)"
    BOXES = "boxes", "Image bounding boxes"
    PAIRWISE = "pairwise", "Pairwise preference"
    RUBRIC = "rubric", "Rubric rating"
    FREE_TEXT = "free_text", "Free-text response"
    CHAT = "chat", "Multi-turn chat review"


class Role(models.TextChoices):
    # Ordered from least to most rights; ``projects.permissions.ROLE_RANK`` relies on it.
    VIEWER = "viewer", "Viewer"
    ANNOTATOR = "annotator", "Annotator"
    REVIEWER = "reviewer", "Reviewer"
    MANAGER = "manager", "Manager"


class Project(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    instructions = models.TextField(blank=True, help_text="Markdown, shown to annotators.")
    task_type = models.CharField(max_length=32, choices=TaskType.choices)
    label_schema = models.JSONField(default=dict)
    overlap = models.PositiveSmallIntegerField(default=1)
    # The work (labeling/): whether submissions go through review; how long the queue's lease
    # on a task lasts; the share of an annotator's stream drawn from gold tasks; and the gold
    # accuracy below which an annotator is paused, once they have answered enough gold tasks.
    review_required = models.BooleanField(default=False)
    lease_seconds = models.PositiveIntegerField(default=1800)
    gold_rate = models.FloatField(default=0.1)
    gold_min_accuracy = models.FloatField(null=True, blank=True)
    gold_min_answers = models.PositiveSmallIntegerField(default=10)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)
    # Set when the project's keys are destroyed; from then on the gate treats it as missing,
    # while the background purge deletes its rows (this one last).
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("annotate_project", "Annotate tasks of the project"),
            ("review_project", "Review annotations of the project"),
            ("manage_project", "Manage the project and its members"),
            ("export_project", "Export the project's datasets"),
        ]
        indexes = [models.Index(fields=["created_at", "id"], name="project_created")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class ProjectRole(models.Model):
    """The group that holds one role on one project. Membership is being in the group."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="roles")
    role = models.CharField(max_length=16, choices=Role.choices)
    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="project_role")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["project", "role"], name="one_group_per_role")
        ]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.role}"


class Invitation(models.Model):
    """A single-use, expiring link to join the lab, optionally with a role on a project."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    token_hash = models.CharField(max_length=64, unique=True)
    email = models.EmailField()
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, null=True, blank=True, related_name="invitations"
    )
    role = models.CharField(max_length=16, choices=Role.choices, blank=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.id}"


class TokenProjectScope(models.Model):
    """The projects an export-scoped API token may read."""

    token = models.ForeignKey(
        "accounts.ApiToken", on_delete=models.CASCADE, related_name="project_scopes"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token", "project"], name="one_scope_per_project")
        ]

    def __str__(self) -> str:
        return f"{self.token_id}->{self.project_id}"
