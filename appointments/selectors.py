"""Reads of step 1 shared by the pages, reception and the reports (fixed query counts)."""

import hashlib
import pickle
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, F, Max, OuterRef, Prefetch, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dealership import compiled
from dealership.consent import Purpose, consent_filter
from dealership.daterange import add_months, clock_text
from dealership.models import (
    DueTask,
    DueTaskState,
    LabourOperation,
    MaintenancePlan,
    User,
    Vehicle,
    WorkType,
)
from dealership.roles import Role
from dealership.rules import rule
from dealership.staff_names import name_columns, name_in
from dealership.urltools import url_for_pk

from . import duties
from .capacity import DayCapacity, capacity_for_days, day_bounds, hours_needed
from .models import (
    Appointment,
    AppointmentLine,
    Campaign,
    Deposit,
    DepositStatus,
    Status,
    StockStatus,
)
from .parts import booking_operations, deposit_for, merge_parts, plan_parts, split_part_lines
from .recalls import listed_campaign_ids
from .states import OPEN_STATUSES
from .visits import VISITS


def _with_relations(queryset: QuerySet) -> QuerySet:
    return queryset.select_related("customer", "vehicle", "advisor").prefetch_related(
        Prefetch(
            "lines",
            queryset=AppointmentLine.objects.select_related("operation", "part").order_by("id"),
        )
    )


def appointments_for_day(day: date, *, advisor=None) -> QuerySet[Appointment]:
    """The appointments (and walk-ins) arriving on a local day, by arrival time."""
    return appointments_between(day, day, advisor=advisor)


def appointments_between(first: date, last: date, *, advisor=None) -> QuerySet[Appointment]:
    lower, upper = day_bounds(first, last)
    queryset = Appointment.objects.filter(start__gte=lower, start__lt=upper)
    if advisor is not None:
        queryset = queryset.filter(advisor=advisor)
    return _with_relations(queryset).order_by("start", "id")


def appointment_detail(pk: int) -> Appointment:
    return _with_relations(
        Appointment.objects.select_related("maintenance_plan", "booked_by", "rebooked_from")
    ).get(pk=pk)


def open_calls_for(appointment: Appointment) -> list[DueTask]:
    """The appointment's calls waiting on someone (confirmation, parts, rebooking)."""
    return list(
        DueTask.objects.filter(
            subject_type=ContentType.objects.get_for_model(Appointment),
            subject_id=appointment.pk,
            for_person=True,
            state=DueTaskState.PENDING,
        ).order_by("due_at")
    )


def duties_for(appointment: Appointment) -> list[DueTask]:
    return list(
        DueTask.objects.filter(
            subject_type=ContentType.objects.get_for_model(Appointment),
            subject_id=appointment.pk,
        ).order_by("due_at", "id")
    )


def open_campaigns_for(vehicle: Vehicle) -> list[Campaign]:
    """Open recalls and campaigns this vehicle falls under (shown at booking and check-in)."""
    today = timezone.localdate()
    campaigns = (
        Campaign.objects.filter(active=True)
        .select_related("labour_operation")
        .filter(Q(ends_on__isnull=True) | Q(ends_on__gte=today))
    )
    listed = listed_campaign_ids(vehicle.vin or "")
    return [
        campaign for campaign in campaigns if campaign.pk in listed or campaign.matches(vehicle)
    ]


def vehicle_appointments(vehicle: Vehicle, *, limit: int = 10) -> list[Appointment]:
    return list(
        Appointment.objects.filter(vehicle=vehicle)
        .select_related("advisor")
        .order_by("-start")[:limit]
    )


# --- board ------------------------------------------------------------------------------


@dataclass
class BoardSlot:
    start: object
    arrivals: int
    cap: int
    appointments: list


@dataclass
class BoardDay:
    capacity: DayCapacity
    appointments: list
    slots: list[BoardSlot]
    off_grid: list  # appointments off today's slot grid (opening hours changed since)
    walk_ins: list  # reception's walk-in visits: not appointments, marked apart

    @property
    def day(self) -> date:
        return self.capacity.day

    def count(self, status: str) -> int:
        return sum(1 for a in self.appointments if a["status"] == status)

    @property
    def status_counts(self) -> list[tuple[str, str, int]]:
        return [(value, label, self.count(value)) for value, label in Status.choices]


