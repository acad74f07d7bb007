"""Reads of step 3 shared by the pages, the PDF and the API."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Prefetch, Q, QuerySet

from dealership.models import LabourOperation, Part
from reception.models import DamageMark, Visit
from reception.states import VisitStatus

from .models import JobType, OrderStatus, Payer, PricingMethod, WorkOrder, WorkOrderLine
from .promise import promise_suggestion_for


def order_queryset() -> QuerySet[WorkOrder]:
    return WorkOrder.objects.select_related(
        "visit__customer",
        "visit__vehicle",
        "visit__advisor",
        "visit__handed_over_to",
        "signed_by_advisor",
        "updated_by",
    ).prefetch_related(
        # A warranty line's claim comes with it (the order page shows its status).
        Prefetch(
            "lines",
            queryset=WorkOrderLine.objects.select_related("claim").order_by("position", "id"),
        ),
        Prefetch("visit__damage_marks", queryset=DamageMark.objects.order_by("id")),
        "visit__belongings",
    )


def order_detail(pk: int) -> WorkOrder:
    return order_queryset().get(pk=pk)


def current_order(visit: Visit) -> WorkOrder | None:
    """The newest revision of the visit's order (a draft being prepared, or the one in force)."""
    return visit.work_orders.order_by("-revision").first()


def order_in_force(visit: Visit) -> WorkOrder | None:
    """The signed revision the workshop works to."""
    return visit.work_orders.filter(status=OrderStatus.SIGNED).order_by("-revision").first()


def revisions(visit: Visit) -> list[WorkOrder]:
    return list(visit.work_orders.order_by("revision").only("id", "revision", "status", "visit_id"))


def promise_suggestion(order: WorkOrder, *, now: datetime | None = None) -> datetime:
    """When the car can be ready (see `workorders.promise`)."""
    return promise_suggestion_for(order, now=now).at


@dataclass
class LineGroup:
    label: str
    lines: list
    amount: Decimal


def grouped_lines(order: WorkOrder) -> list[LineGroup]:
    """Lines as priced: one group per system/symptom, or one group per line."""
    lines = list(order.lines.all())
    if not lines:
        return []
    if order.pricing_method == PricingMethod.PER_OPERATION:
        return [LineGroup(label="", lines=lines, amount=order.total)]
    groups: dict[str, list] = {}
    for line in lines:
        groups.setdefault(line.group or "—", []).append(line)
    return [
        LineGroup(label=label, lines=items, amount=sum((i.amount for i in items), Decimal("0")))
        for label, items in groups.items()
    ]


def totals_by_payer(order: WorkOrder) -> list[tuple[str, Decimal]]:
    amounts: dict[str, Decimal] = {}
    for line in order.lines.all():
        amounts[line.payer] = amounts.get(line.payer, Decimal("0")) + line.amount
    return [(Payer(p).label, amounts[p]) for p in Payer.values if p in amounts]


@dataclass
class CatalogueResults:
    operations: list
    parts: list


def catalogue_search(query: str, *, limit: int = 12) -> CatalogueResults:
    """Labour operations and parts by code, part number or name (Chinese or English)."""
    query = (query or "").strip()
    if not query:
        return CatalogueResults(operations=[], parts=[])
    op_q = Q(code__icontains=query) | Q(name_zh__icontains=query) | Q(name_en__icontains=query)
    part_q = (
        Q(part_number__icontains=query) | Q(name_zh__icontains=query) | Q(name_en__icontains=query)
    )
    return CatalogueResults(
        operations=list(LabourOperation.objects.filter(op_q, active=True).order_by("code")[:limit]),
        parts=list(Part.objects.filter(part_q, active=True).order_by("part_number")[:limit]),
    )


def last_maintenance_visits(vehicle_ids=None) -> Iterator[tuple[int, datetime, int | None]]:
    """(vehicle id, checked in at, odometer km) of each car's last maintenance visit.

    A maintenance visit is one (booked or walk-in, not cancelled) whose work order has a
    maintenance line; the maintenance invitations start from it (`appointments.visits`).
    `vehicle_ids` limits the read to those cars.
    """
    visits = Visit.objects.filter(work_orders__lines__job_type=JobType.MAINTENANCE)
    if vehicle_ids is not None:
        visits = visits.filter(vehicle_id__in=vehicle_ids)
    visits = (
        visits.exclude(status=VisitStatus.CANCELLED)
        .order_by("vehicle_id", "-checked_in_at")
        .values_list("vehicle_id", "checked_in_at", "odometer_km")
    )
    if connection.features.can_distinct_on_fields:
        return visits.distinct("vehicle_id").iterator(chunk_size=5000)
    return _first_of_each_vehicle(visits.iterator(chunk_size=5000))


def _first_of_each_vehicle(rows) -> Iterator[tuple[int, datetime, int | None]]:
    """The first row of each vehicle in rows ordered by vehicle: DISTINCT ON where the
    database has none (the embedded SQLite of `make run`)."""
    last = None
    for row in rows:
        if row[0] != last:
            last = row[0]
            yield row


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
