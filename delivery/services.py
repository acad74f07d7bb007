"""Writes of steps 6–7: ready, final check, settlement, void and refund, gate pass, hand-back.

Every service locks the visit row first, so two people acting on the same car
take turns; the visit moves only through `reception.services.visit_transition`.
"""

import importlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dealership.due import due_task_schedule, due_tasks_cancel_for
from dealership.errors import DomainError
from dealership.models import User
from dealership.roles import Role, has_role
from dealership.rules import rule
from dealership.services import timeline_record, vehicle_update
from reception.models import Visit
from reception.services import visit_transition
from reception.signatures import signature_png, signature_refuse_oversized
from reception.states import VisitStatus
from workorders.models import LineKind, PaymentMethod

from . import selectors
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
    SettlementStatus,
)

logger = logging.getLogger(__name__)

ZERO = Decimal("0.00")
MAX_AMOUNT = Decimal("10000000000")  # what a 12-digit money column holds
S = VisitStatus


# ---------------------------------------------------------------------------- helpers


def to_money(value: Any, *, field: str) -> Decimal:
    """A money amount as Decimal with at most two decimals. Floats are a programming error."""
    if isinstance(value, float):
        raise TypeError("money amounts are Decimal (or str), never float")
    try:
        amount = Decimal(str(value).strip().replace(",", "").replace("¥", ""))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("Enter an amount in yuan, e.g. 128.50."), field=field) from exc
    if not amount.is_finite() or abs(amount) >= MAX_AMOUNT:
        raise DomainError(_("Enter an amount in yuan, e.g. 128.50."), field=field)
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError(_("Enter an amount in yuan with at most two decimals."), field=field)
    return amount.quantize(Decimal("0.01"))


