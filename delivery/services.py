"""Writes of steps 6–7: ready, final check, settlement, void and refund, gate pass, hand-back.

Every service locks the visit row first (`reception.services.visit_lock`), so
two people acting on the same car take turns; the visit moves only through
`reception.services.visit_transition`, a bill only along `states.SETTLEMENT_STATES`.
"""

import logging
from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from appointments.services import deposits_apply, deposits_release
from dealership.due import due_task_schedule, due_tasks_cancel_for
from dealership.errors import DomainError
from dealership.events import Event, publish
from dealership.models import User
from dealership.money import to_money
from dealership.money import yuan as _yuan
from dealership.roles import Role, has_role
from dealership.rules import rule
from dealership.services import timeline_record, vehicle_update
from dealership.transitions import lock_row, move, save_versioned
from dealership.validators import normalize_tax_number, validate_tax_number
from reception.models import ValuablesHandling, Visit
from reception.services import visit_lock, visit_transition
from reception.signatures import signature_png, signature_refuse_oversized
from reception.states import VisitStatus
from workorders.models import LineKind, Payer, PaymentMethod
from workorders.selectors import order_in_force

from . import selectors
from .day_close import refuse_closed_day
from .duties import READY_NOTICE
from .models import (
    ApprovalVia,
    Delivery,
    InvoiceCounter,
    OldPartsHandling,
    Payment,
    Refund,
    Settlement,
    SettlementLine,
    TaxInvoiceKind,
)
from .states import SETTLEMENT_STATES, SettlementStatus

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
S = VisitStatus


# ---------------------------------------------------------------------------- helpers


def _refresh_caller(target: Visit, source: Visit) -> None:
    """Bring the caller's visit up to date after a move, so it is not stale."""
    for field in Visit._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _delivery(visit: Visit) -> Delivery:
    """The visit's delivery row, made on first use; the caller holds the visit's lock."""
    delivery, _created = Delivery.objects.get_or_create(visit=visit)
    return delivery


def _delivery_update(delivery: Delivery, *, reason: str, **values) -> Delivery:
    """Write `values` on the (locked) visit's delivery row, its version raised, `reason` kept."""
    for name, value in values.items():
        setattr(delivery, name, value)
    save_versioned(delivery, values, reason=reason)
    return delivery


def _refuse_before_qc(visit: Visit, *, doing: str) -> None:
    if visit.status in selectors.BEFORE_QC:
        raise DomainError(
            _(
                "Visit %(number)s is “%(status)s”: it has not passed quality control yet, "
                "so %(doing)s is not possible."
            )
            % {"number": visit.number, "status": S(visit.status).label, "doing": doing},
            code="not_qc_passed",
        )
    if visit.status == S.CANCELLED:
        raise DomainError(
            _("Visit %(number)s was cancelled.") % {"number": visit.number}, code="cancelled"
        )


def _refuse_delivered(visit: Visit) -> None:
    if visit.status in (S.DELIVERED, S.CLOSED):
        raise DomainError(
            _("Visit %(number)s was already delivered at %(at)s.")
            % {
                "number": visit.number,
                "at": timezone.localtime(visit.delivered_at or visit.status_changed_at).strftime(
                    "%Y-%m-%d %H:%M"
                ),
            },
            code="already_delivered",
        )


def _timeline(visit: Visit, kind: str, summary: str, actor: User | None, **data) -> None:
    timeline_record(
        kind=kind,
        summary=summary,
        customer=visit.customer,
        vehicle=visit.vehicle,
        subject=visit,
        actor=actor,
        data=data,
    )


# ---------------------------------------------------------------------------- ready


def visit_mark_ready(*, visit: Visit, actor: User | None, wash_done: bool = False) -> Visit:
    """QC passed → ready for pick-up, and schedule the customer's ready notice.

    Refused when the customer asked for a wash and it is not done (pass
    `wash_done=True` once it is).
    """
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_delivered(locked)
        _refuse_before_qc(locked, doing=_("marking it ready"))
        if locked.status != S.QC_PASSED:
            raise DomainError(
                _("Visit %(number)s is already “%(status)s”.")
                % {"number": locked.number, "status": S(locked.status).label},
                code="already_ready",
            )
        order = order_in_force(locked)
        delivery = _delivery(locked)
        now = timezone.now()
        washed = {}
        if wash_done and delivery.wash_done_at is None:
            washed["wash_done_at"] = now
        if order is not None and order.wash and not (delivery.wash_done_at or washed):
            raise DomainError(
                _("The customer asked for a wash: wash the car, then mark it ready."),
                field="wash_done",
                code="wash_pending",
            )
        pickup_at, notice_at = selectors.ready_notice_time(visit=locked, now=now)
        _delivery_update(
            delivery,
            reason="ready",
            pickup_at=pickup_at,
            ready_notice_due_at=notice_at,
            **washed,
        )
        moved = visit_transition(
            visit=locked,
            to=S.READY_FOR_PICKUP,
            actor=actor,
            reason=_("washed and ready") if delivery.wash_done_at else "",
        )
        due_task_schedule(
            kind=READY_NOTICE,
            subject=locked,
            due_at=notice_at,
            customer=locked.customer,
            payload={"pickup_at": pickup_at.isoformat()},
        )
        publish(Event.VISIT_READY, visit_id=locked.pk, data={"pickup_at": pickup_at.isoformat()})
    _refresh_caller(visit, moved)
    return moved


