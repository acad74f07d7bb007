"""The report's revenue categories add up to what was paid, to the cent (issue 15, item 1).

On a day like the whole-flow test's (a catalogue job with a discount, a part, a
hand-typed labour line, a fee, warranty work, additional work approved through the
link, a cashier's rounding) and on the busy store `seed_demo --scale` makes.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from dealership.tests.factories import LabourOperationFactory, PartFactory
from delivery import services as delivery
from delivery.models import Payment, Settlement, SettlementLine
from delivery.selectors import bill_for
from delivery.tests.factories import (
    TO_QC,
    record_final_check,
    signed_visit,
    staff,
    walk,
)
from reports.figures import revenue_by_category, sales_figures
from reports.periods import MONTH, Period
from workorders.selectors import order_in_force
from workorders.services import work_order_revise

pytestmark = pytest.mark.django_db


def _day_like_the_whole_flow():
    brakes = LabourOperationFactory(price=Decimal("300.00"), standard_hours=Decimal("1.5"))
    lines = [
        {"operation": brakes, "job_type": "repair", "discount_percent": "5"},
        {"part": PartFactory(price=Decimal("520.00")), "job_type": "repair"},
        {
            "kind": "labour",
            "name": "车内臭氧消毒",
            "manual_reason": "目录中没有",
            "hours": "0.3",
            "unit_price": "80",
            "job_type": "repair",
        },
        {
            "kind": "fee",
            "name": "电脑诊断费",
            "manual_reason": "单独检测",
            "unit_price": "49.99",
            "job_type": "repair",
        },
        {"part": PartFactory(price=Decimal("233.33")), "job_type": "warranty"},
    ]
    visit, order = signed_visit(lines=lines)
    # Additional work the customer approved through the link.
    work_order_revise(
        order=order,
        actor=visit.advisor,
        reason="增项：更换空调滤芯",
        add_lines=[{"part": PartFactory(price=Decimal("88.88")), "job_type": "repair"}],
        signed_via="link",
        approval_note="客户通过链接同意",
    )
    walk(visit, TO_QC, visit.advisor)
    delivery.visit_mark_ready(visit=visit, actor=visit.advisor)
    record_final_check(visit, order_in_force(visit))
    due = bill_for(visit).customer_total
    # The cashier rounds the bill down to the yuan (抹零).
    rounded = due.quantize(Decimal("1"), rounding="ROUND_FLOOR")
    delivery.settlement_create(
        visit=visit,
        actor=staff("cashier"),
        payments=[
            {"method": "wechat", "amount": rounded - 100},
            {"method": "cash", "amount": Decimal("100")},
        ],
        adjustment_amount=rounded - due,
        adjustment_reason="抹零",
    )
    return rounded


def _customers_column(table) -> Decimal:
    return sum((row["amounts"][0] for row in table["rows"]), Decimal("0"))


def test_revenue_categories_add_up_to_the_payments_on_a_whole_flow_day(client):
    paid = _day_like_the_whole_flow()
    period = Period.containing(MONTH, timezone.localdate())
    table = revenue_by_category(period)
    by_key = {row["key"]: row for row in table["rows"]}
    assert table["payments_received"] == paid
    assert _customers_column(table) == paid and table["balanced"]
    assert by_key["fee"]["amounts"][0] == Decimal("49.99")
    assert by_key["labour"]["amounts"][0] == Decimal("285.00") + Decimal("80.00")
    assert by_key["part"]["amounts"] == [Decimal("608.88"), Decimal("233.33"), Decimal("0")]
    assert by_key["adjustment"]["amounts"][0] < 0

    figures = sales_figures(period)
    assert figures["payments_received"] == paid
    assert figures["other_revenue"] == Decimal("49.99")
    receivable = table["totals"][1] + table["totals"][2]
    assert (
        figures["labour_revenue"]
        + figures["parts_revenue"]
        + figures["other_revenue"]
        + figures["adjustments"]
        - receivable
        == paid
    )

    client.force_login(staff("service_manager"))
    page = client.get(reverse("reports:report")).content.decode()
    assert 'id="revenue-by-category"' in page and "电脑诊断费" not in page
    assert f"¥{paid:,.2f}" in page


def test_revenue_categories_add_up_to_the_payments_on_the_scale_demo():
    call_command("seed_demo", scale=30, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert Payment.objects.exists()
    # The busy store has hand-typed fees and rounded bills too, not only catalogue lines.
    assert SettlementLine.objects.filter(kind="fee").exists()
    assert Settlement.objects.exclude(adjustment_amount=0).exists()
    today = timezone.localdate()
    month = today.replace(day=1)
    checked = 0
    for _ in range(13):
        period = Period.containing(MONTH, month)
        table = revenue_by_category(period)
        assert _customers_column(table) == table["payments_received"], period.label
        checked += bool(table["payments_received"])
        month = (month - timedelta(days=1)).replace(day=1)
    assert checked >= 3
