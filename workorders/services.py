"""Writes of step 3: the draft order and its lines, signing, revisions.

A draft is edited with optimistic locking: every edit names the `version` it
started from and is refused when someone saved in between. A signed revision
is never edited; `work_order_revise` makes the next one.
"""

import hashlib
import json
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dealership.errors import DomainError
from dealership.models import LabourOperation, Part, User
from dealership.roles import Role, has_role
from dealership.rules import rule
from dealership.services import timeline_record
from reception.models import Visit
from reception.services import visit_progress_token, visit_promise_update, visit_transition
from reception.signatures import signature_png, signature_refuse_oversized
from reception.states import VisitStatus

from .models import (
    MANUAL_KINDS,
    JobType,
    LineKind,
    OrderStatus,
    Payer,
    PaymentMethod,
    PricingMethod,
    SignedVia,
    WorkOrder,
    WorkOrderLine,
)

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
ZERO = Decimal("0")


# ---------------------------------------------------------------------------- helpers


def _stale_error(order: WorkOrder) -> DomainError:
    who = order.updated_by or _("another user")
    when = timezone.localtime(order.updated_at).strftime("%H:%M")
    return DomainError(
        _(
            "%(who)s changed this order at %(when)s while you were editing. "
            "Reload the page to see their changes, then make yours again."
        )
        % {"who": who, "when": when},
        code="stale",
    )


def _lock(order: WorkOrder, expected_version: int | None) -> WorkOrder:
    locked = (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("visit", "updated_by")
        .get(pk=order.pk)
    )
    if expected_version is not None and int(expected_version) != locked.version:
        raise _stale_error(locked)
    return locked


def _lock_draft(order: WorkOrder, expected_version: int | None) -> WorkOrder:
    locked = _lock(order, expected_version)
    if locked.status != OrderStatus.DRAFT:
        raise DomainError(
            _("This order is signed and cannot be changed. Make a new revision instead."),
            code="order_signed",
        )
    return locked


def _touch(order: WorkOrder, actor: User | None, fields: list[str]) -> None:
    order.version += 1
    order.updated_at = timezone.now()
    order.updated_by = actor
    order.save(update_fields=[*fields, "version", "updated_at", "updated_by"])


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


# Bounds that keep a line and the order's totals inside their columns (12 digits).
MAX_QUANTITY = Decimal("9999")
MAX_UNIT_PRICE = Decimal("999999.99")
MAX_HOURS = Decimal("999")
MAX_ORDER_TOTAL = Decimal("99999999.99")


def _refuse_above(number: Decimal, limit: Decimal, *, field: str) -> None:
    if number > limit:
        raise DomainError(
            _("At most %(max)s here.") % {"max": f"{limit:,}"}, field=field, code="too_large"
        )


def _decimal(value, *, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError) as exc:
        raise DomainError(_("Enter a number."), field=field) from exc
    if not number.is_finite():
        raise DomainError(_("Enter a number."), field=field)
    return number


def _check_discount(percent: Decimal, actor: User | None) -> None:
    if percent < 0 or percent > 100:
        raise DomainError(_("A discount is between 0 and 100 %."), field="discount_percent")
    limit = rule("workorders.advisor_discount_limit_percent")
    if percent > limit and not _is_manager(actor):
        raise DomainError(
            _(
                "A discount above %(limit)s %% needs the service manager. "
                "Ask them to enter it, or lower the discount."
            )
            % {"limit": limit},
            field="discount_percent",
            code="discount_limit",
        )


def _is_manager(actor: User | None) -> bool:
    return bool(actor and has_role(actor, [Role.SERVICE_MANAGER]))


def _check_price_discount(
    *, list_price: Decimal, price: Decimal, percent: Decimal, allowed: Decimal, actor
) -> None:
    """A catalogue line priced below its list price is a discount, and counts with the
    line's discount against the advisor's limit (`allowed`: a discount already accepted
    on this line, e.g. a booked price, that an edit may keep but not deepen)."""
    if list_price <= 0 or price >= list_price or _is_manager(actor):
        return
    paid = price * (100 - percent) / 100
    total = ((list_price - paid) * 100 / list_price).quantize(Decimal("0.1"))
    limit = rule("workorders.advisor_discount_limit_percent")
    if total <= limit or total <= allowed:
        return
    raise DomainError(
        _(
            "A price of %(price)s below the list price %(list)s is a discount "
            "(%(total)s %% in all). An advisor may give up to %(limit)s %%; "
            "ask the service manager, or keep the list price."
        )
        % {"price": price, "list": list_price, "total": total, "limit": limit},
        field="unit_price",
        code="discount_limit",
    )


