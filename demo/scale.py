"""A busy store's year, bulk-loaded for benchmarks: `manage.py seed_demo --scale N`.

N customers (≈ 1.2 vehicles each) come from `demo.store.seed_customers`; on top
of them this module writes, with bulk_create and in realistic proportions for a store
with ≈ 110 cars a day:

- visits: 0.8 × N over the last 12 months (40 000 for N = 50 000), each with its signed
  work order and lines, workshop jobs and clock entries, bill, bill lines, payment,
  delivery record, timeline events and the messages sent; 60 % came by appointment;
- today: ≈ 70 cars on site in every state of the job board, with open clock entries;
- appointments: the arrived ones of the year plus no-shows and cancellations, and a
  fortnight ahead at ≈ 50 a day, with their lines;
- calls: the 24 h care call and the 7-day advisor call of every delivered visit (done,
  except the last two days'), lost-customer calls, appointment confirmation calls;
- surveys for most care calls reached, complaints for ≈ 1.5 % of visits (a few open).

Rows are written directly (no history rows, no services): demo data is nobody's edit,
and the services would take an hour for a year. Deterministic (seeded random) and
idempotent: a second run finds the year's visits and adds nothing.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from appointments.duties import CONFIRM_CALL
from appointments.models import Appointment, AppointmentLine, Channel
from appointments.models import Status as AppointmentStatus
from dealership.models import (
    Bay,
    Customer,
    DueTask,
    LabourOperation,
    Message,
    Part,
    SkillLevel,
    Technician,
    TimelineEvent,
    User,
    Vehicle,
    WorkType,
)
from dealership.money import cents
from delivery.models import Delivery, Payment, Settlement, SettlementLine
from followup import duties as K
from followup.models import Complaint, Survey
from reception.models import Visit
from reports.daily import days_forget
from workorders.models import JobType, LineKind, Payer, WorkOrder, WorkOrderLine
from workshop.models import ClockEntry, Job

PREFIX = "RY"  # visit numbers of the bulk year: RYyymmdd-nnnnnn
# A hand-typed fee on some orders (cents in it, so the cashier's rounding shows).
DIAGNOSTIC_FEE = SimpleNamespace(
    code="",
    part_number="",
    name_zh="电脑诊断费",
    name_en="Diagnostic fee",
    price=Decimal("49.90"),
    standard_hours=Decimal(0),
    manual_reason="目录外收费",
)
BATCH = 5000
ON_SITE_TODAY = [
    # status, how many cars
    ("checked_in", 6),
    ("order_signed", 8),
    ("dispatched", 8),
    ("in_progress", 18),
    ("on_hold", 5),
    ("work_done", 6),
    ("qc_failed", 1),
    ("rework", 1),
    ("qc_passed", 5),
    ("ready_for_pickup", 8),
    ("settled", 3),
]
EXTRA_TECHNICIANS = [
    # name, team, skill, work type: a busy store has ≈ 24 technicians
    (f"技师{n:02d}", team, skill, work_type)
    for n, (team, skill, work_type) in enumerate(
        [("快修组 Express", SkillLevel.SEMI_SKILLED, WorkType.MAINTENANCE)] * 7
        + [("机修组 Mechanical", SkillLevel.SKILLED, WorkType.REPAIR)] * 7
        + [("钣喷组 Body & paint", SkillLevel.SKILLED, WorkType.BODY_PAINT)] * 4,
        start=7,
    )
]
CONCERNS = [
    "做保养",
    "到保养里程了,顺便检查一下",
    "刹车的时候有吱吱的响声",
    "空调不太凉,开久了有异味",
    "起步时方向盘有点抖",
    "右前轮胎好像有点漏气",
    "仪表盘上保养灯亮了",
    "前保险杠被刮了,需要钣喷",
]
COMPLAINTS = [
    ("quality", "保养后发动机还是有异响"),
    ("time", "说好下午四点交车,等到六点"),
    ("price", "结算比估价高了不少"),
    ("attitude", "接待人员态度不好"),
    ("parts", "配件等了一个星期"),
]


def _tz_day_start(day):
    return timezone.make_aware(datetime(day.year, day.month, day.day))


def _reserve_ids(model, count: int) -> list[int]:
    """Primary keys for `count` new rows, taken from the table's own sequence."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 - model's table
        first = cursor.fetchone()[0] + 1
        return list(range(first, first + count))


def _bulk(model, rows: list, **kwargs) -> list:
    return model.objects.bulk_create(rows, batch_size=BATCH, **kwargs)