# ---------------------------------------------------------------------------- final check


def expected_old_parts(*, keep_old_parts: bool | None, has_parts: bool) -> set[str]:
    """What may happen to the replaced parts, given the five confirmations."""
    if not has_parts:
        return {OldPartsHandling.NONE}
    if keep_old_parts:
        return {OldPartsHandling.HANDED_OVER}
    return {OldPartsHandling.SHOWN_DISPOSED, OldPartsHandling.DISPOSED}


def _refuse_unchecked_lines(order, lines: list, checked: set[int]) -> None:
    """Every job on the order is done in the workshop and ticked off on the car."""
    not_done = selectors.workshop_lines_not_done(order)
    if not_done:
        raise DomainError(
            _(
                "The workshop has not finished: %(jobs)s. Labour on the order is "
                "dispatched, clocked and passed by QC before the final check."
            )
            % {"jobs": "、".join(line.name for line in not_done)},
            field="lines",
            code="workshop_not_done",
        )
    missing = [line for line in lines if line.pk not in checked]
    if missing:
        raise DomainError(
            _(
                "Not every job on the order is checked as done: %(jobs)s. "
                "Check it on the car, or send the car back to the workshop."
            )
            % {"jobs": "、".join(line.name for line in missing)},
            field="lines",
            code="lines_missing",
        )


def _refuse_odometer(visit: Visit, odometer_km: int | None) -> None:
    if odometer_km is None:
        raise DomainError(_("Read the odometer."), field="odometer_km")
    if visit.odometer_km is not None and odometer_km < visit.odometer_km:
        raise DomainError(
            _("The odometer reads %(now)s km, below the %(then)s km at check-in.")
            % {"now": odometer_km, "then": visit.odometer_km},
            field="odometer_km",
            code="odometer_lower",
        )


def _refuse_unchecked_points(points: dict[str, bool]) -> None:
    """The car as the customer left it: body, tools, settings, belongings."""
    messages = {
        "exterior_matches": _("Compare the body with the walk-around."),
        "no_tools_left": _("Take every tool and rag out of the car."),
        "settings_restored": _("Put the seats, clock and radio back as the customer had them."),
        "belongings_present": _("Check the belongings on the list are all there."),
    }
    for name, message in messages.items():
        if not points[name]:
            raise DomainError(message, field=name, code="check_failed")


def _refuse_old_parts(order, lines: list, old_parts_handling: str) -> None:
    """The replaced parts go as the customer agreed on the order."""
    has_parts = any(line.kind == LineKind.PART and not line.customer_supplied for line in lines)
    allowed = expected_old_parts(keep_old_parts=order.keep_old_parts, has_parts=has_parts)
    if old_parts_handling in allowed:
        return
    if OldPartsHandling.HANDED_OVER in allowed:
        message = _("The customer keeps the replaced parts: pack them for hand-over.")
    elif OldPartsHandling.NONE in allowed:
        message = _("No parts were replaced on this order.")
    else:
        message = _(
            "The customer did not want the replaced parts: show them, "
            "then the store disposes of them."
        )
    raise DomainError(message, field="old_parts_handling", code="old_parts")


def final_check_record(
    *,
    visit: Visit,
    actor: User,
    checked_line_ids: Iterable[int],
    odometer_km: int | None,
    exterior_matches: bool,
    no_tools_left: bool,
    settings_restored: bool,
    belongings_present: bool,
    old_parts_handling: str,
    notes: str = "",
) -> Delivery:
    """The advisor's final check (终检) against the order; recorded only when every point holds.

    Every job of the order in force is checked as done, the odometer is read
    (not below check-in), the exterior matches the walk-around, no tools are
    left, seats/clock/radio are restored, the belongings are there and the
    replaced parts are handled as the customer agreed.
    """
    points = {
        "exterior_matches": exterior_matches,
        "no_tools_left": no_tools_left,
        "settings_restored": settings_restored,
        "belongings_present": belongings_present,
    }
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_delivered(locked)
        _refuse_before_qc(locked, doing=_("the final check"))
        if locked.status not in (S.QC_PASSED, S.READY_FOR_PICKUP):
            raise DomainError(
                _("The bill is settled; the final check can no longer change."),
                code="settled",
            )
        order = selectors.order_in_force(locked)
        if order is None:
            raise DomainError(_("This visit has no signed work order."), code="no_order")
        lines = list(order.lines.all())
        checked = {int(pk) for pk in checked_line_ids}
        _refuse_unchecked_lines(order, lines, checked)
        _refuse_odometer(locked, odometer_km)
        _refuse_unchecked_points(points)
        _refuse_old_parts(order, lines, old_parts_handling)
        delivery = _delivery_update(
            _delivery(locked),
            reason="final check",
            final_check_at=timezone.now(),
            final_check_by=actor,
            checked_line_ids=sorted(checked & {line.pk for line in lines}),
            delivery_odometer_km=odometer_km,
            old_parts_handling=old_parts_handling,
            final_check_notes=(notes or "").strip(),
            **points,
        )
        if odometer_km > locked.vehicle.last_odometer_km:
            vehicle_update(
                vehicle=locked.vehicle,
                actor=actor,
                last_odometer_km=odometer_km,
                last_odometer_at=timezone.now(),
            )
        _timeline(
            locked,
            "delivery.final_check",
            _("%(number)s: final check passed (%(km)s km)")
            % {"number": locked.number, "km": odometer_km},
            actor,
        )
    return delivery


