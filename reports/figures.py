"""Every report figure, defined once, computed by database aggregation.

Definitions (the manager reads them on the page as the figure's help text):

* Repair orders (维修台次): visits with a paid bill settled in the period, by the
  settlement time. A visit checked in on 31 January and settled on 1 February
  counts in February; a cancelled visit has no bill and never counts.
* Labour / parts revenue: billed labour / part lines of those bills after line
  discounts, all outside payers (customer, manufacturer for warranty, insurer);
  internal (store-paid) lines are not revenue. Warranty revenue: the approved
  amounts of the warranty claims on the manufacturer's labour / part lines of those
  bills (a claim still open or rejected counts nothing; a line billed before claims
  existed, with no claim, counts as billed). Fees and other revenue: the bills'
  lines that are neither labour nor parts (fees, sublet, consumables, old untyped
  manual lines). Average ticket = (labour + parts + other) ÷ repair orders.
* Payments received: what the customers paid on those bills, at the till or as a
  deposit paid ahead and credited on them (`paid_for_bills`). It equals the
  customers' share of labour + parts + other, plus the cashier's adjustments
  (rounding, goodwill); the manufacturer's and insurers' shares are billed to
  them, not paid at the till. `revenue_by_category` shows the sum to the cent.
* Insurance jobs: of the insurance lines (total T) the insurer pays min(T, A) − E,
  never below zero (A the amount it approved, E the customer's excess); the customer
  pays the rest of T at the till. The bill records each insurance line the customer
  pays part of as two lines, the insurer's and the customer's part (the hours on the
  insurer's), so the insurers' column is what they were billed and the customers'
  column still adds up to the payments received (`delivery.selectors.insurance_split`).
* Hours sold: billed labour hours (internal lines left out). Hours clocked:
  technicians' clock entries started in the period. Hours available: each active
  technician's hours per day × the days the store is open. Productivity = sold ÷
  clocked; utilisation = clocked ÷ available.
* Appointment, show and no-show rates: `appointments.selectors.appointment_kpis`.
* On-time delivery: visits delivered in the period with a promised time,
  delivered at or before it. Rework rate: delivered visits that went through
  rework at least once. Comebacks: check-ins flagged as a repeat repair.
* Estimate accuracy: bills of the period with a signed estimate whose customer
  amount is within ±10 % of it plus the additional work the customer approved.
* CSI: mean of the five survey answers (1–10) taken in the period, × 10 (0–100).
* Complaints received in the period; response / closure in time counts those
  answered / closed by their deadline, out of those answered / closed or past due.
* First-service return: new cars handed over one first-service interval
  (`followup.first_service_months`) before the period; share that has a visit
  (not cancelled) between the handover and the period's end.
* Customers not seen for 3 / 6 / 12 months (the follow-up rules): customers whose
  last visit before the period's end is older than that.
* Customers by spending band: what each customer paid in the 12 months to the
  period's end, in the bands of `reports.spending_bands`.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DecimalField,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    OuterRef,
    Q,
    Subquery,
    Sum,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.capacity import local_tz, openings
from appointments.models import Deposit, DepositStatus
from appointments.selectors import AppointmentKpis, appointment_kpis
from dealership.daterange import add_months
from dealership.models import Technician, Vehicle
from dealership.money import cents
from dealership.rules import rule
from delivery.models import Payment, Settlement, SettlementLine, SettlementStatus
from followup.models import Complaint, ComplaintCategory, ComplaintSeverity, Survey
from followup.rules import lost_months
from reception.models import Visit
from reception.states import VisitStatus
from workorders.models import JobType, LineKind, Payer, WarrantyClaim
from workorders.states import ClaimStatus
from workshop.models import ClockEntry, Job, QualityCheck

from . import cache as report_cache
from .models import DaySpending
from .periods import Period

ZERO = Decimal("0")
TENTH = Decimal("0.1")

COUNT, MONEY, HOURS, PERCENT, SCORE = "count", "money", "hours", "percent", "score"


@dataclass(frozen=True)
class Figure:
    key: str
    label: object
    unit: str
    section: object
    higher_is_better: bool = True
    drill: bool = False

    @property
    def definition(self) -> str:
        """Where the page explains the figure: the anchor of its definition."""
        return DEFINITION_OF.get(self.key, "")

    @property
    def definition_text(self):
        return DEFINITIONS.get(self.definition, "")


S_SALES = _("Orders and revenue")
S_WORKSHOP = _("Workshop hours")
S_BOOKING = _("Appointments")
S_QUALITY = _("Delivery and quality")
S_CARE = _("Satisfaction and complaints")
S_RETENTION = _("Retention")

FIGURES: dict[str, Figure] = {
    f.key: f
    for f in [
        Figure("repair_orders", _("Repair orders"), COUNT, S_SALES, drill=True),
        Figure("checked_in", _("Cars checked in"), COUNT, S_SALES, drill=True),
        Figure("cancelled", _("Visits cancelled"), COUNT, S_SALES, False, drill=True),
        Figure("labour_revenue", _("Labour revenue"), MONEY, S_SALES),
        Figure("parts_revenue", _("Parts revenue"), MONEY, S_SALES),
        Figure("other_revenue", _("Fees and other revenue"), MONEY, S_SALES),
        Figure("warranty_revenue", _("of which warranty"), MONEY, S_SALES),
        Figure("adjustments", _("Adjustments at the till"), MONEY, S_SALES),
        Figure("payments_received", _("Payments received"), MONEY, S_SALES),
        Figure("average_ticket", _("Average ticket"), MONEY, S_SALES),
        Figure("hours_sold", _("Hours sold"), HOURS, S_WORKSHOP),
        Figure("hours_clocked", _("Hours clocked"), HOURS, S_WORKSHOP),
        Figure("hours_available", _("Technician hours available"), HOURS, S_WORKSHOP),
        Figure("productivity", _("Productivity (sold ÷ clocked)"), PERCENT, S_WORKSHOP),
        Figure("utilisation", _("Utilisation (clocked ÷ available)"), PERCENT, S_WORKSHOP),
        Figure("appointments", _("Appointments due"), COUNT, S_BOOKING),
        Figure("appointment_rate", _("Appointment rate"), PERCENT, S_BOOKING),
        Figure("show_rate", _("Show rate"), PERCENT, S_BOOKING),
        Figure("no_show_rate", _("No-show rate"), PERCENT, S_BOOKING, False),
        Figure("delivered", _("Cars delivered"), COUNT, S_QUALITY, drill=True),
        Figure("on_time_rate", _("On-time delivery rate"), PERCENT, S_QUALITY),
        Figure("late", _("Delivered late"), COUNT, S_QUALITY, False, drill=True),
        Figure("rework_rate", _("Rework rate"), PERCENT, S_QUALITY, False),
        Figure("reworked", _("Delivered after rework"), COUNT, S_QUALITY, False, drill=True),
        Figure("qc_fail_rate", _("QC failure rate"), PERCENT, S_QUALITY, False),
        Figure("qc_failed", _("Cars failed at QC"), COUNT, S_QUALITY, False, drill=True),
        Figure("comebacks", _("Comebacks"), COUNT, S_QUALITY, False, drill=True),
        Figure("estimate_accuracy", _("Estimate accuracy (±10 %)"), PERCENT, S_QUALITY),
        Figure("estimate_missed", _("Bills outside ±10 %"), COUNT, S_QUALITY, False, drill=True),
        Figure("csi", _("CSI (0–100)"), SCORE, S_CARE),
        Figure("surveys", _("Surveys taken"), COUNT, S_CARE),
        Figure("complaints", _("Complaints"), COUNT, S_CARE, False),
        Figure("complaints_important", _("Important complaints"), COUNT, S_CARE, False),
        Figure("response_in_time", _("Answered within deadline"), PERCENT, S_CARE),
        Figure("closure_in_time", _("Closed within deadline"), PERCENT, S_CARE),
        Figure("new_cars_due", _("New cars due for first service"), COUNT, S_RETENTION),
        Figure("first_service_rate", _("First-service return rate"), PERCENT, S_RETENTION),
        Figure("lost_3", _("Customers not seen for 3 months"), COUNT, S_RETENTION, False),
        Figure("lost_6", _("Customers not seen for 6 months"), COUNT, S_RETENTION, False),
        Figure("lost_12", _("Customers not seen for 12 months"), COUNT, S_RETENTION, False),
    ]
}

WORK_TYPE_PREFIX = "orders_"

# What each figure means, as the page shows it (one definition per group of figures).
DEFINITIONS = {
    "orders": _(
        "Repair orders: visits with a paid bill settled in the period, by the time of "
        "settlement. Cars checked in and visits cancelled: by the time of check-in."
    ),
    "revenue": _(
        "Labour, parts, fees and other revenue: the lines of those bills after line "
        "discounts, for every outside payer (customer, manufacturer for warranty, insurer); "
        "internal lines are not revenue. Of which warranty: the approved amounts of the "
        "warranty claims on those bills' manufacturer lines (an open or rejected claim counts "
        "nothing; a line billed before claims existed counts as billed). Adjustments at the "
        "till: the cashier's changes to the amount due (rounding, goodwill). Payments "
        "received: what the customers paid on those bills, at the till or as a deposit paid "
        "ahead and credited on them, which is the customers' share of the lines plus the "
        "adjustments (see Revenue by category). Average ticket = (labour "
        "+ parts + other) ÷ repair orders."
    ),
    "hours": _(
        "Hours sold: billed labour hours. Hours clocked: technicians' clock entries started "
        "in the period. Hours available: each active technician's hours per day × the days "
        "the store is open. Productivity = sold ÷ clocked, shown only when enough hours were "
        "clocked (rule reports.min_clocked_hours), else “too little data”. Utilisation = "
        "clocked ÷ available."
    ),
    "booking": _(
        "Appointments due: appointments of the period that arrived or did not show. "
        "Appointment rate: visits that came from an appointment ÷ all visits. Show and "
        "no-show rates: of the appointments due."
    ),
    "delivery": _(
        "Cars delivered in the period. On-time delivery: delivered at or before the promised "
        "time, out of those delivered with a promise."
    ),
    "rework": _(
        "Rework rate: cars delivered in the period that went through rework at least once ÷ "
        "cars delivered; a car still in the workshop counts only once it is delivered. QC "
        "failure rate: cars with a failed QC check in the period ÷ cars QC checked in the "
        "period, delivered or not. Comebacks: check-ins flagged as a repeat repair."
    ),
    "estimate": _(
        "Estimate accuracy: bills with a signed estimate whose customer amount is within "
        "±10 % of the estimate plus the additional work the customer approved."
    ),
    "care": _(
        "CSI: the mean of the five survey answers (1–10) × 10. Complaints received in the "
        "period; answered and closed within the deadline, out of those answered or closed "
        "or past their deadline."
    ),
    "retention": _(
        "First-service return: new cars handed over one first-service interval before the "
        "period that came back by its end. Customers not seen: their last visit is older "
        "than 3 / 6 / 12 months at the period's end."
    ),
}
DEFINITION_OF = {
    **dict.fromkeys(["repair_orders", "checked_in", "cancelled"], "orders"),
    **dict.fromkeys(
        [
            "labour_revenue",
            "parts_revenue",
            "other_revenue",
            "warranty_revenue",
            "adjustments",
            "payments_received",
            "average_ticket",
        ],
        "revenue",
    ),
    **dict.fromkeys(
        ["hours_sold", "hours_clocked", "hours_available", "productivity", "utilisation"],
        "hours",
    ),
    **dict.fromkeys(["appointments", "appointment_rate", "show_rate", "no_show_rate"], "booking"),
    **dict.fromkeys(["delivered", "on_time_rate", "late"], "delivery"),
    **dict.fromkeys(
        ["rework_rate", "reworked", "qc_fail_rate", "qc_failed", "comebacks"], "rework"
    ),
    **dict.fromkeys(["estimate_accuracy", "estimate_missed"], "estimate"),
    **dict.fromkeys(
        [
            "csi",
            "surveys",
            "complaints",
            "complaints_important",
            "response_in_time",
            "closure_in_time",
        ],
        "care",
    ),
    **dict.fromkeys(
        ["new_cars_due", "first_service_rate", "lost_3", "lost_6", "lost_12"], "retention"
    ),
}


def _ratio(part, whole) -> Decimal | None:
    """part ÷ whole as a percentage with one decimal; None when there is nothing to divide."""
    if not whole:
        return None
    return (Decimal(part or 0) * 100 / Decimal(whole)).quantize(TENTH, rounding=ROUND_HALF_UP)


def _money(value) -> Decimal:
    return cents(value)


def _hours(value) -> Decimal:
    if isinstance(value, timedelta):
        value = Decimal(value.total_seconds()) / 3600
    return cents(value)


# ----------------------------------------------------------------------- querysets


def settlements_in(period: Period):
    """Paid bills settled in the period: one per repair order."""
    start, end = period.bounds
    return Settlement.objects.filter(
        status=SettlementStatus.PAID, settled_at__gte=start, settled_at__lt=end
    )


def _within_estimate() -> Q:
    """The bill is within the tolerance of what the customer agreed to: the signed
    estimate plus the additional work they approved (the rule the cashier applies)."""
    limit = rule("workorders.estimate_tolerance_percent") / 100
    agreed = F("estimate_total") + F("approved_additions")
    return Q(
        estimate_total__gt=0,
        customer_total__gte=agreed * (1 - limit),
        customer_total__lte=agreed * (1 + limit),
    )


def _revenue_lines(period: Period):
    start, end = period.bounds
    return SettlementLine.objects.filter(
        settlement__status=SettlementStatus.PAID,
        settlement__settled_at__gte=start,
        settlement__settled_at__lt=end,
    )


def _not_cancelled() -> Q:
    return ~Q(status=VisitStatus.CANCELLED)


# ----------------------------------------------------------------------- figures


def _warranty_sums() -> dict:
    """Sums for the lines' aggregate: warranty revenue (module docstring) is the approved
    amounts of the claims on manufacturer lines, plus lines billed with no claim at all."""
    claims = WarrantyClaim.objects.filter(line_id=OuterRef("order_line_id"))
    manufacturer = Q(payer=Payer.MANUFACTURER, kind__in=[LineKind.LABOUR, LineKind.PART])
    approved = claims.filter(status=ClaimStatus.APPROVED).values("approved_amount")[:1]
    return {
        "warranty_unclaimed": Sum("amount", filter=manufacturer & ~Exists(claims)),
        "warranty_approved": Sum(Subquery(approved), filter=manufacturer),
    }


def paid_subqueries() -> tuple[Subquery, Subquery]:
    """Per bill: the payments at the till, the deposits paid ahead and credited on it."""
    at_till = (
        Payment.objects.filter(settlement=OuterRef("pk"))
        .values("settlement")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    ahead = (
        Deposit.objects.filter(settlement_id=OuterRef("pk"), status=DepositStatus.APPLIED)
        .values("settlement_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(at_till), Subquery(ahead)


def paid_for_bills(period: Period) -> Decimal:
    """What the customers paid for the period's bills: the payments at the till plus the
    deposits paid ahead and credited on those bills (a deposit still held, refunded or kept
    for a no-show paid for no bill)."""
    at_till, ahead = paid_subqueries()
    paid = settlements_in(period).aggregate(at_till=Sum(at_till), ahead=Sum(ahead))
    return _money(paid["at_till"]) + _money(paid["ahead"])


def _sales_from_days(sums) -> dict:
    values = sums.values
    labour, parts = _money(values["labour"]), _money(values["parts"])
    other = _money(values["other"])
    count = values["orders"]
    return {
        "repair_orders": count,
        "labour_revenue": labour,
        "parts_revenue": parts,
        "other_revenue": other,
        "warranty_revenue": _money(values["warranty"]),
        "adjustments": _money(values["adjustments"]),
        "payments_received": _money(values["paid_till"]) + _money(values["paid_ahead"]),
        "average_ticket": _money((labour + parts + other) / count) if count else None,
        "hours_sold": _hours(values["hours_sold"]),
        "estimate_accuracy": _ratio(values["within"], values["estimated"]),
        "estimate_missed": values["estimated"] - values["within"],
    }


def sales_figures(period: Period, sums=None) -> dict:
    """`sums`: the period's day rows (`reports.daily`), else a full recomputation."""
    if sums is not None:
        return _sales_from_days(sums)
    orders = settlements_in(period).aggregate(
        repair_orders=Count("id"),
        estimated=Count("id", filter=Q(estimate_total__gt=0)),
        within=Count("id", filter=_within_estimate()),
        adjustments=Sum("adjustment_amount"),
    )
    paid = paid_for_bills(period)
    outside = [Payer.CUSTOMER, Payer.MANUFACTURER, Payer.INSURER]
    lines = (
        _revenue_lines(period)
        .filter(payer__in=outside)
        .aggregate(
            labour=Sum("amount", filter=Q(kind=LineKind.LABOUR)),
            parts=Sum("amount", filter=Q(kind=LineKind.PART)),
            other=Sum("amount", filter=~Q(kind__in=[LineKind.LABOUR, LineKind.PART])),
            hours=Sum("hours", filter=Q(kind=LineKind.LABOUR)),
            **_warranty_sums(),
        )
    )
    labour, parts = _money(lines["labour"]), _money(lines["parts"])
    other = _money(lines["other"])
    count = orders["repair_orders"]
    return {
        "repair_orders": count,
        "labour_revenue": labour,
        "parts_revenue": parts,
        "other_revenue": other,
        "warranty_revenue": _money(lines["warranty_unclaimed"])
        + _money(lines["warranty_approved"]),
        "adjustments": _money(orders["adjustments"]),
        "payments_received": paid,
        "average_ticket": _money((labour + parts + other) / count) if count else None,
        "hours_sold": _hours(lines["hours"]),
        "estimate_accuracy": _ratio(orders["within"], orders["estimated"]),
        "estimate_missed": orders["estimated"] - orders["within"],
    }