def check_in_url(appointment: Appointment) -> str:
    """Reception's check-in page for this appointment (empty until reception provides it)."""
    return check_in_url_for_pk()(appointment.pk)


def check_in_url_for_pk():
    """`check_in_url` for many appointments, reversed once: `check_in_url_for_pk()(pk)`."""
    try:
        head = reverse("reception:check_in")
    except NoReverseMatch:
        return lambda pk: ""
    return lambda pk: f"{head}?appointment={pk}"


def _walk_ins_by_day(first: date, last: date, *, advisor, days: int) -> dict[date, list]:
    """Reception's walk-ins per local day; the day lists them, the week only counts them."""
    walk_ins: dict[date, list] = defaultdict(list)
    visit_url = url_for_pk("reception:visit") if days == 1 else None
    tz = timezone.get_current_timezone()  # once, not once a visit
    for visit in VISITS.walk_ins(first, last, advisor=advisor, brief=days > 1):
        local_start = visit["checked_in_at"].astimezone(tz)
        if visit_url is None:  # the week counts them
            walk_ins[local_start.date()].append(visit["id"])
            continue
        plate = visit["plate"] or ""
        # What the day's card shows, as a dict: the template reads a dict key at once,
        # an attribute only after a failed key lookup (hundreds of cards).
        walk_ins[local_start.date()].append(
            {
                "pk": visit["id"],
                "url": visit_url(visit["id"]),
                "time_text": clock_text(local_start),
                "plate": plate,
                "nev": len(plate) == 8,
                "customer_name": visit["customer_name"],
                "advisor_name": visit["advisor_name"],
                "status_label": visit["status_label"],
            }
        )
    return walk_ins


def _week_card_rows(lower: datetime, upper: datetime, advisor_id: int | None) -> QuerySet:
    """The week's cards: time, status and plate (else VIN) of the appointments from lower to
    upper."""
    appointments = Appointment.objects.filter(start__gte=lower, start__lt=upper)
    if advisor_id is not None:
        appointments = appointments.filter(advisor_id=advisor_id)
    # The plate, else the VIN: one look-up of the car per appointment.
    plate_text = Coalesce(NullIf("plate", Value("")), "vin")
    vehicle = Vehicle.objects.filter(pk=OuterRef("vehicle_id")).order_by()
    return appointments.order_by("start", "id").values(
        "id",
        "start",
        "status",
        plate_text=Subquery(vehicle.values(text=plate_text)),
    )


def _day_card_rows(lower: datetime, upper: datetime, advisor_id: int | None) -> QuerySet:
    """The day's cards: besides the week's columns, customer, waiting and advisor."""
    appointments = Appointment.objects.filter(start__gte=lower, start__lt=upper)
    if advisor_id is not None:
        appointments = appointments.filter(advisor_id=advisor_id)
    return appointments.order_by("start", "id").values(
        "id",
        "start",
        "status",
        "waiting",
        "advisor_id",
        customer_name=F("customer__name"),
        plate=F("vehicle__plate"),
        vin=F("vehicle__vin"),
        **name_columns("advisor"),
    )


def _day_line_rows(lower: datetime, upper: datetime, advisor_id: int | None) -> QuerySet:
    """The day's cards' services: the labour lines of the appointments from lower to upper,
    with their operation's names (by the appointments' start index, then each one's lines:
    a day is a few dozen appointments)."""
    lines = AppointmentLine.objects.filter(
        appointment__start__gte=lower, appointment__start__lt=upper, operation__isnull=False
    )
    if advisor_id is not None:
        lines = lines.filter(appointment__advisor_id=advisor_id)
    return lines.order_by("id").values_list(
        "appointment_id", "operation_id", "operation__name_zh", "operation__name_en"
    )


