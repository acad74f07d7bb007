"""Capacity arithmetic: how many technician-hours and arrivals a day and a slot still take.

Per day and work type:
    total     = sum over active technicians of that type of min(hours per day, opening span),
                less the roster's hours off (leave, training: the whole day; a part day: its hours)
    carried   = hours the cars carried over from the last close still need (next open day only)
    bookable  = total × (1 − walk-in reserve %)         appointments may fill this;
                                                          the rest is kept for walk-ins
    appointed = hours of open and arrived appointments
    free      = bookable − carried − appointed
Per slot: appointed arrivals ≤ the arrivals cap (heijunka: not everyone at 8:00).

Every function here reads a whole range of days in a fixed number of queries, so
the board and the slot picker cost the same for a quiet day and a busy week.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from dealership import compiled
from dealership.models import Technician, WorkType
from dealership.rules import rule
from dealership.workload import absences, carry_over, working_hours

from .models import Appointment, AppointmentLine, Holiday, OpeningHours
from .states import CAPACITY_STATUSES

DEFAULT_OPENS = time(8, 30)
DEFAULT_CLOSES = time(17, 30)
# The carry-over looks this far either way from today for the last close and the next open
# day (holidays, closed weeks).
OPENING_LOOK = 21
ZERO = Decimal("0")
HOURS = Decimal("0.01")


def local_tz():
    return timezone.get_default_timezone()


def local_datetime(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=local_tz())


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """UTC-aware instants covering local days first..last inclusive."""
    return local_datetime(first, time.min), local_datetime(last + timedelta(days=1), time.min)


@dataclass
class TypeLoad:
    work_type: str
    label: str
    total: Decimal = ZERO
    bookable: Decimal = ZERO
    appointed: Decimal = ZERO
    carried: Decimal = ZERO  # taken by cars carried over from the last close

    @property
    def free_bookable(self) -> Decimal:
        return max(self.bookable - self.carried - self.appointed, ZERO)

    def percent(self, value: Decimal) -> int:
        if not self.total:
            return 0
        return min(int(value * 100 / self.total), 100)

    @property
    def appointed_percent(self) -> int:
        return self.percent(self.appointed)

    @property
    def bookable_percent(self) -> int:
        return self.percent(self.bookable)

    @property
    def full(self) -> bool:
        return self.free_bookable <= ZERO


@dataclass
class Slot:
    start: datetime  # local time
    arrivals: int
    cap: int

    @property
    def free_arrivals(self) -> int:
        return max(self.cap - self.arrivals, 0)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=rule("appointments.slot_minutes"))


@dataclass
class DayCapacity:
    day: date
    opens: time | None
    closes: time | None
    holiday: str = ""
    loads: dict[str, TypeLoad] = field(default_factory=dict)
    slots: list[Slot] = field(default_factory=list)
    away: int = 0  # technicians off the whole day (leave, training)
    part_days: int = 0  # technicians working part of the day
    carry_over_cars: int = 0

    @property
    def reduced(self) -> bool:
        return bool(self.away or self.part_days or self.carry_over_cars)

    @property
    def free_hours(self) -> Decimal:
        return sum((load.free_bookable for load in self.loads.values()), ZERO)

    @property
    def reduction_text(self) -> str:
        """Why the day offers fewer hours, e.g. "2 technicians on leave or training, 1
        carry-over car: 6.5 h free"; empty when nothing takes hours away."""
        reasons = []
        if self.away:
            reasons.append(
                ngettext(
                    "%(n)s technician on leave or training",
                    "%(n)s technicians on leave or training",
                    self.away,
                )
                % {"n": self.away}
            )
        if self.part_days:
            reasons.append(
                ngettext(
                    "%(n)s technician on a part day",
                    "%(n)s technicians on a part day",
                    self.part_days,
                )
                % {"n": self.part_days}
            )
        if self.carry_over_cars:
            reasons.append(
                ngettext("%(n)s carry-over car", "%(n)s carry-over cars", self.carry_over_cars)
                % {"n": self.carry_over_cars}
            )
        if not reasons:
            return ""
        return _("%(reasons)s: %(hours)s h free") % {
            "reasons": pgettext("list separator", ", ").join(reasons),
            "hours": f"{self.free_hours.normalize():f}",
        }

    @property
    def closed(self) -> bool:
        return self.opens is None

    def slot_at(self, local_start: datetime) -> Slot | None:
        for slot in self.slots:
            if slot.start == local_start:
                return slot
        return None

    def fits_hours(self, needs: dict[str, Decimal]) -> bool:
        return all(hours <= self.loads[wt].free_bookable for wt, hours in needs.items())

    def missing_hours(self, needs: dict[str, Decimal]) -> list[TypeLoad]:
        return [
            self.loads[wt] for wt, hours in needs.items() if hours > self.loads[wt].free_bookable
        ]

    @property
    def load_list(self) -> list[TypeLoad]:
        return list(self.loads.values())

    @property
    def arrivals(self) -> int:
        return sum(slot.arrivals for slot in self.slots)