def _yuan(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _lock_visit(visit: Visit) -> Visit:
    return (
        Visit.objects.select_for_update(of=("self",))
        .select_related("customer", "vehicle")
        .get(pk=visit.pk)
    )


def _refresh_caller(target: Visit, source: Visit) -> None:
    """Bring the caller's visit up to date after a move, so it is not stale."""
    for field in Visit._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _delivery(visit: Visit) -> Delivery:
    """The visit's delivery row, made on first use; the caller holds the visit's lock."""
    delivery, _created = Delivery.objects.get_or_create(visit=visit)
    return delivery


def _save(delivery: Delivery, fields: list[str], *, reason: str = "") -> None:
    delivery.version += 1
    if reason:
        delivery._change_reason = reason
    delivery.save(update_fields=[*fields, "version"])


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


def customer_waits(visit: Visit) -> bool:
    """The customer waits on site for the car (the visit's flag, carried from the booking)."""
    return visit.customer_waits


def store_open_at(moment: datetime) -> bool:
    """Is the store open at `moment` (its opening hours and holidays)?"""
    from appointments.capacity import openings

    local = timezone.localtime(moment)
    opens, closes, _holiday = openings(local.date(), local.date())[local.date()]
    return opens is not None and opens <= local.time() < closes


def ready_notice_time(*, visit: Visit, now: datetime | None = None) -> tuple[datetime, datetime]:
    """(when the car is ready for the customer, when to tell them).

    The ready time is the promised time (or now, if that has passed). The
    notice goes out 1 h before it for a job of up to 2 days, 4 h before for a
    longer one (rules). It goes at once when the customer waits on site (and
    the car is theirs from now), when that moment has passed, or when it falls
    outside the store's opening hours (nobody would be there to hand the car over
    when the customer reacts, and a notice held overnight comes after the customer).
    """
    now = now or timezone.now()
    if customer_waits(visit):
        return now, now
    pickup_at = max(visit.promised_at or now, now)
    long_job = pickup_at - visit.checked_in_at > timedelta(days=rule("delivery.long_job_days"))
    key = (
        "delivery.ready_notice_hours_long_job"
        if long_job
        else "delivery.ready_notice_hours_short_job"
    )
    notice_at = max(pickup_at - timedelta(hours=rule(key)), now)
    if notice_at > now and not store_open_at(notice_at):
        notice_at = now
    return pickup_at, notice_at


def visit_mark_ready(*, visit: Visit, actor: User | None, wash_done: bool = False) -> Visit:
    """QC passed → ready for pick-up, and schedule the customer's ready notice.

    Refused when the customer asked for a wash and it is not done (pass
    `wash_done=True` once it is).
    """
    from workorders.selectors import order_in_force

    with transaction.atomic():
        locked = _lock_visit(visit)
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
        fields = []
        if wash_done and delivery.wash_done_at is None:
            delivery.wash_done_at = now
            fields.append("wash_done_at")
        if order is not None and order.wash and delivery.wash_done_at is None:
            raise DomainError(
                _("The customer asked for a wash: wash the car, then mark it ready."),
                field="wash_done",
                code="wash_pending",
            )
        pickup_at, notice_at = ready_notice_time(visit=locked, now=now)
        delivery.pickup_at = pickup_at
        delivery.ready_notice_due_at = notice_at
        _save(delivery, [*fields, "pickup_at", "ready_notice_due_at"], reason="ready")
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
    with transaction.atomic():
        locked = _lock_visit(visit)
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
        checked = {int(pk) for pk in checked_line_ids}
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
        if odometer_km is None:
            raise DomainError(_("Read the odometer."), field="odometer_km")
        if locked.odometer_km is not None and odometer_km < locked.odometer_km:
            raise DomainError(
                _("The odometer reads %(now)s km, below the %(then)s km at check-in.")
                % {"now": odometer_km, "then": locked.odometer_km},
                field="odometer_km",
                code="odometer_lower",
            )
        points = (
            ("exterior_matches", exterior_matches, _("Compare the body with the walk-around.")),
            ("no_tools_left", no_tools_left, _("Take every tool and rag out of the car.")),
            (
                "settings_restored",
                settings_restored,
                _("Put the seats, clock and radio back as the customer had them."),
            ),
            (
                "belongings_present",
                belongings_present,
                _("Check the belongings on the list are all there."),
            ),
        )
        for name, ok, message in points:
            if not ok:
                raise DomainError(message, field=name, code="check_failed")
        has_parts = any(line.kind == LineKind.PART and not line.customer_supplied for line in lines)
        allowed = expected_old_parts(keep_old_parts=order.keep_old_parts, has_parts=has_parts)
        if old_parts_handling not in allowed:
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
        delivery = _delivery(locked)
        delivery.final_check_at = timezone.now()
        delivery.final_check_by = actor
        delivery.checked_line_ids = sorted(checked & {line.pk for line in lines})
        delivery.delivery_odometer_km = odometer_km
        delivery.exterior_matches = exterior_matches
        delivery.no_tools_left = no_tools_left
        delivery.settings_restored = settings_restored
        delivery.belongings_present = belongings_present
        delivery.old_parts_handling = old_parts_handling
        delivery.final_check_notes = (notes or "").strip()
        _save(
            delivery,
            [
                "final_check_at",
                "final_check_by",
                "checked_line_ids",
                "delivery_odometer_km",
                "exterior_matches",
                "no_tools_left",
                "settings_restored",
                "belongings_present",
                "old_parts_handling",
                "final_check_notes",
            ],
            reason="final check",
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
        locked = _lock_visit(visit)
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
        delivery = _delivery(locked)
        delivery.overrun_approved_amount = amount
        delivery.overrun_approved_via = via
        delivery.overrun_approval_note = note
        delivery.overrun_approved_at = timezone.now()
        delivery.overrun_recorded_by = actor
        _save(
            delivery,
            [
                "overrun_approved_amount",
                "overrun_approved_via",
                "overrun_approval_note",
                "overrun_approved_at",
                "overrun_recorded_by",
            ],
            reason="overrun approved",
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
    """The next number of this year's sequence, taken under the counter's row lock.

    Called inside the settlement's transaction: if the settlement fails, the
    increment rolls back with it, so numbers have no gaps; the lock makes two
    cashiers take turns, so no number is handed out twice.
    """
    year = f"{timezone.localtime(now):%Y}"
    InvoiceCounter.objects.bulk_create([InvoiceCounter(key=year)], ignore_conflicts=True)
    counter = InvoiceCounter.objects.select_for_update().get(key=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"JS{year}-{counter.last_number:06d}"


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


def settlement_create(
    *,
    visit: Visit,
    actor: User,
    payments: Iterable[dict],
    adjustment_amount: Any = "0",
    adjustment_reason: str = "",
    cash_tendered: Any = None,
) -> Settlement:
    """Settle the bill: the cashier takes the customer's share and the invoice number.

    `payments` is a list of {"method", "amount", "reference"} (a split payment
    has several). They must add up exactly to the customer's share plus an
    adjustment that has a reason (a cashier's adjustment is limited by the rule
    `delivery.cashier_adjustment_limit`). A customer's share more than the
    tolerance above the signed estimate plus approved additions needs the
    customer's recorded approval. Cash tendered above the cash paid is change.
    """
    adjustment = to_money(adjustment_amount or "0", field="adjustment_amount")
    adjustment_reason = (adjustment_reason or "").strip()
    if adjustment and not adjustment_reason:
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
    cleaned = _clean_payments(payments)
    tendered = None
    if cash_tendered not in (None, ""):
        tendered = to_money(cash_tendered, field="cash_tendered")
    with transaction.atomic():
        locked = _lock_visit(visit)
        _refuse_unsettleable(locked)
        existing = selectors.paid_settlement(locked)
        if existing is not None:
            raise DomainError(
                _("Visit %(number)s is settled already (invoice %(invoice)s).")
                % {"number": locked.number, "invoice": existing.invoice_number},
                code="already_settled",
            )
        delivery = _delivery(locked)
        if not delivery.final_check_done:
            raise DomainError(
                _("The advisor's final check comes before the bill."), code="no_final_check"
            )
        pending = selectors.pending_revision(locked)
        if pending is not None:
            raise DomainError(
                _(
                    "Revision %(revision)s of the order waits for the customer's signature: "
                    "have it signed (or withdrawn) before settling."
                )
                % {"revision": pending.revision},
                code="revision_pending",
            )
        bill = selectors.bill_for(locked, delivery=delivery)
        if bill is None:
            raise DomainError(_("This visit has no signed work order."), code="no_order")
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
        paid = sum((p.amount for p in cleaned), ZERO)
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
        cash = sum((p.amount for p in cleaned if p.method == PaymentMethod.CASH), ZERO)
        change = ZERO
        if tendered is not None:
            if not cash:
                raise DomainError(
                    _("Cash tendered is only for a cash payment."), field="cash_tendered"
                )
            if tendered < cash:
                raise DomainError(
                    _("The cash tendered is less than the cash payment."), field="cash_tendered"
                )
            change = tendered - cash
        now = timezone.now()
        vat_rate = bill.order.vat_rate
        settlement = Settlement.objects.create(
            visit=locked,
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
            vat_rate=vat_rate,
            vat_amount=bill.vat_of(due),
            estimate_total=bill.estimate_total,
            approved_additions=bill.approved_additions,
            estimate_limit=bill.estimate_limit,
            overrun_approved=bill.over_limit(adjustment),
            adjustment_amount=adjustment,
            adjustment_reason=adjustment_reason,
            amount_due=due,
            paid_total=paid,
            cash_tendered=tendered,
            change_given=change,
            settled_at=now,
            settled_by=actor,
        )
        SettlementLine.objects.bulk_create(
            [
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
                    gross=item.gross,
                    discount=item.discount,
                    amount=item.amount,
                    is_additional=item.line.is_additional,
                )
                for position, item in enumerate(bill.lines, start=1)
            ]
        )
        for payment in cleaned:
            payment.settlement = settlement
        Payment.objects.bulk_create(cleaned)
        if locked.status == S.READY_FOR_PICKUP:
            visit_transition(
                visit=locked,
                to=S.SETTLED,
                actor=actor,
                reason=_("invoice %(invoice)s") % {"invoice": settlement.invoice_number},
            )
        methods = "+".join(str(PaymentMethod(p.method).label) for p in cleaned) or "—"
        _timeline(
            locked,
            "delivery.settled",
            _("%(number)s: settled, invoice %(invoice)s, customer paid %(paid)s (%(methods)s)")
            % {
                "number": locked.number,
                "invoice": settlement.invoice_number,
                "paid": _yuan(paid),
                "methods": methods,
            },
            actor,
            settlement=settlement.pk,
        )
    return settlement


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
        locked_visit = _lock_visit(settlement.visit)
        locked = Settlement.objects.select_for_update().get(pk=settlement.pk)
        if locked.status != SettlementStatus.PAID:
            raise DomainError(_("This bill is void already."), code="already_void")
        if locked_visit.status in (S.DELIVERED, S.CLOSED):
            raise DomainError(
                _("The car has left: give a refund instead of voiding the bill."),
                code="delivered",
            )
        locked.status = SettlementStatus.VOIDED
        locked.voided_at = timezone.now()
        locked.voided_by = actor
        locked.void_reason = reason
        locked._change_reason = reason
        locked.save(update_fields=["status", "voided_at", "voided_by", "void_reason"])
        delivery = _delivery(locked_visit)
        if delivery.gate_pass_issued:
            delivery.gate_pass_number = ""
            delivery.gate_pass_issued_at = None
            delivery.gate_pass_issued_by = None
            _save(
                delivery,
                ["gate_pass_number", "gate_pass_issued_at", "gate_pass_issued_by"],
                reason="bill voided",
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
        locked_visit = _lock_visit(settlement.visit)
        locked = Settlement.objects.select_for_update().get(pk=settlement.pk)
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


# ---------------------------------------------------------------------------- gate pass


def gate_pass_issue(*, visit: Visit, actor: User) -> Delivery:
    """Issue the gate pass (出门证); only a settled bill earns one."""
    with transaction.atomic():
        locked = _lock_visit(visit)
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
        delivery.gate_pass_number = f"CM{settlement.invoice_number[2:]}"
        delivery.gate_pass_issued_at = timezone.now()
        delivery.gate_pass_issued_by = actor
        _save(
            delivery,
            ["gate_pass_number", "gate_pass_issued_at", "gate_pass_issued_by"],
            reason="gate pass",
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


def _schedule_followup(*, visit: Visit, actor: User) -> None:
    """The follow-up duties (24 h care call, 7-day advisor call), from the followup app."""
    try:
        module = importlib.import_module("followup.services")
    except ModuleNotFoundError as exc:
        if exc.name != "followup.services":
            raise
        logger.warning("followup.services missing: no follow-up scheduled for %s", visit.number)
        return
    schedule = getattr(module, "followup_schedule_after_delivery", None)
    if schedule is None:
        logger.warning("followup_schedule_after_delivery missing: none for %s", visit.number)
        return
    schedule(visit=visit, actor=actor)


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
) -> Visit:
    """The customer signs for the car on the tablet: the visit becomes delivered and the
    follow-up calls are scheduled, in one transaction."""
    signature_refuse_oversized(signature)  # before the row lock: a bomb must not hold it
    with transaction.atomic():
        locked = _lock_visit(visit)
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
        checks = (
            ("belongings_returned", belongings_returned, _("Give the customer their belongings.")),
            ("keys_returned", keys_returned, _("Give the customer the keys.")),
            (
                "covers_removed",
                covers_removed,
                _("Remove the protective covers in front of the customer."),
            ),
        )
        if delivery.old_parts_handling == OldPartsHandling.HANDED_OVER:
            checks += (
                (
                    "old_parts_returned",
                    old_parts_returned,
                    _("Hand the replaced parts to the customer, as agreed."),
                ),
            )
        for name, ok, message in checks:
            if not ok:
                raise DomainError(message, field=name, code="handback_incomplete")
        signer_name = (signer_name or "").strip()
        if not signer_name:
            raise DomainError(_("Enter the name of the person signing."), field="signer_name")
        png = signature_png(signature)
        now = timezone.now()
        delivery.handback_signature.save(png.name, png, save=False)
        delivery.handback_signer = signer_name
        delivery.belongings_returned = True
        delivery.keys_returned = True
        delivery.covers_removed = True
        delivery.old_parts_returned = delivery.old_parts_handling == OldPartsHandling.HANDED_OVER
        delivery.handed_back_at = now
        delivery.handed_back_by = actor
        _save(
            delivery,
            [
                "handback_signature",
                "handback_signer",
                "belongings_returned",
                "keys_returned",
                "covers_removed",
                "old_parts_returned",
                "handed_back_at",
                "handed_back_by",
            ],
            reason="handed back",
        )
        moved = visit_transition(
            visit=locked,
            to=S.DELIVERED,
            actor=actor,
            reason=_("signed for by %(name)s") % {"name": signer_name},
        )
        due_tasks_cancel_for(locked, kinds=[READY_NOTICE])
        _schedule_followup(visit=moved, actor=actor)
    _refresh_caller(visit, moved)
    return moved
