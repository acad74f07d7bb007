"""The January data set of `test_figures` with one car diagnosed and not repaired (issue 16
item 2): the customer declined the estimate and paid the ¥150 diagnosis fee. Every figure it
changes is worked out by hand below; every other figure stays as `test_figures` has it."""

from decimal import Decimal

import pytest

from delivery.models import Payment
from reception.models import DeclinedWork, NotRepairedReason
from reports.figures import period_figures, revenue_by_category
from workorders.models import JobType, LineKind

from .test_figures import JAN, NOW, at, bill, build_store, visit

pytestmark = pytest.mark.django_db

FEE = Decimal("150.00")


def add_diagnosis_fee(store: dict) -> dict:
    """Visit "vd": checked in on 14 January, the ¥1 000 brake estimate declined, the ¥150
    diagnosis fee (a `fee` line) paid by WeChat Pay at 11:00, the car handed back at 11:15."""
    vd = visit(
        at(2026, 1, 14, 9),
        delivered_at=at(2026, 1, 14, 11, 15),
        not_repaired_reason=NotRepairedReason.DECLINED,
        diagnosis_findings="前刹车片剩余2毫米",
        not_repaired_at=at(2026, 1, 14, 10, 30),
    )
    DeclinedWork.objects.create(
        vehicle=vd.vehicle, visit=vd, description="更换前刹车片及刹车片", estimated_amount="1000"
    )
    # The fee-only order the customer signed: its estimate is the fee.
    settlement = bill(
        vd, at(2026, 1, 14, 11), [(LineKind.FEE, JobType.REPAIR, "0", "150")],
        estimate="150", customer="150",
    )  # fmt: skip
    Payment.objects.create(settlement=settlement, method="wechat", amount=FEE)
    settlement.paid_total = FEE
    settlement.amount_due = FEE
    settlement.save(update_fields=["paid_total", "amount_due"])
    store["vd"] = vd
    return store


def test_a_diagnosis_fee_counts_as_an_order_other_revenue_and_a_payment():
    store = build_store()
    before = period_figures(JAN, now=NOW)
    table_before = revenue_by_category(JAN)

    add_diagnosis_fee(store)
    after = period_figures(JAN, now=NOW)

    expected = {
        "repair_orders": 5,  # 4 + vd
        "checked_in": 6,  # 5 + vd
        "other_revenue": Decimal("150.00"),  # 0 + the fee
        "payments_received": Decimal("150.00"),  # the data set has no payment rows: 0 + 150
        "average_ticket": Decimal("932.00"),  # (4510 + 150) / 5
        "estimate_accuracy": Decimal("66.7"),  # v1 and vd within, v2 over: 2 / 3
        "delivered": 5,  # 4 + vd
        "rework_rate": Decimal("20.0"),  # v2 of 5 delivered
        "appointment_rate": Decimal("28.6"),  # arrived 2 ÷ (2 + 5 walk-ins)
    }
    changed = {key for key in after if after[key] != before[key]}
    assert changed == set(expected)
    assert {key: after[key] for key in expected} == expected
    # Nothing for the workshop: no hours sold, labour and parts as before.
    assert after["hours_sold"] == before["hours_sold"] == Decimal("7.50")

    table = revenue_by_category(JAN)
    fees = next(row for row in table["rows"] if row["key"] == LineKind.FEE)
    assert fees["amounts"] == [Decimal("150.00"), Decimal("0.00"), Decimal("0.00")]
    # The customers' column grows by exactly what was paid: still balanced if it was.
    assert table["totals"][0] - table_before["totals"][0] == Decimal("150.00")
    assert table["payments_received"] - table_before["payments_received"] == Decimal("150.00")
    assert table["balanced"] == table_before["balanced"]
