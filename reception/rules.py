"""The numbered rules of step 2 (DOMAIN.md), editable by the service manager at /settings/."""

from django.utils.translation import gettext_lazy as _

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
