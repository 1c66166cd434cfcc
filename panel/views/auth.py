"""Session login and logout: the same accounts and the same login throttling as the API."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from villages.auth import LoginGuard, LoginThrottled, client_address
from villages.models import User


class LoginForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=128)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/panel/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/panel/"


def login_view(request: HttpRequest) -> HttpResponse:
    form = LoginForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        username = form.cleaned_data["username"]
        guard = LoginGuard(username=username, address=client_address(request))
        try:
            guard.check()
        except LoginThrottled as refusal:
            wait = (refusal.details or {}).get("retry_after", 60)
            form.add_error(
                None,
                _("Too many failed logins. Try again in %(minutes)s minutes.") % {"minutes": max(1, (wait + 59) // 60)},
            )
            response = render(request, "panel/login.html", {"form": form, "next": _next_url(request)}, status=429)
            response["Retry-After"] = str(wait)
            return response
        user = authenticate(request, username=username, password=form.cleaned_data["password"])
        if isinstance(user, User) and user.is_active:
            guard.reset_username()
            login(request, user)
            request.session.set_expiry(settings.PANEL_SESSION_SECONDS)
            return redirect(_next_url(request))
        guard.record_failure()
        form.add_error(None, _("Wrong username or password."))
        status = 400
    return render(request, "panel/login.html", {"form": form, "next": _next_url(request)}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.PANEL_LOGIN_URL)
