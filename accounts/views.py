"""Sign-in, sign-out and password pages. The work is done by ``accounts.services``."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services
from accounts.forms import LoginForm, PasswordResetRequestForm
from accounts.models import User
from audit.services import Actor


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return candidate if allowed else resolve_url(settings.LOGIN_REDIRECT_URL)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_page(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = LoginForm(request.POST if request.method == "POST" else None)
    retry_after = None
    if form.is_valid():
        try:
            user = services.login_attempt(
                actor=Actor.from_request(request),
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
            )
        except services.LoginThrottled as exc:
            form.add_error(None, exc.message)
            retry_after = exc.retry_after
        except services.LoginFailed as exc:
            form.add_error(None, exc.message)
        else:
            auth_login(request, user)
            return redirect(_next_url(request))
    return _login_response(request, form, retry_after)


def _login_response(request: HttpRequest, form: LoginForm, retry_after: int | None) -> HttpResponse:
    context = {"form": form, "next": request.POST.get("next") or request.GET.get("next", "")}
    response = render(request, "accounts/login.html", context, status=429 if retry_after else 200)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@require_POST
@csrf_protect
def logout_page(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.logout_record(actor=Actor.from_request(request))
    auth_logout(request)
    messages.success(request, "You have signed out.")
    return redirect("accounts:login")


class PasswordChangePage(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change")

    def form_valid(self, form: PasswordChangeForm) -> HttpResponse:
        user = services.password_change(
            actor=Actor.from_request(self.request),
            user=form.user,
            new_password=form.cleaned_data["new_password1"],
        )
        # Keeps this session signed in; the user's other sessions end with the old hash.
        update_session_auth_hash(self.request, user)
        messages.success(self.request, "Your password has been changed.")
        return HttpResponseRedirect(self.get_success_url())


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_page(request: HttpRequest) -> HttpResponse:
    form = PasswordResetRequestForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        services.password_reset_request(
            actor=Actor.from_request(request), email=form.cleaned_data["email"]
        )
        return redirect("accounts:password_reset_sent")
    return render(request, "accounts/password_reset.html", {"form": form})


@require_http_methods(["GET"])
def password_reset_sent_page(request: HttpRequest) -> HttpResponse:
    hours = max(1, settings.PASSWORD_RESET_TIMEOUT // 3600)
    return render(request, "accounts/password_reset_sent.html", {"hours": hours})


class PasswordResetConfirmPage(auth_views.PasswordResetConfirmView):
    """Django's view checks the link (and moves its token out of the URL into the session);
    the new password is set through our service, which records it."""

    template_name = "accounts/password_reset_confirm.html"

    def form_valid(self, form: "SetPasswordForm[User]") -> HttpResponse:
        services.password_reset_complete(
            actor=Actor.from_request(self.request),
            user=form.user,
            new_password=form.cleaned_data["new_password1"],
        )
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        messages.success(self.request, "Your password has been reset. Sign in with the new one.")
        return HttpResponseRedirect(reverse("accounts:login"))


password_change_page = PasswordChangePage.as_view()
password_reset_confirm_page = PasswordResetConfirmPage.as_view()