def _technicians() -> list[Technician]:
    for name, team, skill, work_type in EXTRA_TECHNICIANS:
        Technician.objects.get_or_create(
            name=name, defaults={"team": team, "skill_level": skill, "work_type": work_type}
        )
    return list(Technician.objects.filter(active=True).order_by("id"))


@dataclass
class _Year:
    """What every part of the year shares: the random streams, the clock, the store's people
    and catalogue, and the counts so far."""

    prefix: str
    rng: random.Random
    extras: random.Random  # fees and rounding, without moving rng's sequence
    log: Callable[[str], None]
    started: float
    now: datetime
    today: date
    advisors: list
    controller: User | None
    cashier: User
    care: User
    technicians: list
    bays: list
    operations: list
    parts: list
    cars: list
    counts: dict[str, int] = field(default_factory=dict)

    def took(self, what: str) -> None:
        self.log(f"  {what}: {time.monotonic() - self.started:.1f} s")


@dataclass
class _Planned:
    """One visit of the year before it is written (its appointment: an index into the rows)."""

    id: int
    day: date
    status: str
    start: datetime
    delivered: datetime | None
    vehicle_id: int
    owner_id: int
    advisor: User
    appointment: int | None


@transaction.atomic
def seed_year(visits: int, *, seed: int = 11, prefix: str = PREFIX, log=None) -> dict[str, int]:
    """A year of a busy store's visits and everything around them (see the module doc)."""
    if Visit.objects.filter(number__startswith=prefix).exists():
        return {}
    year = _the_store(seed, prefix, log or (lambda message: None))
    if year is None:
        return {}
    planned, appointment_rows = _plan_visits(year, visits)
    upcoming_first = _other_appointments(year, appointment_rows, busy=min(1.0, visits / 40_000))
    appointments = _write_appointments(year, appointment_rows)
    visit_rows = _write_visits(year, planned, appointments)
    signed_visits, orders, order_lines, order_totals = _write_work_orders(year, visit_rows)
    _write_jobs(year, signed_visits, orders, order_lines)
    _write_bills(year, signed_visits, orders, order_lines, order_totals)
    delivered = [v for v in visit_rows if v.delivered_at]
    calls = _write_calls(year, visit_rows, delivered, appointments[upcoming_first:])
    _write_surveys(year, calls, delivered)
    _write_complaints(year, delivered)
    _write_archive(year, visit_rows)
    days_forget()  # bulk rows send no signals: the report's day rows count afresh
    if connection.vendor == "postgresql" and visits >= 5000:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return year.counts


def _the_store(seed: int, prefix: str, log) -> _Year | None:
    """The store the year happens in; None when its staff, bays, catalogue or cars are missing."""
    started = time.monotonic()
    year = _Year(
        prefix=prefix,
        rng=random.Random(seed),
        extras=random.Random(seed + 1),
        log=log,
        started=started,
        now=timezone.now(),
        today=timezone.localdate(),
        advisors=list(User.objects.filter(groups__name="advisor").order_by("id")),
        controller=User.objects.filter(groups__name="workshop_controller").first(),
        cashier=User.objects.filter(groups__name="cashier").first(),
        care=User.objects.filter(groups__name="customer_care").first(),
        technicians=_technicians(),
        bays=list(Bay.objects.filter(active=True).order_by("id")),
        operations=list(LabourOperation.objects.filter(active=True).order_by("id")),
        parts=list(Part.objects.filter(active=True).order_by("id")),
        cars=list(Vehicle.objects.order_by("id").values_list("id", "owner_id")),
    )
    needed = (year.advisors, year.cashier, year.care, year.technicians, year.bays)
    if not (all(needed) and year.operations and year.cars):
        return None
    return year


def _visit_status(year: _Year, day: date, today_status: str | None) -> str:
    if today_status:
        return today_status
    if year.rng.random() < 0.02:
        return "cancelled"
    if day >= year.today - timedelta(days=3):
        return "delivered"  # follow-up calls still open: not closed yet
    return "closed"