def _opening_hours():
    return OpeningHours.objects.values_list("weekday", "opens", "closes", "closed")


def _holidays(first: date, last: date):
    return Holiday.objects.filter(day__range=(first, last)).values_list("day", "name")


def openings(first: date, last: date) -> dict[date, tuple[time | None, time | None, str]]:
    """(opens, closes, holiday name) per local day; opens is None on a closed day."""
    hours = {
        weekday: (opens, closes, closed)
        for weekday, opens, closes, closed in compiled.value_tuples(_opening_hours)
    }
    holidays = dict(compiled.value_tuples(_holidays, fixed=(first, last)))
    result = {}
    day = first
    while day <= last:
        opens, closes, closed = hours.get(day.weekday(), (DEFAULT_OPENS, DEFAULT_CLOSES, False))
        if day in holidays:
            result[day] = (None, None, holidays[day])
        elif closed:
            result[day] = (None, None, "")
        else:
            result[day] = (opens, closes, "")
        day += timedelta(days=1)
    return result


def openings_with_look(first: date, last: date, today: date) -> dict:
    """`openings` of first..last and of the weeks around `today` that the carry-over looks
    through, in one read: the days' capacity passes them on to the carry-over."""
    look = timedelta(days=OPENING_LOOK)
    return openings(min(first, today - look), max(last, today + look))


def _span_hours(opens: time, closes: time) -> Decimal:
    minutes = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
    return Decimal(minutes) / 60


def slot_starts(
    day: date, opens: time, closes: time, *, step: timedelta | None = None
) -> list[datetime]:
    """Arrival times of a day: every slot that starts and ends within opening hours
    (`step`: the slot length, when the caller has read the rule already)."""
    step = step or timedelta(minutes=rule("appointments.slot_minutes"))
    current = local_datetime(day, opens)
    closing = local_datetime(day, closes)
    starts = []
    while current + step <= closing:
        starts.append(current)
        current += step
    return starts


def capacity_for_days(
    first: date, last: date | None = None, *, exclude_appointment: int | None = None
) -> dict[date, DayCapacity]:
    """Capacity and load of every local day first..last (a fixed number of queries, whatever
    the range: five, the roster and the carry-over, which reads no opening hours of its own)."""
    last = last or first
    tz = local_tz()
    opening = openings_with_look(first, last, timezone.localdate())
    technicians = compiled.value_tuples(_active_technicians)
    absent = absences(first, last)
    carried = carry_over(first, last, opening=opening)
    reserve = rule("appointments.walk_in_reserve_percent") / 100
    cap = int(rule("appointments.arrivals_per_slot"))
    step = timedelta(minutes=rule("appointments.slot_minutes"))  # read once, not once a day

    work_types = [work_type for work_type, _label in WorkType.choices]
    # By the instants, not the days: the SQL is kept, and the days' bounds follow the zone.
    lower, upper = day_bounds(first, last)
    rows = compiled.value_tuples(_appointed_hours, fixed=(lower, upper, exclude_appointment))
    arrivals = defaultdict(int)
    hours = defaultdict(lambda: ZERO)
    for start, *type_hours in rows:
        local = start.astimezone(tz)
        arrivals[local] += 1
        for work_type, line_hours in zip(work_types, type_hours, strict=True):
            if line_hours is not None:
                hours[(local.date(), work_type)] += line_hours

    result = {}
    for day in _days(first, last):
        opens, closes, holiday = opening[day]
        capacity = DayCapacity(day=day, opens=opens, closes=closes, holiday=holiday)
        span = _span_hours(opens, closes) if opens else ZERO
        if opens:
            for pk, _work_type, _hours in technicians:
                if (pk, day) in absent:
                    if absent[(pk, day)] is None:
                        capacity.away += 1
                    else:
                        capacity.part_days += 1
        if day == carried.day:
            capacity.carry_over_cars = carried.cars
        for work_type, label in WorkType.choices:
            total = sum(
                (
                    working_hours(h, span, absent, pk, day)
                    for pk, wt, h in technicians
                    if wt == work_type
                ),
                ZERO,
            ).quantize(HOURS)
            capacity.loads[work_type] = TypeLoad(
                work_type=work_type,
                label=str(label),
                total=total,
                bookable=(total * (1 - reserve)).quantize(HOURS),
                appointed=hours[(day, work_type)],
                carried=(carried.hours.get(work_type, ZERO) if day == carried.day else ZERO),
            )
        if opens:
            capacity.slots = [
                Slot(start=start, arrivals=arrivals.get(start, 0), cap=cap)
                for start in slot_starts(day, opens, closes, step=step)
            ]
        result[day] = capacity
    return result


