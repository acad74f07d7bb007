"""A busy store's year, bulk-loaded for benchmarks: `manage.py seed_demo --scale N`.

N customers (≈ 1.2 vehicles each) come from `dealership.demo.seed_customers`; on top
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
from datetime import datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from .models import (
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


@transaction.atomic
def seed_year(visits: int, *, seed: int = 11, prefix: str = PREFIX, log=None) -> dict[str, int]:  # noqa: C901
    """A year of a busy store's visits and everything around them (see the module doc)."""
    from appointments.duties import CONFIRM_CALL
    from appointments.models import Appointment, AppointmentLine, Channel
    from appointments.models import Status as AppointmentStatus
    from delivery.models import Delivery, Payment, Settlement, SettlementLine
    from followup import kinds as K
    from followup.models import Complaint, Survey
    from reception.models import Visit
    from workorders.models import JobType, LineKind, Payer, WorkOrder, WorkOrderLine
    from workshop.models import ClockEntry, Job

    if Visit.objects.filter(number__startswith=prefix).exists():
        return {}
    log = log or (lambda message: None)
    started = time.monotonic()
    rng = random.Random(seed)
    extras = random.Random(seed + 1)  # fees and rounding, without moving rng's sequence
    now = timezone.now()
    today = timezone.localdate()
    advisors = list(User.objects.filter(groups__name="advisor").order_by("id"))
    controller = User.objects.filter(groups__name="workshop_controller").first()
    cashier = User.objects.filter(groups__name="cashier").first()
    care = User.objects.filter(groups__name="customer_care").first()
    technicians = _technicians()
    bays = list(Bay.objects.filter(active=True).order_by("id"))
    operations = list(LabourOperation.objects.filter(active=True).order_by("id"))
    parts = list(Part.objects.filter(active=True).order_by("id"))
    cars = list(Vehicle.objects.order_by("id").values_list("id", "owner_id"))
    if not (advisors and cashier and care and technicians and bays and operations and cars):
        return {}
    ct_visit = ContentType.objects.get_for_model(Visit)
    ct_customer = ContentType.objects.get_for_model(Customer)
    ct_appointment = ContentType.objects.get_for_model(Appointment)
    counts: dict[str, int] = {}
    busy = min(1.0, visits / 40_000)  # bookings a day scale with the store's size

    # --- The visits: spread over 365 days, fewer on Sundays; today's are on site.
    today_statuses = [s for s, n in ON_SITE_TODAY for _ in range(n)]
    room = max(1, min(len(cars) // 2, visits // 2))
    if len(today_statuses) > room:  # a small store: fewer cars on site, lanes still varied
        today_statuses = today_statuses[:: -(-len(today_statuses) // room)][:room]
    today_count = len(today_statuses)
    past_count = max(0, visits - today_count)
    days = [today - timedelta(days=d) for d in range(1, 366)]
    weights = [0.6 if d.weekday() == 6 else 1.0 for d in days]
    past_days = sorted(rng.choices(days, weights=weights, k=past_count), reverse=True)
    plan = [(today, status) for status in today_statuses] + [(d, None) for d in past_days]
    ids = _reserve_ids(Visit, len(plan))
    rng.shuffle(cars)
    on_site_cars = {car_id for car_id, _ in cars[:today_count]}
    visit_rows, appointment_rows = [], []
    meta = []  # per visit: (id, day, status, checked_in, delivered, vehicle, owner, advisor)
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
            start = min(start, now - timedelta(minutes=rng.randrange(20, 180)))
        advisor = rng.choice(advisors)
        cancelled = today_status is None and rng.random() < 0.02
        if today_status:
            status = today_status
        elif cancelled:
            status = "cancelled"
        elif day >= today - timedelta(days=3):
            status = "delivered"  # follow-up calls still open: not closed yet
        else:
            status = "closed"
        delivered = (
            start + timedelta(hours=rng.uniform(2, 9))
            if status in ("delivered", "closed")
            else None
        )
        by_appointment = rng.random() < 0.6
        appointment_id = None
        if by_appointment:
            appointment_rows.append(
                Appointment(
                    customer_id=owner_id,
                    vehicle_id=vehicle_id,
                    advisor=advisor,
                    channel=rng.choice([Channel.PHONE, Channel.PHONE, Channel.WEB, Channel.DESK]),
                    start=start.replace(minute=30 * (start.minute // 30)),
                    end=start.replace(minute=30 * (start.minute // 30)) + timedelta(hours=1),
                    status=AppointmentStatus.ARRIVED,
                    concern_text=rng.choice(CONCERNS),
                    created_at=start - timedelta(days=rng.randint(1, 10)),
                    confirmed_at=start - timedelta(hours=20),
                    arrived_at=start,
                )
            )
            appointment_id = len(appointment_rows) - 1  # resolved to a pk below
        meta.append(
            (visit_id, day, status, start, delivered, vehicle_id, owner_id, advisor, appointment_id)
        )
    # No-shows, cancellations and the coming fortnight's bookings.
    for day in days:
        for _ in range(round(rng.randint(2, 6) * busy)):
            vehicle_id, owner_id = rng.choice(cars)
            start = _tz_day_start(day) + timedelta(minutes=30 * rng.randrange(16, 33))
            no_show = rng.random() < 0.6
            appointment_rows.append(
                Appointment(
                    customer_id=owner_id,
                    vehicle_id=vehicle_id,
                    advisor=rng.choice(advisors),
                    start=start,
                    end=start + timedelta(hours=1),
                    status=AppointmentStatus.NO_SHOW if no_show else AppointmentStatus.CANCELLED,
                    created_at=start - timedelta(days=3),
                    no_show_at=start + timedelta(minutes=30) if no_show else None,
                    cancelled_at=None if no_show else start - timedelta(days=1),
                    cancel_reason="" if no_show else "客户临时有事",
                )
            )
    upcoming_first = len(appointment_rows)
    for offset in range(0, 15):
        day = today + timedelta(days=offset)
        for _ in range(0 if day.weekday() == 6 else max(1, round(rng.randint(40, 60) * busy))):
            vehicle_id, owner_id = rng.choice(cars)
            start = _tz_day_start(day) + timedelta(minutes=30 * rng.randrange(16, 33))
            confirmed = offset <= 1 and rng.random() < 0.7
            appointment_rows.append(
                Appointment(
                    customer_id=owner_id,
                    vehicle_id=vehicle_id,
                    advisor=rng.choice(advisors),
                    channel=rng.choice([Channel.PHONE, Channel.WEB, Channel.DESK]),
                    start=start,
                    end=start + timedelta(hours=1),
                    status=AppointmentStatus.CONFIRMED if confirmed else AppointmentStatus.BOOKED,
                    concern_text=rng.choice(CONCERNS),
                    waiting=rng.random() < 0.4,
                    created_at=now - timedelta(days=rng.randint(0, 10)),
                    confirmed_at=now if confirmed else None,
                )
            )
    appointments = _bulk(Appointment, appointment_rows)
    counts["appointments"] = len(appointments)
    lines = []
    for appointment in appointments:
        for op in rng.sample(operations, rng.randint(1, 2)):
            lines.append(
                AppointmentLine(
                    appointment_id=appointment.pk,
                    operation=op,
                    work_type=op.work_type,
                    hours=op.standard_hours,
                    price=op.price,
                    quantity=Decimal(1),
                )
            )
    counts["appointment lines"] = len(_bulk(AppointmentLine, lines))
    log(f"  appointments: {time.monotonic() - started:.1f} s")

    statuses_after_sign = {
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
    key_tags = iter(range(1, 1000))
    visit_rows = []
    for visit_id, day, status, start, delivered, vehicle_id, owner_id, advisor, appt in meta:
        on_site = day == today
        signed = start + timedelta(minutes=25) if status != "checked_in" else None
        dispatched = start + timedelta(minutes=40) if status in statuses_after_sign else None
        work_done = (
            start + timedelta(hours=2)
            if status in {"work_done", "qc_failed", "rework", "qc_passed", "ready_for_pickup"}
            or status in {"settled", "delivered", "closed"}
            else None
        )
        visit_rows.append(
            Visit(
                id=visit_id,
                number=f"{prefix}{day:%y%m%d}-{visit_id:06d}",
                status=status,
                hold_reason="awaiting_parts" if status == "on_hold" else "",
                customer_id=owner_id,
                vehicle_id=vehicle_id,
                advisor=advisor,
                appointment_id=appointments[appt].pk if appt is not None else None,
                is_walk_in=appt is None,
                is_comeback=rng.random() < 0.03,
                odometer_km=rng.randint(3000, 150000),
                fuel_level=rng.randint(1, 8),
                covers="three",
                key_tag=f"K{prefix}{next(key_tags):03d}" if on_site else "",
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
                qc_passed_at=work_done + timedelta(minutes=20)
                if work_done and status not in {"work_done", "qc_failed"}
                else None,
                qc_failed_at=(
                    now - timedelta(minutes=15) if status in {"qc_failed", "rework"} else None
                ),
                ready_at=delivered - timedelta(minutes=40)
                if delivered
                else (
                    now - timedelta(minutes=20)
                    if status in {"ready_for_pickup", "settled"}
                    else None
                ),
                settled_at=delivered - timedelta(minutes=15)
                if delivered
                else (now - timedelta(minutes=5) if status == "settled" else None),
                delivered_at=delivered,
                closed_at=delivered + timedelta(days=7) if status == "closed" else None,
                cancelled_at=start + timedelta(minutes=30) if status == "cancelled" else None,
                cancel_reason="客户不修了" if status == "cancelled" else "",
                status_changed_at=delivered or start,
                rework_count=1 if status in {"qc_failed", "rework"} else 0,
            )
        )
    _bulk(Visit, visit_rows)
    counts["visits"] = len(visit_rows)
    log(f"  visits: {time.monotonic() - started:.1f} s")

    # --- Work orders, lines, jobs, clock entries.
    order_rows, order_lines = [], []
    signed_visits = [v for v in visit_rows if v.order_signed_at or v.status == "checked_in"]
    for visit in signed_visits:
        order_rows.append(
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
        )
    order_totals = {}
    specs = []
    for order in order_rows:
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
            (LineKind.LABOUR, op) for op in rng.sample(operations, rng.choice([1, 1, 2, 2, 3]))
        ]
        chosen += [(LineKind.PART, p) for p in rng.sample(parts, rng.choice([0, 1, 2, 2, 3]))]
        if extras.random() < 0.15:  # a hand-typed fee, billed without a workshop job
            chosen.append((LineKind.FEE, DIAGNOSTIC_FEE))
        labour = sum((i.price for k, i in chosen if k != LineKind.PART), Decimal(0))
        parts_total = sum((i.price for k, i in chosen if k == LineKind.PART), Decimal(0))
        order.labour_total, order.parts_total = labour, parts_total
        order.total = order.estimate_total = labour + parts_total
        specs.append((job_type, payer, labour, parts_total, chosen))
    orders = _bulk(WorkOrder, order_rows)
    for order, (job_type, payer, labour, parts_total, chosen) in zip(orders, specs, strict=True):
        order_totals[order.pk] = (job_type, payer, labour, parts_total)
        for position, (kind, item) in enumerate(chosen, start=1):
            labour_line = kind == LineKind.LABOUR
            order_lines.append(
                WorkOrderLine(
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
            )
    order_lines = _bulk(WorkOrderLine, order_lines)
    counts["work orders"] = len(orders)
    counts["work order lines"] = len(order_lines)
    log(f"  work orders: {time.monotonic() - started:.1f} s")

    visit_of_order = {order.pk: visit for visit, order in zip(signed_visits, orders, strict=True)}
    clocked_on = set(
        ClockEntry.objects.filter(ended_at__isnull=True).values_list("technician_id", flat=True)
    )
    free_technicians = [t for t in technicians if t.pk not in clocked_on]
    rng.shuffle(free_technicians)
    job_rows, clock_rows = [], []
    for line in order_lines:
        if line.kind != LineKind.LABOUR:
            continue
        visit = visit_of_order[line.order_id]
        if visit.status in ("checked_in", "cancelled"):
            continue
        technician = rng.choice(technicians)
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
        job_rows.append(
            Job(
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
                bay=rng.choice(bays) if technician else None,
                dispatched_by=controller if technician else None,
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
        )
    jobs = _bulk(Job, job_rows)
    for job in jobs:
        if job.started_at:
            clock_rows.append(
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
            )
    _bulk(ClockEntry, clock_rows)
    counts["jobs"] = len(jobs)
    counts["clock entries"] = len(clock_rows)
    log(f"  jobs: {time.monotonic() - started:.1f} s")

    # --- Bills, deliveries, payments for settled / delivered / closed visits.
    billed = [
        (visit, order)
        for visit, order in zip(signed_visits, orders, strict=True)
        if visit.status in ("settled", "delivered", "closed")
    ]
    bills = []
    for visit, order in billed:
        job_type, payer, labour, parts_total = order_totals[order.pk]
        total = labour + parts_total
        customer_total = total if payer == Payer.CUSTOMER else Decimal(0)
        # The cashier sometimes rounds the fen off the bill (抹零).
        adjustment = -(customer_total % 1) if extras.random() < 0.5 else Decimal(0)
        bills.append(
            Settlement(
                visit_id=visit.id,
                order_id=order.pk,
                invoice_number=f"{prefix}I{visit.id:08d}",
                labour_basis="catalogue",
                labour_total=labour,
                parts_total=parts_total,
                total=total,
                customer_total=customer_total,
                manufacturer_total=total if payer == Payer.MANUFACTURER else Decimal(0),
                insurer_total=total if payer == Payer.INSURER else Decimal(0),
                vat_rate=Decimal("0.13"),
                vat_amount=(total * Decimal("0.13") / Decimal("1.13")).quantize(Decimal("0.01")),
                estimate_total=order.estimate_total,
                adjustment_amount=adjustment,
                adjustment_reason="抹零" if adjustment else "",
                amount_due=customer_total + adjustment,
                paid_total=customer_total + adjustment,
                settled_by=cashier,
                settled_at=visit.settled_at,
            )
        )
    bills = _bulk(Settlement, bills)
    bill_lines, payments, deliveries = [], [], []
    lines_of_order: dict[int, list] = {}
    for line in order_lines:
        lines_of_order.setdefault(line.order_id, []).append(line)
    for bill, (visit, order) in zip(bills, billed, strict=True):
        job_type, payer, _labour, _parts = order_totals[order.pk]
        for line in lines_of_order.get(order.pk, []):
            amount = line.unit_price * line.quantity
            bill_lines.append(
                SettlementLine(
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
            )
        if bill.amount_due:
            payments.append(
                Payment(
                    settlement_id=bill.pk,
                    method=order.payment_method or "wechat",
                    amount=bill.amount_due,
                )
            )
        deliveries.append(
            Delivery(
                visit_id=visit.id,
                wash_done_at=visit.ready_at,
                final_check_at=visit.ready_at,
                final_check_by_id=visit.advisor_id,
                delivery_odometer_km=visit.odometer_km,
                gate_pass_number=f"G{visit.id:08d}" if visit.delivered_at else "",
                gate_pass_issued_at=visit.delivered_at,
                gate_pass_issued_by=cashier if visit.delivered_at else None,
                handback_signer="客户" if visit.delivered_at else "",
                handed_back_at=visit.delivered_at,
                handed_back_by_id=visit.advisor_id if visit.delivered_at else None,
                belongings_returned=bool(visit.delivered_at),
                keys_returned=bool(visit.delivered_at),
                covers_removed=bool(visit.delivered_at),
            )
        )
    _bulk(SettlementLine, bill_lines)
    _bulk(Payment, payments)
    _bulk(Delivery, deliveries)
    counts["bills"] = len(bills)
    counts["bill lines"] = len(bill_lines)
    log(f"  bills: {time.monotonic() - started:.1f} s")

    # --- Follow-up: care and advisor calls, surveys, complaints, lost-customer calls.
    delivered = [v for v in visit_rows if v.delivered_at]
    calls = []
    for visit in delivered:
        for kind, after, role in (
            (K.CARE_CALL, timedelta(hours=24), "customer_care"),
            (K.ADVISOR_CALL, timedelta(days=7), "advisor"),
        ):
            due = visit.delivered_at + after
            done = due < now - timedelta(hours=6) and (
                visit.status == "closed" or kind == K.CARE_CALL
            )
            reached = rng.random() < 0.85
            calls.append(
                DueTask(
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
                    outcome=(
                        ("surveyed" if kind == K.CARE_CALL else "satisfied")
                        if reached
                        else "unreachable"
                    )
                    if done
                    else "",
                    completed_by=(care if role == "customer_care" else None) if done else None,
                    finished_at=due + timedelta(hours=2) if done else None,
                    created_at=visit.delivered_at,
                    payload={
                        "visit": visit.id,
                        "vehicle": visit.vehicle_id,
                        "number": visit.number,
                    },
                )
            )
    # Lost customers: a call for cars not seen for a long time; a few hundred open.
    seen = {v.vehicle_id for v in visit_rows}
    lost = [(v, o) for v, o in cars if v not in seen][: max(1, len(delivered) // 100)]
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
                due_at=now - timedelta(days=rng.randint(0, 20)),
                run_after=now - timedelta(days=20),
                payload={"vehicle": vehicle_id},
            )
        )
    for appointment in appointments[upcoming_first:]:
        if appointment.start.date() <= today + timedelta(days=1):
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
    counts["calls"] = len(calls)
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
                    taken_by=care,
                    taken_at=call.finished_at,
                )
            )
    surveys = _bulk(Survey, surveys)
    counts["surveys"] = len(surveys)
    complaints = []
    for n, visit in enumerate(v for v in delivered if rng.random() < 0.015):
        category, text = rng.choice(COMPLAINTS)
        opened = visit.delivered_at + timedelta(days=1)
        open_now = opened > now - timedelta(days=10) and rng.random() < 0.5
        complaints.append(
            Complaint(
                number=f"{prefix}C{n:06d}",
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
                opened_by=care,
                respond_by=opened + timedelta(hours=24),
                close_by=opened + timedelta(days=7),
                responded_at=None if open_now else opened + timedelta(hours=5),
                closed_at=None if open_now else opened + timedelta(days=3),
                resolution="" if open_now else "已向客户解释并免费复检",
                customer_satisfied=None if open_now else True,
            )
        )
    counts["complaints"] = len(_bulk(Complaint, complaints))
    log(f"  follow-up: {time.monotonic() - started:.1f} s")

    # --- What the archive shows: timeline events and the messages sent.
    events, messages = [], []
    for visit in visit_rows:
        events.append(
            TimelineEvent(
                at=visit.checked_in_at,
                kind="visit.checked_in",
                summary=f"{visit.number} 接车",
                customer_id=visit.customer_id,
                vehicle_id=visit.vehicle_id,
                subject_type=ct_visit,
                subject_id=visit.id,
                actor_id=visit.advisor_id,
            )
        )
        if visit.delivered_at:
            events.append(
                TimelineEvent(
                    at=visit.delivered_at,
                    kind="visit.delivered",
                    summary=f"{visit.number} 交车",
                    customer_id=visit.customer_id,
                    vehicle_id=visit.vehicle_id,
                    subject_type=ct_visit,
                    subject_id=visit.id,
                    actor_id=visit.advisor_id,
                )
            )
            messages.append(
                Message(
                    to="",
                    channel="sms",
                    template="delivery.ready",
                    language="zh-hans",
                    body=f"您的爱车已完工,可以取车了。{visit.number}",
                    status="sent",
                    customer_id=visit.customer_id,
                    vehicle_id=visit.vehicle_id,
                    subject_type=ct_visit,
                    subject_id=visit.id,
                    sent_at=visit.ready_at,
                )
            )
    mobiles = dict(Customer.objects.values_list("id", "mobile"))
    for message in messages:
        message.to = mobiles.get(message.customer_id, "")
    counts["timeline events"] = len(_bulk(TimelineEvent, events))
    counts["messages"] = len(_bulk(Message, messages))
    log(f"  archive: {time.monotonic() - started:.1f} s")

    if connection.vendor == "postgresql" and visits >= 5000:
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return counts
