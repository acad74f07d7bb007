"""The fixed January data set of `test_figures.py`, with warranty claims (issue 16 item 3).

`add_warranty_claims` adds two visits settled in January:
* v7: a Toyota registered 2025-03-01 (within its 36 months / 100 000 km): a warranty labour
  line of ¥480.00 (1.5 h), its claim approved by the manufacturer for ¥450.00;
* v8: a car registered 2021-06-01 (its warranty ended 2024-06-01): a warranty part line of
  ¥360.00 the claims clerk let go as warranty, whose claim the manufacturer rejected before
  the bill: the customer paid the ¥360.00.
"""

from datetime import date
from decimal import Decimal

import pytest

from dealership.tests.factories import UserFactory, VehicleFactory
from delivery.models import Payment, SettlementLine
from reception.models import Visit
from reception.states import VisitStatus
from reports.figures import orders_by_work_type, period_figures, revenue_by_category
from workorders import claims
from workorders.models import JobType, LineKind, Payer, WorkOrder, WorkOrderLine

from .test_figures import JAN, NOW, at, bill, build_store, visit

pytestmark = pytest.mark.django_db


def _order_with_line(v, *, kind, hours, amount, status="signed") -> WorkOrderLine:
    order = WorkOrder.objects.create(visit=v, status=status)
    return WorkOrderLine.objects.create(
        order=order,
        position=1,
        kind=kind,
        job_type=JobType.WARRANTY,
        name_zh="保修项目",
        hours=Decimal(hours),
        quantity=1,
        unit_price=Decimal(amount),
    )


def _billed(settlement, line: WorkOrderLine) -> SettlementLine:
    return SettlementLine.objects.create(
        settlement=settlement,
        order_line_id=line.pk,
        kind=line.kind,
        job_type=line.job_type,
        payer=line.payer,
        name_zh=line.name_zh,
        hours=line.hours,
        quantity=line.quantity,
        unit_price=line.unit_price,
        discount_percent=0,
        gross=line.amount,
        amount=line.amount,
    )


def add_warranty_claims(store: dict) -> dict:
    """One approved and one rejected warranty claim on bills settled in January."""
    clerk = UserFactory(roles=["claims_clerk"])

    # v7: within warranty; the claim is approved for less than the line (the maker's rate).
    car = VehicleFactory(brand="丰田", registration_date=date(2025, 3, 1))
    store["v7"] = visit(at(2026, 1, 12), vehicle=car, odometer_km=12_000)
    line7 = _order_with_line(store["v7"], kind=LineKind.LABOUR, hours="1.5", amount="480.00")
    (claim7,) = claims.claims_follow_signing(line7.order)
    claims.claim_submit(claim=claim7, actor=clerk, number="TM-2026-0107")
    claims.claim_approve(claim=claim7, actor=clerk, amount="450.00")
    _billed(bill(store["v7"], at(2026, 1, 13, 15), []), line7)

    # v8: outside warranty; the clerk approved the line, the manufacturer rejected the claim
    # before the bill, so the customer pays the line.
    old_car = VehicleFactory(brand="丰田", registration_date=date(2021, 6, 1))
    store["v8"] = visit(
        at(2026, 1, 14), vehicle=old_car, odometer_km=88_000, status=VisitStatus.QC_PASSED
    )
    line8 = _order_with_line(
        store["v8"], kind=LineKind.PART, hours="0", amount="360.00", status="draft"
    )
    claims.warranty_line_approve(line=line8, actor=clerk)
    WorkOrder.objects.filter(pk=line8.order_id).update(status="signed")
    (claim8,) = claims.claims_follow_signing(line8.order)
    claims.claim_submit(claim=claim8, actor=clerk, number="TM-2026-0108")
    claims.claim_reject(
        claim=claim8, actor=clerk, reason="人为损坏，非质量问题", payer=Payer.CUSTOMER
    )
    Visit.objects.filter(pk=store["v8"].pk).update(status=VisitStatus.DELIVERED)
    line8.refresh_from_db()
    settlement8 = bill(store["v8"], at(2026, 1, 16, 15), [], customer="360.00")
    _billed(settlement8, line8)
    Payment.objects.create(settlement=settlement8, method="cash", amount=Decimal("360.00"))
    store["claims"] = {"approved": claim7, "rejected": claim8}
    return store


def test_january_with_an_approved_and_a_rejected_claim():
    store = build_store()
    before = period_figures(JAN, now=NOW)
    categories_before = revenue_by_category(JAN)
    add_warranty_claims(store)
    after = period_figures(JAN, now=NOW)

    assert after["repair_orders"] == 6  # 4 + v7 + v8
    assert after["checked_in"] == 7  # 5 + v7 + v8
    assert after["labour_revenue"] == Decimal("2190.00")  # 1710 + 480 (v7, the manufacturer's)
    assert after["parts_revenue"] == Decimal("3160.00")  # 2800 + 360 (v8, now the customer's)
    # 1200 from lines billed before claims existed + 450 approved on v7; v8's claim was rejected.
    assert after["warranty_revenue"] == Decimal("1650.00")
    assert after["payments_received"] == Decimal("360.00")  # 0 + v8's customer paid 360
    assert after["average_ticket"] == Decimal("891.67")  # (2190 + 3160 + 0) / 6 = 891.666…
    assert after["hours_sold"] == Decimal("9.00")  # 7.5 + 1.5
    # Two more walk-ins: arrived 2 ÷ (2 + 6 walk-ins) = 25 %.
    assert after["appointment_rate"] == Decimal("25.0")
    assert after["productivity"] == Decimal("163.6")  # 9.0 / 5.5
    changed = {key for key in after if after[key] != before[key]}
    assert changed == {
        "repair_orders",
        "checked_in",
        "labour_revenue",
        "parts_revenue",
        "warranty_revenue",
        "payments_received",
        "average_ticket",
        "hours_sold",
        "appointment_rate",
        "productivity",
    }

    types = {row["job_type"]: (row["orders"], row["amount"]) for row in orders_by_work_type(JAN)}
    assert types["warranty"] == (4, Decimal("2040.00"))  # v2, v3, v7, v8: 1200 + 480 + 360

    # Revenue by category stays balanced: what the customers' column gained is what they paid.
    categories = revenue_by_category(JAN)
    customers, manufacturer = 0, 1
    assert categories["totals"][customers] - categories_before["totals"][customers] == Decimal(
        "360.00"
    )
    assert categories["payments_received"] - categories_before["payments_received"] == Decimal(
        "360.00"
    )
    # The manufacturer is billed v7's line as charged (480); the report's warranty revenue
    # is what it approved (450).
    assert categories["totals"][manufacturer] - categories_before["totals"][manufacturer] == (
        Decimal("480.00")
    )
