"""January's report data set with one settled insurance job (issue 16 item 4).

`add_insurance_job` adds v7, an accident walk-in of 26 January: body work 3 000 (4 h) and a
bumper 2 000, both insurance lines (T = 5 000); the insurer approved A = 4 600 with an
excess E = 500, so the insurer pays min(5 000, 4 600) − 500 = 4 100 and the customer 900
(the 500 excess + the 400 above the approval), paid by WeChat Pay. The settlement records
each insurance line twice, split by payer as `delivery.services` writes it: the 900 spread
in proportion, labour 540 (900 × 3/5) and part 360 (900 × 2/5).
"""

from decimal import Decimal

import pytest

from delivery.models import Payment, Settlement, SettlementLine
from reception.models import InsuranceCase
from reports.figures import (
    monthly_trend,
    orders_by_work_type,
    period_figures,
    revenue_by_category,
    spending_bands,
)
from reports.selectors import drill_visits
from reports.tests.test_figures import JAN, NOW, at, build_store, visit
from workorders.models import JobType, LineKind, Payer, WorkOrder

pytestmark = pytest.mark.django_db
D = Decimal


def add_insurance_job(store: dict) -> dict:
    """v7: the settled insurance job described at the top of this module."""
    from dealership.tests.factories import UserFactory

    v7 = visit(
        at(2026, 1, 26, 9),
        is_walk_in=True,
        promised_at=at(2026, 1, 27, 17),
        delivered_at=at(2026, 1, 27, 16),
    )
    InsuranceCase.objects.create(
        visit=v7,
        insurer="ping_an",
        report_number="RDAA2026000123",
        adjuster_name="刘定损",
        approved_amount=D("4600.00"),
        excess=D("500.00"),
    )
    order = WorkOrder.objects.create(visit=v7, status="signed")
    settlement = Settlement.objects.create(
        visit=v7,
        order=order,
        invoice_number="INV-INS-01",
        labour_basis="catalogue",
        vat_rate=D("0.13"),
        settled_by=UserFactory(roles=["cashier"]),
        settled_at=at(2026, 1, 27, 15),
        labour_total=D("3000.00"),
        parts_total=D("2000.00"),
        total=D("5000.00"),
        customer_total=D("900.00"),
        insurer_total=D("4100.00"),  # min(5000, 4600) − 500
        insurance_approved_amount=D("4600.00"),
        insurance_excess=D("500.00"),
        insurance_customer_total=D("900.00"),  # 5000 − 4100
        amount_due=D("900.00"),
        paid_total=D("900.00"),
    )
    rows = [  # (kind, payer, hours, amount)
        (LineKind.LABOUR, Payer.INSURER, "4", "2460.00"),  # 3000 − 540
        (LineKind.LABOUR, Payer.CUSTOMER, "0", "540.00"),  # 900 × 3000 / 5000
        (LineKind.PART, Payer.INSURER, "0", "1640.00"),  # 2000 − 360
        (LineKind.PART, Payer.CUSTOMER, "0", "360.00"),  # 900 × 2000 / 5000
    ]
    for position, (kind, payer, hours, amount) in enumerate(rows, start=1):
        SettlementLine.objects.create(
            settlement=settlement,
            position=position,
            kind=kind,
            job_type=JobType.INSURANCE,
            payer=payer,
            name_zh="钣喷" if kind == LineKind.LABOUR else "前保险杠",
            hours=D(hours),
            quantity=1,
            unit_price=D("3000.00") if kind == LineKind.LABOUR else D("2000.00"),
            discount_percent=0,
            gross=D(amount),
            amount=D(amount),
        )
    Payment.objects.create(settlement=settlement, method="wechat", amount=D("900.00"))
    return {**store, "v7": v7}


def _pay_the_customers_of_january(store: dict) -> None:
    """The fixed data set records no payments; the customers paid v1 (1000) and v2 (2310)."""
    for name in ("v1", "v2"):
        bill = Settlement.objects.get(visit=store[name], status="paid")
        Payment.objects.create(settlement=bill, method="cash", amount=bill.customer_total)


def _cells(table) -> dict:
    return {row["key"]: row["amounts"] for row in table["rows"]}


def test_january_with_an_insurance_job():
    store = build_store()
    _pay_the_customers_of_january(store)
    before = revenue_by_category(JAN)
    assert before["payments_received"] == D("3310.00")  # 1000 + 2310
    assert before["balanced"]

    store = add_insurance_job(store)
    f = period_figures(JAN, now=NOW)
    assert f["repair_orders"] == 5  # v1, v2, v3, v6 + v7
    assert f["checked_in"] == 6  # v1, v2, v3, v5, v6 + v7
    assert f["labour_revenue"] == D("4710.00")  # 1710 + 2460 (insurer) + 540 (customer)
    assert f["parts_revenue"] == D("4800.00")  # 2800 + 1640 (insurer) + 360 (customer)
    assert f["warranty_revenue"] == D("1200.00")  # unchanged
    assert f["average_ticket"] == D("1902.00")  # (4710 + 4800) / 5
    assert f["hours_sold"] == D("11.50")  # 7.5 + 4 (the hours stay on the insurer's line)
    assert f["productivity"] == D("209.1")  # 11.5 / 5.5
    assert f["payments_received"] == D("4210.00")  # 3310 + 900
    assert f["delivered"] == 5  # + v7
    assert f["on_time_rate"] == D("75.0")  # v1, v6, v7 of v1, v2, v6, v7
    assert f["rework_rate"] == D("20.0")  # v2 of 5
    assert f["appointment_rate"] == D("28.6")  # arrived 2 ÷ (2 + 5 walk-ins)
    assert f["estimate_accuracy"] == D("50.0")  # v7 had no signed estimate: unchanged
    assert (f["lost_3"], f["lost_6"], f["lost_12"]) == (4, 2, 1)  # v7's customer came

    table = revenue_by_category(JAN)
    cells = _cells(table)
    # columns: customer, manufacturer, insurer
    assert cells["labour"] == [D("1750.00"), D("500.00"), D("2460.00")]  # 400 + 810 + 540
    assert cells["part"] == [D("2460.00"), D("700.00"), D("1640.00")]  # 600 + 1500 + 360
    assert table["totals"] == [D("4210.00"), D("1200.00"), D("4100.00")]
    assert table["payments_received"] == D("4210.00")
    assert table["balanced"]  # the customers' column equals the payments, to the cent
    assert table["totals"][2] == Settlement.objects.get(visit=store["v7"]).insurer_total

    types = {row["job_type"]: (row["orders"], row["amount"]) for row in orders_by_work_type(JAN)}
    assert types["insurance"] == (1, D("5000.00"))  # 2460 + 540 + 1640 + 360
    assert types["repair"] == (1, D("2310.00"))  # unchanged
    # v7's customer paid 900 in the 12 months: the first band (below 1000) with l2.
    assert [row["customers"] for row in spending_bands(JAN)] == [2, 2, 0, 1]
    assert monthly_trend(JAN)[-1] == {
        "month": JAN.first,
        "orders": 5,
        "labour": D("4710.00"),
        "parts": D("4800.00"),
    }
    assert list(drill_visits("orders_insurance", JAN).values_list("pk", flat=True)) == [
        store["v7"].pk
    ]
    assert store["v7"].pk in drill_visits("repair_orders", JAN).values_list("pk", flat=True)
