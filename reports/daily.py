"""The report's additive figures kept per local day, so a period sums a few dozen rows.

A full recomputation aggregates a year of bills, visits, clock entries… for every report
(`reports.figures`); most figures are sums over rows that each belong to one local day
(the bill's settlement, the check-in, the delivery, the clock entry's start…), so the
report sums `DayFigures` rows instead, and only the days something changed in are
aggregated afresh (about a dozen queries over a day's rows).

How a change reaches the day, never lost and never raced:

* Any save or delete of a row behind the figures writes a `DayChange(day, xid)` for the
  days it touches (before and after the change) in its own transaction (`xid`): the mark
  commits or rolls back with the change itself.
* A reader notes the oldest running transaction (`xmin` of its snapshot) before it
  aggregates, and stores it with the day. Every transaction below it had ended, so its
  changes are in the figures; a mark from a transaction at or above it may not be, so the
  day counts as stale until a later reader recomputes it. Two bills paid at once, a
  reader between them: whichever commits last still finds its mark above the xmin.
* Rows written in bulk (no signals: the demo's year) call `days_forget`.

The spending bands sum `DaySpending` (per day and customer) over the 12 months: the days
before today once, kept while their rows stay the same (`DayFigures.spending_change`),
then only the customers who paid from today on are moved between bands. Figures that
are not day sums are queries in `reports.figures` (distinct cars at QC, complaints
against the clock, first service, customers not seen…), each kept under the versions of
the rows it reads (`reports.selectors._kept_parts`, `reports.cache.kept_many`), and so
are the enquiries and the work types behind the status times.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Subquery, Sum
from django.db.models.functions import TruncDate
from django.db.models.signals import post_delete, post_save, pre_save
from django.utils import timezone

from appointments.capacity import day_bounds, local_tz
from appointments.models import Appointment, Deposit
from appointments.models import Status as AppointmentStatus
from dealership.daterange import add_months
from dealership.rules import rule
from delivery.models import Payment, Settlement, SettlementLine, SettlementStatus
from followup.models import Survey
from reception.models import Visit
from reception.states import VisitStatus
from workorders.models import LineKind, Payer, WarrantyClaim
from workshop.models import ClockEntry, Job

from . import cache as report_cache
from .figures import _warranty_sums, _within_estimate, paid_subqueries
from .models import DayFigures, DaySpending

ZERO = Decimal("0")
OUTSIDE = (Payer.CUSTOMER, Payer.MANUFACTURER, Payer.INSURER)


def enabled() -> bool:
    """The day rows rely on PostgreSQL's transaction ids; elsewhere reports recompute."""
    return connection.vendor == "postgresql"


# ----------------------------------------------------------------------- marking changes

# What ties each watched row to its days: its own timestamps, its bill, its order line.
DAY_FIELDS = {
    Visit: ("checked_in_at", "delivered_at"),
    Settlement: ("settled_at",),
    ClockEntry: ("started_at",),
    Job: ("finished_at",),
    Appointment: ("start",),
    Survey: ("taken_at",),
}
SETTLEMENT_FIELDS = {
    SettlementLine: "settlement_id",
    Payment: "settlement_id",
    Deposit: "settlement_id",
}
LINE_FIELDS = {WarrantyClaim: "line_id"}
WATCHED = (*DAY_FIELDS, *SETTLEMENT_FIELDS, *LINE_FIELDS)


def _fields(model) -> tuple[str, ...]:
    if model in DAY_FIELDS:
        return DAY_FIELDS[model]
    return (SETTLEMENT_FIELDS.get(model) or LINE_FIELDS[model],)


def _marks(model, values: dict) -> tuple[set, set, set]:
    """(days, bill ids, order line ids) a row with these field values touches."""
    days, bills, lines = set(), set(), set()
    for name in _fields(model):
        value = values.get(name)
        if value is None:
            continue
        if model in DAY_FIELDS:
            days.add(timezone.localtime(value, local_tz()).date())
        elif model in SETTLEMENT_FIELDS:
            bills.add(value)
        else:
            lines.add(value)
    return days, bills, lines