def qc_counts(period: Period) -> dict:
    """Cars QC checked in the period, and those among them that failed a check."""
    start, end = period.bounds
    return QualityCheck.objects.filter(at__gte=start, at__lt=end).aggregate(
        inspected=Count("visit", distinct=True),
        failed=Count("visit", distinct=True, filter=Q(passed=False)),
    )


def visit_figures(period: Period, sums=None, checks: dict | None = None) -> dict:
    """`checks`: the period's `qc_counts` when the caller has them."""
    start, end = period.bounds
    if sums is not None:
        arrived = {k: sums.values[k] for k in ("checked_in", "cancelled", "comebacks")}
        left = {k: sums.values[k] for k in ("delivered", "promised", "on_time", "reworked")}
    else:
        arrived = Visit.objects.filter(checked_in_at__gte=start, checked_in_at__lt=end).aggregate(
            checked_in=Count("id", filter=_not_cancelled()),
            cancelled=Count("id", filter=Q(status=VisitStatus.CANCELLED)),
            comebacks=Count("id", filter=Q(is_comeback=True) & _not_cancelled()),
        )
        left = Visit.objects.filter(delivered_at__gte=start, delivered_at__lt=end).aggregate(
            delivered=Count("id"),
            promised=Count("id", filter=Q(promised_at__isnull=False)),
            on_time=Count("id", filter=Q(delivered_at__lte=F("promised_at"))),
            reworked=Count("id", filter=Q(rework_count__gt=0)),
        )
    if checks is None:
        checks = qc_counts(period)
    return {
        **arrived,
        "qc_failed": checks["failed"],
        "qc_fail_rate": _ratio(checks["failed"], checks["inspected"]),
        "delivered": left["delivered"],
        "on_time_rate": _ratio(left["on_time"], left["promised"]),
        "late": left["promised"] - left["on_time"],
        "rework_rate": _ratio(left["reworked"], left["delivered"]),
        "reworked": left["reworked"],
    }