# ---------------------------------------------------------------------------- overrun approval


def overrun_approve(*, visit: Visit, actor: User, amount: Any, via: str, note: str) -> Delivery:
    """Record that the customer agreed to pay up to `amount`, above the estimate's limit."""
    amount = to_money(amount, field="amount")
    note = (note or "").strip()
    if via not in ApprovalVia.values:
        raise DomainError(_("Say how the customer approved."), field="via")
    if not note:
        raise DomainError(_("Record what the customer said when approving."), field="note")
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_delivered(locked)
        _refuse_before_qc(locked, doing=_("an approval of the final amount"))
        if selectors.paid_settlement(locked) is not None:
            raise DomainError(_("The bill is settled already."), code="settled")
        bill = selectors.bill_for(locked)
        if bill is None:
            raise DomainError(_("This visit has no signed work order."), code="no_order")
        if amount < bill.customer_total:
            raise DomainError(
                _("The customer's share is %(due)s: the approval must cover at least that.")
                % {"due": _yuan(bill.customer_total)},
                field="amount",
            )
        delivery = _delivery_update(
            _delivery(locked),
            reason="overrun approved",
            overrun_approved_amount=amount,
            overrun_approved_via=via,
            overrun_approval_note=note,
            overrun_approved_at=timezone.now(),
            overrun_recorded_by=actor,
        )
        _timeline(
            locked,
            "delivery.overrun_approved",
            _("%(number)s: customer approved paying up to %(amount)s (%(via)s): %(note)s")
            % {
                "number": locked.number,
                "amount": _yuan(amount),
                "via": ApprovalVia(via).label,
                "note": note,
            },
            actor,
        )
    return delivery


# ---------------------------------------------------------------------------- settlement


def _invoice_number(now: datetime) -> str:
    """The next number of this year's gapless series (inside the settlement's transaction)."""
    year = f"{timezone.localtime(now):%Y}"
    return f"JS{year}-{InvoiceCounter.take_next(year):06d}"


def _clean_payments(payments: Iterable[dict]) -> list[Payment]:
    cleaned = []
    for item in payments:
        method = item.get("method") or ""
        if method not in PaymentMethod.values:
            raise DomainError(_("Choose how the customer pays."), field="payments")
        amount = to_money(item.get("amount"), field="payments")
        if amount <= 0:
            raise DomainError(_("A payment is more than zero."), field="payments")
        cleaned.append(
            Payment(method=method, amount=amount, reference=(item.get("reference") or "").strip())
        )
    return cleaned


def _refuse_unsettleable(visit: Visit) -> None:
    _refuse_delivered(visit)
    _refuse_before_qc(visit, doing=_("settling the bill"))
    if visit.status == S.QC_PASSED:
        raise DomainError(
            _("Mark the car ready for pick-up first (wash done if agreed), then settle."),
            code="not_ready",
        )
    if visit.status not in (S.READY_FOR_PICKUP, S.SETTLED):
        raise DomainError(_("This visit cannot be settled."), code="not_settleable")


def _clean_adjustment(amount: Any, reason: str, actor: User) -> tuple[Decimal, str]:
    """The cashier's change to the amount due: with a reason, above the limit by the manager."""
    adjustment = to_money(amount or "0", field="adjustment_amount")
    reason = (reason or "").strip()
    if adjustment and not reason:
        raise DomainError(
            _("Give the reason for changing the amount due."), field="adjustment_reason"
        )
    limit = rule("delivery.cashier_adjustment_limit")
    if abs(adjustment) > limit and not has_role(actor, [Role.SERVICE_MANAGER]):
        raise DomainError(
            _("An adjustment above %(limit)s needs the service manager.") % {"limit": _yuan(limit)},
            field="adjustment_amount",
            code="adjustment_limit",
        )
    return adjustment, reason


def _refuse_not_billable(visit: Visit, delivery: Delivery) -> None:
    """No second bill, none before the final check or with a revision still unsigned."""
    existing = selectors.paid_settlement(visit)
    if existing is not None:
        raise DomainError(
            _("Visit %(number)s is settled already (invoice %(invoice)s).")
            % {"number": visit.number, "invoice": existing.invoice_number},
            code="already_settled",
        )
    # A car not repaired (delivery.not_repaired) had no work to check: no final check is asked.
    if not delivery.final_check_done and not visit.not_repaired_reason:
        raise DomainError(
            _("The advisor's final check comes before the bill."), code="no_final_check"
        )
    pending = selectors.pending_revision(visit)
    if pending is not None:
        raise DomainError(
            _(
                "Revision %(revision)s of the order waits for the customer's signature: "
                "have it signed (or withdrawn) before settling."
            )
            % {"revision": pending.revision},
            code="revision_pending",
        )


