"""The API token pages at /account/tokens/: list, create (the plaintext shown once), revoke."""

from datetime import timedelta
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import TokenScope, User
from audit.services import Actor
from core.errors import NotFound, ValidationFailed
from projects import tokens

_NEVER = "never"
EXPIRY_CHOICES = [
    ("7", "In 7 days"),
    ("30", "In 30 days"),
    ("90", "In 90 days"),
    ("365", "In a year"),
    (_NEVER, "Never"),
]


class TokenCreateForm(forms.Form):
    name = forms.CharField(
        max_length=100, help_text="What uses it, e.g. “nightly export to the training cluster”."
    )
    scope = forms.ChoiceField(
        choices=TokenScope.choices, widget=forms.RadioSelect, initial=TokenScope.EXPORT
    )
    projects = forms.MultipleChoiceField(
        required=False, widget=forms.CheckboxSelectMultiple, label="Projects it may export"
    )
    expires_in = forms.ChoiceField(choices=EXPIRY_CHOICES, initial="90", label="Expires")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        projects = tokens.exportable_projects(user=user)
        field = cast(forms.MultipleChoiceField, self.fields["projects"])
        field.choices = [(str(project.pk), project.name) for project in projects]

    def token_args(self) -> dict[str, Any]:
        data = self.cleaned_data
        days = data["expires_in"]
        export = data["scope"] == TokenScope.EXPORT
        return {
            "name": data["name"],
            "scope": data["scope"],
            # Ticked boxes of the hidden project list do not make a full token "name" projects.
            "projects": data["projects"] if export else None,
            "expires_at": None if days == _NEVER else timezone.now() + timedelta(days=int(days)),
        }


def _form_field(error: ValidationFailed) -> str | None:
    field = str(error.details.get("field", "")).split("[")[0]
    return field if field in TokenCreateForm.base_fields else None


@login_required
@require_http_methods(["GET", "POST"])
def tokens_page(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)
    form = TokenCreateForm(request.POST if request.method == "POST" else None, user=user)
    created = None
    if form.is_valid():
        try:
            created = tokens.token_create(actor=Actor.from_request(request), **form.token_args())
        except ValidationFailed as exc:
            form.add_error(_form_field(exc), exc.message.split(": ", 1)[-1])
        else:
            form = TokenCreateForm(user=user)
    context = {"form": form, "created": created, "tokens": tokens.token_list(user=user)}
    response = render(request, "accounts/tokens.html", context)
    # The page may carry a token's plaintext: never keep it in a cache or the history.
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def token_revoke_page(request: HttpRequest, token_id: str) -> HttpResponse:
    try:
        token = tokens.token_get(user=cast(User, request.user), token_id=token_id)
    except NotFound:
        raise Http404("API token not found.") from None
    tokens.token_revoke(actor=Actor.from_request(request), token=token)
    messages.success(request, f"The token “{token.name}” is revoked; it no longer works.")
    return redirect("accounts:tokens")


# Mounted by config/urls.py under /account/ (namespace "accounts").
page_urls = [
    path("tokens/", tokens_page, name="tokens"),
    path("tokens/<str:token_id>/revoke", token_revoke_page, name="token_revoke"),
]
