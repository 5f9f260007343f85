"""A version's filter: which annotations it holds, normalized and stored with the version.

Every version is a view of the project *as of* its ``until`` time (the creation time unless
given): annotations submitted later are left out, and an annotation revised or reviewed later
is exported as it stood then. So the same filter over the same data gives the same rows, however
long after it is run.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from core.errors import ValidationFailed
from projects.models import Project, TaskType

# Task types whose results carry label names a filter may select on.
LABELLED_TYPES = frozenset({TaskType.CLASSIFICATION, TaskType.NER, TaskType.BOXES})
STATUSES = ("accepted", "submitted")
_KEYS = frozenset(
    {"status", "labels", "min_agreement", "include_gold", "complete_only", "since", "until"}
)


@dataclass(frozen=True)
class ExportFilter:
    # "accepted": accepted by a reviewer (projects that review); "submitted": every submitted
    # annotation that is not rejected (accepted, awaiting review, or in a project that does not
    # review).
    status: str
    labels: frozenset[str] | None
    min_agreement: float | None
    include_gold: bool
    complete_only: bool
    since: datetime | None
    until: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "labels": sorted(self.labels) if self.labels is not None else None,
            "min_agreement": self.min_agreement,
            "include_gold": self.include_gold,
            "complete_only": self.complete_only,
            "since": _iso(self.since) if self.since else None,
            "until": _iso(self.until),
        }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _bad(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, code="invalid_filter", details={"field": f"filter.{field}"})


def _moment(raw: dict[str, Any], key: str) -> datetime | None:
    value = raw.get(key)
    if value is None:
        return None
    moment = parse_datetime(value) if isinstance(value, str) else None
    if moment is None:
        raise _bad(key, f"{key} must be an ISO 8601 date and time, such as 2026-11-01T00:00:00Z.")
    if timezone.is_naive(moment):
        raise _bad(key, f"{key} must say its time zone (for example a final Z for UTC).")
    return moment


def _status(raw: dict[str, Any], project: Project) -> str:
    status = raw.get("status", "accepted" if project.review_required else "submitted")
    if status not in STATUSES:
        raise _bad("status", "status must be 'accepted' or 'submitted'.")
    if status == "accepted" and not project.review_required:
        raise _bad(
            "status",
            "This project does not review annotations, so none is accepted; use 'submitted'.",
        )
    return str(status)


def _labels(raw: dict[str, Any], project: Project) -> frozenset[str] | None:
    labels = raw.get("labels")
    if labels is None:
        return None
    if project.task_type not in LABELLED_TYPES:
        raise _bad("labels", "Only classification, span and box projects filter by label.")
    if not isinstance(labels, list) or not labels or not all(isinstance(x, str) for x in labels):
        raise _bad("labels", "labels must be a non-empty list of label names.")
    known = {str(label["name"]) for label in project.label_schema.get("labels", [])}
    missing = sorted(set(labels) - known)
    if missing:
        raise _bad("labels", f"The project has no label '{missing[0]}'.")
    return frozenset(labels)


def _fraction(raw: dict[str, Any], key: str) -> float | None:
    value = raw.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise _bad(key, f"{key} must be a number from 0 to 1.")
    return float(value)


def _flag(raw: dict[str, Any], key: str) -> bool:
    value = raw.get(key, False)
    if not isinstance(value, bool):
        raise _bad(key, f"{key} must be true or false.")
    return value


def filter_parse(raw: Any, project: Project, *, now: datetime) -> ExportFilter:
    """The filter a request asks for, checked against the project, with defaults filled in."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationFailed(
            "filter must be an object.", code="invalid_filter", details={"field": "filter"}
        )
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise _bad(unknown[0], f"Unknown filter '{unknown[0]}'; known: {', '.join(sorted(_KEYS))}.")
    since = _moment(raw, "since")
    until = _moment(raw, "until") or now
    if until > now:
        raise _bad("until", "until cannot be in the future: a version holds what exists.")
    if since is not None and since >= until:
        raise _bad("since", "since must be before until.")
    return ExportFilter(
        status=_status(raw, project),
        labels=_labels(raw, project),
        min_agreement=_fraction(raw, "min_agreement"),
        include_gold=_flag(raw, "include_gold"),
        complete_only=_flag(raw, "complete_only"),
        since=since,
        until=until,
    )


def filter_load(stored: dict[str, Any]) -> ExportFilter:
    """A stored (normalized) filter back as an ExportFilter, as it was when the version began."""

    def moment(key: str) -> datetime | None:
        return parse_datetime(stored[key]) if stored.get(key) else None

    until = moment("until")
    assert until is not None
    labels = stored.get("labels")
    return ExportFilter(
        status=stored["status"],
        labels=frozenset(labels) if labels is not None else None,
        min_agreement=stored.get("min_agreement"),
        include_gold=bool(stored.get("include_gold")),
        complete_only=bool(stored.get("complete_only")),
        since=moment("since"),
        until=until,
    )
