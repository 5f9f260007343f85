"""Input serializers (one per operation, strict) and output serializers of the work's API."""

from typing import Any

from django.utils import timezone
from rest_framework import serializers
from rest_framework.settings import api_settings

from core.api import StrictSerializer
from labeling.annotations import MAX_TIME_SPENT
from labeling.models import AnnotationStatus, Decision, ReviewState, SkipReason


def _time_spent() -> serializers.FloatField:
    return serializers.FloatField(
        default=0.0,
        min_value=0.0,
        max_value=MAX_TIME_SPENT,
        help_text="Seconds spent on the task since the last save (added to its total).",
    )


class NextIn(StrictSerializer):
    resume = serializers.BooleanField(
        default=True,
        help_text="true: hand back the oldest task you hold, if any (after a reload). "
        "false: lease a new one (prefetch the next task while working on this one).",
    )


class SkipIn(StrictSerializer):
    reason = serializers.ChoiceField(choices=SkipReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class DraftIn(StrictSerializer):
    draft = serializers.JSONField(help_text="Work in progress, as the workspace keeps it.")
    time_spent = _time_spent()


class ResultIn(StrictSerializer):
    result = serializers.JSONField(help_text="The answer, in the shape of the project's type.")
    time_spent = _time_spent()


class CommentIn(StrictSerializer):
    body = serializers.CharField(max_length=20_000, trim_whitespace=True)


class ReviewIn(StrictSerializer):
    decision = serializers.ChoiceField(choices=Decision.choices)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=20_000)
    result = serializers.JSONField(
        required=False, default=None, help_text="The corrected result (decision `correct`)."
    )


class AnnotationListQuery(StrictSerializer):
    status = serializers.ChoiceField(choices=AnnotationStatus.choices, required=False)
    review_state = serializers.ChoiceField(
        choices=[s for s in ReviewState.choices if s[0]], required=False
    )
    annotator = serializers.UUIDField(required=False)
    task = serializers.UUIDField(required=False)
    cursor = serializers.CharField(required=False)
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=500)


class PausedIn(StrictSerializer):
    paused = serializers.BooleanField()


class AnnotationOut(serializers.Serializer[Any]):
    """An annotation without its content."""

    id = serializers.UUIDField()
    task_id = serializers.UUIDField()
    annotator = serializers.UUIDField(source="annotator_id")
    status = serializers.ChoiceField(choices=AnnotationStatus.choices)
    review_state = serializers.ChoiceField(
        choices=ReviewState.choices, help_text='"" when the project does not review.'
    )
    lease_expires_at = serializers.DateTimeField(allow_null=True)
    revision = serializers.IntegerField()
    time_spent = serializers.FloatField()
    skip_reason = serializers.CharField()
    has_draft = serializers.SerializerMethodField()
    draft_saved_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)

    def get_has_draft(self, annotation: Any) -> bool:
        return annotation.draft_saved_at is not None and annotation.status != "submitted"


class WorkOut(serializers.Serializer[Any]):
    """A task as the annotator's workspace shows it."""

    task_id = serializers.UUIDField(source="task.pk")
    data_ = serializers.JSONField(help_text="The task's data fields.")
    prediction = serializers.JSONField(
        allow_null=True, help_text="A model's pre-annotation, as a starting point."
    )
    annotation = AnnotationOut()
    draft = serializers.JSONField(allow_null=True, help_text="Your saved work in progress.")
    result = serializers.JSONField(allow_null=True, help_text="Your submitted answer, if any.")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["data"] = fields.pop("data_")
        return fields


# The same representations as AnnotationOut and WorkOut, built directly: they answer every
# next-task and submit, and DRF's field-by-field serialization cost about 50 µs an answer,
# three times this. The serializers stay the API's schema (and serialize the rest);
# tests/labeling/test_out.py holds the two equal, key order included.
def annotation_out(annotation: Any) -> dict[str, Any]:
    """``AnnotationOut(annotation).data``, as a plain dict."""
    zone = timezone.get_current_timezone()
    when = api_settings.DATETIME_FORMAT

    def moment(value: Any) -> str | None:
        return None if value is None else value.astimezone(zone).strftime(when)

    status = annotation.status
    return {
        "id": str(annotation.id),
        "task_id": str(annotation.task_id),
        "annotator": str(annotation.annotator_id),
        "status": str(status),
        "review_state": str(annotation.review_state),
        "lease_expires_at": moment(annotation.lease_expires_at),
        "revision": int(annotation.revision),
        "time_spent": float(annotation.time_spent),
        "skip_reason": str(annotation.skip_reason),
        "has_draft": annotation.draft_saved_at is not None and status != "submitted",
        "draft_saved_at": moment(annotation.draft_saved_at),
        "created_at": moment(annotation.created_at),
        "submitted_at": moment(annotation.submitted_at),
        "reviewed_at": moment(annotation.reviewed_at),
    }


def work_out(work: Any) -> dict[str, Any]:
    """``WorkOut(work).data``, as a plain dict (``data`` last, as WorkOut orders it)."""
    return {
        "task_id": str(work.task.pk),
        "prediction": work.prediction,
        "annotation": annotation_out(work.annotation),
        "draft": work.draft,
        "result": work.result,
        "data": work.data,
    }


class NoteOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    author = serializers.UUIDField(source="author.pk", help_text="A user id.")
    created_at = serializers.DateTimeField()
    text = serializers.CharField()


class ReviewOut(NoteOut):
    decision = serializers.ChoiceField(choices=Decision.choices)


class RevisionOut(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    kind = serializers.CharField()
    author = serializers.UUIDField(source="author.pk", help_text="A user id.")
    created_at = serializers.DateTimeField()
    result = serializers.JSONField()


class AnnotationDetailOut(serializers.Serializer[Any]):
    annotation = AnnotationOut()
    result = serializers.JSONField(allow_null=True)
    draft = serializers.JSONField(allow_null=True, help_text="Only for the annotation's author.")
    skip_note = serializers.CharField(allow_null=True)
    revisions = RevisionOut(many=True)
    reviews = ReviewOut(many=True)
    comments = NoteOut(many=True)


class ReviewWorkOut(serializers.Serializer[Any]):
    annotation = AnnotationOut()
    data_ = serializers.JSONField()
    result = serializers.JSONField()

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["data"] = fields.pop("data_")
        return fields


class ReviewDoneOut(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    annotation_id = serializers.UUIDField()
    decision = serializers.ChoiceField(choices=Decision.choices)
    revision = serializers.IntegerField()
    created_at = serializers.DateTimeField()
