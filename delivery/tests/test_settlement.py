"""Settlement: the ±10 % rule, payers, payments, adjustments, voids and refunds."""

from decimal import Decimal

import pytest

from dealership.errors import DomainError
from dealership.rules import rule_set
from dealership.tests.factories import LabourOperationFactory, PartFactory
from delivery import selectors, services
from delivery.models import InvoiceCounter, Payment, Refund, Settlement
from delivery.tests.factories import (
    TO_QC,
    checked_visit,
    error_code,
    qc_passed_visit,
    ready_visit,
    record_final_check,
    reprice_labour,
    signed_visit,
    staff,
    walk,
)
from reception.insurance import insurance_case_save
from reception.models import Visit
from reception.states import VisitStatus
from workorders.models import OrderStatus, WorkOrder
from workorders.selectors import order_in_force
from workorders.services import work_order_revise

pytestmark = pytest.mark.django_db
S = VisitStatus
D = Decimal


def _approved_addition(order, actor, price: str):
    """Additional work approved by phone: a signed revision with an `is_additional` line."""
    operation = LabourOperationFactory(price=D(price), name_zh="更换刹车油")
    return work_order_revise(
        order=order,
        actor=actor,
        reason="增项：刹车油",
        add_lines=[{"operation": operation, "job_type": "repair"}],
        signed_via="phone",
        approval_note="客户电话同意",
    )


def _to_settle(visit):
    walk(visit, TO_QC, visit.advisor)
    services.visit_mark_ready(visit=visit, actor=visit.advisor)
    record_final_check(visit, order_in_force(visit))
    return visit


def _pay(visit, amount, cashier=None, **kwargs):
    return services.settlement_create(
        visit=visit,
        actor=cashier or staff("cashier"),
        payments=[{"method": "cash", "amount": amount}],
        **kwargs,
    )


def _nothing_settled(visit, status=S.READY_FOR_PICKUP):
    assert not Settlement.objects.filter(visit=visit).exists()
    assert not Payment.objects.exists()
    assert Visit.objects.get(pk=visit.pk).status == status
    assert InvoiceCounter.objects.filter(last_number__gt=0).count() == 0


# ---------------------------------------------------------------- the ±10 % rule
# Signed estimate ¥1 000 (labour ¥300 + pads ¥700). Without additions the limit is ¥1 100;
# with ¥200 of approved additional work it is (1 000 + 200) × 1.1 = ¥1 320.


@pytest.mark.parametrize(
    ("labour", "total", "allowed"),
    [
        ("400.00", "1100.00", True),  # exactly at +10 %
        ("399.99", "1099.99", True),  # just under
        ("400.01", "1100.01", False),  # one fen over
    ],
    ids=["at-limit", "just-under", "over"],
)
def test_ten_percent_rule_without_additions(labour, total, allowed):
    visit, order = signed_visit()
    reprice_labour(order, visit.advisor, labour)
    _to_settle(visit)
    bill = selectors.bill_for(visit)
    assert (bill.estimate_total, bill.approved_additions, bill.estimate_limit) == (
        D("1000.00"),
        D("0.00"),
        D("1100.00"),
    )
    assert bill.customer_total == D(total)

    if allowed:
        settlement = _pay(visit, total)
        assert settlement.amount_due == D(total) and not settlement.overrun_approved
        assert Visit.objects.get(pk=visit.pk).status == S.SETTLED
    else:
        with pytest.raises(DomainError, match=r"more than 10 % above.*1,100\.00") as error:
            _pay(visit, total)
        assert error_code(error.value) == "estimate_exceeded"
        _nothing_settled(visit)


@pytest.mark.parametrize(
    ("labour", "total", "allowed"),
    [
        ("420.00", "1320.00", True),
        ("419.99", "1319.99", True),
        ("420.01", "1320.01", False),
    ],
    ids=["at-limit", "just-under", "over"],
)
def test_ten_percent_rule_with_approved_additions(labour, total, allowed):
    visit, order = signed_visit()
    revision = _approved_addition(order, visit.advisor, "200.00")
    reprice_labour(revision, visit.advisor, labour)
    _to_settle(visit)
    bill = selectors.bill_for(visit)
    assert (bill.estimate_total, bill.approved_additions, bill.estimate_limit) == (
        D("1000.00"),
        D("200.00"),
        D("1320.00"),
    )
    assert bill.customer_total == D(total)

    if allowed:
        settlement = _pay(visit, total)
        assert settlement.approved_additions == D("200.00")
        assert settlement.estimate_limit == D("1320.00")
    else:
        with pytest.raises(DomainError, match="Record the customer's approval"):
            _pay(visit, total)
        _nothing_settled(visit)


