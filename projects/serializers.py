"""Input serializers (one per operation, strict) and output serializers (one per entity)."""

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api import StrictSerializer
from projects.invitations import invitation_status
from projects.models import Role, TaskType
from projects.permissions import Need
from projects.selectors import INVITATION_STATUSES
from projects.services import MAX_OVERLAP
from vault.models import PurgeState

MAX_TEXT = 20_000


def _text(**kwargs: Any) -> serializers.CharField:
    return serializers.CharField(
        allow_blank=True, max_length=MAX_TEXT, trim_whitespace=False, **kwargs
    )


class ProjectCreateIn(StrictSerializer):
    """A new project. Unknown fields are refused."""

    name = serializers.CharField(max_length=200)
    task_type = serializers.ChoiceField(choices=TaskType.choices, default=TaskType.CLASSIFICATION)
    label_schema = serializers.DictField(
        help_text='Per task type. Classification: {"labels": [{"name", "hotkey"?, "parent"?, '
        '"description"?}, ...], "multiple"?: bool}.'
    )
    description = _text(default="")
    instructions = _text(default="", help_text="Markdown.")
    overlap = serializers.IntegerField(
        default=1, help_text=f"Annotations per task, 1-{MAX_OVERLAP}."
    )
    review_required = serializers.BooleanField(required=False)
    lease_seconds = serializers.IntegerField(required=False)
    gold_rate = serializers.FloatField(required=False)
    gold_min_accuracy = serializers.FloatField(required=False, allow_null=True)
    gold_min_answers = serializers.IntegerField(required=False)


class ProjectUpdateIn(StrictSerializer):
    """The fields to change; any subset. Unknown fields are refused."""

    name = serializers.CharField(required=False, max_length=200)
    label_schema = serializers.DictField(required=False)
    description = _text(required=False)
    instructions = _text(required=False)
    overlap = serializers.IntegerField(required=False)
    review_required = serializers.BooleanField(
        required=False, help_text="Submissions go through a reviewer before they count."
    )
    lease_seconds = serializers.IntegerField(
        required=False, help_text="How long the queue's lease on a task lasts (60 s - 7 days)."
    )
    gold_rate = serializers.FloatField(
        required=False, help_text="Share of an annotator's tasks drawn from gold tasks (0-1)."
    )
    gold_min_accuracy = serializers.FloatField(
        required=False,
        allow_null=True,
        help_text="Pause annotators whose mean gold score falls below this (0-1); null: never.",
    )
    gold_min_answers = serializers.IntegerField(
        required=False, help_text="Gold answers needed before gold_min_accuracy applies."
    )
    archived = serializers.BooleanField(
        required=False, help_text="true archives the project, false restores it."
    )


class ProjectListQuery(StrictSerializer):
    """The list's query parameters: the filter and the paginator's."""

    archived = serializers.BooleanField(default=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False)


class ProjectDeleteIn(StrictSerializer):
    """Step-up re-authentication: the administrator's password, typed afresh."""

    password = serializers.CharField(
        trim_whitespace=False,
        write_only=True,
        max_length=512,
        help_text="Your own password. Repeated wrong passwords lock the account out for a while.",
    )


class MemberAddIn(StrictSerializer):
    """Who to add, by email, and with which role (at most your own)."""

    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class MemberRoleIn(StrictSerializer):
    """The member's new role (at most your own)."""

    role = serializers.ChoiceField(choices=Role.choices)


class ProjectInvitationIn(StrictSerializer):
    """Who to invite to the project, and with which role (at most your own)."""

    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices)


class LabInvitationIn(StrictSerializer):
    """Who to invite to the lab."""

    email = serializers.EmailField()


class InvitationListQuery(StrictSerializer):
    """The list's query parameters: the filter and the paginator's."""

    status = serializers.ChoiceField(choices=INVITATION_STATUSES, required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False)


class InvitationAcceptIn(StrictSerializer):
    """A new person's password and name; empty when accepting while signed in."""

    password = serializers.CharField(
        required=False,
        trim_whitespace=False,
        write_only=True,
        max_length=512,
        help_text="Required when no one is signed in: the new account's password.",
    )
    full_name = serializers.CharField(required=False, allow_blank=True, max_length=150)


