"""Writes of step 3: the draft order and its lines, signing, revisions.

A draft is edited with optimistic locking: every edit names the `version` it
started from and is refused when someone saved in between. A signed revision
is never edited; `work_order_revise` makes the next one.
"""

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from appointments.models import Appointment, Campaign, CampaignKind
from appointments.recalls import recall_vins_complete
from dealership.errors import DomainError
from dealership.events import Event, publish
from dealership.models import User
from dealership.rules import rule
from dealership.services import timeline_record
from dealership.stored_text import StoredMessage
from dealership.text import REASON_MAX_LENGTH, clean_text
from dealership.transitions import lock_row, move, save_versioned
from reception.models import Visit
from reception.progress_push import visit_progress_token
from reception.services import visit_lock, visit_promise_update, visit_transition
from reception.signatures import signature_png, signature_refuse_oversized
from reception.states import VisitStatus

from .claims import claims_follow_signing, warranty_refuse_unapproved
from .lines import MAX_ORDER_TOTAL, ZERO, booked_line_data, line_build, line_discount_percent
from .models import (
    JobType,
    LineKind,
    Payer,
    PaymentMethod,
    PricingMethod,
    RepairWarrantyComeback,
    SignedVia,
    WorkOrder,
    WorkOrderLine,
)
from .selectors import promise_suggestion, work_order_hash
from .states import ORDER_STATES, OrderStatus

HEADER_FIELDS = (
    "pricing_method",
    "payment_method",
    "promised_at",
    "promised_reason",
    "followup_channel",
    "followup_time",
    "notes",
)
LINE_EDIT_FIELDS = (
    "quantity",
    "unit_price",
    "discount_percent",
    "job_type",
    "group",
    "customer_supplied",
    "non_genuine",
)


# ---------------------------------------------------------------------------- helpers


def _stale_message(order: WorkOrder) -> str:
    who = order.updated_by or _("another user")
    when = timezone.localtime(order.updated_at).strftime("%H:%M")
    return _(
        "%(who)s changed this order at %(when)s while you were editing. "
        "Reload the page to see their changes, then make yours again."
    ) % {"who": who, "when": when}


def _lock_draft(order: WorkOrder, expected_version: int | None) -> WorkOrder:
    """The draft under a row lock; a signed order, or a stale copy of it, is refused."""
    locked = lock_row(
        order,
        related=("visit", "updated_by"),
        expected_version=expected_version,
        stale=_stale_message,
    )
    if locked.status != OrderStatus.DRAFT:
        raise DomainError(
            _("This order is signed and cannot be changed. Make a new revision instead."),
            code="order_signed",
        )
    return locked


def _touch(order: WorkOrder, actor: User | None, fields: list[str]) -> None:
    """Save an edit of the order: `fields`, who made it and when, the version raised."""
    order.updated_at = timezone.now()
    order.updated_by = actor
    save_versioned(order, [*fields, "updated_at", "updated_by"])


def _recompute_totals(order: WorkOrder) -> list[str]:
    lines = list(order.lines.all())
    order.labour_total = sum((ln.amount for ln in lines if ln.kind != LineKind.PART), ZERO)
    order.parts_total = sum((ln.amount for ln in lines if ln.kind == LineKind.PART), ZERO)
    order.discount_total = sum((ln.discount for ln in lines), ZERO)
    order.total = order.labour_total + order.parts_total
    order.estimate_total = sum((ln.amount for ln in lines if ln.payer == Payer.CUSTOMER), ZERO)
    order.vat_rate = rule("store.vat_rate")
    if order.total > MAX_ORDER_TOTAL:
        raise DomainError(
            _("The order would come to more than ¥%(max)s; check the quantities and prices.")
            % {"max": f"{MAX_ORDER_TOTAL:,}"},
            code="total_too_large",
        )
    return ["labour_total", "parts_total", "discount_total", "total", "estimate_total", "vat_rate"]


def _next_position(order: WorkOrder) -> int:
    last = order.lines.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 1


# ---------------------------------------------------------------------------- drafts


