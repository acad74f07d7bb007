"""Time per status (median, 90th percentile) per work type, and consultation time per advisor.

Counted over the visits checked in during the period, from their status
changes (`VisitTransition`): a stretch in a status runs from the move into it
(check-in for the first) to the move out of it; the status a car is still in
is not counted yet. Work types: express (快修, `workshop.express`), bodywork
and insurance (a body & paint job or an insurance case), general repair (the
rest). Consultation: check-in to the signing of the order, per advisor.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from statistics import median
from types import SimpleNamespace

from django.db.models import OuterRef, Q, Subquery
from django.utils.translation import gettext_lazy as _

from dealership.models import User, WorkType
from dealership.rules import rule
from reception.models import InsuranceCase, Visit, VisitTransition
from reception.states import VisitStatus
from workorders.models import WorkOrderLine
from workshop.express import duration_text, is_express
from workshop.models import Job
from workshop.states import JobStatus

from . import cache as report_cache
from .periods import Period

EXPRESS, REPAIR, BODY = "express", "repair", "body"
# What the advisor's name (`User.__str__`) reads, fetched with the visits.
ADVISOR_NAME = ("advisor__first_name", "advisor__last_name", "advisor__username")
WORK_TYPES = (
    (EXPRESS, _("Express (快修)")),
    (REPAIR, _("General repair")),
    (BODY, _("Bodywork and insurance")),
)
STATUS_ORDER = list(VisitStatus.values)


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the nearest ranks (PostgreSQL's percentile_cont)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class TimeRow:
    work_type: str
    work_type_label: str
    status: str
    status_label: str
    count: int
    median_minutes: float
    p90_minutes: float

    @property
    def median_text(self) -> str:
        return duration_text(timedelta(minutes=self.median_minutes))

    @property
    def p90_text(self) -> str:
        return duration_text(timedelta(minutes=self.p90_minutes))


@dataclass
class AdvisorRow:
    name: str
    count: int
    median_minutes: float


@dataclass
class StatusTimes:
    rows: list = field(default_factory=list)
    advisors: list = field(default_factory=list)


def _of_visits(visit_ids: list[int]) -> Q:
    """The rows of these visits. With no visits the query is still asked (no visit has id
    0): the section makes the same queries whatever the data."""
    return Q(visit_id__in=visit_ids or [0])


def _work_types(visit_ids: list[int]) -> dict[int, str]:
    """Each visit's work type: two queries by the visits' ids (no second scan of the visits
    for the period)."""
    jobs = defaultdict(list)
    # The catalogue hours by the job's own line (an index lookup per job), not a join the
    # planner may answer with a scan of every order line.
    catalogue_hours = WorkOrderLine.objects.filter(pk=OuterRef("order_line_id")).values(
        "operation__standard_hours"
    )
    rows = (
        Job.objects.filter(_of_visits(visit_ids))
        .exclude(status__in=(JobStatus.CANCELLED, JobStatus.PROPOSED))
        .order_by()
        .values_list("visit_id", "work_type", "hours", Subquery(catalogue_hours))
    )
    for visit_id, work_type, hours, catalogue in rows:
        jobs[visit_id].append(
            SimpleNamespace(work_type=work_type, hours=hours, catalogue_hours=catalogue)
        )
    insured = set(
        InsuranceCase.objects.filter(_of_visits(visit_ids)).values_list("visit_id", flat=True)
    )
    limit = rule("workshop.express_max_minutes")
    kinds = {}
    for visit_id in visit_ids:
        visit_jobs = jobs.get(visit_id, [])
        if visit_id in insured or any(j.work_type == WorkType.BODY_PAINT for j in visit_jobs):
            kinds[visit_id] = BODY
        elif is_express(visit_jobs, max_minutes=limit):
            kinds[visit_id] = EXPRESS
        else:
            kinds[visit_id] = REPAIR
    return kinds


# What a visit's work type reads besides the visit: its jobs, its insurance case, the
# catalogue hours of the jobs' order lines, the express rule.
WORK_TYPE_SOURCES = (
    "workshop.job",
    "reception.insurancecase",
    "workorders.workorderline",
    "dealership.labouroperation",
    "dealership.storerule",
)


def _kept_work_types(visit_ids: list[int]) -> dict[int, str]:
    """`_work_types`, kept for these visits while none of those rows change: a car moving
    on (a bill paid, a delivery) leaves its work type alone."""
    digest = hashlib.sha256(",".join(map(str, visit_ids)).encode()).hexdigest()
    return report_cache.kept(
        "work-types", [digest], WORK_TYPE_SOURCES, lambda: _work_types(visit_ids)
    )


def status_times(period: Period) -> StatusTimes:
    """The report's section: one scan of the period's visits, then queries by their ids (a
    handful, whatever the number of visits)."""
    start, end = period.bounds
    visits = list(
        Visit.objects.filter(checked_in_at__gte=start, checked_in_at__lt=end)
        .order_by()
        .values_list("pk", "checked_in_at", "order_signed_at", "advisor_id", *ADVISOR_NAME)
    )
    checked_in = {pk: at for pk, at, *_rest in visits}
    kinds = _kept_work_types(sorted(checked_in))
    stretches: dict[tuple[str, str], list[float]] = defaultdict(list)
    since: dict[int, object] = dict(checked_in)
    transitions = (
        VisitTransition.objects.filter(_of_visits(list(checked_in)))
        .order_by("visit_id", "at", "id")
        .values_list("visit_id", "from_status", "at")
    )
    for visit_id, from_status, at in transitions:
        minutes = max((at - since[visit_id]).total_seconds() / 60, 0)
        stretches[(kinds[visit_id], from_status)].append(minutes)
        since[visit_id] = at
    status_labels = dict(VisitStatus.choices)
    result = StatusTimes()
    for work_type, label in WORK_TYPES:
        for status in STATUS_ORDER:
            values = stretches.get((work_type, status))
            if not values:
                continue
            result.rows.append(
                TimeRow(
                    work_type=work_type,
                    work_type_label=str(label),
                    status=status,
                    status_label=str(status_labels[status]),
                    count=len(values),
                    median_minutes=round(median(values), 1),
                    p90_minutes=round(percentile(values, 0.9), 1),
                )
            )
    result.advisors = _advisor_rows([visit[1:] for visit in visits if visit[2] is not None])
    return result


def consultation_by_advisor(period: Period) -> list[AdvisorRow]:
    """Median minutes from check-in to the signed order, per advisor (signed visits only)."""
    start, end = period.bounds
    signed = Visit.objects.filter(
        checked_in_at__gte=start, checked_in_at__lt=end, order_signed_at__isnull=False
    )
    return _advisor_rows(
        list(signed.values_list("checked_in_at", "order_signed_at", "advisor_id", *ADVISOR_NAME))
    )


def _advisor_rows(signed: list[tuple]) -> list[AdvisorRow]:
    """Signed visits as (checked in, order signed, advisor id, *ADVISOR_NAME) → median
    minutes per advisor (the names come with the visits: no query of their own)."""
    minutes: dict[int, list[float]] = defaultdict(list)
    names: dict[int, str] = {}
    for checked_in_at, signed_at, advisor_id, first_name, last_name, username in signed:
        minutes[advisor_id].append(max((signed_at - checked_in_at).total_seconds() / 60, 0))
        if advisor_id not in names:
            names[advisor_id] = str(
                User(first_name=first_name, last_name=last_name, username=username)
            )
    rows = [
        AdvisorRow(
            name=names[pk],
            count=len(values),
            median_minutes=float(round(Decimal(str(median(values))), 1)),
        )
        for pk, values in minutes.items()
    ]
    return sorted(rows, key=lambda row: row.name)