def open_days(period: Period) -> int:
    return sum(1 for opens, _closes, _name in openings(period.first, period.last).values() if opens)


def technicians() -> list[tuple]:
    """Every technician as (id, name, team, active, hours per day), in the model's order."""
    return list(Technician.objects.values_list("pk", "name", "team", "active", "hours_per_day"))


def workshop_figures(
    period: Period,
    hours_sold: Decimal,
    sums=None,
    *,
    staff: list[tuple] | None = None,
    days_open: int | None = None,
) -> dict:
    """`staff`, `days_open`: the `technicians` and the period's `open_days` when the
    caller has them."""
    start, end = period.bounds
    if sums is not None:
        clocked = timedelta(microseconds=sums.values["clocked"])
    else:
        clocked = ClockEntry.objects.filter(
            started_at__gte=start, started_at__lt=end, ended_at__isnull=False
        ).aggregate(
            total=Sum(
                ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
            )
        )["total"]
    if staff is None:
        per_day = Technician.objects.filter(active=True).aggregate(total=Sum("hours_per_day"))[
            "total"
        ]
    else:
        per_day = sum(hours for _pk, _name, _team, active, hours in staff if active)
    if days_open is None:
        days_open = open_days(period)
    clocked = _hours(clocked)
    available = _hours(Decimal(per_day or 0) * days_open)
    productivity, note = _productivity(hours_sold, clocked)
    return {
        "hours_clocked": clocked,
        "hours_available": available,
        "productivity": productivity,
        "productivity_note": note,
        "utilisation": _ratio(clocked, available),
    }


