"""The store's own repair quality warranty (质量保证期), issue 16 item 5.

Per work type (maintenance, repair, body & paint) the store guarantees its parts and
labour for so many months or so many km from the delivery, whichever comes first (the
manager's rules `workorders.repair_warranty_months_<type>` / `..._km_<type>`). The terms
are printed on the work order and on the certificate handed over with the gate pass; a
car that comes back within them is flagged at check-in, and a comeback the advisor
confirms is billed to the store (lines of job type internal).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dealership.errors import DomainError
from dealership.models import User, Vehicle, WorkType
from dealership.rules import rule
from dealership.services import timeline_record
from dealership.stored_text import StoredMessage
from reception.models import Visit
from reception.services import visit_concern_update, visit_lock
from reception.states import VisitStatus

from .models import JobType, OrderStatus, RepairWarrantyComeback, WorkOrder, WorkOrderLine
from .rules import REPAIR_WARRANTY_MONTHS
from .services import work_order_line_update

# Lines the customer would pay: on a confirmed warranty comeback they go to the store.
CUSTOMER_JOB_TYPES = (JobType.MAINTENANCE, JobType.REPAIR)


@dataclass(frozen=True)
class WarrantyTerm:
    """The store's warranty on one work type: months or km, whichever comes first."""

    work_type: str
    months: int
    km: int

    @property
    def label(self) -> str:
        return WorkType(self.work_type).label


@dataclass(frozen=True)
class WarrantyCover:
    """One term applied to a delivered visit: it ends on `ends_on` or at `until_km`."""

    term: WarrantyTerm
    ends_on: date
    until_km: int | None

    def holds(self, *, on: date, odometer_km: int | None) -> bool:
        within_km = odometer_km is None or self.until_km is None or odometer_km <= self.until_km
        return on <= self.ends_on and within_km


@dataclass(frozen=True)
class VisitWarranty:
    """A delivered visit's warranty: from its delivery day and odometer, per work type done."""

    visit: Visit
    delivered_on: date
    delivered_km: int | None
    covers: list[WarrantyCover]

    def cover_on(self, *, on: date, odometer_km: int | None) -> WarrantyCover | None:
        """The cover still in force (the one lasting longest when several are)."""
        holding = [c for c in self.covers if c.holds(on=on, odometer_km=odometer_km)]
        return max(holding, key=lambda c: (c.ends_on, c.until_km or 0), default=None)


def add_months(day: date, months: int) -> date:
    """`day` plus whole months; the 31 Jan + 1 month is the last day of February."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def warranty_term(work_type: str) -> WarrantyTerm:
    return WarrantyTerm(
        work_type=work_type,
        months=rule(f"workorders.repair_warranty_months_{work_type}"),
        km=rule(f"workorders.repair_warranty_km_{work_type}"),
    )


def line_work_type(line: WorkOrderLine) -> str:
    """The work type a line's warranty follows: its operation's, else its job type's."""
    if line.operation_id is not None:
        return line.operation.work_type
    return WorkType.MAINTENANCE if line.job_type == JobType.MAINTENANCE else WorkType.REPAIR


def order_terms(order: WorkOrder | None) -> list[WarrantyTerm]:
    """The store's warranty terms for the work types on the order, in the catalogue's order."""
    if order is None:
        return []
    present = {line_work_type(line) for line in order.lines.all()}
    return [warranty_term(work_type) for work_type in WorkType.values if work_type in present]


def _signed_orders() -> Prefetch:
    return Prefetch(
        "work_orders",
        queryset=WorkOrder.objects.filter(status=OrderStatus.SIGNED)
        .prefetch_related("lines__operation")
        .order_by("-revision"),
        to_attr="signed_orders",
    )


def _order_of(visit: Visit) -> WorkOrder | None:
    """The signed order the car was delivered with (the newest signed revision)."""
    if not hasattr(visit, "signed_orders"):
        prefetch_related_objects([visit], _signed_orders())
    return next(iter(visit.signed_orders), None)


def _delivered_km(visit: Visit) -> int | None:
    # The odometer read at the final check (delivery's own row, reached through the reverse
    # one-to-one so this lower app imports nothing of delivery); else the check-in reading.
    delivery = getattr(visit, "delivery", None)
    if delivery is not None and delivery.delivery_odometer_km is not None:
        return delivery.delivery_odometer_km
    return visit.odometer_km


