"""The numbered rules of step 2 (DOMAIN.md), editable by the service manager at /settings/."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dealership.rules import register

register(
    "reception.consultation_minutes",
    6,
    _("Minimum consultation with the customer before the order is signed (not quick service)"),
    _("minutes"),
)
register(
    "reception.comeback_window_days",
    30,
    _("A return within this many days of a delivery is suggested as a comeback"),
    _("days"),
)
register("reception.progress_link_days", 30, _("Customer progress link valid for"), _("days"))
# Issue 19.4, DOMAIN step 4: "progress reported to the customer at least once (seed 003:
# every 2 h)". 0 switches the messages off.
register(
    "reception.progress_push_hours",
    2,
    _("While the car is in, send the customer a progress message every (0 = off)"),
    pgettext_lazy("unit", "hours"),
    minimum=0,
    maximum=12,
)
register(
    "reception.lounge_refresh_seconds",
    30,
    _("The lounge display refreshes itself every"),
    _("seconds"),
    minimum=2,
    maximum=600,
)