def _active_technicians():
    return (
        Technician.objects.filter(active=True)
        .order_by()  # summed per type: no order needed
        .values_list("pk", "work_type", "hours_per_day")
    )


def _appointed_hours(lower: datetime, upper: datetime, exclude_appointment: int | None):
    """The start of each appointment holding capacity from lower to upper, and its labour lines'
    hours per work type (in `WorkType.choices` order; None without such lines).

    Summed beside each appointment by a subquery that finds its lines by the appointment's
    key: joined to the range instead, PostgreSQL reads every line of the year to find a
    week's (20 ms at a year of data); a second query by a list of ~450 keys cost the
    process more than the sums cost PostgreSQL.
    """
    appointments = Appointment.objects.filter(
        start__gte=lower, start__lt=upper, status__in=CAPACITY_STATUSES
    )
    if exclude_appointment:
        appointments = appointments.exclude(pk=exclude_appointment)
    return appointments.order_by().values_list(
        "start", *(_line_hours(work_type) for work_type, _label in WorkType.choices)
    )


def _line_hours(work_type: str) -> Subquery:
    """The hours of an appointment's labour lines of one work type."""
    return Subquery(
        AppointmentLine.objects.filter(
            appointment=OuterRef("pk"), work_type=work_type, operation__isnull=False
        )
        .order_by()
        .values("appointment")
        .annotate(total=Sum("hours"))
        .values("total")
    )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def hours_needed(operations) -> dict[str, Decimal]:
    """Technician-hours a list of labour operations takes, by work type."""
    needs = defaultdict(lambda: ZERO)
    for operation in operations:
        needs[operation.work_type] += operation.standard_hours
    return dict(needs)


def free_slots(
    *,
    needs: dict[str, Decimal],
    first: date,
    days: int = 14,
    earliest: datetime | None = None,
    exclude_appointment: int | None = None,
    limit: int = 3,
    near: datetime | None = None,
) -> list[datetime]:
    """The free arrival times that take `needs`, nearest to `near` on its day, else the next days.

    Returned as local datetimes, at most `limit`.
    """
    earliest = earliest or timezone.now()
    horizon = timezone.localdate() + timedelta(days=rule("appointments.max_days_ahead"))
    last = min(first + timedelta(days=days - 1), horizon)
    if last < first:
        return []
    capacity = capacity_for_days(first, last, exclude_appointment=exclude_appointment)
    found: list[datetime] = []
    for day in sorted(capacity):
        day_capacity = capacity[day]
        if day_capacity.closed or not day_capacity.fits_hours(needs):
            continue
        candidates = [
            slot.start
            for slot in day_capacity.slots
            if slot.free_arrivals and slot.start >= earliest
        ]
        if near is not None and day == timezone.localtime(near).date():
            candidates.sort(key=lambda start: abs((start - near).total_seconds()))
            candidates = sorted(candidates[:limit])
        found.extend(candidates[: limit - len(found)])
        if len(found) >= limit:
            break
    return found
