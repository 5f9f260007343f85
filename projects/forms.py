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

# The types whose schema is a list of labels plus a few options: the page writes their labels
# one per line, and each type's options (beside the labels) have a field of their own.
LINE_OPTIONS: dict[str, tuple[str, ...]] = {
    TaskType.CLASSIFICATION: ("multiple",),
    TaskType.NER: ("allow_overlap",),
    TaskType.BOXES: ("min_size",),
}

# A valid schema of each type, filled in when a manager picks the type (the page's script gets
# them as JSON; tests check that each one passes validate_label_schema).
EXAMPLE_LINES: dict[str, str] = {
    TaskType.CLASSIFICATION: "Positive [1]\nNegative [2]\nNeutral [3]",
    TaskType.NER: "Person [p]\nPlace [l]\nOrganisation [o]",
    TaskType.BOXES: "Car [c]\nPerson [p]\nTree [t]",
}
EXAMPLE_SCHEMAS: dict[str, dict[str, Any]] = {
    TaskType.PAIRWISE: {
        "choices": ["a", "b", "tie"],
        "strength": {"min": 1, "max": 3, "labels": {"1": "Slightly", "3": "Much"}},
        "rationale": {"required": False, "min_length": 0},
    },
    TaskType.RUBRIC: {
        "criteria": [
            {
                "name": "Accuracy",
                "description": "Are the facts right?",
                "scale": {"min": 1, "max": 5, "anchors": {"1": "Wrong", "5": "Exact"}},
            },
            {"name": "Clarity", "scale": {"min": 1, "max": 3}},
        ],
        "comments": True,
    },
    TaskType.FREE_TEXT: {
        "mode": "rewrite",
        "min_length": 10,
        "max_length": 2000,
        "guidelines": "Keep the meaning; make it polite and clear.",
    },
    TaskType.CHAT: {
        "turn_ratings": {"min": 1, "max": 5, "anchors": {"1": "Harmful", "5": "Ideal"}},
        "conversation_rating": {"min": 1, "max": 3},
        "flags": [{"name": "Unsafe"}, {"name": "Wrong facts"}],
        "comments": True,
    },
}


def labels_text(schema: dict[str, Any], options: tuple[str, ...] = ("multiple",)) -> str | None:
    """The labels as the textarea writes them, or None if the schema says more than the
    textarea and the type's ``options`` can."""
    if set(schema) - {"labels", *options}:
        return None
    lines = []
    for label in schema.get("labels", []):
        if set(label) - {"name", "hotkey"}:
            return None
        key = label.get("hotkey")
        lines.append(f"{label['name']} [{key}]" if key else label["name"])
    return "\n".join(lines)


def schema_examples() -> dict[str, dict[str, Any]]:
    """For the page's script: each type's example, as label lines or as a JSON schema."""
    examples: dict[str, dict[str, Any]] = {t: {"lines": v} for t, v in EXAMPLE_LINES.items()}
    for task_type, schema in EXAMPLE_SCHEMAS.items():
        examples[task_type] = {"json": json.dumps(schema, indent=2)}
    return examples


class ProjectForm(forms.Form):
    """Name, texts, overlap, the task type and its label schema: label lines (the types whose
    schema is a list of labels) or the schema as JSON (every type; it wins when filled in)."""

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
    # Left out, it is classification, as in the API.
    task_type = forms.ChoiceField(
        choices=TaskType.choices,
        required=False,
        initial=TaskType.CLASSIFICATION,
        help_text="What annotators do with each task. It cannot be changed later.",
    )
    labels = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "placeholder": "Positive [1]\nNegative [2]"}),
        help_text="One label per line; a hotkey (0-9 or a-z) in brackets after the name.",
    )
    multiple = forms.BooleanField(required=False, label="Several labels per task")
    allow_overlap = forms.BooleanField(required=False, label="Spans may overlap")
    min_size = forms.FloatField(
        required=False,
        min_value=0,
        max_value=1,
        label="Smallest box",
        help_text="The least width and height of a box, as a fraction of the image's (0-1).",
    )
    schema_json = forms.CharField(
        required=False,
        label="Label schema as JSON",
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text="For label lists, when filled in it replaces the labels above (descriptions, "
        "colours, parents, relations).",
    )

    # Set on the settings page: a project's type never changes (project_update refuses it).
    fixed_type: str | None = None

    @classmethod
    def for_project(cls, project: Project, **kwargs: Any) -> "ProjectForm":
        options = LINE_OPTIONS.get(project.task_type)
        text = labels_text(project.label_schema, options) if options is not None else None
        schema = project.label_schema
        initial = {
            "name": project.name,
            "description": project.description,
            "instructions": project.instructions,
            "overlap": project.overlap,
            "review_required": project.review_required,
            "task_type": project.task_type,
            "labels": text or "",
            "multiple": bool(schema.get("multiple")),
            "allow_overlap": bool(schema.get("allow_overlap")),
            "min_size": schema.get("min_size"),
            "schema_json": "" if text is not None else json.dumps(schema, indent=2),
        }
        form = cls(initial=initial, **kwargs)
        form.fixed_type = project.task_type
        form.fields["task_type"].disabled = True
        form.fields["task_type"].help_text = "Set when the project was created; it cannot change."
        return form

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        task_type = data["task_type"] = (
            self.fixed_type or data.get("task_type") or TaskType.CLASSIFICATION
        )
        if data.get("schema_json", "").strip():
            data["label_schema"] = self._schema_from_json(task_type, data["schema_json"])
        elif task_type in LINE_OPTIONS:
            data["label_schema"] = self._schema_from_lines(task_type, data)
        else:
            raise forms.ValidationError(
                {
                    "schema_json": "Write the label schema as JSON (choosing the type fills in an "
                    "example)."
                }
            )
        return data

    def _schema_from_json(self, task_type: str, text: str) -> Any:
        try:
            schema = json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError({"schema_json": f"Not valid JSON: {exc}."}) from None
        try:
            validate_label_schema(task_type, schema)
        except ApplicationError as exc:
            raise forms.ValidationError({"schema_json": exc.message}) from None
        return schema

    def _schema_from_lines(self, task_type: str, data: dict[str, Any]) -> dict[str, Any]:
        labels, line_numbers = [], []
        for number, line in enumerate(data.get("labels", "").splitlines(), start=1):
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
        for option in LINE_OPTIONS[task_type]:
            # Unticked boxes and an empty size are left out, as the JSON would leave them.
            if data.get(option) not in (None, False):
                schema[option] = data[option]
        try:
            validate_label_schema(task_type, schema)
        except ApplicationError as exc:
            least = 2 if task_type == TaskType.CLASSIFICATION else 1
            raise forms.ValidationError(
                {"labels": _line_message(exc, line_numbers, least)}
            ) from None
        return schema


def _line_message(error: ApplicationError, line_numbers: list[int], least: int) -> str:
    """Turn "label_schema.labels[2].hotkey: ..." into "Line 4: ..." for the textarea."""
    match = _SCHEMA_FIELD.match(str(error.details.get("field", "")))
    if match is None:
        if len(line_numbers) < least:
            return f"Give at least {'two labels' if least == 2 else 'one label'}, one per line."
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