def _productivity(sold, clocked) -> tuple[Decimal | None, str]:
    """sold ÷ clocked, or (None, why) when too few hours were clocked for it to mean
    anything (a job clocked for minutes against hours sold made 81 000 %)."""
    least = rule("reports.min_clocked_hours")
    if clocked < least:
        return None, str(
            _("Too little data: %(clocked)s h clocked, fewer than the %(least)s h needed.")
            % {"clocked": clocked, "least": least}
        )
    return _ratio(sold, clocked), ""


def booking_figures(period: Period, sums=None) -> dict:
    if sums is not None:
        values = sums.values
        kpis = AppointmentKpis(
            booked=values["booked"],
            arrived=values["arrived"],
            no_show=values["no_show"],
            cancelled=values["appointments_cancelled"],
            walk_ins=values["walk_ins"],
        )
    else:
        kpis = appointment_kpis(period.first, period.last)

    def percent(value):
        return None if value is None else _ratio(value * 10_000, 10_000)

    return {
        "appointments": kpis.arrived + kpis.no_show,
        "appointment_rate": percent(kpis.appointment_rate()),
        "show_rate": percent(kpis.show_rate),
        "no_show_rate": percent(kpis.no_show_rate),
    }


def complaint_rows(period: Period) -> list[tuple]:
    """The period's complaints as (category, severity, responded at, respond by, closed at,
    close by): what the care figures and the table by category count, at any time."""
    start, end = period.bounds
    return list(
        Complaint.objects.filter(opened_at__gte=start, opened_at__lt=end)
        .order_by()
        .values_list("category", "severity", "responded_at", "respond_by", "closed_at", "close_by")
    )