def visit_warranty(visit: Visit, *, delivered_at: datetime | None = None) -> VisitWarranty | None:
    """The warranty a delivered visit carries (None before delivery). `delivered_at`: the
    hand-over to count from when the visit is not marked delivered yet (the certificate is
    printed with the gate pass, just before the customer signs for the car)."""
    delivered_at = visit.delivered_at or delivered_at
    if delivered_at is None:
        return None
    delivered_on = timezone.localtime(delivered_at).date()
    delivered_km = _delivered_km(visit)
    covers = [
        WarrantyCover(
            term=term,
            ends_on=add_months(delivered_on, term.months),
            until_km=None if delivered_km is None else delivered_km + term.km,
        )
        for term in order_terms(_order_of(visit))
    ]
    return VisitWarranty(
        visit=visit, delivered_on=delivered_on, delivered_km=delivered_km, covers=covers
    )


@dataclass(frozen=True)
class WarrantyComebackHint:
    """An earlier visit whose repair warranty still holds for this car."""

    warranty: VisitWarranty
    cover: WarrantyCover

    @property
    def visit(self) -> Visit:
        return self.warranty.visit


def warranty_in_force(
    vehicle: Vehicle,
    *,
    on: date | None = None,
    odometer_km: int | None = None,
    exclude_visit: Visit | None = None,
) -> WarrantyComebackHint | None:
    """The newest delivered visit of the car whose repair warranty holds on `on` at
    `odometer_km` (the car's last reading when not given)."""
    on = on or timezone.localdate()
    if odometer_km is None:
        odometer_km = vehicle.last_odometer_km or None
    # No term lasts longer than the rule's upper bound: older visits cannot be in warranty.
    oldest = on - timedelta(days=31 * REPAIR_WARRANTY_MONTHS[1] + 1)
    visits = (
        Visit.objects.filter(
            vehicle=vehicle,
            status__in=(VisitStatus.DELIVERED, VisitStatus.CLOSED),
            delivered_at__date__gte=oldest,
        )
        .select_related("delivery")
        .prefetch_related(_signed_orders())
        .order_by("-delivered_at", "-id")
    )
    if exclude_visit is not None:
        visits = visits.exclude(pk=exclude_visit.pk)
    for visit in visits:
        warranty = visit_warranty(visit)
        cover = warranty.cover_on(on=on, odometer_km=odometer_km) if warranty else None
        if cover is not None:
            return WarrantyComebackHint(warranty=warranty, cover=cover)
    return None


def warranty_comeback_of(visit: Visit) -> RepairWarrantyComeback | None:
    return (
        RepairWarrantyComeback.objects.filter(visit=visit).select_related("earlier_visit").first()
    )


def warranty_comeback_confirm(*, visit: Visit, actor: User) -> RepairWarrantyComeback:
    """Confirm the visit as a comeback within the store's repair warranty of an earlier visit.

    The visit becomes a comeback of that visit; the lines of its draft order that the
    customer would pay (maintenance, repair) go to the store (job type internal), and so do
    the lines added later. Refused when no earlier visit of the car is within warranty today
    at the car's odometer, or once the order is signed.
    """
    with transaction.atomic():
        locked = visit_lock(visit)
        if locked.status != VisitStatus.CHECKED_IN:
            raise DomainError(
                _("The order is signed; a warranty comeback is confirmed at check-in."),
                code="order_signed",
            )
        if RepairWarrantyComeback.objects.filter(visit=locked).exists():
            raise DomainError(
                _("This visit is already confirmed as a warranty comeback."), code="confirmed"
            )
        hint = warranty_in_force(
            locked.vehicle, odometer_km=locked.odometer_km, exclude_visit=locked
        )
        if hint is None:
            raise DomainError(
                _(
                    "No earlier visit of this car is within our repair warranty (by date and "
                    "km): bill the work as usual."
                ),
                field="comeback_of",
                code="no_warranty_visit",
            )
        visit_concern_update(visit=locked, actor=actor, is_comeback=True, comeback_of=hint.visit)
        record = RepairWarrantyComeback.objects.create(
            visit=locked,
            earlier_visit=hint.visit,
            covered_until=hint.cover.ends_on,
            covered_until_km=hint.cover.until_km or 0,
            confirmed_by=actor,
        )
        _draft_lines_to_store(locked, actor)
        timeline_record(
            kind="visit.warranty_comeback",
            summary=StoredMessage(
                gettext_noop("%(number)s: comeback within our repair warranty of %(earlier)s"),
                number=locked.number,
                earlier=hint.visit.number,
            ),
            customer=locked.customer,
            vehicle=locked.vehicle,
            subject=locked,
            actor=actor,
        )
    visit.refresh_from_db()
    return record


def _draft_lines_to_store(visit: Visit, actor: User) -> None:
    """The draft's customer-paid lines become internal, through the order's own service."""
    order = visit.work_orders.filter(status=OrderStatus.DRAFT).order_by("-revision").first()
    if order is None:
        return
    for line in order.lines.filter(job_type__in=CUSTOMER_JOB_TYPES):
        work_order_line_update(line=line, actor=actor, job_type=JobType.INTERNAL)
