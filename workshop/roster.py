"""The technicians' roster (leave, training, part days) and the cars carried over (滞留车).

Capacity, the booking page, the board's loads and the promise suggestion read both through
`dealership.workload`, where `WorkshopConfig.ready()` registers `absences` and `carry_over`.

A car is carried over when it was checked in before the workshop's last close and is still
in work (checked in, signed, dispatched, in progress, on hold, back for rework): its
remaining standard hours take the next open day's hours before new bookings do.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.capacity import OPENING_LOOK, local_datetime, openings
from dealership import compiled
from dealership.errors import DomainError
from dealership.models import Technician, WorkType
from dealership.workload import CarryOver
from reception.models import Visit
from reception.states import VisitStatus
from workorders.models import LineKind, OrderStatus, WorkOrderLine

from .models import Job, RosterEntry, RosterKind, remaining_hours
from .states import JobStatus

ZERO = Decimal("0")
V = VisitStatus
CARRY_OVER_STATUSES = (
    V.CHECKED_IN,
    V.ORDER_SIGNED,
    V.DISPATCHED,
    V.IN_PROGRESS,
    V.ON_HOLD,
    V.QC_FAILED,
    V.REWORK,
)
# How far the roster may be edited, either way from today.
ROSTER_DAYS_BACK = 31
ROSTER_DAYS_AHEAD = 366
NOTE_MAX = 200


# ---------------------------------------------------------------------------- reads


def absences(first: date, last: date) -> dict[tuple[int, date], Decimal | None]:
    """{(technician id, day): hours off, None for the whole day} within first..last."""
    return {
        (technician_id, day): hours_off
        for technician_id, day, hours_off in RosterEntry.objects.filter(day__range=(first, last))
        .order_by()  # a dict: the default order would join every entry's technician
        .values_list("technician_id", "day", "hours_off")
    }


def with_day_roster(technicians: QuerySet[Technician], day: date) -> QuerySet[Technician]:
    """Annotate each technician's entry on `day` in the same query: `roster_away` (off the
    whole day) and `roster_hours_off` (a part day's hours)."""
    entries = RosterEntry.objects.filter(technician=OuterRef("pk"), day=day)
    return technicians.annotate(
        roster_away=Exists(entries.filter(hours_off__isnull=True)),
        roster_hours_off=Subquery(entries.values("hours_off")[:1]),
    )


def _last_close_and_next_day(now, opening: dict | None = None) -> tuple[object, date | None]:
    """The last closing instant before `now` and the next open day that has not closed yet,
    within OPENING_LOOK days either way (`opening`: `openings` of at least those days, when
    the caller has read them)."""
    today = timezone.localdate(now)
    look_first = today - timedelta(days=OPENING_LOOK)
    look_last = today + timedelta(days=OPENING_LOOK)
    days = opening if opening is not None else openings(look_first, look_last)
    last_close, next_day = None, None
    for day in sorted(days):
        opens, closes, _holiday = days[day]
        if opens is None or not look_first <= day <= look_last:
            continue
        closing = local_datetime(day, closes)
        if closing <= now:
            last_close = closing
        elif next_day is None:
            next_day = day
    return last_close, next_day


def _remaining_by_visit(visit_ids: list[int], now) -> dict[int, dict[str, Decimal]]:
    """Hours of work left per visit and work type: its jobs, else its order's labour lines."""
    remaining: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    if not visit_ids:
        return remaining
    with_jobs = set()
    jobs = (
        Job.objects.filter(visit_id__in=visit_ids)
        .exclude(status__in=(JobStatus.CANCELLED, JobStatus.PROPOSED))
        .values_list("visit_id", "work_type", "status", "hours", "actual_hours", "clocked_on_at")
    )
    for visit_id, work_type, status, hours, actual_hours, clocked_on_at in jobs:
        with_jobs.add(visit_id)
        remaining[visit_id][work_type] += remaining_hours(
            status, hours, actual_hours, clocked_on_at, now
        )
    without_jobs = [pk for pk in visit_ids if pk not in with_jobs]
    if not without_jobs:
        return remaining
    lines = (
        WorkOrderLine.objects.filter(order__visit_id__in=without_jobs, kind=LineKind.LABOUR)
        .exclude(order__status=OrderStatus.SUPERSEDED)
        .values_list("order__visit_id", "operation__work_type", "hours", "quantity")
    )
    for visit_id, work_type, hours, quantity in lines:
        remaining[visit_id][work_type or WorkType.REPAIR] += hours * quantity
    return remaining


def _carried_visits(last_close, now) -> list[Visit]:
    visits = list(
        Visit.objects.filter(status__in=CARRY_OVER_STATUSES, checked_in_at__lt=last_close)
        .select_related("vehicle")
        .only("id", "number", "status", "checked_in_at", "vehicle__plate")
        .order_by("checked_in_at", "id")
    )
    remaining = _remaining_by_visit([visit.pk for visit in visits], now)
    for visit in visits:
        visit.carry_over_hours = dict(remaining.get(visit.pk, {}))
    return visits


def carry_over_cars(now=None) -> tuple[date | None, list[Visit]]:
    """The next open day and the cars it takes over, each with `carry_over_hours` by type."""
    now = now or timezone.now()
    last_close, next_day = _last_close_and_next_day(now)
    if last_close is None or next_day is None:
        return next_day, []
    return next_day, _carried_visits(last_close, now)


def carry_over(first: date, last: date, now=None, *, opening: dict | None = None) -> CarryOver:
    """What the cars carried over take from the next open day, when it is within first..last
    (`opening`: the opening hours the caller has read, see `_last_close_and_next_day`)."""
    now = now or timezone.now()
    last_close, day = _last_close_and_next_day(now, opening)
    if last_close is None or day is None or not first <= day <= last:
        return CarryOver()
    visits = _carried_visits(last_close, now)
    if not visits:
        return CarryOver()
    hours: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for visit in visits:
        for work_type, value in visit.carry_over_hours.items():
            hours[work_type] += value
    return CarryOver(day=day, cars=len(visits), hours=dict(hours))


def queue_hours(*, exclude_visit_id: int | None = None, now=None) -> Decimal:
    """Hours of work still left on every car in the workshop (the board's load ahead)."""
    now = now or timezone.now()
    ids = list(
        Visit.objects.filter(status__in=CARRY_OVER_STATUSES)
        .exclude(pk=exclude_visit_id)
        .values_list("pk", flat=True)
    )
    remaining = _remaining_by_visit(ids, now)
    return sum((sum(by_type.values(), ZERO) for by_type in remaining.values()), ZERO)


def carry_over_visit_ids(now=None) -> set[int]:
    """The board's carry-over marker: the cars held over from the last close."""
    now = now or timezone.now()
    last_close, _next_day = _last_close_and_next_day(now)
    if last_close is None:
        return set()
    # SQL kept per process: the board, polled by every screen, marks them.
    return set(compiled.flat_values(_carried_visit_ids, fixed=(last_close,)))


def _carried_visit_ids(last_close) -> QuerySet[Visit]:
    return (
        Visit.objects.filter(status__in=CARRY_OVER_STATUSES, checked_in_at__lt=last_close)
        .order_by()  # a set of keys: no order needed
        .values_list("pk", flat=True)
    )


# ---------------------------------------------------------------------------- week view


@dataclass
class Cell:
    day: date
    entry: RosterEntry | None
    hours: Decimal  # working hours left that day


@dataclass
class Row:
    technician: Technician
    cells: list = field(default_factory=list)


@dataclass
class Week:
    start: date
    days: list
    rows: list
    away: dict  # day -> technicians away the whole day

    @property
    def previous(self) -> date:
        return self.start - timedelta(days=7)

    @property
    def next(self) -> date:
        return self.start + timedelta(days=7)


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def roster_week(start: date) -> Week:
    """Active technicians × the 7 days from Monday `start`: each cell's entry and hours left."""
    start = week_start(start)
    days = [start + timedelta(days=n) for n in range(7)]
    opening = openings(days[0], days[-1])
    technicians = list(
        Technician.objects.filter(active=True)
        .order_by("team", "name")
        .prefetch_related(
            Prefetch(
                "roster_entries",
                queryset=RosterEntry.objects.filter(day__range=(days[0], days[-1])),
                to_attr="week_entries",
            )
        )
    )
    away = {day: 0 for day in days}
    rows = []
    for technician in technicians:
        entries = {entry.day: entry for entry in technician.week_entries}
        row = Row(technician=technician)
        for day in days:
            opens, closes, _holiday = opening[day]
            entry = entries.get(day)
            span = _span(opens, closes)
            hours = min(technician.hours_per_day, span)
            if entry is not None:
                hours = ZERO if entry.whole_day else max(hours - entry.hours_off, ZERO)
                if entry.whole_day:
                    away[day] += 1
            row.cells.append(Cell(day=day, entry=entry, hours=hours))
        rows.append(row)
    return Week(start=start, days=days, rows=rows, away=away)


def _span(opens, closes) -> Decimal:
    if opens is None:
        return ZERO
    minutes = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
    return Decimal(minutes) / 60


# ---------------------------------------------------------------------------- writes


def _check_day(day: date) -> None:
    today = timezone.localdate()
    if (
        not today - timedelta(days=ROSTER_DAYS_BACK)
        <= day
        <= today + timedelta(days=ROSTER_DAYS_AHEAD)
    ):
        raise DomainError(
            _("The roster takes days from %(first)s to %(last)s.")
            % {
                "first": (today - timedelta(days=ROSTER_DAYS_BACK)).isoformat(),
                "last": (today + timedelta(days=ROSTER_DAYS_AHEAD)).isoformat(),
            },
            field="day",
        )


def _hours_off(value, kind: str, technician: Technician) -> Decimal | None:
    if value in (None, ""):
        if kind == RosterKind.PART_DAY:
            raise DomainError(_("A part day needs the hours off."), field="hours_off")
        return None
    try:
        hours = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("Give the hours off as a number."), field="hours_off") from exc
    if not hours.is_finite() or hours <= 0 or hours > 24:
        raise DomainError(_("Hours off are more than 0 and at most 24."), field="hours_off")
    if kind == RosterKind.PART_DAY and hours >= technician.hours_per_day:
        raise DomainError(
            _("A part day leaves some hours: fewer than %(hours)s h off, or mark the whole day.")
            % {"hours": technician.hours_per_day.normalize()},
            field="hours_off",
        )
    return hours


def roster_set(
    *,
    technician: Technician,
    day: date,
    kind: str,
    actor,
    hours_off: Decimal | str | None = None,
    note: str = "",
) -> RosterEntry:
    """Set a technician's leave, training or part day on a day (replacing that day's entry)."""
    if kind not in RosterKind.values:
        raise DomainError(_("Choose leave, training or a part day."), field="kind")
    _check_day(day)
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise DomainError(
            _("The note is at most %(n)s characters.") % {"n": NOTE_MAX}, field="note"
        )
    hours = _hours_off(hours_off, kind, technician)
    with transaction.atomic():
        entry, _created = RosterEntry.objects.select_for_update().update_or_create(
            technician=technician,
            day=day,
            defaults={
                "kind": kind,
                "hours_off": hours,
                "note": note,
                "updated_by": actor,
                "updated_at": timezone.now(),
            },
        )
    return entry


def roster_clear(*, technician: Technician, day: date, actor) -> bool:
    """Clear a technician's entry on a day (back to the full day); False when there was none."""
    _check_day(day)
    with transaction.atomic():
        entry = (
            RosterEntry.objects.select_for_update().filter(technician=technician, day=day).first()
        )
        if entry is None:
            return False
        entry._history_user = actor
        entry.delete()
    return True