def _card_rows(first: date, last: date, *, advisor, days: int) -> list[dict]:
    """The columns of each card as dicts (no model instances: a week has ~400 cards).

    The day's cards show customer, services and advisor; the week's only time, plate and
    status. The week reads each plate by its key beside the appointment: joined to the
    60 000 vehicles, PostgreSQL hashes the whole table for a week's 400 appointments, and a
    second query by a list of ~400 keys cost the process more than the lookups cost.
    """
    lower, upper = day_bounds(first, last)
    # SQL kept per process (polled by every advisor's screen).
    build = _week_card_rows if days > 1 else _day_card_rows
    rows = compiled.value_rows(build, fixed=(lower, upper, advisor and advisor.pk))
    if days > 1:
        return rows
    # Services: the lines' operations (joined: a handful of operations), named in the
    # reader's language by the model, once per operation. SQL kept per process too.
    lines = compiled.value_tuples(_day_line_rows, fixed=(lower, upper, advisor and advisor.pk))
    names: dict[int, str] = {}
    services = defaultdict(list)
    for appointment_id, operation_id, name_zh, name_en in lines:
        if operation_id not in names:
            names[operation_id] = LabourOperation(name_zh=name_zh, name_en=name_en).name
        services[appointment_id].append(names[operation_id])
    for row in rows:
        row["services"] = ", ".join(services[row["id"]])
    return rows


def _appointments_by_day(first: date, last: date, *, advisor, days: int) -> dict[date, list]:
    """The appointments per local day, each card's values worked out once here, so the
    board template stays a flat loop over dicts (it renders hundreds)."""
    today = timezone.localdate()
    # Translated once per page, not once per appointment (choices are lazy strings).
    status_labels = {value: str(label) for value, label in Status.choices}
    detail_url = url_for_pk("appointments:detail")
    check_in = check_in_url_for_pk()
    by_day: dict[date, list] = defaultdict(list)
    tz = timezone.get_current_timezone()  # once, not once a card
    rows = _card_rows(first, last, advisor=advisor, days=days)
    if days > 1:
        for row in rows:
            local = row["start"].astimezone(tz)
            by_day[local.date()].append(
                {
                    "pk": row["id"],
                    "status": row["status"],
                    "local_start": local,
                    "time_text": clock_text(local),
                    "url": detail_url(row["id"]),
                    "status_label": status_labels.get(row["status"], row["status"]),
                    "plate_text": row["plate_text"],
                }
            )
        return by_day
    for row in rows:
        local = row["start"].astimezone(tz)
        local_day = local.date()
        plate = row["plate"] or ""
        status = row["status"]
        by_day[local_day].append(
            {
                "pk": row["id"],
                "status": status,
                "local_start": local,
                "time_text": clock_text(local),
                "url": detail_url(row["id"]),
                "status_label": status_labels.get(status, status),
                "plate": plate,
                "nev": len(plate) == 8,
                "vin": row["vin"],
                "customer_name": row["customer_name"],
                "services": row["services"],
                "waiting": row["waiting"],
                "advisor_name": name_in(row, "advisor"),
                "check_in_url": (
                    check_in(row["id"]) if status in OPEN_STATUSES and local_day == today else ""
                ),
            }
        )
    return by_day


def day_cards(day: date) -> list[dict]:
    """The board's cards of one local day, by arrival time."""
    return _appointments_by_day(day, day, advisor=None, days=1)[day]


def _arrival_rows(lower: datetime, upper: datetime) -> QuerySet:
    """The start page's arrivals: the day's card columns it prints (no VIN, no advisor)."""
    return (
        Appointment.objects.filter(start__gte=lower, start__lt=upper)
        .order_by("start", "id")
        .values(
            "id",
            "start",
            "status",
            "waiting",
            customer_name=F("customer__name"),
            plate=F("vehicle__plate"),
        )
    )