def _by_deadline(rows: list[tuple], now: datetime) -> dict:
    """`care_figures`' complaint counts from `complaint_rows`, as SQL counts them (a
    comparison with a missing time is not true)."""

    def due(done, deadline) -> bool:
        return done is not None or (deadline is not None and deadline < now)

    def in_time(done, deadline) -> bool:
        return done is not None and deadline is not None and done <= deadline

    return {
        "count": len(rows),
        "important": sum(1 for row in rows if row[1] == ComplaintSeverity.IMPORTANT),
        "response_due": sum(1 for row in rows if due(row[2], row[3])),
        "responded": sum(1 for row in rows if in_time(row[2], row[3])),
        "closure_due": sum(1 for row in rows if due(row[4], row[5])),
        "closed": sum(1 for row in rows if in_time(row[4], row[5])),
    }


def care_figures(
    period: Period, *, now: datetime, sums=None, complaints: list[tuple] | None = None
) -> dict:
    """`complaints`: the period's `complaint_rows` when the caller has them."""
    start, end = period.bounds
    if sums is not None:
        count = sums.values["surveys"]
        surveys = {
            "count": count,
            "csi": Decimal(sums.values["survey_points"] * 2) / count if count else None,
        }
    else:
        scores = (
            F("overall") + F("explanation") + F("on_time") + F("car_clean") + F("would_recommend")
        )
        surveys = Survey.objects.filter(taken_at__gte=start, taken_at__lt=end).aggregate(
            count=Count("id"),
            # The five answers' sum ÷ 5 × 10 = sum × 2 (0–100).
            csi=Avg(ExpressionWrapper(scores * 2, output_field=DecimalField())),
        )
    if complaints is not None:
        complaints = _by_deadline(complaints, now)
    else:
        complaints = Complaint.objects.filter(opened_at__gte=start, opened_at__lt=end).aggregate(
            count=Count("id"),
            important=Count("id", filter=Q(severity=ComplaintSeverity.IMPORTANT)),
            response_due=Count("id", filter=Q(responded_at__isnull=False) | Q(respond_by__lt=now)),
            responded=Count("id", filter=Q(responded_at__lte=F("respond_by"))),
            closure_due=Count("id", filter=Q(closed_at__isnull=False) | Q(close_by__lt=now)),
            closed=Count("id", filter=Q(closed_at__lte=F("close_by"))),
        )
    csi = surveys["csi"]
    return {
        "csi": None if csi is None else Decimal(str(csi)).quantize(TENTH, ROUND_HALF_UP),
        "surveys": surveys["count"],
        "complaints": complaints["count"],
        "complaints_important": complaints["important"],
        "response_in_time": _ratio(complaints["responded"], complaints["response_due"]),
        "closure_in_time": _ratio(complaints["closed"], complaints["closure_due"]),
    }


def first_service_cohorts(periods: list[Period]) -> list[dict]:
    """For each period: the new cars handed over one first-service interval before it and
    the share of them that came back (a visit, not cancelled, between the handover and the
    period's end). One pass over the cars for all the periods at once."""
    months = int(rule("followup.first_service_months"))
    counts, handed_over = {}, Q()
    for i, period in enumerate(periods):
        cohort = Q(
            handover_date__gte=add_months(period.first, -months),
            handover_date__lte=add_months(period.last, -months),
        )
        came_back = Visit.objects.filter(
            _not_cancelled(),
            vehicle=OuterRef("pk"),
            checked_in_at__date__gte=OuterRef("handover_date"),
            checked_in_at__lt=period.bounds[1],
        )
        counts[f"due_{i}"] = Count("id", filter=cohort)
        counts[f"returned_{i}"] = Count("id", filter=cohort & Q(Exists(came_back)))
        handed_over |= cohort
    totals = Vehicle.objects.filter(handed_over).aggregate(**counts)
    return [
        {
            "new_cars_due": totals[f"due_{i}"],
            "first_service_rate": _ratio(totals[f"returned_{i}"], totals[f"due_{i}"]),
        }
        for i, _period in enumerate(periods)
    ]


def retention_of(
    periods: list[Period],
    *,
    lost: list[dict] | None = None,
    cohorts: list[dict] | None = None,
) -> list[dict]:
    """The retention figures of each period (first service, customers not seen); `lost`,
    `cohorts`: the periods' `lost_customers`, `first_service_cohorts` when the caller has
    them."""
    if lost is None:
        lost = lost_customers(periods)
    if cohorts is None:
        cohorts = first_service_cohorts(periods)
    return [{**cohort, **seen} for cohort, seen in zip(cohorts, lost, strict=True)]