def _line_from_data(
    order: WorkOrder, actor: User | None, data: dict[str, Any], *, keep_other: bool = False
) -> WorkOrderLine:
    """Validate one line's data (catalogue or manual) and build it, unsaved.

    A hand-typed line says what it is (`MANUAL_KINDS`): labour is work for the
    workshop (it needs its standard hours and becomes a job), the other kinds
    are billed without a job. `keep_other`: an old line of kind "other" being
    edited keeps its kind; a new line never gets it.

    `list_price` (optional) replaces the catalogue price the discount rule compares with
    (a booked price); `accepted_discount` is a discount already on the line that an edit
    may keep.
    """
    data = dict(data)
    reference = data.pop("list_price", None)
    accepted = data.pop("accepted_discount", ZERO)
    kind = data.pop("kind", None)
    operation: LabourOperation | None = data.pop("operation", None)
    part: Part | None = data.pop("part", None)
    if kind is None:
        kind = LineKind.LABOUR if operation else LineKind.PART if part else ""
    manual = operation is None and part is None
    if manual and kind not in MANUAL_KINDS and not (keep_other and kind == LineKind.OTHER):
        raise DomainError(
            _(
                "Choose what the line is: labour (work for the workshop), part, fee, "
                "sublet or consumables."
            ),
            field="kind",
        )
    if kind not in LineKind.values:
        raise DomainError(_("Unknown kind of line."), field="kind")
    quantity = _decimal(data.pop("quantity", 1) or 0, field="quantity")
    if quantity <= 0:
        raise DomainError(_("The quantity must be more than zero."), field="quantity")
    _refuse_above(quantity, MAX_QUANTITY, field="quantity")
    discount = _decimal(data.pop("discount_percent", 0) or 0, field="discount_percent")
    _check_discount(discount, actor)
    job_type = data.pop("job_type", None) or JobType.REPAIR
    if job_type not in JobType.values:
        raise DomainError(_("Choose the work type."), field="job_type")
    line = WorkOrderLine(
        order=order,
        kind=kind,
        quantity=quantity,
        discount_percent=discount,
        job_type=job_type,
        group=(data.pop("group", "") or "").strip(),
        customer_supplied=bool(data.pop("customer_supplied", False)),
        non_genuine=bool(data.pop("non_genuine", False)),
        is_additional=bool(data.pop("is_additional", False)),
        manual_reason=(data.pop("manual_reason", "") or "").strip(),
    )
    unit_price = data.pop("unit_price", None)
    name = (data.pop("name", "") or "").strip()
    hours = data.pop("hours", None)
    if data:
        raise TypeError(f"unknown line fields: {sorted(data)}")
    if kind == LineKind.LABOUR and operation is not None:
        line.operation = operation
        line.code, line.name_zh, line.name_en = operation.code, operation.name_zh, operation.name_en
        line.hours = _decimal(operation.standard_hours if hours is None else hours, field="hours")
        price = list_price = Decimal(str(operation.price))
    elif kind == LineKind.PART and part is not None:
        line.part = part
        line.code, line.name_zh, line.name_en = part.part_number, part.name_zh, part.name_en
        price = list_price = ZERO if line.customer_supplied else Decimal(str(part.price))
    elif kind not in (LineKind.LABOUR, LineKind.PART) and not manual:
        raise DomainError(_("A catalogue item is labour or a part."), field="kind")
    else:
        if not name:
            raise DomainError(_("Describe the work on a manual line."), field="name")
        if not line.manual_reason:
            raise DomainError(
                _("Say why this line is not from the catalogue."), field="manual_reason"
            )
        if unit_price is None or unit_price == "":
            raise DomainError(_("Enter the price of a manual line."), field="unit_price")
        line.name_zh = name
        line.name_en = name
        line.hours = _decimal(hours or 0, field="hours")
        if kind == LineKind.LABOUR and line.hours <= 0:
            raise DomainError(
                _(
                    "Labour is work for the workshop: enter its standard hours, or choose "
                    "another kind if nobody in the workshop does it."
                ),
                field="hours",
            )
        price = list_price = ZERO
    if unit_price is not None and unit_price != "":
        price = _decimal(unit_price, field="unit_price")
    if price < 0:
        raise DomainError(_("A price cannot be negative."), field="unit_price")
    if reference is not None and not line.customer_supplied:
        list_price = min(list_price, Decimal(str(reference)))
    _check_price_discount(
        list_price=list_price, price=price, percent=discount, allowed=accepted, actor=actor
    )
    if line.hours < 0:
        raise DomainError(_("Hours cannot be negative."), field="hours")
    _refuse_above(price, MAX_UNIT_PRICE, field="unit_price")
    _refuse_above(line.hours, MAX_HOURS, field="hours")
    line.unit_price = price
    line.full_clean(exclude=["order"])
    return line