def arrival_cards(day: date) -> list[dict]:
    """The day's cards as the start page's arrivals print them (`day_cards` less what the
    panel does not show, so not the services' query): time, plate, waiting, customer,
    status and the check-in link."""
    today = timezone.localdate()
    status_labels = {value: str(label) for value, label in Status.choices}
    detail_url = url_for_pk("appointments:detail")
    check_in = check_in_url_for_pk()
    tz = timezone.get_current_timezone()
    lower, upper = day_bounds(day, day)
    cards = []
    # SQL kept per process (one compilation a day).
    for row in compiled.value_rows(_arrival_rows, fixed=(lower, upper)):
        local = row["start"].astimezone(tz)
        plate = row["plate"] or ""
        is_open = row["status"] in OPEN_STATUSES
        cards.append(
            {
                "time_text": clock_text(local),
                "url": detail_url(row["id"]),
                "status_label": status_labels.get(row["status"], row["status"]),
                "plate": plate,
                "nev": len(plate) == 8,
                "customer_name": row["customer_name"],
                "waiting": row["waiting"],
                "check_in_url": check_in(row["id"]) if is_open and local.date() == today else "",
            }
        )
    return cards


def _board_day(
    capacity: DayCapacity, appointments: list, walk_ins: list, *, slotted: bool
) -> BoardDay:
    """One day's column: its slots with the appointments that arrive in each (`slotted`:
    the day view; the week shows a day's cards in one list, so it leaves them empty)."""
    slots = []
    off_grid = []
    if slotted:
        slots = [
            BoardSlot(start=slot.start, arrivals=slot.arrivals, cap=slot.cap, appointments=[])
            for slot in capacity.slots
        ]
        index = {slot.start: slot for slot in slots}
        for appointment in appointments:
            slot = index.get(appointment["local_start"])
            if slot is not None:
                slot.appointments.append(appointment)
            else:
                off_grid.append(appointment)
    return BoardDay(
        capacity=capacity,
        appointments=appointments,
        slots=slots,
        off_grid=off_grid,
        walk_ins=walk_ins,
    )


def _advisors() -> QuerySet[User]:
    return User.objects.filter(groups__name=Role.ADVISOR).order_by("username")


def board_advisors() -> list[User]:
    """The advisors the board filters by (SQL kept per process: polled all day)."""
    return compiled.instances(_advisors)


def board_key(days: list[BoardDay], *, today: date, advisor=None) -> str:
    """A digest of everything the board's days show: the key of their rendered HTML, with
    the language and the links the viewer may open (see board.html). A changed row, a
    renamed customer or a new day changes it, so the cached HTML is never stale; rendering
    a week's 400 cards cost more than reading them."""
    shown = (days, today, advisor.pk if advisor else None)
    return hashlib.blake2b(pickle.dumps(shown, protocol=5), digest_size=16).hexdigest()


def board(first: date, days: int = 1, *, advisor=None) -> list[BoardDay]:
    """Capacity, slots, appointments and walk-ins of a day or a week: a fixed number of queries."""
    last = first + timedelta(days=days - 1)
    capacity = capacity_for_days(first, last)
    walk_ins = _walk_ins_by_day(first, last, advisor=advisor, days=days)
    by_day = _appointments_by_day(first, last, advisor=advisor, days=days)
    return [
        _board_day(day_capacity, by_day[day], walk_ins[day], slotted=days == 1)
        for day, day_capacity in sorted(capacity.items())
    ]


# --- calls ------------------------------------------------------------------------------


def calls_pending(*, kinds=duties.CALL_KINDS, until=None, assigned_to=None) -> list[DueTask]:
    """Open appointment calls due by `until` (end of today by default), oldest first."""
    until = until or timezone.localtime().replace(hour=23, minute=59, second=59)
    tasks = DueTask.objects.filter(
        kind__in=list(kinds), state=DueTaskState.PENDING, due_at__lte=until
    )
    if assigned_to is not None:
        tasks = tasks.filter(Q(assigned_to__isnull=True) | Q(assigned_to=assigned_to))
    tasks = list(
        tasks.select_related("customer", "assigned_to", "subject_type").order_by("due_at", "id")[
            :300
        ]
    )
    appointment_ids = [t.subject_id for t in tasks if t.kind != duties.INVITATION_CALL]
    vehicle_ids = [t.subject_id for t in tasks if t.kind == duties.INVITATION_CALL]
    # The list shows each appointment's time, status and car (the API only their keys).
    appointments = {
        a.pk: a
        for a in Appointment.objects.filter(pk__in=appointment_ids).select_related("vehicle")
    }
    vehicles = {v.pk: v for v in Vehicle.objects.filter(pk__in=vehicle_ids)}
    for task in tasks:
        if task.kind == duties.INVITATION_CALL:
            task.vehicle = vehicles.get(task.subject_id)
            task.appointment = None
        else:
            task.appointment = appointments.get(task.subject_id)
            task.vehicle = task.appointment.vehicle if task.appointment else None
    return tasks