class ProjectOut(serializers.Serializer[Any]):
    """A project as the caller sees it, with their role and needs (so a UI shows the right
    actions). Built from a ``selectors.ProjectAccess``."""

    id = serializers.UUIDField(source="project.id")
    name = serializers.CharField(source="project.name")
    description = serializers.CharField(source="project.description")
    instructions = serializers.CharField(source="project.instructions")
    task_type = serializers.ChoiceField(source="project.task_type", choices=TaskType.choices)
    label_schema = serializers.DictField(source="project.label_schema")
    overlap = serializers.IntegerField(source="project.overlap")
    review_required = serializers.BooleanField(source="project.review_required")
    lease_seconds = serializers.IntegerField(source="project.lease_seconds")
    gold_rate = serializers.FloatField(source="project.gold_rate")
    gold_min_accuracy = serializers.FloatField(source="project.gold_min_accuracy", allow_null=True)
    gold_min_answers = serializers.IntegerField(source="project.gold_min_answers")
    archived = serializers.BooleanField(source="project.is_archived")
    archived_at = serializers.DateTimeField(source="project.archived_at", allow_null=True)
    created_at = serializers.DateTimeField(source="project.created_at")
    updated_at = serializers.DateTimeField(source="project.updated_at")
    role = serializers.ChoiceField(
        choices=Role.choices, allow_null=True, help_text="Null for a lab admin who is no member."
    )
    needs = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.ChoiceField(choices=list(Need))))
    def get_needs(self, access: Any) -> list[str]:
        return sorted(need.value for need in access.needs)


class MemberOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()
    role = serializers.ChoiceField(source="project_role", choices=Role.choices)


class InvitationOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    project = serializers.UUIDField(source="project_id", allow_null=True)
    role = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    invited_by = serializers.EmailField(source="invited_by.email")
    created_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField()
    accepted_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)

    @extend_schema_field(serializers.ChoiceField(choices=Role.choices, allow_null=True))
    def get_role(self, invitation: Any) -> str | None:
        return invitation.role or None

    @extend_schema_field(serializers.ChoiceField(choices=INVITATION_STATUSES))
    def get_status(self, invitation: Any) -> str:
        return invitation_status(invitation)


class InvitationCreatedOut(InvitationOut):
    accept_url = serializers.SerializerMethodField(
        help_text="The link to accept, shown this once (it is also emailed to the invitee)."
    )

    @extend_schema_field(serializers.URLField())
    def get_accept_url(self, invitation: Any) -> str:
        return str(self.context["accept_url"])


class MemberAddOut(serializers.Serializer[Any]):
    result = serializers.ChoiceField(
        choices=["added", "invited"],
        help_text="added: an existing account got the role; invited: an invitation was sent.",
    )
    member = MemberOut(allow_null=True)
    invitation = InvitationCreatedOut(allow_null=True)


class AcceptedUserOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    email = serializers.EmailField()
    full_name = serializers.CharField()


class InvitationAcceptOut(serializers.Serializer[Any]):
    user = AcceptedUserOut()
    project = serializers.UUIDField(allow_null=True)
    role = serializers.ChoiceField(choices=Role.choices, allow_null=True)


class ShredReceiptOut(serializers.Serializer[Any]):
    """The record of a project's crypto-shredding: ids, times and counts, never names or data."""

    id = serializers.UUIDField(help_text="The receipt's id.")
    project_id = serializers.UUIDField()
    destroyed_at = serializers.DateTimeField(help_text="When the project's keys were destroyed.")
    key_ids = serializers.ListField(
        child=serializers.CharField(), help_text="Key versions destroyed."
    )
    counts = serializers.DictField(
        child=serializers.IntegerField(allow_null=True),
        help_text="Rows per table and files found at deletion (files null if the store was down).",
    )
    purge_state = serializers.ChoiceField(
        choices=PurgeState.choices, help_text="The background purge of rows and files."
    )
    purged_counts = serializers.DictField(child=serializers.IntegerField())
    purged_at = serializers.DateTimeField(allow_null=True)


class ErrorBodyOut(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="A stable snake_case word clients may branch on.")
    message = serializers.CharField(help_text="What is wrong, for people.")
    details = serializers.DictField(
        help_text="For bad input, `field` names the offending field (e.g. label_schema.labels[3])."
    )


class ErrorOut(serializers.Serializer[Any]):
    """The one error shape of every 4xx and 5xx answer."""

    error = ErrorBodyOut()