def work_order_start(
    *, visit: Visit, actor: User, lines: list[dict[str, Any]] | tuple = ()
) -> WorkOrder:
    """Open the draft order of a checked-in visit (with lines, e.g. from the booking).

    Returns the existing draft when there is one.
    """
    with transaction.atomic():
        visit = visit_lock(visit)
        existing = visit.work_orders.order_by("-revision").first()
        if existing is not None:
            return existing
        if visit.status != VisitStatus.CHECKED_IN:
            raise DomainError(_("Only a checked-in visit gets a new work order."))
        order = WorkOrder.objects.create(
            visit=visit,
            revision=1,
            followup_channel=visit.customer.preferred_channel,
            followup_time=visit.customer.preferred_contact_time,
            created_by=actor,
            updated_by=actor,
            vat_rate=rule("store.vat_rate"),
        )
        for position, data in enumerate(lines, start=1):
            line = line_build(order, actor, data)
            line.position = position
            line.save()
        order.save(update_fields=_recompute_totals(order))
    return order


def work_order_from_booking(*, visit: Visit, appointment: Appointment, actor: User) -> WorkOrder:
    """The draft order of a booked car just checked in, with the booking's lines.

    Runs inside the check-in's transaction (registered with reception in
    `WorkordersConfig.ready`).
    """
    lines = [booked_line_data(line) for line in appointment.lines.all()]
    return work_order_start(visit=visit, actor=actor, lines=lines)


def work_order_line_add(
    *, order: WorkOrder, actor: User, expected_version: int | None = None, **data: Any
) -> WorkOrderLine:
    """Add a labour, part or manual line to a draft.

    `data`: kind, operation or part (catalogue) or name + manual_reason +
    unit_price (manual), quantity, unit_price (overrides the catalogue),
    discount_percent (advisor limit applies), job_type, group,
    customer_supplied, non_genuine, hours.
    """
    with transaction.atomic():
        locked = _lock_draft(order, expected_version)
        line = line_build(locked, actor, data)
        line.job_type = _job_type_on_warranty_comeback(locked, line.job_type)
        line.position = _next_position(locked)
        line.save()
        _touch(locked, actor, _recompute_totals(locked))
    order.version = locked.version
    return line


def _job_type_on_warranty_comeback(order: WorkOrder, job_type: str) -> str:
    """A confirmed comeback within the store's repair warranty (`repair_warranty`): a new
    line the customer would pay goes to the store; the advisor may change it afterwards."""
    if job_type in (JobType.MAINTENANCE, JobType.REPAIR) and (
        RepairWarrantyComeback.objects.filter(visit_id=order.visit_id).exists()
    ):
        return JobType.INTERNAL
    return job_type


def _refuse_leaving_the_store_without_reason(
    order: WorkOrder, line: WorkOrderLine, data: dict, reason: str, actor: User
) -> None:
    """On a confirmed warranty comeback the store pays: a line moved off the store's account
    says why, and the reason goes on the visit's timeline."""
    to = data.get("job_type", line.job_type)
    if line.job_type != JobType.INTERNAL or to == JobType.INTERNAL or to not in JobType.values:
        return
    if not RepairWarrantyComeback.objects.filter(visit_id=order.visit_id).exists():
        return
    reason = clean_text(reason, field="job_type_reason", max_length=REASON_MAX_LENGTH)
    if not reason:
        raise DomainError(
            _(
                "This is a comeback within our repair warranty: say why this line is not "
                "billed to the store."
            ),
            field="job_type_reason",
            code="reason_required",
        )
    visit = order.visit
    timeline_record(
        kind="order.line_off_warranty",
        summary=StoredMessage(
            gettext_noop("%(number)s: line %(line)s billed as %(job_type)s, not to the store: "),
            suffix=reason,
            number=visit.number,
            line=line.code or line.name_zh,
            job_type=JobType(to).label,
        ),
        customer=visit.customer,
        vehicle=visit.vehicle,
        subject=visit,
        actor=actor,
    )