def _plan_visits(year: _Year, visits: int) -> tuple[list[_Planned], list[Appointment]]:
    """The visits spread over 365 days, fewer on Sundays; today's are on site. 60 % came
    by appointment: those appointments come back as the first rows to write."""
    rng, cars, today = year.rng, year.cars, year.today
    today_statuses = [s for s, n in ON_SITE_TODAY for _ in range(n)]
    room = max(1, min(len(cars) // 2, visits // 2))
    if len(today_statuses) > room:  # a small store: fewer cars on site, lanes still varied
        today_statuses = today_statuses[:: -(-len(today_statuses) // room)][:room]
    today_count = len(today_statuses)
    days = [today - timedelta(days=d) for d in range(1, 366)]
    weights = [0.6 if d.weekday() == 6 else 1.0 for d in days]
    past_days = rng.choices(days, weights=weights, k=max(0, visits - today_count))
    plan = [(today, status) for status in today_statuses]
    plan += [(d, None) for d in sorted(past_days, reverse=True)]
    ids = _reserve_ids(Visit, len(plan))
    rng.shuffle(cars)
    on_site_cars = {car_id for car_id, _ in cars[:today_count]}
    planned, appointment_rows = [], []
    for n, ((day, today_status), visit_id) in enumerate(zip(plan, ids, strict=True)):
        if today_status:
            vehicle_id, owner_id = cars[n]
        else:
            while True:
                vehicle_id, owner_id = cars[rng.randrange(today_count, len(cars))]
                if vehicle_id not in on_site_cars:
                    break
        start = _tz_day_start(day) + timedelta(minutes=rng.randrange(8 * 60, 16 * 60))
        if today_status:
            start = min(start, year.now - timedelta(minutes=rng.randrange(20, 180)))
        advisor = rng.choice(year.advisors)
        status = _visit_status(year, day, today_status)
        delivered = (
            start + timedelta(hours=rng.uniform(2, 9))
            if status in ("delivered", "closed")
            else None
        )
        appointment = None
        if rng.random() < 0.6:
            appointment_rows.append(
                _arrived_appointment(year, start, vehicle_id, owner_id, advisor)
            )
            appointment = len(appointment_rows) - 1  # resolved to a pk once written
        planned.append(
            _Planned(
                visit_id, day, status, start, delivered, vehicle_id, owner_id, advisor, appointment
            )
        )
    return planned, appointment_rows


def _arrived_appointment(year: _Year, start, vehicle_id, owner_id, advisor) -> Appointment:
    rng = year.rng
    slot = start.replace(minute=30 * (start.minute // 30))
    return Appointment(
        customer_id=owner_id,
        vehicle_id=vehicle_id,
        advisor=advisor,
        channel=rng.choice([Channel.PHONE, Channel.PHONE, Channel.WEB, Channel.DESK]),
        start=slot,
        end=slot + timedelta(hours=1),
        status=AppointmentStatus.ARRIVED,
        concern_text=rng.choice(CONCERNS),
        created_at=start - timedelta(days=rng.randint(1, 10)),
        confirmed_at=start - timedelta(hours=20),
        arrived_at=start,
    )


def _other_appointments(year: _Year, rows: list[Appointment], *, busy: float) -> int:
    """Adds the year's no-shows and cancellations and the coming fortnight's bookings to
    `rows` (bookings a day scale with the store's size). Returns where the fortnight starts."""
    rng = year.rng
    for day in (year.today - timedelta(days=d) for d in range(1, 366)):
        for _ in range(round(rng.randint(2, 6) * busy)):
            vehicle_id, owner_id = rng.choice(year.cars)
            start = _tz_day_start(day) + timedelta(minutes=30 * rng.randrange(16, 33))
            no_show = rng.random() < 0.6
            rows.append(
                Appointment(
                    customer_id=owner_id,
                    vehicle_id=vehicle_id,
                    advisor=rng.choice(year.advisors),
                    start=start,
                    end=start + timedelta(hours=1),
                    status=AppointmentStatus.NO_SHOW if no_show else AppointmentStatus.CANCELLED,
                    created_at=start - timedelta(days=3),
                    no_show_at=start + timedelta(minutes=30) if no_show else None,
                    cancelled_at=None if no_show else start - timedelta(days=1),
                    cancel_reason="" if no_show else "客户临时有事",
                )
            )
    upcoming_first = len(rows)
    for offset in range(0, 15):
        day = year.today + timedelta(days=offset)
        for _ in range(0 if day.weekday() == 6 else max(1, round(rng.randint(40, 60) * busy))):
            vehicle_id, owner_id = rng.choice(year.cars)
            start = _tz_day_start(day) + timedelta(minutes=30 * rng.randrange(16, 33))
            confirmed = offset <= 1 and rng.random() < 0.7
            rows.append(
                Appointment(
                    customer_id=owner_id,
                    vehicle_id=vehicle_id,
                    advisor=rng.choice(year.advisors),
                    channel=rng.choice([Channel.PHONE, Channel.WEB, Channel.DESK]),
                    start=start,
                    end=start + timedelta(hours=1),
                    status=AppointmentStatus.CONFIRMED if confirmed else AppointmentStatus.BOOKED,
                    concern_text=rng.choice(CONCERNS),
                    waiting=rng.random() < 0.4,
                    created_at=year.now - timedelta(days=rng.randint(0, 10)),
                    confirmed_at=year.now if confirmed else None,
                )
            )
    return upcoming_first


def _write_appointments(year: _Year, rows: list[Appointment]) -> list[Appointment]:
    appointments = _bulk(Appointment, rows)
    lines = [
        AppointmentLine(
            appointment_id=appointment.pk,
            operation=op,
            work_type=op.work_type,
            hours=op.standard_hours,
            price=op.price,
            quantity=Decimal(1),
        )
        for appointment in appointments
        for op in year.rng.sample(year.operations, year.rng.randint(1, 2))
    ]
    year.counts["appointments"] = len(appointments)
    year.counts["appointment lines"] = len(_bulk(AppointmentLine, lines))
    year.took("appointments")
    return appointments


STATUSES_AFTER_DISPATCH = {
    "dispatched",
    "in_progress",
    "on_hold",
    "work_done",
    "qc_failed",
    "rework",
    "qc_passed",
    "ready_for_pickup",
    "settled",
    "delivered",
    "closed",
}
STATUSES_AFTER_WORK = {"work_done", "qc_failed", "rework", "qc_passed", "ready_for_pickup"}
STATUSES_AFTER_WORK |= {"settled", "delivered", "closed"}


def _write_visits(year: _Year, planned: list[_Planned], appointments) -> list[Visit]:
    key_tags = iter(range(1, 1000))
    rows = [_visit_row(year, visit, appointments, key_tags) for visit in planned]
    _bulk(Visit, rows)
    year.counts["visits"] = len(rows)
    year.took("visits")
    return rows


def _visit_row(year: _Year, visit: _Planned, appointments, key_tags) -> Visit:
    rng, now, status, start, delivered = (
        year.rng,
        year.now,
        visit.status,
        visit.start,
        visit.delivered,
    )
    on_site = visit.day == year.today
    signed = start + timedelta(minutes=25) if status != "checked_in" else None
    dispatched = start + timedelta(minutes=40) if status in STATUSES_AFTER_DISPATCH else None
    work_done = start + timedelta(hours=2) if status in STATUSES_AFTER_WORK else None
    if delivered:
        ready, settled = delivered - timedelta(minutes=40), delivered - timedelta(minutes=15)
    else:
        ready = now - timedelta(minutes=20) if status in {"ready_for_pickup", "settled"} else None
        settled = now - timedelta(minutes=5) if status == "settled" else None
    qc_passed = work_done and status not in {"work_done", "qc_failed"}
    return Visit(
        id=visit.id,
        number=f"{year.prefix}{visit.day:%y%m%d}-{visit.id:06d}",
        status=status,
        hold_reason="awaiting_parts" if status == "on_hold" else "",
        customer_id=visit.owner_id,
        vehicle_id=visit.vehicle_id,
        advisor=visit.advisor,
        appointment_id=appointments[visit.appointment].pk
        if visit.appointment is not None
        else None,
        is_walk_in=visit.appointment is None,
        is_comeback=rng.random() < 0.03,
        odometer_km=rng.randint(3000, 150000),
        fuel_level=rng.randint(1, 8),
        covers="three",
        key_tag=f"K{year.prefix}{next(key_tags):03d}" if on_site else "",
        parking_spot=f"A-{rng.randint(1, 80):02d}" if on_site else "",
        concern_text=rng.choice(CONCERNS),
        walkaround_signer="客户" if signed else "",
        walkaround_signed_at=start + timedelta(minutes=15) if signed else None,
        promised_at=start + timedelta(hours=rng.choice([3, 4, 6, 8])),
        checked_in_at=start,
        order_signed_at=signed,
        handed_over_at=dispatched,
        dispatched_at=dispatched,
        work_started_at=dispatched + timedelta(minutes=10) if dispatched else None,
        on_hold_since=now - timedelta(minutes=30) if status == "on_hold" else None,
        work_done_at=work_done,
        qc_passed_at=work_done + timedelta(minutes=20) if qc_passed else None,
        qc_failed_at=now - timedelta(minutes=15) if status in {"qc_failed", "rework"} else None,
        ready_at=ready,
        settled_at=settled,
        delivered_at=delivered,
        closed_at=delivered + timedelta(days=7) if status == "closed" else None,
        cancelled_at=start + timedelta(minutes=30) if status == "cancelled" else None,
        cancel_reason="客户不修了" if status == "cancelled" else "",
        status_changed_at=delivered or start,
        rework_count=1 if status in {"qc_failed", "rework"} else 0,
    )


def _write_work_orders(year: _Year, visit_rows: list[Visit]):
    """A work order for every visit past check-in (a draft for those at it), with its lines.

    Returns the visits with an order, their orders, every line and per order
    (job type, payer, labour, parts)."""
    rng = year.rng
    signed_visits = [v for v in visit_rows if v.order_signed_at or v.status == "checked_in"]
    order_rows = [
        WorkOrder(
            visit_id=visit.id,
            status="signed" if visit.order_signed_at else "draft",
            payment_method=rng.choice(["wechat", "alipay", "card", "cash"]),
            promised_at=visit.promised_at,
            signer_name="客户" if visit.order_signed_at else "",
            signed_at=visit.order_signed_at,
            signed_via="tablet" if visit.order_signed_at else "",
            signed_by_advisor_id=visit.advisor_id if visit.order_signed_at else None,
            created_at=visit.checked_in_at + timedelta(minutes=10),
            created_by_id=visit.advisor_id,
            vat_rate=Decimal("0.13"),
        )
        for visit in signed_visits
    ]
    specs = [_order_content(year, order) for order in order_rows]
    orders = _bulk(WorkOrder, order_rows)
    order_totals, order_lines = {}, []
    for order, (job_type, payer, labour, parts_total, chosen) in zip(orders, specs, strict=True):
        order_totals[order.pk] = (job_type, payer, labour, parts_total)
        for position, (kind, item) in enumerate(chosen, start=1):
            order_lines.append(_order_line(order, position, kind, item, job_type))
    order_lines = _bulk(WorkOrderLine, order_lines)
    year.counts["work orders"] = len(orders)
    year.counts["work order lines"] = len(order_lines)
    year.took("work orders")
    return signed_visits, orders, order_lines, order_totals


def _order_content(year: _Year, order: WorkOrder):
    """What the order holds: its job type and payer, and its labour, parts and fees (the
    order's totals are set here)."""
    rng = year.rng
    job_type, payer = rng.choice(
        [
            (JobType.MAINTENANCE, Payer.CUSTOMER),
            (JobType.MAINTENANCE, Payer.CUSTOMER),
            (JobType.REPAIR, Payer.CUSTOMER),
            (JobType.WARRANTY, Payer.MANUFACTURER),
            (JobType.INSURANCE, Payer.INSURER),
        ]
    )
    chosen = [
        (LineKind.LABOUR, op) for op in rng.sample(year.operations, rng.choice([1, 1, 2, 2, 3]))
    ]
    chosen += [(LineKind.PART, p) for p in rng.sample(year.parts, rng.choice([0, 1, 2, 2, 3]))]
    if year.extras.random() < 0.15:  # a hand-typed fee, billed without a workshop job
        chosen.append((LineKind.FEE, DIAGNOSTIC_FEE))
    labour = sum((i.price for k, i in chosen if k != LineKind.PART), Decimal(0))
    parts_total = sum((i.price for k, i in chosen if k == LineKind.PART), Decimal(0))
    order.labour_total, order.parts_total = labour, parts_total
    order.total = order.estimate_total = labour + parts_total
    return job_type, payer, labour, parts_total, chosen


def _order_line(order, position: int, kind: str, item, job_type: str) -> WorkOrderLine:
    labour_line = kind == LineKind.LABOUR
    return WorkOrderLine(
        order_id=order.pk,
        position=position,
        kind=kind,
        job_type=job_type,
        operation=item if labour_line else None,
        part=item if kind == LineKind.PART else None,
        code=item.code if labour_line else item.part_number,
        manual_reason=getattr(item, "manual_reason", ""),
        name_zh=item.name_zh,
        name_en=item.name_en,
        hours=item.standard_hours if labour_line else Decimal(0),
        quantity=Decimal(1),
        unit_price=item.price,
    )


def _write_jobs(year: _Year, signed_visits, orders, order_lines) -> None:
    """A workshop job per labour line of a signed order, and the clock entries behind them."""
    visit_of_order = {order.pk: visit for visit, order in zip(signed_visits, orders, strict=True)}
    clocked_on = set(
        ClockEntry.objects.filter(ended_at__isnull=True).values_list("technician_id", flat=True)
    )
    free_technicians = [t for t in year.technicians if t.pk not in clocked_on]
    year.rng.shuffle(free_technicians)
    job_rows = []
    for line in order_lines:
        if line.kind != LineKind.LABOUR:
            continue
        visit = visit_of_order[line.order_id]
        if visit.status not in ("checked_in", "cancelled"):
            job_rows.append(_job_row(year, visit, line, free_technicians))
    jobs = _bulk(Job, job_rows)
    clock_rows = [
        ClockEntry(
            job_id=job.pk,
            technician_id=job.technician_id,
            started_at=job.started_at,
            ended_at=job.finished_at
            or (job.started_at + timedelta(minutes=20) if job.status == "paused" else None),
            end_reason=(
                "done" if job.finished_at else ("paused" if job.status == "paused" else "")
            ),
        )
        for job in jobs
        if job.started_at
    ]
    _bulk(ClockEntry, clock_rows)
    year.counts["jobs"] = len(jobs)
    year.counts["clock entries"] = len(clock_rows)
    year.took("jobs")


def _job_row(year: _Year, visit: Visit, line: WorkOrderLine, free_technicians: list) -> Job:
    """The job of a labour line, in the state its visit's status implies."""
    rng, now = year.rng, year.now
    technician = rng.choice(year.technicians)
    status, started_at, finished_at, clocked_on = "done", None, None, None
    if visit.status == "order_signed":
        status, technician = "waiting", None
    elif visit.status == "dispatched":
        status = "dispatched"
    elif visit.status in ("in_progress", "rework"):
        if free_technicians:
            technician = free_technicians.pop()
            status, started_at = "in_progress", now - timedelta(minutes=rng.randint(10, 90))
            clocked_on = started_at
        else:
            status = "dispatched"
    elif visit.status == "on_hold":
        status, started_at = "paused", now - timedelta(hours=1)
    if status == "done":
        started_at = visit.dispatched_at + timedelta(minutes=10)
        finished_at = started_at + timedelta(hours=float(line.hours or 1))
    return Job(
        code=line.code,
        name_zh=line.name_zh,
        name_en=line.name_en,
        visit_id=visit.id,
        order_line_id=line.pk,
        position=line.position,
        work_type=line.operation.work_type if line.operation else "repair",
        hours=line.hours,
        status=status,
        technician=technician,
        bay=rng.choice(year.bays) if technician else None,
        dispatched_by=year.controller if technician else None,
        dispatched_at=visit.dispatched_at if technician else None,
        started_at=started_at,
        clocked_on_at=clocked_on,
        finished_at=finished_at,
        actual_hours=(
            (line.hours or Decimal(1)) * Decimal(rng.choice(["0.8", "1", "1.1", "1.3"]))
        ).quantize(Decimal("0.01"))
        if finished_at
        else Decimal(0),
        pause_reason="awaiting_parts" if status == "paused" else "",
        created_at=visit.order_signed_at or visit.checked_in_at,
    )


def _write_bills(year: _Year, signed_visits, orders, order_lines, order_totals) -> None:
    """Bills, their lines, payments and the delivery records of the settled visits."""
    billed = [
        (visit, order)
        for visit, order in zip(signed_visits, orders, strict=True)
        if visit.status in ("settled", "delivered", "closed")
    ]
    bills = _bulk(
        Settlement, [_bill(year, visit, order, order_totals[order.pk]) for visit, order in billed]
    )
    lines_of_order: dict[int, list] = {}
    for line in order_lines:
        lines_of_order.setdefault(line.order_id, []).append(line)
    bill_lines, payments, deliveries = [], [], []
    for bill, (visit, order) in zip(bills, billed, strict=True):
        job_type, payer, _labour, _parts = order_totals[order.pk]
        bill_lines += [
            _bill_line(bill, line, job_type, payer) for line in lines_of_order.get(order.pk, [])
        ]
        if bill.amount_due:
            payments.append(
                Payment(
                    settlement_id=bill.pk,
                    method=order.payment_method or "wechat",
                    amount=bill.amount_due,
                )
            )
        deliveries.append(_delivery(year, visit))
    _bulk(SettlementLine, bill_lines)
    _bulk(Payment, payments)
    _bulk(Delivery, deliveries)
    year.counts["bills"] = len(bills)
    year.counts["bill lines"] = len(bill_lines)
    year.took("bills")


def _bill(year: _Year, visit: Visit, order: WorkOrder, totals) -> Settlement:
    _job_type, payer, labour, parts_total = totals
    total = labour + parts_total
    customer_total = total if payer == Payer.CUSTOMER else Decimal(0)
    # The cashier sometimes rounds the fen off the bill (抹零).
    adjustment = -(customer_total % 1) if year.extras.random() < 0.5 else Decimal(0)
    return Settlement(
        visit_id=visit.id,
        order_id=order.pk,
        invoice_number=f"{year.prefix}I{visit.id:08d}",
        labour_basis="catalogue",
        labour_total=labour,
        parts_total=parts_total,
        total=total,
        customer_total=customer_total,
        manufacturer_total=total if payer == Payer.MANUFACTURER else Decimal(0),
        insurer_total=total if payer == Payer.INSURER else Decimal(0),
        vat_rate=Decimal("0.13"),
        vat_amount=cents(total * Decimal("0.13") / Decimal("1.13")),
        estimate_total=order.estimate_total,
        adjustment_amount=adjustment,
        adjustment_reason="抹零" if adjustment else "",
        amount_due=customer_total + adjustment,
        paid_total=customer_total + adjustment,
        settled_by=year.cashier,
        settled_at=visit.settled_at,
    )


def _bill_line(bill: Settlement, line: WorkOrderLine, job_type: str, payer: str):
    amount = line.unit_price * line.quantity
    return SettlementLine(
        settlement_id=bill.pk,
        position=line.position,
        order_line_id=line.pk,
        kind=line.kind,
        job_type=job_type,
        payer=payer,
        operation_id=line.operation_id,
        code=line.code,
        name_zh=line.name_zh,
        name_en=line.name_en,
        hours=line.hours,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_percent=Decimal(0),
        gross=amount,
        amount=amount,
    )


def _delivery(year: _Year, visit: Visit) -> Delivery:
    handed_back = bool(visit.delivered_at)
    return Delivery(
        visit_id=visit.id,
        wash_done_at=visit.ready_at,
        final_check_at=visit.ready_at,
        final_check_by_id=visit.advisor_id,
        delivery_odometer_km=visit.odometer_km,
        gate_pass_number=f"G{visit.id:08d}" if handed_back else "",
        gate_pass_issued_at=visit.delivered_at,
        gate_pass_issued_by=year.cashier if handed_back else None,
        handback_signer="客户" if handed_back else "",
        handed_back_at=visit.delivered_at,
        handed_back_by_id=visit.advisor_id if handed_back else None,
        belongings_returned=handed_back,
        keys_returned=handed_back,
        covers_removed=handed_back,
    )


def _write_calls(year: _Year, visit_rows, delivered, upcoming) -> list[DueTask]:
    """Care and advisor calls after each delivery, lost-customer calls for cars not seen for
    a long time (a few hundred open), confirmation calls for the next day's bookings."""
    ct_visit = ContentType.objects.get_for_model(Visit)
    calls = [
        _visit_call(year, visit, kind, after, role, ct_visit)
        for visit in delivered
        for kind, after, role in (
            (K.CARE_CALL, timedelta(hours=24), "customer_care"),
            (K.ADVISOR_CALL, timedelta(days=7), "advisor"),
        )
    ]
    ct_customer = ContentType.objects.get_for_model(Customer)
    seen = {v.vehicle_id for v in visit_rows}
    lost = [(v, o) for v, o in year.cars if v not in seen][: max(1, len(delivered) // 100)]
    for vehicle_id, owner_id in lost:
        calls.append(
            DueTask(
                kind=K.LOST_CALL,
                subject_type=ct_customer,
                subject_id=owner_id,
                slot=f"v{vehicle_id}",
                for_person=True,
                role="customer_care",
                customer_id=owner_id,
                due_at=year.now - timedelta(days=year.rng.randint(0, 20)),
                run_after=year.now - timedelta(days=20),
                payload={"vehicle": vehicle_id},
            )
        )
    ct_appointment = ContentType.objects.get_for_model(Appointment)
    for appointment in upcoming:
        if appointment.start.date() <= year.today + timedelta(days=1):
            due = appointment.start - timedelta(days=1)
            calls.append(
                DueTask(
                    kind=CONFIRM_CALL,
                    subject_type=ct_appointment,
                    subject_id=appointment.pk,
                    for_person=True,
                    role="advisor",
                    customer_id=appointment.customer_id,
                    assigned_to_id=appointment.advisor_id,
                    due_at=due,
                    run_after=due,
                    state="done" if appointment.status == "confirmed" else "pending",
                    payload={"appointment": appointment.pk},
                )
            )
    calls = _bulk(DueTask, calls)
    year.counts["calls"] = len(calls)
    return calls


def _visit_call(year: _Year, visit: Visit, kind: str, after, role: str, ct_visit) -> DueTask:
    """A call after the delivery: done when it fell due hours ago (the advisor's call only
    once the visit is closed); 85 % of the done calls reached the customer."""
    due = visit.delivered_at + after
    done = due < year.now - timedelta(hours=6) and (visit.status == "closed" or kind == K.CARE_CALL)
    reached = year.rng.random() < 0.85
    outcome = ("surveyed" if kind == K.CARE_CALL else "satisfied") if reached else "unreachable"
    return DueTask(
        kind=kind,
        subject_type=ct_visit,
        subject_id=visit.id,
        for_person=True,
        role=role,
        customer_id=visit.customer_id,
        assigned_to_id=visit.advisor_id if role == "advisor" else None,
        due_at=due,
        run_after=due,
        state="done" if done else "pending",
        outcome=outcome if done else "",
        completed_by=(year.care if role == "customer_care" else None) if done else None,
        finished_at=due + timedelta(hours=2) if done else None,
        created_at=visit.delivered_at,
        payload={"visit": visit.id, "vehicle": visit.vehicle_id, "number": visit.number},
    )


def _write_surveys(year: _Year, calls, delivered) -> None:
    rng = year.rng
    visit_by_id = {v.id: v for v in delivered}
    surveys = []
    for call in calls:
        if call.kind == K.CARE_CALL and call.outcome == "surveyed" and rng.random() < 0.8:
            visit = visit_by_id[call.subject_id]
            good = rng.random() < 0.93
            score = (lambda: rng.randint(9, 10)) if good else (lambda: rng.randint(3, 8))
            surveys.append(
                Survey(
                    call_id=call.pk,
                    customer_id=visit.customer_id,
                    vehicle_id=visit.vehicle_id,
                    visit_id=visit.id,
                    overall=score(),
                    explanation=score(),
                    on_time=score(),
                    car_clean=score(),
                    would_recommend=score(),
                    taken_by=year.care,
                    taken_at=call.finished_at,
                )
            )
    year.counts["surveys"] = len(_bulk(Survey, surveys))


def _write_complaints(year: _Year, delivered) -> None:
    """Complaints for ≈ 1.5 % of the delivered visits; a few of the last ten days open."""
    rng = year.rng
    complaints = []
    for n, visit in enumerate(v for v in delivered if rng.random() < 0.015):
        category, text = rng.choice(COMPLAINTS)
        opened = visit.delivered_at + timedelta(days=1)
        open_now = opened > year.now - timedelta(days=10) and rng.random() < 0.5
        complaints.append(
            Complaint(
                number=f"{year.prefix}C{n:06d}",
                status="open" if open_now else "closed",
                customer_id=visit.customer_id,
                vehicle_id=visit.vehicle_id,
                visit_id=visit.id,
                source=rng.choice(["survey", "call", "phone", "desk"]),
                category=category,
                description=text,
                severity="important" if rng.random() < 0.2 else "normal",
                owner_id=visit.advisor_id,
                opened_at=opened,
                opened_by=year.care,
                respond_by=opened + timedelta(hours=24),
                close_by=opened + timedelta(days=7),
                responded_at=None if open_now else opened + timedelta(hours=5),
                closed_at=None if open_now else opened + timedelta(days=3),
                resolution="" if open_now else "已向客户解释并免费复检",
                customer_satisfied=None if open_now else True,
            )
        )
    year.counts["complaints"] = len(_bulk(Complaint, complaints))
    year.took("follow-up")


def _write_archive(year: _Year, visit_rows) -> None:
    """What the archive shows: the check-in and delivery events and the messages sent."""
    ct_visit = ContentType.objects.get_for_model(Visit)
    mobiles = dict(Customer.objects.values_list("id", "mobile"))
    events, messages = [], []
    for visit in visit_rows:
        about = {
            "customer_id": visit.customer_id,
            "vehicle_id": visit.vehicle_id,
            "subject_type": ct_visit,
            "subject_id": visit.id,
        }
        events.append(
            TimelineEvent(
                at=visit.checked_in_at,
                kind="visit.checked_in",
                summary=f"{visit.number} 接车",
                actor_id=visit.advisor_id,
                **about,
            )
        )
        if visit.delivered_at:
            events.append(
                TimelineEvent(
                    at=visit.delivered_at,
                    kind="visit.delivered",
                    summary=f"{visit.number} 交车",
                    actor_id=visit.advisor_id,
                    **about,
                )
            )
            messages.append(
                Message(
                    to=mobiles.get(visit.customer_id, ""),
                    channel="sms",
                    template="delivery.ready",
                    language="zh-hans",
                    body=f"您的爱车已完工,可以取车了。{visit.number}",
                    status="sent",
                    sent_at=visit.ready_at,
                    **about,
                )
            )
    year.counts["timeline events"] = len(_bulk(TimelineEvent, events))
    year.counts["messages"] = len(_bulk(Message, messages))
    year.took("archive")