def test_approved_additions_alone_stay_within_the_limit():
    visit, order = signed_visit()
    _approved_addition(order, visit.advisor, "500.00")
    _to_settle(visit)
    # ¥1 500 is 50 % above the first estimate, but the customer approved the ¥500.
    assert _pay(visit, "1500.00").amount_due == D("1500.00")


def test_over_the_limit_settles_once_the_customer_approved_the_amount():
    visit, order = signed_visit()
    reprice_labour(order, visit.advisor, "500.00")
    _to_settle(visit)
    with pytest.raises(DomainError):
        _pay(visit, "1200.00")
    with pytest.raises(DomainError, match="at least"):
        services.overrun_approve(
            visit=visit, actor=visit.advisor, amount="1100.00", via="phone", note="同意"
        )

    services.overrun_approve(
        visit=visit, actor=visit.advisor, amount="1200.00", via="phone", note="客户同意多付"
    )
    settlement = _pay(visit, "1200.00")
    assert settlement.overrun_approved and settlement.amount_due == D("1200.00")


def test_the_tolerance_is_the_work_orders_store_rule():
    rule_set("workorders.estimate_tolerance_percent", D("5"))
    visit, order = signed_visit()
    reprice_labour(order, visit.advisor, "360.00")
    _to_settle(visit)
    with pytest.raises(DomainError, match="more than 5 % above"):
        _pay(visit, "1060.00")


def test_a_cashiers_extra_charge_counts_toward_the_limit():
    visit, _order = checked_visit()
    with pytest.raises(DomainError, match="estimate"):
        _pay(
            visit,
            "1100.01",
            cashier=staff("service_manager"),
            adjustment_amount="100.01",
            adjustment_reason="加收",
        )


# ---------------------------------------------------------------- payers and billing


def test_warranty_insurance_and_internal_lines_are_split_from_the_customer_share():
    operation = LabourOperationFactory(price=D("300.00"))
    lines = [
        {"operation": operation, "job_type": "repair"},
        {"part": PartFactory(price=D("500.00")), "job_type": "warranty"},
        {"part": PartFactory(price=D("800.00")), "job_type": "insurance"},
        {"part": PartFactory(price=D("60.00")), "job_type": "internal"},
        {
            "part": PartFactory(price=D("100.00")),
            "job_type": "maintenance",
            "discount_percent": "10",
        },
    ]
    visit, order = checked_visit(lines=lines)
    assert order.estimate_total == D("390.00")  # the estimate is the customer's share only
    # The insurer approved the whole 800 with no excess (an insurance job needs its approval).
    insurance_case_save(
        visit=visit, actor=visit.advisor, insurer="picc", approved_amount="800", excess="0"
    )

    settlement = _pay(visit, "390.00")

    assert settlement.customer_total == D("390.00")
    assert settlement.manufacturer_total == D("500.00")
    assert settlement.insurer_total == D("800.00")
    assert settlement.store_total == D("60.00")
    assert settlement.total == D("1750.00")
    assert settlement.discount_total == D("10.00")
    assert settlement.vat_amount == D("44.87")  # 390 − 390 / 1.13, prices include VAT
    payers = {line.code: line.payer for line in settlement.lines.all()}
    assert sorted(payers.values()) == sorted(
        ["customer", "manufacturer", "insurer", "store", "customer"]
    )


def test_a_fully_warranty_job_settles_with_no_payment():
    lines = [{"part": PartFactory(price=D("500.00")), "job_type": "warranty"}]
    visit, _order = checked_visit(lines=lines)
    settlement = services.settlement_create(visit=visit, actor=staff("cashier"), payments=[])
    assert settlement.amount_due == D("0.00") and settlement.manufacturer_total == D("500.00")


def test_labour_is_billed_at_catalogue_hours_by_default(monkeypatch):
    monkeypatch.setattr(selectors, "clocked_hours_by_line", lambda order: {})
    visit, _order = checked_visit()
    bill = selectors.bill_for(visit)
    assert bill.labour_basis == "catalogue" and bill.customer_total == D("1000.00")


def test_the_store_may_bill_clocked_hours(monkeypatch):
    visit, order = checked_visit()
    labour = order.lines.get(kind="labour")
    monkeypatch.setattr(selectors, "clocked_hours_by_line", lambda order: {labour.pk: D("2.00")})
    rule_set("delivery.bill_clocked_hours", True)

    bill = selectors.bill_for(visit)

    # ¥300 for 1.5 standard hours is ¥200 an hour: 2 clocked hours cost ¥400.
    assert bill.labour_basis == "clocked" and bill.labour_total == D("400.00")
    settlement = _pay(visit, "1100.00")
    line = settlement.lines.get(kind="labour")
    assert (line.hours, line.amount) == (D("2.00"), D("400.00"))