def work_order_line_update(
    *,
    line: WorkOrderLine,
    actor: User,
    expected_version: int | None = None,
    job_type_reason: str = "",
    **data: Any,
) -> WorkOrderLine:
    """Change quantity, price, discount, work type, group or part flags of a draft's line.

    `job_type_reason`: why a line of a warranty comeback stops being the store's."""
    unknown = set(data) - set(LINE_EDIT_FIELDS)
    if unknown:
        raise TypeError(f"unknown line fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = _lock_draft(line.order, expected_version)
        line = WorkOrderLine.objects.select_related("operation", "part").get(
            pk=line.pk, order=locked
        )
        _refuse_leaving_the_store_without_reason(locked, line, data, job_type_reason, actor)
        merged = {
            "kind": line.kind,
            "operation": line.operation,
            "part": line.part,
            "name": line.name_zh,
            "manual_reason": line.manual_reason,
            "hours": line.hours,
            "is_additional": line.is_additional,
            **{name: getattr(line, name) for name in LINE_EDIT_FIELDS},
            **data,
        }
        # An edit may keep the discount the line already has (a booked price, a manager's
        # price) but not deepen it past the advisor's limit.
        merged["accepted_discount"] = line_discount_percent(line)
        if line.part_id and bool(data.get("customer_supplied", line.customer_supplied)) != (
            line.customer_supplied
        ):
            # The customer brings the part (free) or no longer does (catalogue price again).
            merged["unit_price"] = None
        rebuilt = line_build(locked, actor, merged, keep_other=line.kind == LineKind.OTHER)
        rebuilt.pk, rebuilt.position = line.pk, line.position
        rebuilt.save()
        _touch(locked, actor, _recompute_totals(locked))
    line.order.version = locked.version
    return rebuilt


def work_order_line_remove(
    *, line: WorkOrderLine, actor: User, expected_version: int | None = None
) -> None:
    """Take a line off a draft."""
    with transaction.atomic():
        locked = _lock_draft(line.order, expected_version)
        WorkOrderLine.objects.filter(pk=line.pk, order=locked).delete()
        _touch(locked, actor, _recompute_totals(locked))
    line.order.version = locked.version


def work_order_update(
    *, order: WorkOrder, actor: User, expected_version: int | None = None, **data: Any
) -> WorkOrder:
    """Edit a draft's terms: pricing method, payment method, promised time, follow-up, remarks.

    A promised time far from the suggestion (rule `workorders.promise_change_minutes`)
    needs a reason.
    """
    unknown = set(data) - set(HEADER_FIELDS)
    if unknown:
        raise TypeError(f"unknown order fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = _lock_draft(order, expected_version)
        if data.get("pricing_method", locked.pricing_method) not in PricingMethod.values:
            raise DomainError(_("Choose how the order is priced."), field="pricing_method")
        payment = data.get("payment_method", locked.payment_method)
        if payment and payment not in PaymentMethod.values:
            raise DomainError(_("Choose the payment method."), field="payment_method")
        promised = data.get("promised_at", locked.promised_at)
        reason = (data.get("promised_reason", locked.promised_reason) or "").strip()
        data["promised_reason"] = reason
        if promised is not None:
            if promised <= timezone.now():
                raise DomainError(_("The promised time is in the past."), field="promised_at")
            suggested = locked.suggested_promised_at or promise_suggestion(locked)
            tolerance = rule("workorders.promise_change_minutes") * 60
            if abs((promised - suggested).total_seconds()) > tolerance and not reason:
                raise DomainError(
                    _(
                        "The workshop's load suggests %(time)s. Give the reason for "
                        "promising a different time."
                    )
                    % {"time": timezone.localtime(suggested).strftime("%m-%d %H:%M")},
                    field="promised_reason",
                    code="promise_reason",
                )
            data["suggested_promised_at"] = suggested
        changes = {name: value for name, value in data.items() if getattr(locked, name) != value}
        if not changes:
            return locked
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["visit", "signature"])
        _touch(locked, actor, list(changes))
        if (
            promised is not None
            and promised != suggested
            and reason
            and changes.keys()
            & {
                "promised_at",
                "promised_reason",
            }
        ):
            _promise_override_record(locked, actor, suggested)
    order.version = locked.version
    return locked


def _promise_override_record(order: WorkOrder, actor: User, suggested: datetime) -> None:
    """The advisor promised another time than the suggestion: the timeline keeps why."""
    visit = order.visit
    timeline_record(
        kind="order.promise_override",
        summary=StoredMessage(
            gettext_noop(
                "%(number)s: promised %(time)s instead of the suggested %(suggested)s (%(reason)s)"
            ),
            number=visit.number,
            reason=order.promised_reason,
            time=timezone.localtime(order.promised_at).strftime("%Y-%m-%d %H:%M"),
            suggested=timezone.localtime(suggested).strftime("%Y-%m-%d %H:%M"),
        ),
        customer=visit.customer,
        vehicle=visit.vehicle,
        subject=visit,
        actor=actor,
        data={"reason": order.promised_reason, "suggested": suggested.isoformat()},
    )


# ---------------------------------------------------------------------------- signing


def _refuse_unconfirmed(
    *,
    confirm_items: bool,
    confirm_cost: bool,
    confirm_time: bool,
    keep_old_parts: bool | None,
    wash: bool | None,
) -> None:
    checks = [
        ("confirm_items", confirm_items, _("Confirm the items with the customer.")),
        ("confirm_cost", confirm_cost, _("Confirm the estimated cost with the customer.")),
        ("confirm_time", confirm_time, _("Confirm the time needed and the promised time.")),
        (
            "keep_old_parts",
            keep_old_parts is not None,
            _("Ask whether the customer keeps the replaced parts."),
        ),
        ("wash", wash is not None, _("Ask whether the car should be washed.")),
    ]
    for field, ok, message in checks:
        if not ok:
            raise DomainError(message, field=field, code="confirmation_missing")


def _refuse_unsignable(order: WorkOrder, signer_name: str) -> str:
    """Refuse an order the customer cannot sign yet; return the signer's name, trimmed."""
    if not order.lines.exists():
        raise DomainError(
            _("An empty order cannot be signed: add at least one job."), code="empty_order"
        )
    if not order.payment_method:
        raise DomainError(
            _("Choose the payment method on the order before signing."), field="payment_method"
        )
    if order.promised_at is None:
        raise DomainError(
            _("Set the promised delivery time on the order before signing."), field="promised_at"
        )
    visit = order.visit
    if order.revision == 1 and not visit.walkaround_signed:
        raise DomainError(
            _("The customer signs the walk-around first."), code="walkaround_unsigned"
        )
    if not visit.is_open:
        raise DomainError(_("This visit is closed; its order cannot be signed."))
    if not visit.vehicle.vin:
        raise DomainError(
            _(
                "The car's VIN is still missing: complete it from the registration "
                "(行驶证) on the vehicle page before the customer signs."
            ),
            code="vin_missing",
        )
    signer_name = (signer_name or "").strip()
    if not signer_name:
        raise DomainError(_("Enter the name of the person signing."), field="signer_name")
    return signer_name


def _supersede_earlier(order: WorkOrder) -> None:
    """The revision just signed replaces the signed one it revises."""
    earlier = WorkOrder.objects.filter(
        visit_id=order.visit_id, status=OrderStatus.SIGNED, revision__lt=order.revision
    )
    for row in earlier:
        replaced = lock_row(row)
        move(ORDER_STATES, replaced, OrderStatus.SUPERSEDED, save=False)
        # Not an edit of its content: the version stays, so a page still open on it
        # is told the order is signed, not that someone else changed it.
        replaced._change_reason = f"replaced by revision {order.revision}"
        replaced.save(update_fields=["status"])


def _sign_on_tablet(
    order: WorkOrder,
    actor: User,
    *,
    signature: str | bytes,
    signer_name: str,
    keep_old_parts: bool | None,
    wash: bool | None,
) -> None:
    """Freeze the draft as signed: the five confirmations, the signature, the content hash."""
    png = signature_png(signature)
    changes = {
        "confirm_items": True,
        "confirm_cost": True,
        "confirm_time": True,
        "keep_old_parts": keep_old_parts,
        "wash": wash,
        "signer_name": signer_name,
        "signed_via": SignedVia.TABLET,
        "signed_by_advisor": actor,
    }
    move(ORDER_STATES, order, OrderStatus.SIGNED, changes=changes, save=False)
    order.signature.save(png.name, png, save=False)
    totals = _recompute_totals(order)
    order.content_hash = work_order_hash(order)
    _touch(order, actor, [*totals, *changes, "status", "signed_at", "signature", "content_hash"])


def _visit_follows_signing(order: WorkOrder, actor: User) -> None:
    """The first revision signed moves the visit on; a later one may move its promise."""
    visit = order.visit
    if order.revision == 1:
        visit_transition(
            visit=visit,
            to=VisitStatus.ORDER_SIGNED,
            actor=actor,
            reason=_("work order signed"),
            promised_at=order.promised_at,
        )
    elif visit.promised_at != order.promised_at:
        visit_promise_update(
            visit=visit, actor=actor, promised_at=order.promised_at, reason=order.revision_reason
        )


def work_order_sign(
    *,
    order: WorkOrder,
    actor: User,
    signature: str | bytes,
    signer_name: str,
    confirm_items: bool,
    confirm_cost: bool,
    confirm_time: bool,
    keep_old_parts: bool | None,
    wash: bool | None,
    expected_version: int | None = None,
) -> WorkOrder:
    """The customer signs the order on the tablet after the five confirmations.

    The order is frozen (content hash stored). The first revision moves the
    visit to `order_signed`; a later one replaces the revision it revises.
    """
    signature_refuse_oversized(signature)  # before the row lock: a bomb must not hold it
    with transaction.atomic():
        locked = _lock_draft(order, expected_version)
        _refuse_unconfirmed(
            confirm_items=confirm_items,
            confirm_cost=confirm_cost,
            confirm_time=confirm_time,
            keep_old_parts=keep_old_parts,
            wash=wash,
        )
        signer_name = _refuse_unsignable(locked, signer_name)
        warranty_refuse_unapproved(locked)
        _sign_on_tablet(
            locked,
            actor,
            signature=signature,
            signer_name=signer_name,
            keep_old_parts=keep_old_parts,
            wash=wash,
        )
        _supersede_earlier(locked)
        claims_follow_signing(locked)
        _visit_follows_signing(locked, actor)
        visit = locked.visit
        recall_vins_complete(
            vin=visit.vehicle.vin or "",
            operation_ids=locked.lines.values_list("operation_id", flat=True),
            order_number=locked.number,
        )
        visit_progress_token(visit=visit, actor=actor)
        timeline_record(
            kind="workorder.signed",
            summary=_("Work order %(number)s signed by %(name)s, estimate ¥%(total)s")
            % {"number": locked.number, "name": signer_name, "total": locked.estimate_total},
            customer=visit.customer,
            vehicle=visit.vehicle,
            subject=locked,
            actor=actor,
        )
        publish(
            Event.ORDER_SIGNED,
            visit_id=visit.pk,
            data={"order": locked.pk, "number": locked.number, "revision": locked.revision},
        )
    order.status, order.version = locked.status, locked.version
    return locked


def _refuse_revision_request(reason: str, signed_via: str, approval_note: str) -> str:
    """Refuse a revision without its reason or a consent without its record; return the reason."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the order is revised."), field="reason")
    if signed_via and signed_via not in (SignedVia.PHONE, SignedVia.LINK):
        raise DomainError(_("Say how the customer approved."), field="signed_via")
    if signed_via and not (approval_note or "").strip():
        raise DomainError(_("Record what the customer said when approving."), field="approval_note")
    return reason


def _refuse_unrevisable(order: WorkOrder) -> None:
    if order.status != OrderStatus.SIGNED:
        raise DomainError(_("Only the signed order in force can be revised."), code="not_signed")
    if WorkOrder.objects.filter(visit=order.visit, revision__gt=order.revision).exists():
        raise DomainError(
            _("A newer revision of this order exists already: continue with that one."),
            code="revision_exists",
        )
    if not order.visit.is_open:
        raise DomainError(_("This visit is closed; its order cannot be revised."))


def _revision_create(
    order: WorkOrder,
    actor: User,
    *,
    reason: str,
    promised_at: datetime | None,
    promised_reason: str,
) -> WorkOrder:
    """The next revision, a draft with the signed one's terms and confirmations."""
    terms = {name: getattr(order, name) for name in HEADER_FIELDS}
    if promised_at is not None:
        terms.update(promised_at=promised_at, promised_reason=promised_reason[:200])
    return WorkOrder.objects.create(
        visit=order.visit,
        revision=order.revision + 1,
        revision_reason=reason,
        **terms,
        suggested_promised_at=order.suggested_promised_at,
        confirm_items=order.confirm_items,
        confirm_cost=order.confirm_cost,
        confirm_time=order.confirm_time,
        keep_old_parts=order.keep_old_parts,
        wash=order.wash,
        created_by=actor,
        updated_by=actor,
    )


def _lines_carry_over(
    order: WorkOrder, revision: WorkOrder, actor: User, add_lines: list[dict[str, Any]] | tuple
) -> None:
    """Copy the signed revision's lines into the new one, then add the additional work."""
    copied = []
    for line in order.lines.all():
        line.pk = None
        line.id = None
        line.order = revision
        copied.append(line)
    WorkOrderLine.objects.bulk_create(copied)
    position = len(copied)
    for data in add_lines:
        line = line_build(revision, actor, {**data, "is_additional": True})
        position += 1
        line.position = position
        line.save()


def _sign_on_approval(
    revision: WorkOrder, actor: User, *, signed_via: str, approval_note: str
) -> list[str]:
    """The customer consented by phone or link: the revision is signed at once."""
    changes = {
        "signed_via": signed_via,
        "approval_note": approval_note.strip(),
        "signer_name": revision.visit.customer.name,
        "signed_by_advisor": actor,
    }
    move(ORDER_STATES, revision, OrderStatus.SIGNED, changes=changes, save=False)
    revision.content_hash = work_order_hash(revision)
    return [*changes, "status", "signed_at", "content_hash"]


def work_order_revise(
    *,
    order: WorkOrder,
    actor: User,
    reason: str,
    add_lines: list[dict[str, Any]] | tuple = (),
    signed_via: str = "",
    approval_note: str = "",
    promised_at: datetime | None = None,
    promised_reason: str = "",
) -> WorkOrder:
    """Make the next revision of a signed order, e.g. for approved additional work.

    `promised_at` (with `promised_reason`) is the promise the customer agreed to with
    this revision; without it the signed revision's promise carries over.

    The new revision copies the signed one's terms and lines and adds
    `add_lines` (same keys as `work_order_line_add`), flagged as additional.
    With `signed_via` "phone" or "link" and the customer's `approval_note`, the
    customer has already consented: the revision is signed at once and
    replaces the earlier one. Without it, it is a draft the customer signs at
    the desk (the earlier revision stays in force until then).
    """
    reason = _refuse_revision_request(reason, signed_via, approval_note)
    with transaction.atomic():
        locked = lock_row(order, related=("visit", "updated_by"))
        _refuse_unrevisable(locked)
        revision = _revision_create(
            locked, actor, reason=reason, promised_at=promised_at, promised_reason=promised_reason
        )
        _lines_carry_over(locked, revision, actor, add_lines)
        fields = _recompute_totals(revision)
        if signed_via:
            warranty_refuse_unapproved(revision)
            fields += _sign_on_approval(
                revision, actor, signed_via=signed_via, approval_note=approval_note
            )
        revision.save(update_fields=fields)
        if signed_via:
            _supersede_earlier(revision)
            claims_follow_signing(revision)
        visit = locked.visit
        timeline_record(
            kind="workorder.revised",
            summary=_("Work order %(number)s revised: %(reason)s, estimate now ¥%(total)s")
            % {"number": revision.number, "reason": reason, "total": revision.estimate_total},
            customer=visit.customer,
            vehicle=visit.vehicle,
            subject=revision,
            actor=actor,
        )
        if signed_via:
            # Consent by phone or link (an approved addition too) signs the revision:
            # the same event as a signature at the desk.
            publish(
                Event.ORDER_SIGNED,
                visit_id=visit.pk,
                data={
                    "order": revision.pk,
                    "number": revision.number,
                    "revision": revision.revision,
                },
            )
    return revision


def work_order_campaign_add(*, visit: Visit, campaign: Campaign, actor: User) -> WorkOrderLine:
    """The campaign's labour operation added to the visit's draft order in one tap.

    A recall is the brand's (warranty, paid by the manufacturer); a service campaign is
    ordinary maintenance. Refused when the campaign names no operation, the order is
    signed, or the operation is on the order already.
    """
    if campaign.labour_operation_id is None:
        raise DomainError(_("This campaign names no labour operation to add."), code="no_operation")
    order = work_order_start(visit=visit, actor=actor)  # the draft, opened if none yet
    if not order.is_draft:
        raise DomainError(
            _("The work order is signed; revise it to add the campaign's work."), code="signed"
        )
    if order.lines.filter(operation_id=campaign.labour_operation_id).exists():
        raise DomainError(_("The campaign's work is on the order already."), code="on_order")
    recall = campaign.kind == CampaignKind.RECALL
    line = work_order_line_add(
        order=order,
        actor=actor,
        operation=campaign.labour_operation,
        job_type=JobType.WARRANTY if recall else JobType.MAINTENANCE,
        group=campaign.code,
    )
    if recall:
        # The brand pays a recall whatever the car's age: its campaign is the approval the
        # claims clerk would otherwise give an out-of-warranty line.
        line.warranty_approved_by, line.warranty_approved_at = actor, timezone.now()
        line._change_reason = f"recall campaign {campaign.code}"
        line.save(update_fields=["warranty_approved_by", "warranty_approved_at"])
    return line
