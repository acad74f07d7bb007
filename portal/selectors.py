"""What the portal shows: always only the signed-in customer's own rows (else 404)."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment
from appointments.states import OPEN_STATUSES as APPOINTMENT_OPEN
from dealership.due import OPEN_STATES
from dealership.models import Customer, DueTask, Vehicle
from delivery.certificate import certificate_available
from delivery.models import Delivery, Settlement
from followup import duties as K
from followup.models import Complaint, Survey
from reception.models import Visit
from reception.states import ON_SITE_STATUSES, VisitStatus
from workorders.models import OrderStatus, WorkOrder
from workshop.models import Addition, FindingPhoto
from workshop.states import AdditionStatus

S = VisitStatus
HISTORY_VISITS = 30
# The customer's words for the visit's life: the step and the time it was reached.
STEPS = (
    ("checked_in", _("Checked in"), "checked_in_at"),
    ("in_work", _("In work"), "work_started_at"),
    ("qc", _("Quality check passed"), "qc_passed_at"),
    ("ready", _("Ready for pick-up"), "ready_at"),
    ("delivered", _("Delivered"), "delivered_at"),
)
DELIVERED = frozenset({S.DELIVERED, S.CLOSED})


@dataclass
class Step:
    key: str
    label: str
    at: datetime | None
    current: bool = False


@dataclass
class HistoryRow:
    visit: Visit
    work: list[str] = field(default_factory=list)
    paid: Decimal | None = None


def customer_vehicles(customer: Customer) -> list[Vehicle]:
    return list(Vehicle.objects.filter(owner=customer).order_by("plate", "pk"))


def customer_vehicle(customer: Customer, pk: int) -> Vehicle:
    vehicle = Vehicle.objects.filter(pk=pk, owner=customer).first()
    if vehicle is None:
        raise Http404
    return vehicle


def current_visits(customer: Customer) -> list[Visit]:
    return list(
        Visit.objects.filter(customer=customer, status__in=ON_SITE_STATUSES)
        .select_related("vehicle", "advisor")
        .order_by("-checked_in_at")
    )


def customer_visit(customer: Customer, pk: int) -> Visit:
    visit = (
        Visit.objects.filter(pk=pk, customer=customer)
        .select_related("vehicle", "advisor", "customer")
        .first()
    )
    if visit is None:
        raise Http404
    return visit


def _signed_orders() -> Prefetch:
    return Prefetch(
        "work_orders",
        queryset=WorkOrder.objects.filter(status=OrderStatus.SIGNED)
        .order_by("-revision")
        .prefetch_related("lines"),
        to_attr="signed_orders",
    )


def service_history(customer: Customer, vehicle: Vehicle) -> list[HistoryRow]:
    """The car's visits by this customer: date, km, work done, amount paid (newest first)."""
    visits = (
        Visit.objects.filter(customer=customer, vehicle=vehicle)
        .exclude(status=S.CANCELLED)
        .order_by("-checked_in_at", "-id")
        .prefetch_related(
            _signed_orders(),
            Prefetch(
                "settlements",
                queryset=Settlement.objects.filter(status=Settlement.Status.PAID),
                to_attr="paid_settlements",
            ),
        )[:HISTORY_VISITS]
    )
    rows = []
    for visit in visits:
        order = visit.signed_orders[0] if visit.signed_orders else None
        lines = [line.name for line in order.lines.all()] if order else []
        paid = sum((s.customer_total for s in visit.paid_settlements), Decimal("0"))
        rows.append(
            HistoryRow(visit=visit, work=lines, paid=paid if visit.paid_settlements else None)
        )
    return rows


def visit_steps(visit: Visit) -> list[Step]:
    steps = [Step(key, label, getattr(visit, attr)) for key, label, attr in STEPS]
    reached = [step for step in steps if step.at]
    if reached and visit.status != S.CANCELLED:
        reached[-1].current = True
    return steps


def visit_additions(visit: Visit) -> list[Addition]:
    return list(
        Addition.objects.filter(visit=visit)
        .exclude(status=AdditionStatus.WITHDRAWN)
        .select_related("finding")
        .prefetch_related("lines", "finding__photos")
        .order_by("proposed_at", "pk")
    )


def customer_addition(customer: Customer, visit: Visit, pk: int) -> Addition:
    addition = Addition.objects.filter(pk=pk, visit=visit, visit__customer=customer).first()
    if addition is None:
        raise Http404
    return addition


def customer_photo(customer: Customer, pk: int) -> FindingPhoto:
    photo = FindingPhoto.objects.filter(pk=pk, finding__visit__customer=customer).first()
    if photo is None:
        raise Http404
    return photo


def visit_documents(visit: Visit) -> dict[str, object]:
    """The customer's papers of this visit that exist: order, sheet, receipt, certificate."""
    order = visit.work_orders.filter(status=OrderStatus.SIGNED).order_by("-revision").first()
    settlement = (
        Settlement.objects.filter(visit=visit, status=Settlement.Status.PAID)
        .order_by("-settled_at")
        .first()
    )
    delivery = Delivery.objects.filter(visit=visit).first()
    documents = {}
    if order is not None:
        documents["order"] = order
        if visit.status in DELIVERED or visit.status == S.SETTLED:
            documents["sheet"] = visit
    if settlement is not None:
        documents["receipt"] = settlement
    if certificate_available(delivery):
        documents["warranty"] = delivery
    return documents


def survey_open(visit: Visit) -> bool:
    """The survey may be answered: the car is delivered, its care call open, none answered."""
    if visit.status not in DELIVERED or Survey.objects.filter(visit=visit).exists():
        return False
    return DueTask.objects.filter(
        kind=K.CARE_CALL, subject_id=visit.pk, state__in=OPEN_STATES, customer=visit.customer
    ).exists()


def visit_survey(visit: Visit) -> Survey | None:
    return Survey.objects.filter(visit=visit).first()


def customer_complaints(customer: Customer) -> list[Complaint]:
    return list(
        Complaint.objects.filter(customer=customer)
        .select_related("visit", "vehicle")
        .order_by("-opened_at", "-id")[:50]
    )


def customer_visits_for_complaint(customer: Customer) -> list[Visit]:
    return list(
        Visit.objects.filter(customer=customer)
        .exclude(status=S.CANCELLED)
        .select_related("vehicle")
        .order_by("-checked_in_at")[:20]
    )


def upcoming_appointments(customer: Customer) -> list[Appointment]:
    return list(
        Appointment.objects.filter(
            customer=customer, status__in=APPOINTMENT_OPEN, start__gte=timezone.now()
        )
        .select_related("vehicle")
        .order_by("start")
    )


def customer_appointment(customer: Customer, pk: int) -> Appointment:
    appointment = Appointment.objects.filter(pk=pk, customer=customer).first()
    if appointment is None:
        raise Http404
    return appointment
