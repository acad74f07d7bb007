"""A work order's line, built and checked from what the advisor typed or the booking held.

Catalogue lines copy the labour operation's or the part's code, names, hours and list
price; hand-typed lines say what they are and why. A price below the list price is a
discount and counts against the advisor's limit. The bounds keep a line and the
order's totals inside their columns.
"""

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from appointments.models import AppointmentLine
from dealership.errors import DomainError
from dealership.models import LabourOperation, Part, User
from dealership.roles import Role, has_role
from dealership.rules import rule

from .models import MANUAL_KINDS, JobType, LineKind, WorkOrder, WorkOrderLine

ZERO = Decimal("0")

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


def _below_list_percent(*, list_price: Decimal, price: Decimal, discount: Decimal) -> Decimal:
    """How far below `list_price` a line priced `price`, less `discount` %, is charged, all in."""
    paid = price * (100 - discount) / 100
    return ((list_price - paid) * 100 / list_price).quantize(Decimal("0.1"))


def _check_price_discount(
    *, list_price: Decimal, price: Decimal, percent: Decimal, allowed: Decimal, actor
) -> None:
    """A catalogue line priced below its list price is a discount, and counts with the
    line's discount against the advisor's limit (`allowed`: a discount already accepted
    on this line, e.g. a booked price, that an edit may keep but not deepen)."""
    if list_price <= 0 or price >= list_price or _is_manager(actor):
        return
    total = _below_list_percent(list_price=list_price, price=price, discount=percent)
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


def _line_kind(
    kind: str | None, operation: LabourOperation | None, part: Part | None, *, keep_other: bool
) -> str:
    """The line's kind: the catalogue item's, or the one a hand-typed line must name."""
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
    return kind


def _line_quantity(value) -> Decimal:
    quantity = _decimal(value or 0, field="quantity")
    if quantity <= 0:
        raise DomainError(_("The quantity must be more than zero."), field="quantity")
    _refuse_above(quantity, MAX_QUANTITY, field="quantity")
    return quantity


def _describe_manual(line: WorkOrderLine, *, name: str, hours, unit_price) -> None:
    """A hand-typed line: its words, why it is not from the catalogue, its price and hours."""
    if not name:
        raise DomainError(_("Describe the work on a manual line."), field="name")
    if not line.manual_reason:
        raise DomainError(_("Say why this line is not from the catalogue."), field="manual_reason")
    if unit_price is None or unit_price == "":
        raise DomainError(_("Enter the price of a manual line."), field="unit_price")
    line.name_zh = name
    line.name_en = name
    line.hours = _decimal(hours or 0, field="hours")
    if line.kind == LineKind.LABOUR and line.hours <= 0:
        raise DomainError(
            _(
                "Labour is work for the workshop: enter its standard hours, or choose "
                "another kind if nobody in the workshop does it."
            ),
            field="hours",
        )


def _describe(
    line: WorkOrderLine,
    *,
    operation: LabourOperation | None,
    part: Part | None,
    name: str,
    hours,
    unit_price,
) -> Decimal:
    """Fill in the line's code, names and hours; return its list price (zero if typed)."""
    if line.kind == LineKind.LABOUR and operation is not None:
        line.operation = operation
        line.code, line.name_zh, line.name_en = operation.code, operation.name_zh, operation.name_en
        line.hours = _decimal(operation.standard_hours if hours is None else hours, field="hours")
        return Decimal(str(operation.price))
    if line.kind == LineKind.PART and part is not None:
        line.part = part
        line.code, line.name_zh, line.name_en = part.part_number, part.name_zh, part.name_en
        return ZERO if line.customer_supplied else Decimal(str(part.price))
    if line.kind == LineKind.FEE and operation is not None:
        # A fee from the catalogue (the diagnosis fee): billed, never a job for the workshop.
        line.operation = operation
        line.code, line.name_zh, line.name_en = operation.code, operation.name_zh, operation.name_en
        line.hours = ZERO
        return Decimal(str(operation.price))
    if line.kind not in (LineKind.LABOUR, LineKind.PART) and (operation or part):
        raise DomainError(_("A catalogue item is labour or a part."), field="kind")
    _describe_manual(line, name=name, hours=hours, unit_price=unit_price)
    return ZERO


def line_build(
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
    operation: LabourOperation | None = data.pop("operation", None)
    part: Part | None = data.pop("part", None)
    kind = _line_kind(data.pop("kind", None), operation, part, keep_other=keep_other)
    quantity = _line_quantity(data.pop("quantity", 1))
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
    list_price = _describe(
        line, operation=operation, part=part, name=name, hours=hours, unit_price=unit_price
    )
    price = list_price
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


def line_discount_percent(line: WorkOrderLine) -> Decimal:
    """How far below the catalogue list price the line is charged, in percent, all in."""
    catalogue = line.operation or line.part
    if catalogue is None or line.customer_supplied:
        return ZERO
    list_price = Decimal(str(catalogue.price))
    if list_price <= 0:
        return ZERO
    return _below_list_percent(
        list_price=list_price, price=line.unit_price, discount=line.discount_percent
    )


def booked_line_data(line: AppointmentLine) -> dict[str, Any]:
    """A booking's line as a draft order's line: at the price booked."""
    job_type = JobType.MAINTENANCE if line.work_type == "maintenance" else JobType.REPAIR
    if line.operation_id:
        return {
            "kind": LineKind.LABOUR,
            "operation": line.operation,
            "quantity": line.quantity,
            "unit_price": line.price,
            "list_price": line.price,  # the price booked is the one to compare with
            "job_type": job_type,
        }
    return {
        "kind": LineKind.PART,
        "part": line.part,
        "quantity": line.quantity,
        "unit_price": line.price,
        "list_price": line.price,
        "job_type": job_type,
    }
