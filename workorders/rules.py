"""The numbered rules of step 3 (DOMAIN.md), editable by the service manager at /settings/."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from dealership.rules import register

register(
    "workorders.advisor_discount_limit_percent",
    Decimal("10"),
    _("Largest discount an advisor may give on a line (the service manager may give more)"),
    "%",
)
register(
    "workorders.estimate_tolerance_percent",
    Decimal("10"),
    _("The final bill stays within this much of the signed estimate"),
    "%",
)
register(
    "workorders.promise_buffer_minutes",
    30,
    _("Margin added to the suggested delivery time"),
    _("minutes"),
)
register("workorders.workday_start_hour", 8, _("Workshop starts work at"), _("o'clock"))
register("workorders.workday_end_hour", 18, _("Workshop stops work at"), _("o'clock"))
register(
    "workorders.promise_change_minutes",
    15,
    _("A promised time this far from the suggestion needs a reason"),
    _("minutes"),
)
register(
    "workorders.diagnosis_fee_operation",
    "ZD-FEE",
    _("Catalogue code of the diagnosis fee billed when a car is not repaired"),
)
