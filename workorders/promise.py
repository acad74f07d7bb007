"""The promised time suggested at check-in: one the store can keep.

    start = when the cars ahead are done: their remaining hours shared by the technicians
            working today (the roster's leave and training days left out)
    start = later still if a part is on order: its expected day's first working hour
    ready = start + this order's labour hours + the margin (rule workorders.promise_buffer_minutes),
            counted in working hours, rounded up to a quarter hour

The advisor may promise another time with a reason (see `work_order_update`), kept on the
visit's timeline.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import F, Max, Q, Sum
from django.template.defaultfilters import floatformat
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import AppointmentLine, StockStatus
from dealership.models import Technician
from dealership.rules import rule
from dealership.workload import absences, queue_hours, working_hours
from reception.states import VisitStatus

from .models import LineKind, OrderStatus, WorkOrder, WorkOrderLine

ZERO = Decimal("0")
QUARTER = 15 * 60
# Visits whose work still lies ahead of the workshop.
_QUEUED = (
    VisitStatus.CHECKED_IN,
    VisitStatus.ORDER_SIGNED,
    VisitStatus.DISPATCHED,
    VisitStatus.IN_PROGRESS,
    VisitStatus.ON_HOLD,
    VisitStatus.REWORK,
)


@dataclass
class PromiseSuggestion:
    at: datetime
    queue_hours: Decimal  # remaining hours of the cars ahead of this one
    technicians: int  # technicians working today
    own_hours: Decimal  # this order's labour hours
    parts_expected: date | None  # the last part on order is expected that day
    margin_minutes: int

    @property
    def basis_text(self) -> str:
        """What the suggestion rests on, in the reader's language, for the order page."""
        text = _(
            "%(queue)s h of work ahead shared by %(n)s technicians at work today, "
            "%(own)s h for this car, %(margin)s min margin"
        ) % {
            "queue": floatformat(self.queue_hours, "-2"),
            "n": self.technicians,
            "own": floatformat(self.own_hours, "-2"),
            "margin": self.margin_minutes,
        }
        if self.parts_expected:
            text += "; " + _("parts on order expected %(day)s") % {
                "day": self.parts_expected.isoformat()
            }
        return text


def technicians_working(day: date) -> int:
    """Active technicians with some hours on `day` by the roster (at least one)."""
    rows = list(Technician.objects.filter(active=True).values_list("pk", "hours_per_day"))
    off = absences(day, day)
    working = sum(1 for pk, hours in rows if working_hours(hours, hours, off, pk, day) > ZERO)
    return max(working, 1)


def parts_expected_on(order: WorkOrder) -> date | None:
    """The day the last part still on order for the visit's booking is expected."""
    appointment_id = order.visit.appointment_id
    if appointment_id is None:
        return None
    return AppointmentLine.objects.filter(
        appointment_id=appointment_id, stock_status=StockStatus.TO_ORDER
    ).aggregate(last=Max("expected_on"))["last"]


def workshop_backlog_hours(*, exclude_visit_id: int | None = None) -> Decimal:
    """Standard hours of the work waiting in or ahead of the workshop (the orders' lines),
    when the workshop has not registered its own reader of the hours left."""
    lines = WorkOrderLine.objects.filter(
        order__visit__status__in=_QUEUED,
        kind=LineKind.LABOUR,
    ).filter(
        Q(order__status=OrderStatus.SIGNED) | Q(order__status=OrderStatus.DRAFT, order__revision=1)
    )
    if exclude_visit_id:
        lines = lines.exclude(order__visit_id=exclude_visit_id)
    total = lines.aggregate(hours=Sum(F("hours") * F("quantity")))["hours"]
    return Decimal(total or 0)


def order_hours(order: WorkOrder) -> Decimal:
    return sum(
        (line.hours * line.quantity for line in order.lines.all() if line.kind != LineKind.PART),
        ZERO,
    )


def add_work_hours(start: datetime, hours: float) -> datetime:
    """`hours` of workshop time after `start`, counting only the working day."""
    day_start, day_end = rule("workorders.workday_start_hour"), rule("workorders.workday_end_hour")
    moment = timezone.localtime(start)
    remaining = timedelta(hours=hours)
    for _day in range(366):
        opens = moment.replace(hour=day_start, minute=0, second=0, microsecond=0)
        closes = moment.replace(hour=day_end, minute=0, second=0, microsecond=0)
        moment = max(moment, opens)
        if moment < closes:
            available = closes - moment
            if remaining <= available:
                return moment + remaining
            remaining -= available
        moment = opens + timedelta(days=1)
    return moment


def promise_suggestion_for(order: WorkOrder, *, now: datetime | None = None) -> PromiseSuggestion:
    """When the car can be ready, and what that rests on (the page and the API show both)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    technicians = technicians_working(today)
    queue = queue_hours(exclude_visit_id=order.visit_id)
    if queue is None:
        queue = workshop_backlog_hours(exclude_visit_id=order.visit_id)
    start = add_work_hours(now, float(queue / technicians)) if queue else now
    parts_day = parts_expected_on(order)
    if parts_day is not None:
        arrival = datetime.combine(
            parts_day,
            time(rule("workorders.workday_start_hour")),
            tzinfo=timezone.get_default_timezone(),
        )
        start = max(start, arrival)
    own = order_hours(order)
    margin = int(rule("workorders.promise_buffer_minutes"))
    ready = add_work_hours(start, float(own) + margin / 60)
    seconds = math.ceil(ready.timestamp() / QUARTER) * QUARTER
    return PromiseSuggestion(
        at=datetime.fromtimestamp(seconds, tz=ready.tzinfo),
        queue_hours=queue.quantize(Decimal("0.01")),
        technicians=technicians,
        own_hours=own,
        parts_expected=parts_day,
        margin_minutes=margin,
    )