def _amount_due(bill, adjustment: Decimal) -> Decimal:
    """What the customer pays: their share plus the adjustment, within what they agreed to."""
    due = bill.due_with(adjustment)
    if due < 0:
        raise DomainError(
            _("The adjustment is larger than the amount due."), field="adjustment_amount"
        )
    if bill.needs_approval(adjustment):
        raise DomainError(
            _(
                "The customer pays %(due)s, more than %(percent)s %% above the signed "
                "estimate %(estimate)s plus approved additional work %(additions)s "
                "(at most %(limit)s). Record the customer's approval of the amount first."
            )
            % {
                "due": _yuan(due),
                "percent": bill.tolerance_text,
                "estimate": _yuan(bill.estimate_total),
                "additions": _yuan(bill.approved_additions),
                "limit": _yuan(bill.estimate_limit),
            },
            code="estimate_exceeded",
        )
    return due


def _refuse_deep_reduction(bill, adjustment: Decimal, actor: User) -> None:
    """Money taken off the bill is a discount: past the advisor's discount limit (percent of
    the customer's share) it needs the service manager, whatever the cashier's yuan limit."""
    if adjustment >= 0 or not bill.customer_total or has_role(actor, [Role.SERVICE_MANAGER]):
        return
    limit = rule("workorders.advisor_discount_limit_percent")
    if -adjustment * 100 > bill.customer_total * limit:
        raise DomainError(
            _(
                "Taking %(amount)s off a share of %(share)s is a discount of more than "
                "%(limit)s %%: it needs the service manager."
            )
            % {"amount": _yuan(-adjustment), "share": _yuan(bill.customer_total), "limit": limit},
            field="adjustment_amount",
            code="discount_limit",
        )


def _after_deposits(bill, due: Decimal) -> Decimal:
    """The amount due less the deposits held; deposits above the bill are refused."""
    if bill.deposit_total > due:
        raise DomainError(
            _(
                "The deposits received (%(deposits)s) are more than the amount due "
                "(%(due)s): the service manager refunds the deposit on the appointment first, "
                "then the bill is paid in full."
            )
            % {"deposits": _yuan(bill.deposit_total), "due": _yuan(due)},
            field="payments",
            code="deposit_above_bill",
        )
    return due - bill.deposit_total


def _change_given(payments: list[Payment], due: Decimal, tendered: Decimal | None) -> Decimal:
    """The payments add up to the amount due; cash tendered above the cash paid is change."""
    paid = sum((p.amount for p in payments), ZERO)
    if paid != due:
        raise DomainError(
            _(
                "The payments add up to %(paid)s but the amount due is %(due)s. "
                "Correct the payments, or record an adjustment with its reason."
            )
            % {"paid": _yuan(paid), "due": _yuan(due)},
            field="payments",
            code="payment_mismatch",
        )
    if tendered is None:
        return ZERO
    cash = sum((p.amount for p in payments if p.method == PaymentMethod.CASH), ZERO)
    if not cash:
        raise DomainError(_("Cash tendered is only for a cash payment."), field="cash_tendered")
    if tendered < cash:
        raise DomainError(
            _("The cash tendered is less than the cash payment."), field="cash_tendered"
        )
    return tendered - cash


def _settlement_lines(settlement: Settlement, bill) -> None:
    """The bill's lines as charged, copied from the work order (an insurance line the customer
    pays part of is recorded twice, see `_insurance_customer_line`)."""
    rows = []
    for position, item in enumerate(bill.lines, start=1):
        rows.append(
            SettlementLine(
                settlement=settlement,
                position=position,
                order_line_id=item.line.pk,
                kind=item.line.kind,
                job_type=item.line.job_type,
                payer=item.payer,
                operation_id=item.line.operation_id,
                code=item.line.code,
                name_zh=item.line.name_zh,
                name_en=item.line.name_en,
                hours=item.hours,
                quantity=item.line.quantity,
                unit_price=item.line.unit_price,
                discount_percent=item.line.discount_percent,
                gross=item.gross - item.customer_share,
                discount=item.discount,
                amount=item.payer_amount,
                is_additional=item.line.is_additional,
            )
        )
        if item.customer_share:
            rows.append(_insurance_customer_line(settlement, item, position))
    SettlementLine.objects.bulk_create(rows)


def _insurance_customer_line(settlement: Settlement, item, position: int) -> SettlementLine:
    """The customer's part of an insurance line (excess, or above the insurer's approval):
    a line of its own paid by the customer, so the report's customers' column holds it and
    adds up to the payments. The hours stay on the insurer's line."""
    return SettlementLine(
        settlement=settlement,
        position=position,
        order_line_id=item.line.pk,
        kind=item.line.kind,
        job_type=item.line.job_type,
        payer=Payer.CUSTOMER,
        operation_id=item.line.operation_id,
        code=item.line.code,
        name_zh=item.line.name_zh,
        name_en=item.line.name_en,
        hours=ZERO,
        quantity=item.line.quantity,
        unit_price=item.line.unit_price,
        discount_percent=ZERO,
        gross=item.customer_share,
        discount=ZERO,
        amount=item.customer_share,
        is_additional=item.line.is_additional,
    )