# ---------------------------------------------------------------- payments


def test_split_payment_and_change_for_cash():
    visit, _order = checked_visit()
    settlement = services.settlement_create(
        visit=visit,
        actor=staff("cashier"),
        payments=[
            {"method": "card", "amount": "600.00", "reference": "POS 8812"},
            {"method": "wechat", "amount": "300.00", "reference": "WX4200"},
            {"method": "cash", "amount": "100.00"},
        ],
        cash_tendered="200",
    )
    assert sorted(settlement.payments.values_list("method", "amount")) == [
        ("card", D("600.00")),
        ("cash", D("100.00")),
        ("wechat", D("300.00")),
    ]
    assert settlement.paid_total == D("1000.00") and settlement.change_given == D("100.00")


@pytest.mark.parametrize("amount", ["999.99", "1000.01", "0.01"], ids=["less", "more", "far-less"])
def test_paying_more_or_less_than_due_without_a_recorded_change_is_refused(amount):
    visit, _order = checked_visit()
    with pytest.raises(DomainError, match="add up to") as error:
        _pay(visit, amount)
    assert error_code(error.value) == "payment_mismatch"
    _nothing_settled(visit)


def test_an_adjustment_with_its_reason_changes_the_amount_due():
    visit, _order = checked_visit()
    with pytest.raises(DomainError, match="reason"):
        _pay(visit, "999.50", adjustment_amount="-0.50")
    _nothing_settled(visit)

    settlement = _pay(visit, "999.50", adjustment_amount="-0.50", adjustment_reason="抹零")
    assert settlement.amount_due == D("999.50") and settlement.adjustment_reason == "抹零"


def test_a_large_adjustment_needs_the_service_manager():
    visit, _order = checked_visit()
    with pytest.raises(DomainError, match="service manager"):
        _pay(visit, "900.00", adjustment_amount="-100", adjustment_reason="老客户优惠")
    _nothing_settled(visit)
    settlement = _pay(
        visit,
        "900.00",
        cashier=staff("service_manager"),
        adjustment_amount="-100",
        adjustment_reason="老客户优惠",
    )
    assert settlement.amount_due == D("900.00")


def test_money_is_never_a_float():
    visit, _order = checked_visit()
    with pytest.raises(TypeError):
        _pay(visit, 1000.0)
    with pytest.raises(DomainError, match="two decimals"):
        _pay(visit, "999.999")
    _nothing_settled(visit)


def test_cash_tendered_below_the_cash_paid_is_refused():
    visit, _order = checked_visit()
    with pytest.raises(DomainError, match="less than"):
        _pay(visit, "1000.00", cash_tendered="500")
    _nothing_settled(visit)


# ---------------------------------------------------------------- when a bill may be settled


@pytest.mark.parametrize("steps", [0, 1, 2, 3], ids=["signed", "dispatched", "working", "done"])
def test_settling_before_qc_pass_is_refused(steps):
    visit, _order = signed_visit()
    walk(visit, TO_QC[:steps], visit.advisor)
    status = Visit.objects.get(pk=visit.pk).status
    with pytest.raises(DomainError, match="not passed quality control"):
        _pay(visit, "1000.00")
    _nothing_settled(visit, status=status)


def test_settling_before_the_car_is_marked_ready_is_refused():
    visit, _order = qc_passed_visit()
    with pytest.raises(DomainError, match="ready"):
        _pay(visit, "1000.00")
    _nothing_settled(visit, status=S.QC_PASSED)


def test_settling_before_the_final_check_is_refused():
    visit, _order = ready_visit()
    with pytest.raises(DomainError, match="final check"):
        _pay(visit, "1000.00")
    _nothing_settled(visit)


def test_a_revision_waiting_for_signature_blocks_the_bill():
    visit, order = signed_visit()
    _to_settle(visit)
    # The visit is past the point where revisions are made in practice; build one directly.

    WorkOrder.objects.create(visit=visit, revision=order.revision + 1, status=OrderStatus.DRAFT)
    with pytest.raises(DomainError, match="waits for the customer"):
        _pay(visit, "1000.00")


def test_settling_twice_is_refused():
    visit, _order = checked_visit()
    first = _pay(visit, "1000.00")
    with pytest.raises(DomainError, match=first.invoice_number):
        _pay(visit, "1000.00")
    assert Settlement.objects.filter(visit=visit).count() == 1


