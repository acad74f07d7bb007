"""A car that is not repaired (issue 16 item 2): the customer declined the estimate, or came
for a diagnosis only.

`visit_not_repaired` is the advisor's exit: the offered lines are kept on the vehicle as
declined work, the order in force carries the diagnosis fee only (the catalogue item named
by the rule `workorders.diagnosis_fee_operation`, billed as a line of kind `fee`), and the
visit goes straight to the cashier (`order_signed → ready_for_pickup`, a move only a visit
with this outcome may make). The existing bill, gate pass and hand-back follow; no final
check or QC is asked for a car nobody worked on. `diagnosis_fee_waive` settles the fee at
zero, the waiver and its reason recorded on the bill as the adjustment.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dealership.errors import DomainError
from dealership.models import LabourOperation, User
from dealership.money import yuan
from dealership.rules import rule
from dealership.text import NOTE_MAX_LENGTH
from dealership.transitions import save_versioned
from reception.models import DeclinedWork, NotRepairedReason, Visit
from reception.services import visit_lock, visit_transition
from reception.states import VisitStatus
from workorders.models import LineKind, PaymentMethod, WorkOrder
from workorders.services import (
    work_order_line_add,
    work_order_line_remove,
    work_order_revise,
    work_order_sign,
    work_order_start,
    work_order_update,
)
from workorders.states import OrderStatus
from workshop.job_moves import waiting_jobs_withdraw
from workshop.models import Job
from workshop.states import JobStatus

from . import selectors
from .models import Settlement
from .services import _timeline, settlement_create

S = VisitStatus
ZERO = Decimal("0.00")
# Where the advisor is when the estimate is refused: before the workshop has the car.
DECLINABLE = frozenset({S.CHECKED_IN, S.ORDER_SIGNED})
# The bill's adjustment reason holds 200 characters, the words "fee waived" included.
WAIVER_REASON_MAX_LENGTH = 150


def diagnosis_fee_or_none() -> LabourOperation | None:
    """The catalogue item the store bills as its diagnosis fee (None: its code is unknown)."""
    return LabourOperation.objects.filter(code=rule("workorders.diagnosis_fee_operation")).first()


def diagnosis_fee_operation() -> LabourOperation:
    """The diagnosis fee, refused with a message when the store's code names no item."""
    operation = diagnosis_fee_or_none()
    if operation is None:
        code = rule("workorders.diagnosis_fee_operation")
        raise DomainError(
            _(
                "The diagnosis fee “%(code)s” is not in the catalogue: the service manager "
                "sets its code on the settings page."
            )
            % {"code": code},
            code="no_diagnosis_fee",
        )
    return operation


def _refuse_undeclinable(visit: Visit) -> None:
    if visit.not_repaired_reason:
        raise DomainError(
            _("Visit %(number)s is recorded as not repaired already.") % {"number": visit.number},
            code="already_not_repaired",
        )
    if visit.status in (S.SETTLED, S.DELIVERED, S.CLOSED, S.CANCELLED):
        raise DomainError(
            _("Visit %(number)s is “%(status)s”: the customer can no longer decline the repair.")
            % {"number": visit.number, "status": S(visit.status).label},
            code="not_declinable",
        )
    clocked = Job.objects.filter(visit=visit, started_at__isnull=False).exclude(
        status=JobStatus.CANCELLED
    )
    if visit.status not in DECLINABLE or clocked.exists():
        raise DomainError(
            _(
                "The workshop has started work on visit %(number)s: the workshop controller "
                "stops it first."
            )
            % {"number": visit.number},
            code="work_started",
        )


def _fee_only_draft(visit: Visit, actor: User) -> WorkOrder:
    """The draft the customer signs: the current draft, or a revision of the signed order."""
    order = visit.work_orders.order_by("-revision").first()
    if order is None:
        return work_order_start(visit=visit, actor=actor)
    if order.status == OrderStatus.SIGNED:
        return work_order_revise(
            order=order, actor=actor, reason=_("Customer declined the repair: diagnosis fee only")
        )
    return order


def _keep_declined(visit: Visit, order: WorkOrder, actor: User, now) -> list[DeclinedWork]:
    """Every line the customer was offered becomes declined work on the car; none stay."""
    declined = []
    for line in list(order.lines.all()):
        declined.append(
            DeclinedWork(
                vehicle=visit.vehicle,
                visit=visit,
                description=line.name_zh[:200],
                estimated_amount=line.amount,
                declined_at=now,
                recorded_by=actor,
            )
        )
        work_order_line_remove(line=line, actor=actor)
    return DeclinedWork.objects.bulk_create(declined)