def _refuse_insurance_pending(bill) -> None:
    """An insurance job is settled only with the insurer's approved amount recorded."""
    if bill.insurance is not None and bill.insurance.pending:
        raise DomainError(
            _(
                "The order has insurance work but no amount approved by the insurer: the "
                "advisor records the adjuster's approved amount and the excess on the "
                "visit's insurance job first."
            ),
            code="insurance_not_approved",
        )


def _insurance_record(bill) -> dict:
    """The insurance job's amounts the split was made by, kept on the bill."""
    if bill.insurance is None:
        return {}
    return {
        "insurance_approved_amount": bill.insurance.approved,
        "insurance_excess": bill.insurance.excess,
        "insurance_customer_total": bill.insurance.customer,
    }


def _settlement_make(
    visit: Visit,
    bill,
    *,
    actor: User,
    adjustment: Decimal,
    adjustment_reason: str,
    due: Decimal,
    payments: list[Payment],
    tendered: Decimal | None,
    change: Decimal,
    tax_invoice: dict[str, str],
) -> Settlement:
    """The paid bill with its invoice number, lines and payments (it starts paid: no move).

    `due` is the customer's share plus the adjustment (its VAT is on the bill); the
    amount due at the till is that less the deposits credited.
    """
    now = timezone.now()
    settlement = Settlement.objects.create(
        visit=visit,
        order=bill.order,
        invoice_number=_invoice_number(now),
        labour_basis=bill.labour_basis,
        labour_total=bill.labour_total,
        parts_total=bill.parts_total,
        discount_total=bill.discount_total,
        total=bill.total,
        customer_total=bill.customer_total,
        manufacturer_total=bill.by_payer.get("manufacturer", ZERO),
        insurer_total=bill.by_payer.get("insurer", ZERO),
        store_total=bill.by_payer.get("store", ZERO),
        vat_rate=bill.order.vat_rate,
        vat_amount=bill.vat_of(due),
        estimate_total=bill.estimate_total,
        approved_additions=bill.approved_additions,
        estimate_limit=bill.estimate_limit,
        overrun_approved=bill.over_limit(adjustment),
        adjustment_amount=adjustment,
        adjustment_reason=adjustment_reason,
        amount_due=due - bill.deposit_total,
        paid_total=sum((p.amount for p in payments), ZERO),
        cash_tendered=tendered,
        change_given=change,
        settled_at=now,
        settled_by=actor,
        **tax_invoice,
        **_insurance_record(bill),
    )
    _settlement_lines(settlement, bill)
    for payment in payments:
        payment.settlement = settlement
    Payment.objects.bulk_create(payments)
    return settlement


def settlement_create(
    *,
    visit: Visit,
    actor: User,
    payments: Iterable[dict],
    adjustment_amount: Any = "0",
    adjustment_reason: str = "",
    cash_tendered: Any = None,
    tax_invoice_kind: str = TaxInvoiceKind.NONE,
    buyer_name: str = "",
    buyer_tax_number: str = "",
    buyer_address_phone: str = "",
    buyer_bank_account: str = "",
) -> Settlement:
    """Settle the bill: the cashier takes the customer's share and the invoice number.

    `payments` is a list of {"method", "amount", "reference"} (a split payment
    has several). They must add up exactly to the customer's share plus an
    adjustment that has a reason (a cashier's adjustment is limited by the rule
    `delivery.cashier_adjustment_limit`). A customer's share more than the
    tolerance above the signed estimate plus approved additions needs the
    customer's recorded approval. Cash tendered above the cash paid is change.
    The official invoice the customer asks for is recorded with the bill
    (see `_clean_tax_invoice_request`).
    """
    tax_invoice = _clean_tax_invoice_request(
        kind=tax_invoice_kind,
        buyer_name=buyer_name,
        buyer_tax_number=buyer_tax_number,
        buyer_address_phone=buyer_address_phone,
        buyer_bank_account=buyer_bank_account,
    )
    adjustment, adjustment_reason = _clean_adjustment(adjustment_amount, adjustment_reason, actor)
    cleaned = _clean_payments(payments)
    tendered = None
    if cash_tendered not in (None, ""):
        tendered = to_money(cash_tendered, field="cash_tendered")
    with transaction.atomic():
        refuse_closed_day()
        locked = visit_lock(visit)
        _refuse_unsettleable(locked)
        delivery = _delivery(locked)
        _refuse_not_billable(locked, delivery)
        bill = selectors.bill_for(locked, delivery=delivery)
        if bill is None:
            raise DomainError(_("This visit has no signed work order."), code="no_order")
        _refuse_insurance_pending(bill)
        _refuse_deep_reduction(bill, adjustment, actor)
        due = _amount_due(bill, adjustment)
        to_pay = _after_deposits(bill, due)
        change = _change_given(cleaned, to_pay, tendered)
        settlement = _settlement_make(
            locked,
            bill,
            actor=actor,
            adjustment=adjustment,
            adjustment_reason=adjustment_reason,
            due=due,
            payments=cleaned,
            tendered=tendered,
            change=change,
            tax_invoice=tax_invoice,
        )
        deposits_apply(
            deposits=bill.deposits,
            settlement_id=settlement.pk,
            invoice_number=settlement.invoice_number,
        )
        _visit_settled(locked, settlement, cleaned, actor)
    return settlement