def _line_discount_percent(line: WorkOrderLine) -> Decimal:
    """How far below the catalogue list price the line is charged, in percent, all in."""
    catalogue = line.operation or line.part
    if catalogue is None or line.customer_supplied:
        return ZERO
    list_price = Decimal(str(catalogue.price))
    if list_price <= 0:
        return ZERO
    paid = line.unit_price * (100 - line.discount_percent) / 100
    return ((list_price - paid) * 100 / list_price).quantize(Decimal("0.1"))


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
        visit = Visit.objects.select_for_update(of=("self",)).get(pk=visit.pk)
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
            line = _line_from_data(order, actor, data)
            line.position = position
            line.save()
        order.save(update_fields=_recompute_totals(order))
    return order


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
        line = _line_from_data(locked, actor, data)
        line.position = _next_position(locked)
        line.save()
        _touch(locked, actor, _recompute_totals(locked))
    order.version = locked.version
    return line


def work_order_line_update(
    *, line: WorkOrderLine, actor: User, expected_version: int | None = None, **data: Any
) -> WorkOrderLine:
    """Change quantity, price, discount, work type, group or part flags of a draft's line."""
    unknown = set(data) - set(LINE_EDIT_FIELDS)
    if unknown:
        raise TypeError(f"unknown line fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = _lock_draft(line.order, expected_version)
        line = WorkOrderLine.objects.select_related("operation", "part").get(
            pk=line.pk, order=locked
        )
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
        merged["accepted_discount"] = _line_discount_percent(line)
        if line.part_id and bool(data.get("customer_supplied", line.customer_supplied)) != (
            line.customer_supplied
        ):
            # The customer brings the part (free) or no longer does (catalogue price again).
            merged["unit_price"] = None
        rebuilt = _line_from_data(locked, actor, merged, keep_other=line.kind == LineKind.OTHER)
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
            from .selectors import promise_suggestion

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
    order.version = locked.version
    return locked


# ---------------------------------------------------------------------------- signing


def work_order_content(order: WorkOrder) -> dict[str, Any]:
    """What the customer agreed to, as plain data: the content hash is taken over this."""
    visit = order.visit
    return {
        "number": order.number,
        "revision": order.revision,
        "customer": [visit.customer.name, visit.customer.mobile],
        "vehicle": [visit.vehicle.vin, visit.vehicle.plate or ""],
        "concern": visit.concern_text,
        "odometer_km": visit.odometer_km,
        "fuel_level": visit.fuel_level,
        "damage": [[m.kind, str(m.x), str(m.y), m.note] for m in visit.damage_marks.all()],
        "pricing_method": order.pricing_method,
        "payment_method": order.payment_method,
        "promised_at": order.promised_at.isoformat() if order.promised_at else None,
        "confirmations": [
            order.confirm_items,
            order.confirm_cost,
            order.confirm_time,
            order.keep_old_parts,
            order.wash,
        ],
        "lines": [
            [
                ln.kind,
                ln.code,
                ln.name_zh,
                str(ln.hours),
                str(ln.quantity),
                str(ln.unit_price),
                str(ln.discount_percent),
                ln.job_type,
                ln.group,
                ln.customer_supplied,
                ln.non_genuine,
            ]
            for ln in order.lines.order_by("position", "id")
        ],
        "total": str(order.total),
        "estimate_total": str(order.estimate_total),
        "signer": order.signer_name,
        "signed_at": order.signed_at.isoformat() if order.signed_at else None,
    }


def work_order_hash(order: WorkOrder) -> str:
    payload = json.dumps(work_order_content(order), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def work_order_is_intact(order: WorkOrder) -> bool:
    """True when a signed order still matches the hash stored at signing."""
    return bool(order.content_hash) and order.content_hash == work_order_hash(order)


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


def _refuse_incomplete(order: WorkOrder) -> None:
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


def _supersede_earlier(order: WorkOrder) -> None:
    WorkOrder.objects.filter(
        visit_id=order.visit_id, status=OrderStatus.SIGNED, revision__lt=order.revision
    ).update(status=OrderStatus.SUPERSEDED)


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
        visit = locked.visit
        _refuse_unconfirmed(
            confirm_items=confirm_items,
            confirm_cost=confirm_cost,
            confirm_time=confirm_time,
            keep_old_parts=keep_old_parts,
            wash=wash,
        )
        _refuse_incomplete(locked)
        if locked.revision == 1 and not visit.walkaround_signed:
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
        png = signature_png(signature)
        now = timezone.now()
        locked.confirm_items, locked.confirm_cost, locked.confirm_time = True, True, True
        locked.keep_old_parts, locked.wash = keep_old_parts, wash
        locked.signer_name = signer_name
        locked.signed_at = now
        locked.signed_via = SignedVia.TABLET
        locked.signed_by_advisor = actor
        locked.status = OrderStatus.SIGNED
        locked.signature.save(png.name, png, save=False)
        totals = _recompute_totals(locked)
        locked.content_hash = work_order_hash(locked)
        _touch(
            locked,
            actor,
            [
                *totals,
                "confirm_items",
                "confirm_cost",
                "confirm_time",
                "keep_old_parts",
                "wash",
                "signer_name",
                "signed_at",
                "signed_via",
                "signed_by_advisor",
                "status",
                "signature",
                "content_hash",
            ],
        )
        _supersede_earlier(locked)
        if locked.revision == 1:
            visit_transition(
                visit=visit,
                to=VisitStatus.ORDER_SIGNED,
                actor=actor,
                reason=_("work order signed"),
                promised_at=locked.promised_at,
            )
        elif visit.promised_at != locked.promised_at:
            visit_promise_update(
                visit=visit,
                actor=actor,
                promised_at=locked.promised_at,
                reason=locked.revision_reason,
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
    order.status, order.version = locked.status, locked.version
    return locked


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
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the order is revised."), field="reason")
    if signed_via and signed_via not in (SignedVia.PHONE, SignedVia.LINK):
        raise DomainError(_("Say how the customer approved."), field="signed_via")
    if signed_via and not (approval_note or "").strip():
        raise DomainError(_("Record what the customer said when approving."), field="approval_note")
    with transaction.atomic():
        locked = _lock(order, None)
        if locked.status != OrderStatus.SIGNED:
            raise DomainError(
                _("Only the signed order in force can be revised."), code="not_signed"
            )
        if WorkOrder.objects.filter(visit=locked.visit, revision__gt=locked.revision).exists():
            raise DomainError(
                _("A newer revision of this order exists already: continue with that one."),
                code="revision_exists",
            )
        visit = locked.visit
        if not visit.is_open:
            raise DomainError(_("This visit is closed; its order cannot be revised."))
        revision = WorkOrder.objects.create(
            visit=visit,
            revision=locked.revision + 1,
            revision_reason=reason,
            **{
                **{name: getattr(locked, name) for name in HEADER_FIELDS},
                **(
                    {"promised_at": promised_at, "promised_reason": promised_reason[:200]}
                    if promised_at is not None
                    else {}
                ),
            },
            suggested_promised_at=locked.suggested_promised_at,
            confirm_items=locked.confirm_items,
            confirm_cost=locked.confirm_cost,
            confirm_time=locked.confirm_time,
            keep_old_parts=locked.keep_old_parts,
            wash=locked.wash,
            created_by=actor,
            updated_by=actor,
        )
        copied = []
        for line in locked.lines.all():
            line.pk = None
            line.id = None
            line.order = revision
            copied.append(line)
        WorkOrderLine.objects.bulk_create(copied)
        position = len(copied)
        for data in add_lines:
            line = _line_from_data(revision, actor, {**data, "is_additional": True})
            position += 1
            line.position = position
            line.save()
        fields = _recompute_totals(revision)
        if signed_via:
            revision.status = OrderStatus.SIGNED
            revision.signed_via = signed_via
            revision.approval_note = approval_note.strip()
            revision.signer_name = visit.customer.name
            revision.signed_at = timezone.now()
            revision.signed_by_advisor = actor
            revision.content_hash = work_order_hash(revision)
            fields += [
                "status",
                "signed_via",
                "approval_note",
                "signer_name",
                "signed_at",
                "signed_by_advisor",
                "content_hash",
            ]
        revision.save(update_fields=fields)
        if signed_via:
            _supersede_earlier(revision)
        timeline_record(
            kind="workorder.revised",
            summary=_("Work order %(number)s revised: %(reason)s, estimate now ¥%(total)s")
            % {"number": revision.number, "reason": reason, "total": revision.estimate_total},
            customer=visit.customer,
            vehicle=visit.vehicle,
            subject=revision,
            actor=actor,
        )
    return revision
