"""The report as the page, the exports, the PDF and the emails read it."""

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import partial

from django.core.cache import cache
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import get_language

from dealership.daterange import day_in_range
from delivery.models import SettlementLine
from followup.rules import lost_months
from reception.models import Visit
from reception.states import VisitStatus
from workshop.models import QualityCheck

from . import cache as report_cache
from . import charts, daily
from .cache import SEEN
from .figures import (
    FIGURES,
    HOURS,
    MONEY,
    PERCENT,
    WORK_TYPE_PREFIX,
    _within_estimate,
    complaint_rows,
    complaints_by_category,
    first_service_cohorts,
    lost_customers,
    monthly_trend,
    open_days,
    orders_by_work_type,
    period_figures,
    qc_counts,
    retention_of,
    revenue_by_category,
    settlements_in,
    spending_bands,
    spending_window,
    technician_hours,
    technicians,
    trend_months,
)
from .models import ReportTarget
from .periods import KINDS, MONTH, Period


def display(value, unit: str) -> str:
    """A figure's value as the page, the PDF and the email show it."""
    if value is None:
        return "–"
    if unit == MONEY:
        return f"¥{value:,.2f}"
    if unit == PERCENT:
        return f"{value}%"
    if unit == HOURS:
        return f"{value:,.2f}"
    return f"{value}"


@dataclass
class Row:
    figure: object
    value: object
    previous: object
    last_year: object
    target: Decimal | None
    # Why a value is not shown (too little data), per value: this period, previous, last year.
    notes: tuple = ("", "", "")

    @property
    def texts(self) -> list[str]:
        unit = self.figure.unit
        return [display(v, unit) for v in (self.value, self.previous, self.last_year)]

    @property
    def cells(self) -> list[tuple[str, str]]:
        """(text, why it is not a number) for this period, the previous one and last year."""
        return list(zip(self.texts, self.notes, strict=True))

    @property
    def target_text(self) -> str:
        return "" if self.target is None else display(self.target, self.figure.unit)

    @property
    def target_met(self) -> bool | None:
        if self.target is None or self.value is None:
            return None
        if self.figure.higher_is_better:
            return self.value >= self.target
        return self.value <= self.target

    @property
    def change(self) -> Decimal | None:
        """Change against the previous period, in percent."""
        if self.value is None or not self.previous:
            return None
        return (
            (Decimal(self.value) - Decimal(self.previous)) * 100 / Decimal(self.previous)
        ).quantize(Decimal("0.1"))


@dataclass
class Report:
    period: Period
    previous: Period
    last_year: Period
    sections: list[tuple[object, list[Row]]]
    work_types: list[dict]
    complaints: list[dict]
    technicians: list[dict]
    spending: list[dict]
    trend: list[dict]
    charts: dict = field(default_factory=dict)
    revenue: dict = field(default_factory=dict)

    @property
    def rows(self) -> list[Row]:
        return [row for _section, rows in self.sections for row in rows]


def period_from(kind: str | None, day: str | None, *, today: date | None = None) -> Period:
    """The period a page asks for (?period=day|week|month&date=YYYY-MM-DD); 404 on junk,
    DomainError (400) for a date outside the range reports cover."""
    kind = kind or MONTH
    if kind not in KINDS:
        raise Http404("unknown period")
    try:
        chosen = date.fromisoformat(day) if day else (today or timezone.localdate())
    except ValueError:
        raise Http404("bad date") from None
    return Period.containing(kind, day_in_range(chosen, field="date"))


def targets_for(month: date) -> dict[str, Decimal]:
    return dict(ReportTarget.objects.filter(month=month).values_list("figure", "value"))


