"""The pages and papers of the benchmark table, in one list.

tests/bench/test_bench_pages.py times them on the large store; tests/test_query_counts.py
counts each one's queries on a small store and again after it grows. One list, so that
every row of the table has its query-count test.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone

from dealership.errors import DomainError
from dealership.models import Customer, User, Vehicle
from delivery import services
from delivery.models import Delivery
from delivery.selectors import bill_for, cashier_queue, order_in_force
from delivery.tests.factories import record_final_check
from reception.models import Visit
from reception.states import VisitStatus
from workorders.models import WorkOrder

STAFF_PAGE_MS = 30  # issue 21: every staff page, boards included
PDF = "application/pdf"


@dataclass(frozen=True)
class Page:
    username: str
    url: str
    name: str
    target_ms: float
    params: dict = field(default_factory=dict)
    content_type: str | None = None


@dataclass(frozen=True)
class Subjects:
    """The rows the detail pages and papers show: the busiest customer and their car with
    the most visits, a recent closed visit and its signed work order."""

    customer_id: int
    customer_visits: int
    vehicle_id: int
    visit_id: int
    order_id: int


def subjects() -> Subjects:
    busiest = (
        Customer.objects.annotate(n=Count("visits")).order_by("-n", "id").values("pk", "n").first()
    )
    vehicle = (
        Vehicle.objects.filter(owner_id=busiest["pk"])
        .annotate(n=Count("visits"))
        .order_by("-n", "id")
        .values_list("pk", flat=True)
        .first()
    )
    visit = (
        Visit.objects.filter(
            status="closed",
            checked_in_at__gte=timezone.now() - timedelta(days=40),
            work_orders__status="signed",
        )
        .order_by("-checked_in_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    order = WorkOrder.objects.filter(visit_id=visit, status="signed").values_list("pk", flat=True)
    return Subjects(busiest["pk"], busiest["n"], vehicle, visit, order.first())


def staff_pages(subject: Subjects) -> list[Page]:
    today = timezone.localdate().isoformat()
    ms = STAFF_PAGE_MS
    return [
        Page("advisor", "/search/", "search: plate fragment (E1A)", ms, {"q": "E1A"}),
        Page("advisor", "/search/", "search: phone fragment (13900012)", ms, {"q": "13900012"}),
        Page("advisor", "/search/", "search: VIN fragment (KP0)", ms, {"q": "KP0"}),
        Page("advisor", "/search/", "search: name (张伟)", ms, {"q": "张伟"}),
        Page("advisor", "/", "home", ms),
        Page("advisor", "/appointments/", "appointment board, today", ms, {"day": today}),
        Page(
            "advisor",
            "/appointments/",
            "appointment board, week",
            ms,
            {"day": today, "view": "week"},
        ),
        Page("advisor", "/appointments/calls/", "appointment calls", ms),
        Page("advisor", "/reception/on-site/", "cars on site (reception)", ms),
        Page("advisor", f"/customers/{subject.customer_id}/", "customer page (busiest)", ms),
        Page("advisor", f"/vehicles/{subject.vehicle_id}/", "vehicle page", ms),
        Page("controller", "/workshop/", "dispatch / workshop board", ms),
        Page("qc", "/workshop/qc/", "QC list", ms),
        Page("advisor", "/delivery/", "delivery board", ms),
        Page("cashier", "/delivery/cashier/", "cashier list", ms),
        Page("care", "/followup/calls/", "call lists overview", ms),
        Page("care", "/followup/calls/care/", "24 h care call list", ms),
        Page("care", "/followup/calls/lost/", "lost-customer call list", ms),
        Page("care", "/followup/complaints/", "complaints", ms),
        Page(
            "care",
            f"/followup/archive/customer/{subject.customer_id}/",
            f"customer archive ({subject.customer_visits} visits)",
            ms,
        ),
        Page("care", f"/followup/archive/vehicle/{subject.vehicle_id}/", "vehicle archive", ms),
        Page("care", "/due/", "due queue (my calls)", ms),
        Page("manager", "/reports/", "monthly report", ms, {"period": "month", "date": today}),
        Page("manager", "/reports/", "daily report", ms, {"period": "day", "date": today}),
    ]


def papers(subject: Subjects) -> list[Page]:
    today = timezone.localdate().isoformat()
    return [
        Page("advisor", f"/orders/{subject.order_id}/pdf/", "work order PDF", 100, {}, PDF),
        Page(
            "cashier",
            f"/delivery/visits/{subject.visit_id}/sheet.pdf",
            "delivery sheet PDF",
            80,
            {},
            PDF,
        ),
        Page(
            "manager",
            "/reports/report.pdf",
            "monthly report PDF",
            300,
            {"period": "month", "date": today},
            PDF,
        ),
    ]


# The first view of the month's report after a change that invalidates it (issue 21.4).
REPORT_AFTER_CHANGE_MS = 150


def report_after_change() -> Page:
    today = timezone.localdate().isoformat()
    return Page(
        "manager",
        "/reports/",
        "monthly report, first view after a change",
        REPORT_AFTER_CHANGE_MS,
        {"period": "month", "date": today},
    )


def cars_to_settle() -> list[Visit]:
    return [visit for visit in cashier_queue() if visit.status == VisitStatus.READY_FOR_PICKUP]


def settle_next(cars: list[Visit], cashier: User) -> bool:
    """Settle the next car at the till that can be settled, as the advisor and the
    cashier do (the final check if still to do, then the settlement, through the
    services): a real change to the month's revenue, which the report must show."""
    while cars:
        visit = cars.pop(0)
        order = order_in_force(visit)
        bill = bill_for(visit, order=order)
        if bill is None:
            continue
        if not Delivery.objects.filter(visit=visit, final_check_at__isnull=False).exists():
            try:
                record_final_check(visit, order)
            except DomainError:
                continue
        due = bill.to_pay()
        payments = [{"method": "cash", "amount": due}] if due else []
        try:
            services.settlement_create(visit=visit, actor=cashier, payments=payments)
        except DomainError:
            continue
        return True
    return False