def _visit_settled(visit: Visit, settlement: Settlement, payments: list[Payment], actor: User):
    """The (locked) visit moves to settled, and its timeline says who paid what, how."""
    if visit.status == S.READY_FOR_PICKUP:
        visit_transition(
            visit=visit,
            to=S.SETTLED,
            actor=actor,
            reason=_("invoice %(invoice)s") % {"invoice": settlement.invoice_number},
        )
    methods = "+".join(str(PaymentMethod(p.method).label) for p in payments) or "—"
    _timeline(
        visit,
        "delivery.settled",
        _("%(number)s: settled, invoice %(invoice)s, customer paid %(paid)s (%(methods)s)")
        % {
            "number": visit.number,
            "invoice": settlement.invoice_number,
            "paid": _yuan(settlement.paid_total),
            "methods": methods,
        },
        actor,
        settlement=settlement.pk,
    )
    publish(Event.VISIT_SETTLED, visit_id=visit.pk, data={"settlement": settlement.pk})


def _refuse_without_manager(actor: User, *, doing: str) -> None:
    if not has_role(actor, [Role.SERVICE_MANAGER]):
        raise DomainError(
            _("Only the service manager may %(doing)s. Ask them to do it.") % {"doing": doing},
            code="permission",
        )


def settlement_void(*, settlement: Settlement, actor: User, reason: str) -> Settlement:
    """Void a bill before the car has left (service manager only). The invoice number stays
    used, marked void; the gate pass is withdrawn and the visit can be settled again."""
    _refuse_without_manager(actor, doing=_("void a bill"))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for voiding."), field="reason")
    with transaction.atomic():
        refuse_closed_day()
        locked_visit = visit_lock(settlement.visit)
        locked = lock_row(settlement)
        if locked.status != SettlementStatus.PAID:
            raise DomainError(_("This bill is void already."), code="already_void")
        if locked_visit.status in (S.DELIVERED, S.CLOSED):
            raise DomainError(
                _("The car has left: give a refund instead of voiding the bill."),
                code="delivered",
            )
        move(
            SETTLEMENT_STATES,
            locked,
            SettlementStatus.VOIDED,
            reason=reason,
            changes={"voided_by": actor, "void_reason": reason},
        )
        deposits_release(settlement_id=locked.pk)
        delivery = _delivery(locked_visit)
        if delivery.gate_pass_issued:
            _delivery_update(
                delivery,
                reason="bill voided",
                gate_pass_number="",
                gate_pass_issued_at=None,
                gate_pass_issued_by=None,
            )
        _timeline(
            locked_visit,
            "delivery.voided",
            _("%(number)s: invoice %(invoice)s voided (%(reason)s)")
            % {"number": locked_visit.number, "invoice": locked.invoice_number, "reason": reason},
            actor,
            settlement=locked.pk,
        )
    return locked


def settlement_refund(
    *, settlement: Settlement, actor: User, amount: Any, method: str, reason: str
) -> Refund:
    """Give money back on a paid bill (service manager only), at most what was paid."""
    _refuse_without_manager(actor, doing=_("give a refund"))
    amount = to_money(amount, field="amount")
    reason = (reason or "").strip()
    if amount <= 0:
        raise DomainError(_("A refund is more than zero."), field="amount")
    if method not in PaymentMethod.values:
        raise DomainError(_("Choose how the money goes back."), field="method")
    if not reason:
        raise DomainError(_("Give the reason for the refund."), field="reason")
    with transaction.atomic():
        refuse_closed_day()
        locked_visit = visit_lock(settlement.visit)
        locked = lock_row(settlement)
        if locked.status != SettlementStatus.PAID:
            raise DomainError(_("This bill is void; nothing to refund."), code="void")
        refunded = sum(locked.refunds.values_list("amount", flat=True), ZERO)
        left = locked.paid_total - refunded
        if amount > left:
            raise DomainError(
                _("At most %(left)s can be refunded on this bill.") % {"left": _yuan(left)},
                field="amount",
                code="refund_too_much",
            )
        refund = Refund.objects.create(
            settlement=locked, amount=amount, method=method, reason=reason, approved_by=actor
        )
        _timeline(
            locked_visit,
            "delivery.refunded",
            _("%(number)s: %(amount)s refunded on invoice %(invoice)s (%(reason)s)")
            % {
                "number": locked_visit.number,
                "amount": _yuan(amount),
                "invoice": locked.invoice_number,
                "reason": reason,
            },
            actor,
            settlement=locked.pk,
        )
    return refund


# ---------------------------------------------------------------------------- official invoice

# A paper-era invoice number has 8 digits; a fully digital one (数电发票) has 20.
_TAX_INVOICE_NUMBER_LENGTHS = (8, 20)