# --- maintenance invitations ------------------------------------------------------------


@dataclass
class MaintenanceDue:
    vehicle_id: int
    due_on: date
    milestone_km: int
    plan: MaintenancePlan | None


def _last_services(vehicle_ids=None) -> dict[int, tuple[datetime, int | None]]:
    """Per vehicle, its last maintenance here and the odometer read then (None: not read).

    A maintenance is any visit (booked or walk-in, not cancelled) whose work order has a
    maintenance line, and any arrived maintenance appointment (bookings from before visits).
    `vehicle_ids` limits the read to those cars (one car's talking points).
    """
    arrived = Appointment.objects.filter(
        status=Status.ARRIVED, lines__work_type=WorkType.MAINTENANCE
    )
    if vehicle_ids is not None:
        arrived = arrived.filter(vehicle_id__in=vehicle_ids)
    last: dict[int, tuple[datetime, int | None]] = {
        vehicle_id: (start, None)
        for vehicle_id, start in arrived.values("vehicle_id")
        .annotate(last=Max("start"))
        .values_list("vehicle_id", "last")
    }
    for vehicle_id, checked_in_at, odometer_km in VISITS.maintenance_visits(vehicle_ids):
        earlier = last.get(vehicle_id)
        if earlier is None or earlier[0] <= checked_in_at:
            last[vehicle_id] = (checked_in_at, odometer_km)
    return last


