"""The numbered rules of step 8 (DOMAIN.md), editable by the service manager at /settings/."""

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dealership.rules import register, rule

register(
    "followup.care_call_hours",
    24,
    _("Customer care call after delivery"),
    pgettext_lazy("unit", "hours"),
)
register("followup.advisor_call_days", 7, _("Advisor's call after delivery"), _("days"))
register("followup.new_car_call_days", 15, _("New-car call after handover"), _("days"))
register("followup.call_attempts", 3, _("Call attempts before closing as unreachable"), "")
register(
    "followup.retry_hours",
    3,
    _("Try an unreachable customer again after"),
    pgettext_lazy("unit", "hours"),
)
register(
    "followup.survey_complaint_score",
    6,
    _("Survey answers at or below this score open a complaint"),
    _("points (1–10)"),
)
register(
    "followup.complaint_response_hours",
    24,
    _("First response to a complaint within"),
    pgettext_lazy("unit", "hours"),
)
register(
    "followup.complaint_close_hours",
    48,
    _("Complaint closed within"),
    pgettext_lazy("unit", "hours"),
)
register(
    "followup.complaint_important_amount",
    Decimal("5000"),
    _("A complaint about this amount or more is important"),
    _("yuan"),
)
register(
    "followup.lost_months_first", 3, _("Lost customer: first call after no visit for"), _("months")
)
register(
    "followup.lost_months_second",
    6,
    _("Lost customer: second call after no visit for"),
    _("months"),
)
register(
    "followup.lost_months_third", 12, _("Lost customer: last call after no visit for"), _("months")
)
register(
    "followup.first_service_months",
    6,
    _("New car not back for its first service after"),
    _("months"),
)


def lost_months() -> list[int]:
    """The 'not seen for' steps in months, ascending, zeros (switched off) left out."""
    keys = (
        "followup.lost_months_first",
        "followup.lost_months_second",
        "followup.lost_months_third",
    )
    return sorted({int(rule(key)) for key in keys if int(rule(key)) > 0})


register(
    "followup.enquiry_response_minutes",
    15,
    _("Answer an online message within"),
    _("minutes"),
    minimum=1,
    maximum=1440,
)