def lost_customers(periods: list[Period]) -> list[dict]:
    """For each period: customers whose last visit before the period's end is older than
    3 / 6 / 12 months (the follow-up rules). One GROUP BY over the visits for all the
    periods at once: each period's last visit is a MAX filtered to before its end."""
    steps = lost_months()
    latest_end = max(period.bounds[1] for period in periods)
    per_customer = (
        Visit.objects.filter(_not_cancelled(), checked_in_at__lt=latest_end)
        .values("customer")
        .annotate(
            **{
                f"seen_{i}": Max("checked_in_at", filter=Q(checked_in_at__lt=period.bounds[1]))
                for i, period in enumerate(periods)
            }
        )
    )
    counts = {}
    for i, period in enumerate(periods):
        end_day = period.last + timedelta(days=1)
        for m in steps:
            cutoff = datetime.combine(add_months(end_day, -m), time.min, tzinfo=local_tz())
            counts[f"lost_{m}_{i}"] = Count("customer", filter=Q(**{f"seen_{i}__lt": cutoff}))
    totals = per_customer.aggregate(**counts)
    return [
        {f"lost_{m}": totals.get(f"lost_{m}_{i}") for m in (3, 6, 12)}
        for i, _period in enumerate(periods)
    ]


def period_figures(
    period: Period,
    *,
    now: datetime,
    retention: dict | None = None,
    sums=None,
    read: dict | None = None,
) -> dict:
    """Every summary figure of one period: {figure key: value or None}. `retention`: the
    period's `retention_of` when the caller counted several periods at once; `sums`: its
    day rows (`reports.daily`), without them a full recomputation; `read`: what the caller
    has read already of the period (`checks`, `staff`, `days_open`, `complaints`: see
    `visit_figures`, `workshop_figures`, `care_figures`)."""
    read = read or {}
    values = sales_figures(period, sums)
    values.update(visit_figures(period, sums, checks=read.get("checks")))
    values.update(
        workshop_figures(
            period,
            values["hours_sold"],
            sums,
            staff=read.get("staff"),
            days_open=read.get("days_open"),
        )
    )
    values.update(booking_figures(period, sums))
    values.update(care_figures(period, now=now, sums=sums, complaints=read.get("complaints")))
    values.update(retention or retention_of([period])[0])
    return values


# ----------------------------------------------------------------------- tables


def orders_by_work_type(period: Period, sums=None) -> list[dict]:
    """Repair orders (a bill counted under each work type it has lines of) and amount per type."""
    if sums is not None:
        found = {
            job_type: {"orders": orders, "amount": amount}
            for job_type, (orders, amount) in sums.types.items()
        }
    else:
        rows = (
            _revenue_lines(period)
            .values("job_type")
            .annotate(orders=Count("settlement", distinct=True), amount=Sum("amount"))
        )
        found = {row["job_type"]: row for row in rows}
    return [
        {
            "key": WORK_TYPE_PREFIX + value,
            "job_type": value,
            "label": label,
            "orders": found.get(value, {}).get("orders", 0),
            "amount": _money(found.get(value, {}).get("amount")),
        }
        for value, label in JobType.choices
    ]


ADJUSTMENT = "adjustment"
PAYER_COLUMNS = (Payer.CUSTOMER, Payer.MANUFACTURER, Payer.INSURER)


def revenue_by_category(period: Period, sums=None) -> dict:
    """Revenue of the period's paid bills by kind of line and payer, to the cent.

    Rows: each kind of line (labour, parts, fees, sublet, consumables, old untyped
    manual lines), then the cashier's adjustments (rounding, goodwill: the customer's
    only). The customers' column adds up to the payments received; the manufacturer's
    and insurers' columns are billed to them. Internal (store-paid) lines are not
    revenue and are left out.
    """
    if sums is not None:
        cells = {tuple(cell.split("|")): _money(amount) for cell, amount in sums.cells.items()}
        adjustments = _money(sums.values["adjustments"])
        paid = _money(sums.values["paid_till"]) + _money(sums.values["paid_ahead"])
    else:
        cells = {
            (row["kind"], row["payer"]): _money(row["amount"])
            for row in _revenue_lines(period)
            .filter(payer__in=PAYER_COLUMNS)
            .values("kind", "payer")
            .annotate(amount=Sum("amount"))
        }
        adjustments = _money(
            settlements_in(period).aggregate(total=Sum("adjustment_amount"))["total"]
        )
        paid = paid_for_bills(period)
    rows = []
    for kind, label in LineKind.choices:
        amounts = [cells.get((kind, payer), ZERO) for payer in PAYER_COLUMNS]
        if kind == LineKind.OTHER and not any(amounts):
            continue
        rows.append({"key": kind, "label": label, "amounts": amounts, "total": sum(amounts)})
    rows.append(
        {
            "key": ADJUSTMENT,
            "label": _("Adjustments at the till (rounding, goodwill)"),
            "amounts": [adjustments, ZERO, ZERO],
            "total": adjustments,
        }
    )
    totals = [sum((row["amounts"][i] for row in rows), ZERO) for i in range(len(PAYER_COLUMNS))]
    return {
        "payers": [Payer(p).label for p in PAYER_COLUMNS],
        "rows": rows,
        "totals": totals,
        "total": sum(totals, ZERO),
        "payments_received": paid,
        "balanced": totals[0] == paid,
    }


