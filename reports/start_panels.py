"""The manager's start page: the day's figures and what needs a manager now.

On the top floor with the reports: it reads every step's selectors.
"""

from datetime import datetime, timedelta

from django.db.models import Count, Q, Sum
from django.utils import timezone

from appointments.models import Appointment
from appointments.models import Status as AppointmentStatus
from dealership.models import DueTask
from dealership.states import OPEN_STATES, DueTaskState
from delivery import selectors as delivery_selectors
from delivery.models import Settlement, SettlementStatus
from reception.models import Visit
from workshop import selectors as workshop_selectors


def _today_bounds():
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, datetime.min.time()))
    return today, start, start + timedelta(days=1)


def day_figures(request) -> dict:
    today, start, end = _today_bounds()
    appointments = Appointment.objects.filter(start__gte=start, start__lt=end).aggregate(
        booked=Count("id", filter=~Q(status=AppointmentStatus.CANCELLED)),
        arrived=Count("id", filter=Q(status=AppointmentStatus.ARRIVED)),
        no_show=Count("id", filter=Q(status=AppointmentStatus.NO_SHOW)),
    )
    checked_in = Q(checked_in_at__gte=start, checked_in_at__lt=end)
    delivered = Q(delivered_at__gte=start, delivered_at__lt=end)
    # Only the day's rows are read (by the two dates' indexes), not every visit ever.
    visits = Visit.objects.filter(checked_in | delivered).aggregate(
        checked_in=Count("id", filter=checked_in), delivered=Count("id", filter=delivered)
    )
    money = Settlement.objects.filter(
        delivery_selectors.settled_on(today), status=SettlementStatus.PAID
    ).aggregate(count=Count("id"), total=Sum("customer_total"))
    return {"today": today, **appointments, **visits, "settled": money["count"], **money}


def alerts(request) -> dict:
    # The board's risky cars without the rest of the board (its loads, people, texts).
    promises = workshop_selectors.promises_at_risk()
    # Only the two totals of the due-tasks page (`due_ops_summary`), in one query: not its
    # rows, their subjects and the last dispatch, which this panel does not print.
    # Over the open and failed rows only (an index range), not the years of done ones.
    tasks = DueTask.objects.filter(state__in=(*OPEN_STATES, DueTaskState.FAILED)).aggregate(
        overdue=Count("id", filter=Q(state__in=OPEN_STATES, due_at__lt=timezone.now())),
        failed=Count("id", filter=Q(state=DueTaskState.FAILED)),
    )
    return {"promises": promises, **tasks}
