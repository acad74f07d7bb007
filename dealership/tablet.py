"""The staff tablet after a customer signed: locked on a hand-back screen until the staff
member types their own password (issue 15, item 10).

`lock(request, next_url)` is called by a signing view after the customer signed; while the
session is locked, every page of the site but the hand-back screen (and static files, the
log-out) answers with a redirect to it, so neither the browser's back button nor a typed
address reaches a staff page. After `MAX_FAILURES` wrong passwords the session is logged out.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_http_methods

from .roles import ALL_STAFF, role_required

SESSION_KEY = "tablet_locked_next"
FAILURES_KEY = "tablet_unlock_failures"
MAX_FAILURES = 5


def lock(request, next_url: str):
    """Hand the tablet to the customer-facing 'give it back' screen; returns the redirect."""
    request.session[SESSION_KEY] = next_url
    request.session[FAILURES_KEY] = 0
    return redirect("tablet_locked")


def is_locked(request) -> bool:
    session = getattr(request, "session", None)
    return bool(session is not None and session.get(SESSION_KEY))


class UnlockForm(forms.Form):
    password = forms.CharField(
        label=_("Your password (staff)"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


@role_required(*ALL_STAFF)
@require_http_methods(["GET", "POST"])
def locked(request):
    next_url = request.session.get(SESSION_KEY)
    if not next_url:
        return redirect("home")
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if request.user.check_password(form.cleaned_data["password"]):
            del request.session[SESSION_KEY]
            request.session.pop(FAILURES_KEY, None)
            if not url_has_allowed_host_and_scheme(
                next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
            ):
                next_url = reverse("home")
            return redirect(next_url)
        failures = int(request.session.get(FAILURES_KEY, 0)) + 1
        if failures >= MAX_FAILURES:
            logout(request)
            messages.error(request, _("Too many wrong passwords: log in again."))
            return redirect(settings.LOGIN_URL)
        request.session[FAILURES_KEY] = failures
        form.add_error("password", _("Wrong password."))
    # The staff's messages ("delivered, walk the customer out") wait for the staff page.
    context = {"form": form, "messages": ()}
    return render(request, "tablet_locked.html", context, status=400 if form.errors else 200)


class TabletLockMiddleware:
    """While the tablet is locked, every other page redirects to the hand-back screen."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_locked(request) and not self._allowed(request.path):
            return redirect("tablet_locked")
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        static = "/" + settings.STATIC_URL.lstrip("/")
        allowed = (reverse("tablet_locked"), reverse("logout"), static)
        return any(path.startswith(prefix) for prefix in allowed)