def _next_service(
    row: tuple, *, serviced, base: MaintenancePlan, default_kmpd: Decimal, today: date
) -> tuple[date, int]:
    """(due on, km milestone) of one car's next maintenance, from what the store knows."""
    _pk, registered, handover, created, odometer, odometer_at = row
    start = handover or registered or timezone.localtime(created).date()
    read_on = timezone.localtime(odometer_at).date() if odometer_at else today
    age = (read_on - start).days
    kmpd = Decimal(odometer) / age if odometer and age > 30 else default_kmpd
    kmpd = max(kmpd, Decimal("1"))
    if serviced:
        # Serviced here: the milestone after the one nearest the km it had then (a service at
        # 9 600 km was the 10 000 km one), and the interval's months after that day.
        serviced, km_read = serviced
        serviced_on = timezone.localtime(serviced).date()
        km_then = (
            Decimal(km_read)
            if km_read
            else max(Decimal(odometer) - kmpd * (read_on - serviced_on).days, Decimal(0))
        )
        milestone = (round(km_then / base.interval_km) + 1) * base.interval_km
    else:
        # No record here: assume it was serviced on time at the last milestone it passed.
        milestone = (odometer // base.interval_km + 1) * base.interval_km
        passed = milestone - base.interval_km
        serviced_on = read_on - timedelta(days=int((odometer - passed) / kmpd)) if passed else start
    km_due = read_on + timedelta(days=int((milestone - odometer) / kmpd))
    time_due = add_months(serviced_on, base.interval_months)
    return min(km_due, time_due), int(milestone)


_DUE_FIELDS = (
    "id",
    "registration_date",
    "handover_date",
    "created_at",
    "last_odometer_km",
    "last_odometer_at",
)


def _plan_for(plans: list[MaintenancePlan], milestone: int) -> MaintenancePlan:
    return next((p for p in reversed(plans) if milestone % p.interval_km == 0), plans[0])


def maintenance_due(*, today: date | None = None, within_days: int | None = None):
    """Vehicles whose next maintenance is due within `within_days` (default: the rule).

    An estimate from what the store knows: the last maintenance visit or arrived maintenance
    appointment (else the assumption that the car was serviced on time at the last km milestone it
    passed), the odometer and its date, and the daily mileage since registration. The
    next service is the earlier of the next km milestone of the shortest plan interval
    and that interval's months after the last service. Overdue vehicles up to 60 days
    are included (they were never invited).
    """
    today = today or timezone.localdate()
    within_days = within_days if within_days is not None else rule("appointments.invitation_days")
    plans = list(MaintenancePlan.objects.order_by("interval_km"))
    if not plans:
        return []
    base = plans[0]
    default_kmpd = Decimal(rule("appointments.default_km_per_day"))
    last_service = _last_services()
    booked = set(
        Appointment.objects.filter(
            status__in=(Status.BOOKED, Status.CONFIRMED), start__gte=timezone.now()
        ).values_list("vehicle_id", flat=True)
    )
    result = []
    # Invitations need the owner's grant of `reminders` (dealership.consent), checked in this query.
    rows = consent_filter(
        Vehicle.objects.filter(owner__do_not_call=False), Purpose.REMINDERS, customer_field="owner"
    ).values_list(*_DUE_FIELDS)
    for row in rows.iterator(chunk_size=5000):
        pk = row[0]
        if pk in booked:
            continue
        due_on, milestone = _next_service(
            row, serviced=last_service.get(pk), base=base, default_kmpd=default_kmpd, today=today
        )
        if today - timedelta(days=60) <= due_on <= today + timedelta(days=within_days):
            result.append(
                MaintenanceDue(
                    vehicle_id=pk,
                    due_on=due_on,
                    milestone_km=milestone,
                    plan=_plan_for(plans, milestone),
                )
            )
    return result


def next_maintenance_for(vehicle: Vehicle, *, today: date | None = None) -> MaintenanceDue | None:
    """One car's next maintenance by the same estimate as the invitations (None: no plan)."""
    today = today or timezone.localdate()
    plans = list(MaintenancePlan.objects.order_by("interval_km"))
    if not plans:
        return None
    row = Vehicle.objects.filter(pk=vehicle.pk).values_list(*_DUE_FIELDS).get()
    due_on, milestone = _next_service(
        row,
        serviced=_last_services([vehicle.pk]).get(vehicle.pk),
        base=plans[0],
        default_kmpd=Decimal(rule("appointments.default_km_per_day")),
        today=today,
    )
    return MaintenanceDue(
        vehicle_id=vehicle.pk,
        due_on=due_on,
        milestone_km=milestone,
        plan=_plan_for(plans, milestone),
    )


# --- KPIs -------------------------------------------------------------------------------


@dataclass
class AppointmentKpis:
    booked: int  # appointments arriving in the period, every status
    arrived: int
    no_show: int
    cancelled: int
    walk_ins: int  # reception's walk-in visits in the period

    @property
    def show_rate(self) -> float | None:
        """Arrived ÷ (arrived + no-show): of those who did not cancel, how many came."""
        due = self.arrived + self.no_show
        return self.arrived / due if due else None

    @property
    def no_show_rate(self) -> float | None:
        """No-show ÷ (arrived + no-show), the 失约率."""
        due = self.arrived + self.no_show
        return self.no_show / due if due else None

    def appointment_rate(self, visits: int | None = None) -> float | None:
        """Share of visits that came by appointment. `visits` is the repair-order count if the
        report has it; otherwise arrived appointments plus reception's walk-ins."""
        total = visits if visits is not None else self.arrived + self.walk_ins
        return self.arrived / total if total else None


def appointment_kpis(first: date, last: date) -> AppointmentKpis:
    """Counts for the local days first..last (two queries)."""
    lower, upper = day_bounds(first, last)
    counts = Appointment.objects.filter(start__gte=lower, start__lt=upper).aggregate(
        booked=Count("id"),
        arrived=Count("id", filter=Q(status=Status.ARRIVED)),
        no_show=Count("id", filter=Q(status=Status.NO_SHOW)),
        cancelled=Count("id", filter=Q(status=Status.CANCELLED)),
    )
    walk_ins = len(VISITS.walk_ins(first, last, brief=True))
    return AppointmentKpis(walk_ins=walk_ins, **counts)


def appointment_rate(first: date, last: date, *, visits: int | None = None) -> float | None:
    return appointment_kpis(first, last).appointment_rate(visits)


def show_rate(first: date, last: date) -> float | None:
    return appointment_kpis(first, last).show_rate


def no_show_rate(first: date, last: date) -> float | None:
    return appointment_kpis(first, last).no_show_rate


# --- booking estimate -------------------------------------------------------------------


@dataclass
class Estimate:
    lines: list
    hours: dict  # work type label → hours
    needs: dict  # work type → hours
    total: Decimal
    deposit: Decimal

    @property
    def to_order(self) -> list:
        return [line for line in self.lines if line.stock_status == StockStatus.TO_ORDER]


def booking_estimate(*, operations=(), plan=None, parts=(), expected_on=None) -> Estimate:
    """Hours, price, stock and deposit of a booking before it is made (no rows locked)."""
    ops = booking_operations(operations, plan)
    merged = merge_parts([*plan_parts(plan), *((p, Decimal(1)) for p in parts)])
    lines = [
        AppointmentLine(
            operation=op, work_type=op.work_type, hours=op.standard_hours, price=op.price
        )
        for op in ops
    ] + split_part_lines(merged, parts=[], expected_on=expected_on)
    needs = hours_needed(ops)
    labels = dict(WorkType.choices)
    return Estimate(
        lines=lines,
        hours={labels[wt]: hours for wt, hours in needs.items()},
        needs=needs,
        total=sum((line.amount for line in lines), Decimal("0")),
        deposit=deposit_for(lines),
    )


@dataclass
class SlotChoice:
    start: object  # local datetime
    value: str
    free_arrivals: int
    available: bool
    reason: str


@dataclass
class DayChoice:
    day: date
    free_slots: int
    closed: bool
    holiday: str


def slot_picker(
    *, day: date, needs: dict, earliest, exclude_appointment: int | None = None, days: int = 14
):
    """The chosen day's slots (free or why not) and a strip of days with free-slot counts."""
    today = timezone.localdate()
    first = max(min(day, today + timedelta(days=rule("appointments.max_days_ahead"))), today)
    strip_first = max(today, first - timedelta(days=first.weekday()))
    last = max(first, strip_first + timedelta(days=days - 1))
    capacity = capacity_for_days(strip_first, last, exclude_appointment=exclude_appointment)
    strip = []
    for d in sorted(capacity):
        cap = capacity[d]
        free = 0
        if not cap.closed and cap.fits_hours(needs):
            free = sum(1 for s in cap.slots if s.free_arrivals and s.start >= earliest)
        strip.append(DayChoice(day=d, free_slots=free, closed=cap.closed, holiday=cap.holiday))
    chosen = capacity[first]
    fits = chosen.fits_hours(needs)
    slots = []
    now = timezone.now()
    for slot in chosen.slots:
        if slot.start < now:
            reason = _("past")
        elif slot.start < earliest:  # inside the online booking notice period
            reason = _("too soon")
        elif not slot.free_arrivals:
            reason = _("full")
        elif not fits:
            reason = _("no hours left")
        else:
            reason = ""
        slots.append(
            SlotChoice(
                start=slot.start,
                value=slot.start.strftime("%Y-%m-%dT%H:%M"),
                free_arrivals=slot.free_arrivals,
                available=not reason,
                reason=reason,
            )
        )
    return {"day": first, "capacity": chosen, "slots": slots, "strip": strip, "fits": fits}


def deposits_held(appointment_id: int | None) -> list[Deposit]:
    """The deposits of an appointment still held, to be credited on its visit's bill."""
    if appointment_id is None:
        return []
    return list(Deposit.objects.filter(appointment_id=appointment_id, status=DepositStatus.HELD))


def deposits_of(appointment: Appointment) -> list[Deposit]:
    """Every deposit of the appointment, oldest first, for its page."""
    return list(appointment.deposits.select_related("taken_by", "refunded_by"))


def deposit_movements(day: date) -> dict[str, QuerySet[Deposit]]:
    """The deposits taken, credited on a bill, refunded and kept on a local day (day close)."""
    start, end = day_bounds(day, day)
    return {
        movement: Deposit.objects.filter(**{f"{stamp}__gte": start, f"{stamp}__lt": end})
        for movement, stamp in (
            ("taken", "taken_at"),
            ("applied", "applied_at"),
            ("refunded", "refunded_at"),
            ("forfeited", "forfeited_at"),
        )
    }