def report_build(
    period: Period,
    *,
    now: datetime | None = None,
    with_charts: bool = True,
    recompute: bool = False,
) -> Report:
    """All figures of the period with the previous period, last year and the month's target.

    Without `now` (the pages, the API, the exports) the report comes from the cache while
    no data behind it changed (see `reports.cache`). The sums come from the day rows
    (`reports.daily`); `recompute` aggregates every figure from the rows instead (what the
    day rows must always equal).
    """
    if now is None:
        key = ":".join(
            [
                "reports:report",
                period.kind,
                period.first.isoformat(),
                get_language() or "",
                str(with_charts),
                report_cache.data_version(),
            ]
        )
        report = cache.get(key)
        if report is None:
            report = report_build(period, now=timezone.now(), with_charts=with_charts)
            cache.set(key, report, report_cache.TTL)
        return report
    previous, last_year = period.previous(), period.last_year()
    days = sums = None
    if not recompute and daily.enabled():
        days = daily.days_load(
            [period, previous, last_year],
            trend_months=trend_months(period),
            spending_from=spending_window(period),
        )
        sums = days.sums(period, tables=True)
    periods = [period, previous, last_year]
    lost = cohorts = staff = None
    read, targets = [{}, {}, {}], {}
    if not recompute:
        lost, cohorts, staff, targets, *reads = report_cache.kept_many(_kept_parts(periods))
        read = [{**dict(zip(READS, reads[i::3], strict=True)), "staff": staff} for i in range(3)]
    elif period.kind == MONTH:
        targets = targets_for(period.first)
    retention = retention_of(periods, lost=lost, cohorts=cohorts)
    this_values = period_figures(period, now=now, retention=retention[0], sums=sums, read=read[0])
    previous_values = period_figures(
        previous,
        now=now,
        retention=retention[1],
        sums=days and days.sums(previous),
        read=read[1],
    )
    last_year_values = period_figures(
        last_year,
        now=now,
        retention=retention[2],
        sums=days and days.sums(last_year),
        read=read[2],
    )
    sections: dict = {}
    for key, figure in FIGURES.items():
        sections.setdefault(figure.section, []).append(
            Row(
                figure=figure,
                value=this_values.get(key),
                previous=previous_values.get(key),
                last_year=last_year_values.get(key),
                target=targets.get(key),
                notes=tuple(
                    values.get(f"{key}_note") or ""
                    for values in (this_values, previous_values, last_year_values)
                ),
            )
        )
    report = Report(
        period=period,
        previous=previous,
        last_year=last_year,
        sections=list(sections.items()),
        work_types=orders_by_work_type(period, sums),
        complaints=complaints_by_category(period, read[0].get("complaints")),
        technicians=technician_hours(period, sums, staff),
        spending=spending_bands(period, days=days),
        trend=monthly_trend(period, now=now, days=days),
        revenue=revenue_by_category(period, sums),
    )
    if with_charts:
        report.charts = charts.report_charts(report)
    return report


TECHNICIAN = "dealership.technician"
RULES = "dealership.storerule"


READS = ("checks", "days_open", "complaints")


def _kept_parts(periods: list[Period]) -> list[tuple]:
    """What the report reads outside the day rows, as parts kept under the versions of the
    rows each reads (`reports.cache.kept_many`): a bill paid changes none of them.

    Customers not seen and the first-service return of the periods (who was seen when),
    the technicians, the month's targets, then for each period its `READS` (see
    `period_figures`). The complaints are kept as rows, counted against the clock when
    used."""
    period = periods[0]
    ends = ",".join(p.last.isoformat() for p in periods)
    steps = ",".join(map(str, lost_months()))
    parts = [
        ("lost", [ends, steps], [SEEN], lambda: lost_customers(periods)),
        (
            "cohorts",
            [ends],
            [SEEN, "dealership.vehicle", RULES],
            lambda: first_service_cohorts(periods),
        ),
        ("technicians", [], [TECHNICIAN], technicians),
        (
            "targets",
            [period.kind, period.first.isoformat()],
            ["reports.reporttarget"],
            lambda: targets_for(period.first) if period.kind == MONTH else {},
        ),
    ]
    for name, sources, compute in (
        ("qc", ["workshop.qualitycheck"], qc_counts),
        ("open-days", ["appointments.openinghours", "appointments.holiday"], open_days),
        ("complaints", ["followup.complaint"], complaint_rows),
    ):
        parts += [
            (name, [p.kind, p.first.isoformat()], sources, partial(compute, p)) for p in periods
        ]
    return parts


# ----------------------------------------------------------------------- drill-down


def drill_visits(key: str, period: Period) -> QuerySet[Visit]:
    """The visits behind a figure (404 for a figure that has none)."""
    start, end = period.bounds
    base = Visit.objects.select_related("customer", "vehicle", "advisor").order_by(
        "checked_in_at", "id"
    )
    settled = settlements_in(period)
    checked_in = Q(checked_in_at__gte=start, checked_in_at__lt=end)
    delivered = Q(delivered_at__gte=start, delivered_at__lt=end)
    not_cancelled = ~Q(status=VisitStatus.CANCELLED)
    if key.startswith(WORK_TYPE_PREFIX):
        job_type = key.removeprefix(WORK_TYPE_PREFIX)
        lines = SettlementLine.objects.filter(
            settlement__in=settled, settlement__visit=OuterRef("pk"), job_type=job_type
        )
        return base.filter(Exists(lines))
    filters = {
        "repair_orders": Q(Exists(settled.filter(visit=OuterRef("pk")))),
        "checked_in": checked_in & not_cancelled,
        "cancelled": checked_in & Q(status=VisitStatus.CANCELLED),
        "comebacks": checked_in & not_cancelled & Q(is_comeback=True),
        "delivered": delivered,
        "late": delivered & Q(promised_at__isnull=False) & Q(delivered_at__gt=F("promised_at")),
        "reworked": delivered & Q(rework_count__gt=0),
        "qc_failed": Q(
            Exists(
                QualityCheck.objects.filter(
                    visit=OuterRef("pk"), passed=False, at__gte=start, at__lt=end
                )
            )
        ),
        "estimate_missed": Q(
            Exists(
                settled.filter(visit=OuterRef("pk"), estimate_total__gt=0).exclude(
                    _within_estimate()
                )
            )
        ),
    }
    if key not in filters or not FIGURES[key].drill:
        raise Http404("no visits behind this figure")
    return base.filter(filters[key])
