"""What the appointment pages share: the day asked for, the services chosen, the picker."""

from datetime import date

from django.utils import timezone

from dealership.daterange import day_in_range
from dealership.models import LabourOperation, MaintenancePlan, Part

from .. import selectors


def parse_day(value, default: date | None = None) -> date:
    """The `day` asked for; junk falls back to the default, a far date is a DomainError
    (the page answers 400 with the message, see `refuses_bad_query`)."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return default or timezone.localdate()
    return day_in_range(day, field="day")


def _ids(values) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


def _services_from(params):
    """Operations, plan and extra parts named in GET/POST params (unknown ids ignored)."""
    operations = list(LabourOperation.objects.filter(pk__in=_ids(params.getlist("operations"))))
    plan_id = params.get("plan", "")
    plan = (
        MaintenancePlan.objects.prefetch_related("operations").filter(pk=plan_id).first()
        if plan_id.isdigit()
        else None
    )
    parts = list(Part.objects.filter(pk__in=_ids(params.getlist("parts"))))
    return operations, plan, parts


def base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def preview_context(params, *, day: date, exclude: int | None = None, earliest=None) -> dict:
    operations, plan, parts = _services_from(params)
    estimate = selectors.booking_estimate(operations=operations, plan=plan, parts=parts)
    picker = selectors.slot_picker(
        day=day,
        needs=estimate.needs,
        earliest=earliest or timezone.now(),
        exclude_appointment=exclude,
    )
    return {"estimate": estimate, "picker": picker, "selected": params.get("start", "")}
