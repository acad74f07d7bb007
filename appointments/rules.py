"""The numbered rules of step 1 (DOMAIN.md), editable by the service manager at /settings/."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dealership.rules import register

register("appointments.slot_minutes", 30, _("Appointment slot length"), _("minutes"))
register("appointments.arrivals_per_slot", 3, _("Arrivals allowed per slot"), _("cars"))
register(
    "appointments.walk_in_reserve_percent",
    Decimal("20"),
    _("Technician hours kept free for walk-ins and comebacks"),
    "%",
)
register("appointments.max_days_ahead", 60, _("Bookings accepted up to"), _("days ahead"))
register(
    "appointments.self_service_lead_hours",
    2,
    _("Online bookings start at least"),
    _("hours from now"),
)
register(
    "appointments.self_service_attempts_per_hour",
    10,
    _("Online booking attempts allowed per visitor"),
    _("per hour"),
)
register("appointments.reminder_first_hours", 72, _("First reminder before"), _("hours (0 = off)"))
register(
    "appointments.reminder_second_hours",
    24,
    _("Second reminder before"),
    pgettext_lazy("unit", "hours"),
)
register(
    "appointments.reminder_last_hours", 1, _("Last reminder before"), pgettext_lazy("unit", "hours")
)
register("appointments.confirm_call_days", 3, _("Confirmation call before"), _("days"))
register("appointments.parts_check_days", 1, _("Parts ready check before"), _("days"))
register(
    "appointments.no_show_grace_minutes",
    30,
    _("No-show after the slot ends plus"),
    _("minutes"),
)
register("appointments.parts_lead_days", 3, _("Delivery time of ordered parts"), _("days"))
register(
    "appointments.deposit_part_price",
    Decimal("1000"),
    _("Ordered parts from this price need a deposit"),
    _("yuan"),
)
register(
    "appointments.deposit_percent",
    Decimal("50"),
    _("Deposit for expensive ordered parts"),
    _("percent of the part price"),
)
register(
    "appointments.no_show_deposit_kept",
    True,
    _("The store keeps the deposit of a customer who does not come (else the manager refunds it)"),
)
register("appointments.invitation_days", 15, _("Maintenance invitation call before"), _("days"))
register(
    "appointments.default_km_per_day",
    40,
    _("Assumed daily mileage when a vehicle has no history"),
    _("km"),
)