def days_mark(*, days=(), bills=(), visits=(), lines=()) -> None:
    """Mark as changed by the current transaction these days, the days of these bills, of
    these visits' bills, of the bills of these order lines (one statement)."""
    with connection.cursor() as cursor:
        cursor.execute(
            MARK,
            {
                "days": sorted(days),
                "tz": settings.TIME_ZONE,
                "bills": sorted(bills),
                "visits": sorted(visits),
                "lines": sorted(lines),
            },
        )


# The xid of the transaction (assigned now if it has none yet). A bill's lines come from
# its order's lines: a warranty claim's order line finds the bills; a visit's bills count
# its customer's spending.
MARK = """
INSERT INTO reports_daychange (day, xid)
SELECT DISTINCT d, pg_current_xact_id()::text::bigint FROM (
    SELECT unnest(%(days)s::date[]) AS d
    UNION ALL
    SELECT (s.settled_at AT TIME ZONE %(tz)s)::date FROM delivery_settlement s
    WHERE s.settled_at IS NOT NULL AND (
        s.id = ANY(%(bills)s::bigint[]) OR s.visit_id = ANY(%(visits)s::bigint[])
        OR s.order_id IN (
            SELECT l.order_id FROM workorders_workorderline l WHERE l.id = ANY(%(lines)s::bigint[])
        )
    )
) changed
ON CONFLICT DO NOTHING"""
# The days among those asked that have no row or a stale one, with the xmin to store.
STALE_DAYS = """
SELECT g.day, pg_snapshot_xmin(pg_current_snapshot())::text::bigint
FROM unnest(%s::date[]) g(day) LEFT JOIN reports_dayfigures f ON f.day = g.day
WHERE f.day IS NULL OR f.tolerance <> %s OR EXISTS (
    SELECT 1 FROM reports_daychange c WHERE c.day = g.day AND c.xid >= f.computed_xmin
)"""


def days_forget() -> None:
    """Drop every day row and every kept report (after rows were written in bulk, without
    signals)."""
    report_cache.forget()
    if enabled():
        DayFigures.objects.all().delete()
        DaySpending.objects.all().delete()


