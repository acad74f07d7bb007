"""Report settings (DOMAIN "Reports": daily before opening, weekly Saturday, monthly last day)."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from dealership.rules import register

register("reports.daily_time", "07:30", _("Daily report emailed at (before opening, HH:MM)"), "")
register("reports.weekly_time", "17:00", _("Weekly report emailed on Saturday at (HH:MM)"), "")
register(
    "reports.monthly_time", "18:00", _("Monthly report emailed on the month's last day at"), ""
)
register(
    "reports.spending_bands",
    "1000, 3000, 10000",
    _("Customer spending bands (yuan a year, comma-separated limits)"),
    "",
)
register(
    "reports.min_clocked_hours",
    Decimal("1"),
    _("Productivity is shown from this many clocked hours on (fewer: too little data)"),
    _("hours"),
)