def _clean_tax_invoice_request(
    *,
    kind: str,
    buyer_name: str,
    buyer_tax_number: str,
    buyer_address_phone: str,
    buyer_bank_account: str,
) -> dict[str, str]:
    """The invoice request as stored on the bill.

    An ordinary invoice needs the buyer's name; a private buyer may have no tax
    number. A special invoice (the buyer deducts the VAT) needs the company's
    name and tax number. A tax number given is checked (GB 32100-2015).
    """
    if kind not in TaxInvoiceKind.values:
        raise DomainError(_("Choose the kind of invoice."), field="tax_invoice_kind")
    if kind == TaxInvoiceKind.NONE:
        return {"tax_invoice_kind": kind}
    buyer_name = (buyer_name or "").strip()
    tax_number = normalize_tax_number(buyer_tax_number)
    if not buyer_name:
        raise DomainError(
            _("Enter the buyer's name as it goes on the invoice."),
            field="buyer_name",
            code="buyer_missing",
        )
    if kind == TaxInvoiceKind.SPECIAL and not tax_number:
        raise DomainError(
            _("A special VAT invoice needs the company's tax number."),
            field="buyer_tax_number",
            code="tax_number_missing",
        )
    if tax_number:
        try:
            validate_tax_number(tax_number)
        except ValidationError as error:
            raise DomainError(
                error.messages[0], field="buyer_tax_number", code=error.code
            ) from error
    return {
        "tax_invoice_kind": kind,
        "buyer_name": buyer_name,
        "buyer_tax_number": tax_number,
        "buyer_address_phone": (buyer_address_phone or "").strip(),
        "buyer_bank_account": (buyer_bank_account or "").strip(),
    }


def tax_invoice_issue(*, settlement: Settlement, actor: User, number: str) -> Settlement:
    """Record the number of the official invoice issued in the tax software for a paid bill."""
    number = "".join((number or "").split())
    if not number.isdigit() or len(number) not in _TAX_INVOICE_NUMBER_LENGTHS:
        raise DomainError(
            _("An invoice number has 8 digits (20 for a fully digital invoice)."),
            field="number",
            code="tax_invoice_number_format",
        )
    with transaction.atomic():
        refuse_closed_day()
        locked_visit = visit_lock(settlement.visit)
        locked = lock_row(settlement)
        if not locked.is_paid:
            raise DomainError(_("This bill is void; no invoice goes with it."), code="void")
        if locked.tax_invoice_kind == TaxInvoiceKind.NONE:
            raise DomainError(
                _("The customer asked for no official invoice on this bill."),
                code="no_tax_invoice_asked",
            )
        if locked.tax_invoice_number:
            raise DomainError(
                _("Invoice %(number)s was recorded for this bill already.")
                % {"number": locked.tax_invoice_number},
                field="number",
                code="tax_invoice_issued",
            )
        locked.tax_invoice_number = number
        locked.tax_invoice_issued_at = timezone.now()
        locked.tax_invoice_issued_by = actor
        save_versioned(
            locked,
            ["tax_invoice_number", "tax_invoice_issued_at", "tax_invoice_issued_by"],
            reason="official invoice issued",
        )
        _timeline(
            locked_visit,
            "delivery.tax_invoice",
            _("%(number)s: %(kind)s %(invoice)s issued for bill %(bill)s")
            % {
                "number": locked_visit.number,
                "kind": TaxInvoiceKind(locked.tax_invoice_kind).label,
                "invoice": number,
                "bill": locked.invoice_number,
            },
            actor,
            settlement=locked.pk,
        )
    return locked


# ---------------------------------------------------------------------------- gate pass


def gate_pass_issue(*, visit: Visit, actor: User) -> Delivery:
    """Issue the gate pass (出门证); only a settled bill earns one."""
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_delivered(locked)
        settlement = selectors.paid_settlement(locked)
        if settlement is None:
            raise DomainError(
                _("Settle the bill first: the gate pass is issued only after payment."),
                code="not_settled",
            )
        delivery = _delivery(locked)
        if delivery.gate_pass_issued:
            raise DomainError(
                _("Gate pass %(number)s was issued already; print it again instead.")
                % {"number": delivery.gate_pass_number},
                code="gate_pass_issued",
            )
        _delivery_update(
            delivery,
            reason="gate pass",
            gate_pass_number=f"CM{settlement.invoice_number[2:]}",
            gate_pass_issued_at=timezone.now(),
            gate_pass_issued_by=actor,
        )
        _timeline(
            locked,
            "delivery.gate_pass",
            _("%(number)s: gate pass %(pass)s issued")
            % {"number": locked.number, "pass": delivery.gate_pass_number},
            actor,
        )
    return delivery


# ---------------------------------------------------------------------------- hand-back


# What the steps above do once a car is handed back (followup registers its calls
# from its AppConfig.ready(): delivery does not import the step after it).
_AFTER_HAND_BACK_STEPS: list[Callable[..., Any]] = []


def after_hand_back_step_register(step: Callable[..., Any]) -> None:
    """Run `step(visit=, actor=)` inside every hand-back, after the visit is delivered."""
    if step not in _AFTER_HAND_BACK_STEPS:
        _AFTER_HAND_BACK_STEPS.append(step)