def complaints_by_category(period: Period, complaints: list[tuple] | None = None) -> list[dict]:
    """`complaints`: the period's `complaint_rows` when the caller has them."""
    if complaints is not None:
        found = defaultdict(lambda: {"normal": 0, "important": 0})
        for category, severity, *_times in complaints:
            if severity in (ComplaintSeverity.NORMAL, ComplaintSeverity.IMPORTANT):
                found[category][severity] += 1
    else:
        start, end = period.bounds
        rows = (
            Complaint.objects.filter(opened_at__gte=start, opened_at__lt=end)
            .values("category")
            .annotate(
                normal=Count("id", filter=Q(severity=ComplaintSeverity.NORMAL)),
                important=Count("id", filter=Q(severity=ComplaintSeverity.IMPORTANT)),
            )
        )
        found = {row["category"]: row for row in rows}
    return [
        {
            "category": value,
            "label": label,
            "normal": found.get(value, {}).get("normal", 0),
            "important": found.get(value, {}).get("important", 0),
        }
        for value, label in ComplaintCategory.choices
    ]


def technician_hours(period: Period, sums=None, staff: list[tuple] | None = None) -> list[dict]:
    """Per technician: hours clocked and standard hours of the jobs finished in the period.
    `staff`: the `technicians` when the caller has them."""
    if sums is not None:
        clocked = {
            int(pk): None if micros is None else timedelta(microseconds=micros)
            for pk, micros in sums.clocked.items()
        }
        standard = {int(pk): hours for pk, hours in sums.standard.items()}
    else:
        clocked, standard = _technician_sums(period)
    if staff is None:
        shown = Technician.objects.filter(Q(active=True) | Q(pk__in=[*clocked, *standard]))
        staff = shown.values_list("pk", "name", "team", "active", "hours_per_day")
    rows = []
    for pk, name, team, active, _per_day in staff:
        if not (active or pk in clocked or pk in standard):
            continue
        done, worked = _hours(standard.get(pk)), _hours(clocked.get(pk))
        productivity, note = _productivity(done, worked)
        rows.append(
            {
                "name": name,
                "team": team,
                "standard": done,
                "clocked": worked,
                "productivity": productivity,
                "productivity_note": note,
            }
        )
    return rows


def _technician_sums(period: Period) -> tuple[dict, dict]:
    start, end = period.bounds
    clocked = dict(
        ClockEntry.objects.filter(started_at__gte=start, started_at__lt=end, ended_at__isnull=False)
        .values("technician")
        .annotate(
            total=Sum(
                ExpressionWrapper(F("ended_at") - F("started_at"), output_field=DurationField())
            )
        )
        .values_list("technician", "total")
    )
    standard = dict(
        Job.objects.filter(finished_at__gte=start, finished_at__lt=end, technician__isnull=False)
        .values("technician")
        .annotate(total=Sum("hours"))
        .values_list("technician", "total")
    )
    return clocked, standard


def spending_window(period: Period):
    """The first day of the 12 months to the period's end."""
    return add_months(period.last + timedelta(days=1), -12)


def _band_filters(bounds: list, field: str, scale: int = 1) -> dict:
    """One filtered count per band of `bounds` (ZERO, the limits, None), totals × `scale`."""
    aggregates = {}
    for index, (low, high) in enumerate(zip(bounds, bounds[1:], strict=False)):
        q = Q(spent__gte=low * scale) if index else Q(spent__gt=low * scale)
        if high is not None:
            q &= Q(spent__lt=high * scale)
        aggregates[f"band_{index}"] = Count(field, filter=q)
    return aggregates


def _band_of(cents: int, bounds: list) -> int | None:
    """The band a total in cents falls in, as `_band_filters` counts it (None: nothing paid)."""
    for index, (low, high) in enumerate(zip(bounds, bounds[1:], strict=False)):
        above = cents >= low * 100 if index else cents > low * 100
        if above and (high is None or cents < high * 100):
            return index
    return None


def _day_bands(first, last, bounds: list) -> list[int]:
    """Customers per band by what they paid on the days first..last (`DaySpending`)."""
    per_customer = (
        DaySpending.objects.filter(day__gte=first, day__lte=last)
        .values("customer_id")
        .annotate(spent=Sum("spent"))
    )
    counts = per_customer.filter(spent__gt=0).aggregate(
        **_band_filters(bounds, "customer_id", scale=100)
    )
    return [counts[f"band_{index}"] for index in range(len(bounds) - 1)]


def _bands_from_days(period: Period, days, bounds: list) -> list[int]:
    """The bands from the day rows (`days`, a refreshed `reports.daily.DayStore`).

    The window's days before today are counted once and kept while their spending rows
    stay the same (`DayStore.spending_changed`); only the customers who paid from today on
    are moved from the band of what they had paid before to the band of their total."""
    first = spending_window(period)
    today = min(max(timezone.localdate(), first), period.last + timedelta(days=1))
    before = today - timedelta(days=1)
    key = ":".join(
        [
            "reports:spending-bands",
            connection.settings_dict["NAME"],
            first.isoformat(),
            before.isoformat(),
            ",".join(str(bound) for bound in bounds[1:-1]),
            str(days.spending_changed(first, before)),
        ]
    )
    counts = cache.get(key)
    if counts is None:
        counts = _day_bands(first, before, bounds)
        cache.set(key, counts, 7 * 24 * 3600)
    counts = list(counts)
    if today > period.last:
        return counts
    # Their ids first, then their rows by the customer index: one query joining the two
    # is left to statistics that a day's fresh rows may not have yet (a nested loop over
    # the whole window twice).
    paid_lately = set(
        DaySpending.objects.filter(day__gte=today, day__lte=period.last).values_list(
            "customer_id", flat=True
        )
    )
    if not paid_lately:
        return counts
    moved = (
        DaySpending.objects.filter(
            day__gte=first, day__lte=period.last, customer_id__in=sorted(paid_lately)
        )
        .values("customer_id")
        .annotate(before=Sum("spent", filter=Q(day__lt=today)), spent=Sum("spent"))
        .values_list("before", "spent")
    )
    for paid_before, spent in moved:
        left, joined = _band_of(paid_before or 0, bounds), _band_of(spent, bounds)
        if left is not None:
            counts[left] -= 1
        if joined is not None:
            counts[joined] += 1
    return counts