def _before_save(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """Note the days the row touched before this save: a delivery undone, an appointment
    moved, a deposit given back leave a day that must be counted again."""
    if raw or instance._state.adding or instance.pk is None or not enabled():
        return
    fields = _fields(sender)
    if update_fields is not None and not {f.removesuffix("_id") for f in fields} & {
        f.removesuffix("_id") for f in update_fields
    }:
        return
    old = sender._base_manager.filter(pk=instance.pk).values(*fields).first()
    if old:
        instance._report_marks_before = _marks(sender, old)


def _after_change(sender, instance, raw=False, **kwargs) -> None:
    if raw or not enabled():
        return
    days, bills, lines = _marks(sender, {name: getattr(instance, name) for name in _fields(sender)})
    before = instance.__dict__.pop("_report_marks_before", None)
    if before:
        days, bills, lines = days | before[0], bills | before[1], lines | before[2]
    # A visit's bills count under its customer's spending, whichever customer it is now.
    visits = {instance.pk} if sender is Visit else set()
    days_mark(days=days, bills=bills, visits=visits, lines=lines)


def connect() -> None:
    for model in WATCHED:
        uid = f"reports-days-{model._meta.label_lower}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=f"{uid}-pre")
        post_save.connect(_after_change, sender=model, dispatch_uid=f"{uid}-save")
        post_delete.connect(_after_change, sender=model, dispatch_uid=f"{uid}-delete")


# ----------------------------------------------------------------------- computing days


def _tolerance() -> Decimal:
    return Decimal(str(rule("workorders.estimate_tolerance_percent"))).quantize(Decimal("0.01"))


def _by_day(queryset, field: str):
    return queryset.annotate(day=TruncDate(field, tzinfo=local_tz()))


def _within(field: str, runs: list[tuple[date, date]]) -> Q:
    """The rows whose `field` falls on one of the runs of local days (an index range each)."""
    q = Q()
    for first, last in runs:
        start, end = day_bounds(first, last)
        q |= Q(**{f"{field}__gte": start, f"{field}__lt": end})
    return q


def _compute(runs: list[tuple[date, date]]) -> tuple[dict[date, dict], list]:
    """Every day first..last aggregated from the rows (one grouped query per kind of row)."""
    rows: dict[date, dict] = {
        first + timedelta(days=i): {"tables": {"cells": {}, "types": {}, "clk": {}, "std": {}}}
        for first, last in runs
        for i in range((last - first).days + 1)
    }

    def add(found, names=None):
        for row in found:
            day = row.pop("day")
            rows[day].update(
                {k: v for k, v in row.items() if v is not None and (names is None or k in names)}
            )

    at_till, ahead = paid_subqueries()
    bills = _by_day(
        Settlement.objects.filter(_within("settled_at", runs), status=SettlementStatus.PAID),
        "settled_at",
    ).values("day")
    add(
        bills.annotate(
            orders=Count("id"),
            estimated=Count("id", filter=Q(estimate_total__gt=0)),
            within=Count("id", filter=_within_estimate()),
            adjustments=Sum("adjustment_amount"),
            paid_till=Sum(Subquery(at_till)),
            paid_ahead=Sum(Subquery(ahead)),
        )
    )
    lines = _by_day(
        SettlementLine.objects.filter(
            _within("settlement__settled_at", runs),
            settlement__status=SettlementStatus.PAID,
        ),
        "settlement__settled_at",
    )
    found = (
        lines.filter(payer__in=OUTSIDE)
        .values("day")
        .annotate(
            labour=Sum("amount", filter=Q(kind=LineKind.LABOUR)),
            parts=Sum("amount", filter=Q(kind=LineKind.PART)),
            other=Sum("amount", filter=~Q(kind__in=[LineKind.LABOUR, LineKind.PART])),
            hours_sold=Sum("hours", filter=Q(kind=LineKind.LABOUR)),
            **_warranty_sums(),
        )
    )
    for row in found:
        row["warranty"] = (row.pop("warranty_unclaimed") or ZERO) + (
            row.pop("warranty_approved") or ZERO
        )
        add([row])
    for row in (
        lines.filter(payer__in=OUTSIDE)
        .values("day", "kind", "payer")
        .annotate(amount=Sum("amount"))
    ):
        cell = f"{row['kind']}|{row['payer']}"
        rows[row["day"]]["tables"]["cells"][cell] = str(row["amount"])
    for row in lines.values("day", "job_type").annotate(
        orders=Count("settlement", distinct=True), amount=Sum("amount")
    ):
        amount = None if row["amount"] is None else str(row["amount"])
        rows[row["day"]]["tables"]["types"][row["job_type"]] = [row["orders"], amount]
    not_cancelled = ~Q(status=VisitStatus.CANCELLED)
    add(
        _by_day(Visit.objects.filter(_within("checked_in_at", runs)), "checked_in_at")
        .values("day")
        .annotate(
            checked_in=Count("id", filter=not_cancelled),
            cancelled=Count("id", filter=Q(status=VisitStatus.CANCELLED)),
            comebacks=Count("id", filter=Q(is_comeback=True) & not_cancelled),
            walk_ins=Count("id", filter=Q(is_walk_in=True)),
        )
    )
    add(
        _by_day(Visit.objects.filter(_within("delivered_at", runs)), "delivered_at")
        .values("day")
        .annotate(
            delivered=Count("id"),
            promised=Count("id", filter=Q(promised_at__isnull=False)),
            on_time=Count("id", filter=Q(delivered_at__lte=F("promised_at"))),
            reworked=Count("id", filter=Q(rework_count__gt=0)),
        )
    )
    clock = (
        _by_day(
            ClockEntry.objects.filter(_within("started_at", runs), ended_at__isnull=False),
            "started_at",
        )
        .values("day", "technician")
        .annotate(
            total=Sum(
                ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
            )
        )
    )
    for row in clock:
        day = rows[row["day"]]
        micros = _micros(row["total"])
        day["clocked"] = day.get("clocked", 0) + (micros or 0)
        day["tables"]["clk"][str(row["technician"])] = micros
    standard = (
        _by_day(
            Job.objects.filter(_within("finished_at", runs), technician__isnull=False),
            "finished_at",
        )
        .values("day", "technician")
        .annotate(total=Sum("hours"))
    )
    for row in standard:
        total = None if row["total"] is None else str(row["total"])
        rows[row["day"]]["tables"]["std"][str(row["technician"])] = total
    add(
        _by_day(Appointment.objects.filter(_within("start", runs)), "start")
        .values("day")
        .annotate(
            booked=Count("id"),
            arrived=Count("id", filter=Q(status=AppointmentStatus.ARRIVED)),
            no_show=Count("id", filter=Q(status=AppointmentStatus.NO_SHOW)),
            appointments_cancelled=Count("id", filter=Q(status=AppointmentStatus.CANCELLED)),
        )
    )
    points = F("overall") + F("explanation") + F("on_time") + F("car_clean") + F("would_recommend")
    add(
        _by_day(Survey.objects.filter(_within("taken_at", runs)), "taken_at")
        .values("day")
        .annotate(surveys=Count("id"), survey_points=Sum(points))
    )
    spending = (
        _by_day(
            Settlement.objects.filter(_within("settled_at", runs), status=SettlementStatus.PAID),
            "settled_at",
        )
        .values("day", "visit__customer")
        .annotate(spent=Sum("customer_total"))
    )
    return rows, [
        DaySpending(
            day=row["day"], customer_id=row["visit__customer"], spent=int(row["spent"] * 100)
        )
        for row in spending
    ]


def _micros(value) -> int | None:
    if value is None:
        return None
    return (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Sorted days as contiguous (first, last) runs."""
    runs: list[list[date]] = []
    for day in days:
        if runs and day == runs[-1][1] + timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


SCALARS = [
    f.name
    for f in DayFigures._meta.concrete_fields
    if f.name not in ("day", "computed_xmin", "spending_change", "tables", "tolerance")
]


def _stale(days: list[date], tolerance: Decimal) -> tuple[list[date], int | None]:
    with connection.cursor() as cursor:
        cursor.execute(STALE_DAYS, [days, tolerance])
        found = cursor.fetchall()
    return sorted(day for day, _xmin in found), (found[0][1] if found else None)


def _spending_changes(stale: list[date], spending: list, change: int) -> dict[date, int]:
    """Per day refreshed: the last change of its spending rows, this refresh (`change`)
    where the rows just counted differ from those kept."""
    kept, counted = defaultdict(set), defaultdict(set)
    for day, customer_id, spent in DaySpending.objects.filter(day__in=stale).values_list(
        "day", "customer_id", "spent"
    ):
        kept[day].add((customer_id, spent))
    for row in spending:
        counted[row.day].add((row.customer_id, row.spent))
    changed = dict(DayFigures.objects.filter(day__in=stale).values_list("day", "spending_change"))
    unchanged = {day for day in stale if day in changed and kept[day] == counted[day]}
    return {day: changed[day] if day in unchanged else change for day in stale}


# Plain deletes: a `QuerySet.delete()` reads every row first, as a post_delete receiver
# (`reports.cache.data_changed`) listens to all models.
FORGET_SPENDING = "DELETE FROM reports_dayspending WHERE day = ANY(%s::date[])"
COUNTED_MARKS = "DELETE FROM reports_daychange WHERE day = ANY(%s::date[]) AND xid < %s"

# One refresher at a time: two that replaced the same day's spending rows at once would
# leave both sets.
REFRESH_LOCK = 2104  # issue 21, point 4
# Numbers the changes of the spending rows: a sequence grows across transactions, even
# within one (a transaction id does not: a test or a service refreshing twice in one).
SPENDING_CHANGES = "reports_spending_changes"


def days_refresh(days: list[date]) -> None:
    """Aggregate afresh the days among `days` that have no row or a stale one."""
    tolerance = _tolerance()
    days = sorted(set(days))
    stale, xmin = _stale(days, tolerance)
    if not stale:
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(%s), nextval(%s)", [REFRESH_LOCK, SPENDING_CHANGES]
            )
            change = cursor.fetchone()[1]
        # Another request may have refreshed them while this one waited; the xmin is
        # taken after the lock, before aggregating.
        stale, xmin = _stale(stale, tolerance)
        if not stale:
            return
        rows, spending = _compute(_runs(stale))
        spending_changes = _spending_changes(stale, spending, change)
        fresh = [
            DayFigures(
                day=day,
                computed_xmin=xmin,
                spending_change=spending_changes[day],
                tolerance=tolerance,
                **values,
            )
            for day, values in rows.items()
        ]
        with connection.cursor() as cursor:
            cursor.execute(FORGET_SPENDING, [stale])
        DaySpending.objects.bulk_create(spending, batch_size=5000)
        DayFigures.objects.bulk_create(
            fresh,
            update_conflicts=True,
            unique_fields=["day"],
            update_fields=["computed_xmin", "spending_change", "tolerance", "tables", *SCALARS],
        )
        # The marks below the xmin are in the figures now.
        with connection.cursor() as cursor:
            cursor.execute(COUNTED_MARKS, [stale, xmin])


# ----------------------------------------------------------------------- reading periods


@dataclass
class DaySums:
    """A period's sums of the day rows (the same names as `DayFigures`), and its tables."""

    values: dict
    cells: dict
    types: dict
    clocked: dict  # technician id → microseconds or None
    standard: dict  # technician id → hours or None


def days_load(
    periods: list, *, trend_months: list[date] | None = None, spending_from: date | None = None
) -> "DayStore":
    """Refresh and read the day rows the periods (and the trend's months, the spending
    window from `spending_from` to the first period's end) cover."""
    wanted: set[date] = set()
    if spending_from is not None:
        last = periods[0].last
        wanted.update(
            spending_from + timedelta(days=i) for i in range((last - spending_from).days + 1)
        )
    for period in periods:
        wanted.update(period.first + timedelta(days=i) for i in range(period.days))
    if trend_months:
        first, end = trend_months[0], add_months(trend_months[-1], 1)
        wanted.update(first + timedelta(days=i) for i in range((end - first).days))
    days_refresh(sorted(wanted))
    rows = {
        row["day"]: row
        for row in DayFigures.objects.filter(day__gte=min(wanted), day__lte=max(wanted)).values(
            "day", "spending_change", *SCALARS
        )
    }
    return DayStore(rows)


class DayStore:
    def __init__(self, rows: dict):
        self.rows = rows

    def sums(self, period, *, tables: bool = False) -> DaySums:
        days = [period.first + timedelta(days=i) for i in range(period.days)]
        values = dict.fromkeys(SCALARS, 0)
        for day in days:
            row = self.rows[day]
            for name in SCALARS:
                values[name] += row[name]
        sums = DaySums(values=values, cells={}, types={}, clocked={}, standard={})
        if tables:
            for found in DayFigures.objects.filter(day__in=days).values_list("tables", flat=True):
                _merge(sums.cells, found["cells"])
                for job_type, (orders, amount) in found["types"].items():
                    had = sums.types.get(job_type, [0, None])
                    sums.types[job_type] = [had[0] + orders, _add(had[1], amount)]
                _merge(sums.clocked, found["clk"], numbers=int)
                _merge(sums.standard, found["std"])
        return sums

    def spending_changed(self, first: date, last: date) -> int:
        """The last change of the spending rows of the days first..last (0 for no days):
        it grows whenever the rows of any of them change."""
        days = (first + timedelta(days=i) for i in range((last - first).days + 1))
        return max((self.rows[day]["spending_change"] for day in days), default=0)

    def month_sums(self, month: date, end: date) -> dict:
        values = defaultdict(int)
        day = month
        while day < end:
            row = self.rows[day]
            for name in ("orders", "labour", "parts"):
                values[name] += row[name]
            day += timedelta(days=1)
        return values


def _add(total, value, numbers=Decimal):
    """Sum two values of which either may be None (None + None stays None, as SQL's SUM)."""
    if value is None:
        return total
    value = numbers(value)
    return value if total is None else total + value


def _merge(into: dict, found: dict, numbers=Decimal) -> None:
    for key, value in found.items():
        into[key] = _add(into.get(key), value, numbers)