def test_settling_records_lines_payments_timeline_and_moves_the_visit():
    visit, order = checked_visit()
    settlement = _pay(visit, "1000.00")
    stored = Visit.objects.get(pk=visit.pk)
    assert stored.status == S.SETTLED and stored.settled_at is not None
    assert settlement.invoice_number.startswith("JS") and settlement.order == order
    assert settlement.lines.count() == order.lines.count()
    assert visit.customer.timeline.filter(kind="delivery.settled").exists()


# ---------------------------------------------------------------- voids and refunds


def test_a_void_without_the_managers_role_is_refused_and_changes_nothing():
    visit, _order = checked_visit()
    cashier = staff("cashier")
    settlement = _pay(visit, "1000.00", cashier=cashier)
    with pytest.raises(DomainError, match="Only the service manager") as error:
        services.settlement_void(settlement=settlement, actor=cashier, reason="打错了")
    assert error_code(error.value) == "permission"
    assert Settlement.objects.get(pk=settlement.pk).status == Settlement.Status.PAID


def test_the_manager_voids_and_the_bill_is_settled_again_under_the_next_number():
    visit, _order = checked_visit()
    settlement = _pay(visit, "1000.00")
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))

    services.settlement_void(
        settlement=settlement, actor=staff("service_manager"), reason="付款方式录错"
    )

    voided = Settlement.objects.get(pk=settlement.pk)
    assert voided.status == Settlement.Status.VOIDED and voided.void_reason == "付款方式录错"
    assert Visit.objects.get(pk=visit.pk).status == S.SETTLED
    with pytest.raises(DomainError, match="Settle the bill first"):
        services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    again = services.settlement_create(
        visit=visit, actor=staff("cashier"), payments=[{"method": "alipay", "amount": "1000.00"}]
    )
    first_number = int(settlement.invoice_number.rsplit("-", 1)[1])
    assert int(again.invoice_number.rsplit("-", 1)[1]) == first_number + 1


def test_refunds_need_the_manager_and_never_exceed_what_was_paid():
    visit, _order = checked_visit()
    settlement = _pay(visit, "1000.00")
    with pytest.raises(DomainError, match="Only the service manager"):
        services.settlement_refund(
            settlement=settlement, actor=staff("cashier"), amount="50", method="cash", reason="x"
        )
    manager = staff("service_manager")
    services.settlement_refund(
        settlement=settlement, actor=manager, amount="600.00", method="cash", reason="配件退回"
    )
    with pytest.raises(DomainError, match="At most ¥400.00"):
        services.settlement_refund(
            settlement=settlement, actor=manager, amount="400.01", method="cash", reason="再退"
        )
    assert list(Refund.objects.values_list("amount", flat=True)) == [D("600.00")]


def test_a_voided_bill_is_not_voided_again_nor_refunded_and_stays_as_it_was():
    """The settlement table: paid → voided, and nothing leaves voided."""
    visit, _order = checked_visit()
    settlement = _pay(visit, "1000.00")
    manager = staff("service_manager")
    services.settlement_void(settlement=settlement, actor=manager, reason="付款方式录错")
    voided = Settlement.objects.get(pk=settlement.pk)
    assert voided.voided_at is not None and voided.voided_by == manager
    assert voided.history.first().history_change_reason == "付款方式录错"

    with pytest.raises(DomainError, match="This bill is void already") as again:
        services.settlement_void(settlement=settlement, actor=manager, reason="再作废")
    assert error_code(again.value) == "already_void"
    with pytest.raises(DomainError, match="nothing to refund") as refund:
        services.settlement_refund(
            settlement=settlement, actor=manager, amount="10", method="cash", reason="退款"
        )
    assert error_code(refund.value) == "void"
    unchanged = Settlement.objects.get(pk=settlement.pk)
    assert (unchanged.voided_at, unchanged.void_reason) == (voided.voided_at, "付款方式录错")
    assert not Refund.objects.filter(settlement=settlement).exists()


def test_a_reduction_past_the_discount_limit_needs_the_manager_even_under_ten_yuan():
    """A ¥50 oil change: ¥8 off is a 16 % discount (the advisor's limit is 10 %), refused for
    the cashier though under the ¥10 adjustment limit; ¥5 off (10 %) is fine."""
    oil = LabourOperationFactory(price=D("50.00"), name_zh="更换机油")
    visit, _order = checked_visit(lines=[{"operation": oil, "job_type": "maintenance"}])
    with pytest.raises(DomainError) as refused:
        _pay(visit, "42.00", adjustment_amount="-8", adjustment_reason="老客户")
    assert refused.value.field == "adjustment_amount"
    assert error_code(refused.value) == "discount_limit"
    assert not Settlement.objects.filter(visit=visit).exists()
    settlement = _pay(visit, "45.00", adjustment_amount="-5", adjustment_reason="老客户")
    assert settlement.amount_due == D("45.00")
