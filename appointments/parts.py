"""Parts on a booking: reserved from stock, the rest on order, deposit for expensive ones.

Pure helpers shared by the booking service (on locked part rows) and the
booking page's estimate (on plain rows).
"""

from collections import OrderedDict
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone

from dealership.models import LabourOperation, MaintenancePlan, Part
from dealership.money import cents
from dealership.rules import rule

from .models import AppointmentLine, StockStatus
from .states import OPEN_STATUSES

ZERO = Decimal("0")


def merge_parts(parts: Iterable[tuple[Part, Decimal]]) -> "OrderedDict[int, list]":
    """{part id: [part, total quantity]}, in first-seen order, zero quantities dropped."""
    merged: OrderedDict[int, list] = OrderedDict()
    for part, quantity in parts:
        quantity = Decimal(quantity)
        if quantity <= 0:
            continue
        if part.pk in merged:
            merged[part.pk][1] += quantity
        else:
            merged[part.pk] = [part, quantity]
    return merged


def parts_reserved(part_ids: Iterable[int], *, exclude: int | None = None) -> dict[int, Decimal]:
    """Quantity of each part already reserved for open appointments."""
    rows = (
        AppointmentLine.objects.filter(
            part_id__in=list(part_ids),
            stock_status=StockStatus.RESERVED,
            appointment__status__in=OPEN_STATUSES,
        )
        .exclude(appointment_id=exclude)
        .values("part_id")
        .annotate(quantity=Sum("quantity"))
    )
    return {row["part_id"]: row["quantity"] for row in rows}


def split_part_lines(
    merged: "OrderedDict[int, list]", *, parts: Iterable[Part], expected_on: date | None
) -> list[AppointmentLine]:
    """Unsaved lines: what stock still allows is reserved, the rest to order by `expected_on`."""
    current = {part.pk: part for part in parts}
    reserved = parts_reserved(merged)
    expected_on = expected_on or timezone.localdate() + timedelta(
        days=rule("appointments.parts_lead_days")
    )
    lines = []
    for part_id, (given, quantity) in merged.items():
        part = current.get(part_id, given)
        available = max(Decimal(part.stock_on_hand) - reserved.get(part_id, ZERO), ZERO)
        take = min(available, quantity)
        if take:
            lines.append(
                AppointmentLine(
                    part=part, quantity=take, price=part.price, stock_status=StockStatus.RESERVED
                )
            )
        if quantity > take:
            lines.append(
                AppointmentLine(
                    part=part,
                    quantity=quantity - take,
                    price=part.price,
                    stock_status=StockStatus.TO_ORDER,
                    expected_on=expected_on,
                )
            )
    return lines


def deposit_for(lines: Iterable[AppointmentLine]) -> Decimal:
    """Deposit for expensive parts that must be ordered: the rule's percent of their price."""
    threshold = rule("appointments.deposit_part_price")
    percent = rule("appointments.deposit_percent")
    total = sum(
        (
            line.price * line.quantity
            for line in lines
            if line.part_id
            and line.stock_status == StockStatus.TO_ORDER
            and line.price >= threshold
        ),
        ZERO,
    )
    return cents(total * percent / 100)


def booking_operations(
    operations: Iterable[LabourOperation], plan: MaintenancePlan | None
) -> list[LabourOperation]:
    """The plan's operations then the chosen ones, each once."""
    seen: OrderedDict[int, LabourOperation] = OrderedDict()
    if plan is not None:
        for op in plan.operations.all():
            seen.setdefault(op.pk, op)
    for op in operations:
        seen.setdefault(op.pk, op)
    return list(seen.values())


def plan_parts(plan: MaintenancePlan | None) -> list[tuple[Part, Decimal]]:
    if plan is None:
        return []
    return [
        (row.part, row.quantity)
        for row in plan.maintenanceplanpart_set.select_related("part").order_by("id")
    ]