def _schedule_followup(*, visit: Visit, actor: User) -> None:
    """The follow-up duties (24 h care call, 7-day advisor call) of the steps registered above."""
    for step in _AFTER_HAND_BACK_STEPS:
        step(visit=visit, actor=actor)


def _refuse_incomplete_handback(
    visit: Visit,
    delivery: Delivery,
    *,
    belongings_returned: bool,
    returned_belongings: set[int],
    keys_returned: bool,
    registration_returned: bool,
    service_book_returned: bool,
    covers_removed: bool,
    old_parts_returned: bool,
) -> None:
    """What the customer gets back with the car, each confirmed in front of them: every
    document and item received at check-in (those the customer kept are not asked)."""
    checks = []
    for item in visit.belongings.all():
        if item.handling != ValuablesHandling.TAKEN_BY_CUSTOMER:
            checks.append(
                (
                    "returned_belongings",
                    item.pk in returned_belongings,
                    _("Give back “%(item)s”, listed at check-in, and tick it.")
                    % {"item": item.description},
                )
            )
    checks.append(
        ("belongings_returned", belongings_returned, _("Give the customer their belongings."))
    )
    if visit.registration_received:
        checks.append(
            (
                "registration_returned",
                registration_returned,
                _("Give back the registration certificate (行驶证) received at check-in."),
            )
        )
    if visit.service_book_received:
        checks.append(
            (
                "service_book_returned",
                service_book_returned,
                _("Give back the service book received at check-in."),
            )
        )
    checks += [
        (
            "keys_returned",
            keys_returned,
            ngettext(
                "Give the customer the key received at check-in.",
                "Give the customer the %(count)d keys received at check-in.",
                visit.key_count,
            )
            % {"count": visit.key_count},
        ),
        (
            "covers_removed",
            covers_removed,
            _("Remove the protective covers in front of the customer."),
        ),
    ]
    if delivery.old_parts_handling == OldPartsHandling.HANDED_OVER:
        checks.append(
            (
                "old_parts_returned",
                old_parts_returned,
                _("Hand the replaced parts to the customer, as agreed."),
            )
        )
    for name, ok, message in checks:
        if not ok:
            raise DomainError(message, field=name, code="handback_incomplete")


def visit_hand_back(
    *,
    visit: Visit,
    actor: User,
    signature: str | bytes,
    signer_name: str,
    belongings_returned: bool,
    keys_returned: bool,
    covers_removed: bool,
    old_parts_returned: bool = False,
    registration_returned: bool = False,
    service_book_returned: bool = False,
    returned_belongings: Iterable[int] = (),
) -> Visit:
    """The customer signs for the car on the tablet: the visit becomes delivered and the
    follow-up calls are scheduled, in one transaction.

    Refused until every document, item and key received at check-in is ticked
    as handed back (`returned_belongings` holds the ids of the listed items).
    """
    signature_refuse_oversized(signature)  # before the row lock: a bomb must not hold it
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_delivered(locked)
        _refuse_before_qc(locked, doing=_("handing the car back"))
        if selectors.paid_settlement(locked) is None:
            raise DomainError(
                _("Settle the bill first: the car leaves only after payment."),
                code="not_settled",
            )
        delivery = _delivery(locked)
        if not delivery.gate_pass_issued:
            raise DomainError(
                _("Issue the gate pass before handing the car back."), code="no_gate_pass"
            )
        returned = {int(pk) for pk in returned_belongings}
        _refuse_incomplete_handback(
            locked,
            delivery,
            belongings_returned=belongings_returned,
            returned_belongings=returned,
            keys_returned=keys_returned,
            registration_returned=registration_returned,
            service_book_returned=service_book_returned,
            covers_removed=covers_removed,
            old_parts_returned=old_parts_returned,
        )
        signer_name = (signer_name or "").strip()
        if not signer_name:
            raise DomainError(_("Enter the name of the person signing."), field="signer_name")
        png = signature_png(signature)
        delivery.handback_signature.save(png.name, png, save=False)
        _delivery_update(
            delivery,
            reason="handed back",
            handback_signature=delivery.handback_signature,
            handback_signer=signer_name,
            belongings_returned=True,
            returned_belonging_ids=sorted(
                returned & set(locked.belongings.values_list("pk", flat=True))
            ),
            keys_returned=True,
            registration_returned=locked.registration_received,
            service_book_returned=locked.service_book_received,
            covers_removed=True,
            old_parts_returned=delivery.old_parts_handling == OldPartsHandling.HANDED_OVER,
            handed_back_at=timezone.now(),
            handed_back_by=actor,
        )
        moved = visit_transition(
            visit=locked,
            to=S.DELIVERED,
            actor=actor,
            reason=_("signed for by %(name)s") % {"name": signer_name},
        )
        due_tasks_cancel_for(locked, kinds=[READY_NOTICE])
        _schedule_followup(visit=moved, actor=actor)
        publish(Event.VISIT_DELIVERED, visit_id=locked.pk, data={"number": locked.number})
    _refresh_caller(visit, moved)
    return moved
