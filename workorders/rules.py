"""The numbered rules of step 3 (DOMAIN.md), editable by the service manager at /settings/."""

from decimal import Decimal

from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from dealership.models import WorkType
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

# The store's own repair quality warranty (质量保证期) per work type: so many months or so
# many km from the delivery, whichever comes first (issue 16 item 5, workorders.repair_warranty).
REPAIR_WARRANTY_MONTHS = (1, 36)
REPAIR_WARRANTY_KM = (500, 100000)
REPAIR_WARRANTY_DEFAULTS = {
    WorkType.MAINTENANCE: (3, 5000),
    WorkType.REPAIR: (3, 5000),
    WorkType.BODY_PAINT: (12, 20000),
}
for _work_type, (_months, _km) in REPAIR_WARRANTY_DEFAULTS.items():
    register(
        f"workorders.repair_warranty_months_{_work_type.value}",
        _months,
        format_lazy(
            _("Our repair warranty on {work}: months from delivery"), work=_work_type.label
        ),
        _("months"),
        minimum=REPAIR_WARRANTY_MONTHS[0],
        maximum=REPAIR_WARRANTY_MONTHS[1],
    )
    register(
        f"workorders.repair_warranty_km_{_work_type.value}",
        _km,
        format_lazy(_("Our repair warranty on {work}: km from delivery"), work=_work_type.label),
        "km",
        minimum=REPAIR_WARRANTY_KM[0],
        maximum=REPAIR_WARRANTY_KM[1],
    )
