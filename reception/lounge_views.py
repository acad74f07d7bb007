"""The lounge display (issue 19.4): the TV's page and its board, and the manager's link page."""

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dealership.roles import Role, public_view, role_required
from dealership.rules import rule
from dealership.web import submit

from .lounge import (
    lounge_cars,
    lounge_display_current,
    lounge_display_for_key,
    lounge_link_issue,
    lounge_link_retire,
)


class LoungeLinkForm(forms.Form):
    show_all_cars = forms.BooleanField(
        label=gettext_lazy("Show every car checked in today, not only waiting customers' cars"),
        required=False,
    )


def _settings_page(request, form, *, key: str = ""):
    return render(
        request,
        "reception/lounge_settings.html",
        {
            "form": form,
            "display": lounge_display_current(),
            "new_url": request.build_absolute_uri(reverse("reception:lounge", args=[key]))
            if key
            else "",
        },
    )


@role_required(Role.SERVICE_MANAGER)
@require_http_methods(["GET", "POST"])
@never_cache  # the answer to a POST carries the key: no cache may keep it
def lounge_settings(request):
    """The lounge link: make a new one (the old URL stops working); its key is shown once."""
    return submit(
        request,
        LoungeLinkForm(request.POST if request.method == "POST" else None),
        lambda data: lounge_link_issue(actor=request.user, show_all_cars=data["show_all_cars"]),
        done=lambda issued: _settings_page(request, LoungeLinkForm(), key=issued[1]),
        show_form=lambda form: _settings_page(request, form),
        message=_("New lounge link made. The old link no longer opens the display."),
    )


@role_required(Role.SERVICE_MANAGER)
@require_POST
def lounge_retire(request):
    """Switch the lounge display off."""
    if lounge_link_retire(actor=request.user):
        messages.success(request, _("The lounge link is switched off."))
    return redirect("reception:lounge_settings")


def _display_or_404(token: str):
    display = lounge_display_for_key(token)
    if display is None:
        raise Http404
    return display


def _board_context(display):
    return {"cars": lounge_cars(display), "now": timezone.now()}


@public_view
@require_GET
@never_cache
def lounge(request, token: str):
    """The TV in the customer lounge: opened with the store's lounge key, no log-in."""
    display = _display_or_404(token)
    return render(
        request,
        "reception/lounge.html",
        {
            **_board_context(display),
            "board_url": reverse("reception:lounge_board", args=[token]),
            "refresh": rule("reception.lounge_refresh_seconds"),
        },
    )


@public_view
@require_GET
@never_cache
def lounge_board(request, token: str):
    """The board alone, fetched by the TV every few seconds; a retired key answers 404."""
    return render(request, "reception/_lounge_board.html", _board_context(_display_or_404(token)))