def visit_not_repaired(
    *,
    visit: Visit,
    actor: User,
    reason: str,
    findings: str,
    signature: str | bytes,
    signer_name: str,
) -> Visit:
    """The customer declines the repair (or came for a diagnosis only): record it, keep the
    declined lines on the car, have the fee-only order signed and send the car to the cashier.

    Refused for a visit settled, delivered or cancelled, and for one the workshop has started
    (a job clocked, or the visit dispatched): the controller stops that work first.
    """
    if reason not in NotRepairedReason.values:
        raise DomainError(_("Say why the car is not repaired."), field="reason")
    findings = (findings or "").strip()
    if not findings:
        raise DomainError(_("Write down what the technician found."), field="findings")
    if len(findings) > NOTE_MAX_LENGTH:
        raise DomainError(
            _("At most %(max)s characters.") % {"max": NOTE_MAX_LENGTH}, field="findings"
        )
    operation = diagnosis_fee_operation()
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_undeclinable(locked)
        now = timezone.now()
        order = _fee_only_draft(locked, actor)
        declined = _keep_declined(locked, order, actor, now)
        work_order_line_add(order=order, actor=actor, kind=LineKind.FEE, operation=operation)
        order.refresh_from_db()
        terms = {"promised_at": now + timedelta(minutes=30), "promised_reason": _("Not repaired")}
        if not order.payment_method:
            terms["payment_method"] = PaymentMethod.CASH
        work_order_update(order=order, actor=actor, **terms)
        locked.not_repaired_reason = reason
        locked.diagnosis_findings = findings
        locked.not_repaired_at = now
        locked.not_repaired_by = actor
        save_versioned(
            locked,
            ["not_repaired_reason", "diagnosis_findings", "not_repaired_at", "not_repaired_by"],
            reason="not repaired",
        )
        work_order_sign(
            order=order,
            actor=actor,
            signature=signature,
            signer_name=signer_name,
            confirm_items=True,
            confirm_cost=True,
            confirm_time=True,
            keep_old_parts=False,
            wash=False,
        )
        waiting_jobs_withdraw(visit=locked, reason="not repaired")
        moved = visit_transition(
            visit=locked,
            to=S.READY_FOR_PICKUP,
            actor=actor,
            reason=NotRepairedReason(reason).label,
        )
        _timeline(
            moved,
            "delivery.not_repaired",
            _("%(number)s: not repaired (%(reason)s), %(count)s items declined worth %(amount)s")
            % {
                "number": moved.number,
                "reason": NotRepairedReason(reason).label,
                "count": len(declined),
                "amount": yuan(sum((d.estimated_amount or ZERO for d in declined), ZERO)),
            },
            actor,
        )
    for field in Visit._meta.concrete_fields:
        setattr(visit, field.attname, getattr(moved, field.attname))
    return moved


def diagnosis_fee_waive(*, visit: Visit, actor: User, reason: str) -> Settlement:
    """Waive the diagnosis fee: the bill is settled at zero, the waiver being the adjustment
    with its reason (beyond the advisor's discount limit it needs the service manager)."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for waiving the fee."), field="reason")
    if len(reason) > WAIVER_REASON_MAX_LENGTH:
        raise DomainError(
            _("At most %(max)s characters.") % {"max": WAIVER_REASON_MAX_LENGTH}, field="reason"
        )
    if not visit.not_repaired_reason:
        raise DomainError(
            _("Only the fee of a car not repaired is waived here."), code="not_not_repaired"
        )
    bill = selectors.bill_for(visit)
    if bill is None:
        raise DomainError(_("This visit has no signed work order."), code="no_order")
    return settlement_create(
        visit=visit,
        actor=actor,
        payments=[],
        adjustment_amount=-bill.customer_total,
        adjustment_reason=_("Diagnosis fee waived: %(reason)s") % {"reason": reason},
    )


@dataclass
class DiagnosisReport:
    visit: Visit
    findings: str
    declined: list[DeclinedWork]
    declined_total: Decimal
    fee_lines: list
    fee_total: Decimal
    settlement: Settlement | None

    @property
    def to_pay(self) -> Decimal:
        """The fee, or what the bill settled it at (zero when waived)."""
        return self.settlement.amount_due if self.settlement else self.fee_total


def diagnosis_report(visit: Visit) -> DiagnosisReport | None:
    """What the customer's diagnosis report says; None for a visit that was repaired."""
    if not visit.not_repaired_reason:
        return None
    declined = list(DeclinedWork.objects.filter(visit=visit).order_by("id"))
    order = selectors.order_in_force(visit)
    fee_lines = list(order.lines.all()) if order else []
    return DiagnosisReport(
        visit=visit,
        findings=visit.diagnosis_findings,
        declined=declined,
        declined_total=sum((d.estimated_amount or ZERO for d in declined), ZERO),
        fee_lines=fee_lines,
        fee_total=sum((ln.amount for ln in fee_lines), ZERO),
        settlement=selectors.paid_settlement(visit),
    )