def spending_bands(period: Period, *, days=None) -> list[dict]:
    """Customers by what they paid in the 12 months to the period's end. `days`: from the
    day rows of `reports.daily` (a `DayStore` the caller refreshed), else from the bills."""
    _start, end = period.bounds
    window_start = datetime.combine(spending_window(period), time.min, tzinfo=local_tz())
    limits = [Decimal(x.strip()) for x in str(rule("reports.spending_bands")).split(",") if x]
    bounds = [ZERO, *limits, None]
    if days is not None:
        counts = _bands_from_days(period, days, bounds)
    else:
        per_customer = (
            Settlement.objects.filter(
                status=SettlementStatus.PAID, settled_at__gte=window_start, settled_at__lt=end
            )
            .values("visit__customer")
            .annotate(spent=Sum("customer_total"))
        )
        found = per_customer.filter(spent__gt=0).aggregate(
            **_band_filters(bounds, "visit__customer")
        )
        counts = [found[f"band_{index}"] for index in range(len(bounds) - 1)]
    rows = []
    for index, (low, high) in enumerate(zip(bounds, bounds[1:], strict=False)):
        if high is None:
            label = pgettext_lazy("spending band", "¥%(low)s and more") % {"low": low}
        else:
            label = pgettext_lazy("spending band", "¥%(low)s – %(high)s") % {
                "low": low,
                "high": high,
            }
        rows.append({"label": label, "customers": counts[index]})
    return rows


def _trend_rows(first_month, months: int) -> dict:
    """{month: {orders, labour, parts}} for `months` months from `first_month`, in two
    grouped queries (bills per month, line sums per month): no COUNT(DISTINCT ...) over
    the lines, which would sort every line of the year."""
    start = datetime.combine(first_month, time.min, tzinfo=local_tz())
    end = datetime.combine(add_months(first_month, months), time.min, tzinfo=local_tz())
    outside = [Payer.CUSTOMER, Payer.MANUFACTURER, Payer.INSURER]
    orders = (
        Settlement.objects.filter(
            status=SettlementStatus.PAID, settled_at__gte=start, settled_at__lt=end
        )
        .annotate(month=TruncMonth("settled_at", tzinfo=local_tz()))
        .values("month")
        .annotate(orders=Count("id"))
    )
    sums = (
        SettlementLine.objects.filter(
            settlement__status=SettlementStatus.PAID,
            settlement__settled_at__gte=start,
            settlement__settled_at__lt=end,
            payer__in=outside,
            kind__in=[LineKind.LABOUR, LineKind.PART],
        )
        .annotate(month=TruncMonth("settlement__settled_at", tzinfo=local_tz()))
        .values("month")
        .annotate(
            labour=Sum("amount", filter=Q(kind=LineKind.LABOUR)),
            parts=Sum("amount", filter=Q(kind=LineKind.PART)),
        )
    )
    found: dict = {}
    for row in [*orders, *sums]:
        key = row.pop("month")
        key = (key.date() if isinstance(key, datetime) else key).replace(day=1)
        found.setdefault(key, {}).update(row)
    return found


def trend_months(period: Period) -> list:
    """The 12 months ending with the period's month."""
    first_month = add_months(period.last.replace(day=1), -11)
    return [add_months(first_month, i) for i in range(12)]


def monthly_trend(period: Period, *, now: datetime | None = None, days=None) -> list[dict]:
    """Repair orders and revenue for each of the 12 months ending with the period's month.

    Bills are created settled "now" and change afterwards only by being voided, so the
    months that have ended come from the cache, keyed by a stamp of their bills (count,
    highest id, latest void) that one index-range query reads; only the current month is
    summed over its lines every time. With `days` (`reports.daily.DayStore`), the months
    are sums of the day rows.
    """
    months = trend_months(period)
    if days is not None:
        found = {month: days.month_sums(month, add_months(month, 1)) for month in months}
        return [
            {
                "month": month,
                "orders": found[month]["orders"],
                "labour": _money(found[month]["labour"]),
                "parts": _money(found[month]["parts"]),
            }
            for month in months
        ]
    this_month = timezone.localdate(now or timezone.now()).replace(day=1)
    closed = [m for m in months if m < this_month]
    found: dict = {}
    if closed:
        start = datetime.combine(closed[0], time.min, tzinfo=local_tz())
        end = datetime.combine(add_months(closed[-1], 1), time.min, tzinfo=local_tz())
        stamp = Settlement.objects.filter(settled_at__gte=start, settled_at__lt=end).aggregate(
            count=Count("id"), top=Max("id"), void=Max("voided_at")
        )
        void = stamp["void"].timestamp() if stamp["void"] else 0
        # Under the database's name and `forget`'s version too: ids come again after a
        # rolled-back test, and a stamp alone would find another test's months.
        cached = report_cache.kept(
            "trend",
            [str(closed[0]), str(len(closed)), str(stamp["count"]), str(stamp["top"]), str(void)],
            [],
            lambda: _trend_rows(closed[0], len(closed)),
            timeout=7 * 24 * 3600,
        )
        found.update(cached)
    if len(closed) < len(months):
        found.update(_trend_rows(months[len(closed)], len(months) - len(closed)))
    return [
        {
            "month": month,
            "orders": found.get(month, {}).get("orders", 0),
            "labour": _money(found.get(month, {}).get("labour")),
            "parts": _money(found.get(month, {}).get("parts")),
        }
        for month in months
    ]
