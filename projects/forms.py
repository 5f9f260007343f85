"""Forms of the project pages. They shape input; the services decide (and name the bad field)."""

import json
import re
from typing import Any

from django import forms

from core.errors import ApplicationError
from projects.models import Project, Role, TaskType
from projects.permissions import ROLE_RANK
from projects.schemas import validate_label_schema
from projects.services import MAX_OVERLAP

# "Positive [1]": a label name, optionally followed by its hotkey in brackets.
_LABEL_LINE = re.compile(r"^(?P<name>.*?)\s*(?:\[(?P<key>[^\]]*)\])?\s*$")
_SCHEMA_FIELD = re.compile(r"^label_schema\.labels\[(?P<index>\d+)\]")


def labels_text(schema: dict[str, Any]) -> str | None:
    """The labels as the textarea writes them, or None if the schema says more than it can."""
    lines = []
    for label in schema.get("labels", []):
        if set(label) - {"name", "hotkey"}:
            return None
        key = label.get("hotkey")
        lines.append(f"{label['name']} [{key}]" if key else label["name"])
    return "\n".join(lines)


class ProjectForm(forms.Form):
    """Name, texts, overlap and a classification schema: simple labels or advanced JSON."""

    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    instructions = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Markdown, shown to annotators. Raw HTML is shown as text.",
    )
    overlap = forms.IntegerField(
        min_value=1,
        max_value=MAX_OVERLAP,
        initial=1,
        help_text="How many people annotate each task.",
    )
    review_required = forms.BooleanField(
        required=False,
        label="Reviewers check each answer",
        help_text="An answer counts once a reviewer accepts it; a rejected one goes back to "
        "the queue.",
    )
    labels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "Positive [1]\nNegative [2]"}),
        help_text="One label per line; a hotkey (0-9 or a-z) in brackets after the name.",
    )
    multiple = forms.BooleanField(required=False, label="Several labels per task")
    schema_json = forms.CharField(
        required=False,
        label="Advanced: label schema as JSON",
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text="When filled in, it replaces the labels above.",
    )

    task_type = TaskType.CLASSIFICATION

    @classmethod
    def for_project(cls, project: Project, **kwargs: Any) -> "ProjectForm":
        text = labels_text(project.label_schema)
        initial = {
            "name": project.name,
            "description": project.description,
            "instructions": project.instructions,
            "overlap": project.overlap,
            "review_required": project.review_required,
            "labels": text or "",
            "multiple": bool(project.label_schema.get("multiple")),
            "schema_json": "" if text is not None else json.dumps(project.label_schema, indent=2),
        }
        form = cls(initial=initial, **kwargs)
        form.task_type = TaskType(project.task_type)
        return form

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        if data.get("schema_json", "").strip():
            data["label_schema"] = self._schema_from_json(data["schema_json"])
        else:
            data["label_schema"] = self._schema_from_lines(data.get("labels", ""), data)
        return data

    def _schema_from_json(self, text: str) -> Any:
        try:
            schema = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError({"schema_json": f"Not valid JSON: {exc}."}) from None
        try:
            validate_label_schema(self.task_type, schema)
        except ApplicationError as exc:
            raise forms.ValidationError({"schema_json": exc.message}) from None
        return schema

    def _schema_from_lines(self, text: str, data: dict[str, Any]) -> dict[str, Any]:
        labels, line_numbers = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            match = _LABEL_LINE.match(line.strip())
            assert match is not None  # the pattern matches every string
            label: dict[str, Any] = {"name": match["name"]}
            if match["key"] is not None:
                label["hotkey"] = match["key"].strip().lower()
            labels.append(label)
            line_numbers.append(number)
        schema: dict[str, Any] = {"labels": labels}
        if data.get("multiple"):
            schema["multiple"] = True
        try:
            validate_label_schema(self.task_type, schema)
        except ApplicationError as exc:
            raise forms.ValidationError({"labels": _line_message(exc, line_numbers)}) from None
        return schema


def _line_message(error: ApplicationError, line_numbers: list[int]) -> str:
    """Turn "label_schema.labels[2].hotkey: ..." into "Line 4: ..." for the textarea."""
    match = _SCHEMA_FIELD.match(str(error.details.get("field", "")))
    if match is None:
        if len(line_numbers) < 2:
            return "Give at least two labels, one per line."
        return error.message
    line = line_numbers[int(match["index"])]
    reason = error.message.split(": ", 1)[-1]
    return f"Line {line}: {reason}"


class ArchiveForm(forms.Form):
    archived = forms.BooleanField(required=False)


class ProjectDeleteForm(forms.Form):
    """Step-up re-authentication before crypto-shredding: the administrator's own password."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        max_length=512,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def role_choices(max_rank: int) -> list[tuple[str, str]]:
    """The roles someone of this rank may grant, highest first."""
    allowed = [role for role in Role if ROLE_RANK[role.value] <= max_rank]
    return [(role.value, role.label) for role in reversed(allowed)]


class InviteForm(forms.Form):
    """Add an existing account, or invite an email that has none, with a role."""

    email = forms.EmailField()
    role = forms.ChoiceField(choices=())

    def __init__(self, *args: Any, max_rank: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = role_choices(max_rank)
        self.fields["role"].choices = choices  # type: ignore[attr-defined]
        self.fields["role"].initial = Role.ANNOTATOR if max_rank > 1 else Role.VIEWER


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class LabInviteForm(forms.Form):
    email = forms.EmailField()


class AcceptForm(forms.Form):
    """A new person's name and password, typed twice."""

    full_name = forms.CharField(max_length=150, required=False, label="Your name")
    password = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
    )
    password_again = forms.CharField(
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        strip=False,
        label="Password, again",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("password") and data.get("password") != data.get("password_again"):
            self.add_error("password_again", "The two passwords differ.")
        return data
