"""The numbered rules of steps 6–7 (DOMAIN.md), editable by the service manager at /settings/.

The ±10 % limit on the final bill is the work order's rule
`workorders.estimate_tolerance_percent`; settlement reads that one.
"""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dealership.rules import register

register(
    "delivery.ready_notice_hours_short_job",
    1,
    _("Tell the customer the car is ready this long before the ready time (short job)"),
    pgettext_lazy("unit", "hours"),
)
register(
    "delivery.ready_notice_hours_long_job",
    4,
    _("Tell the customer the car is ready this long before the ready time (long job)"),
    pgettext_lazy("unit", "hours"),
)
register(
    "delivery.long_job_days",
    2,
    _("A job that took longer than this is a long job (earlier ready notice)"),
    _("days"),
)
register(
    "delivery.bill_clocked_hours",
    False,
    _("Bill labour by the hours clocked in the workshop instead of the catalogue hours"),
)
register(
    "delivery.cashier_adjustment_limit",
    Decimal("10.00"),
    _("Largest adjustment of the amount due a cashier may record (the service manager more)"),
    _("yuan"),
)
