"""January's report data set with everything issue 16 added, at once: a deposit, a diagnosis
fee, an approved and a rejected warranty claim, and an insurance job.

The base (`test_figures.build_store`) records no payment rows, so the customers of v1 and v2
pay here: v1 its ¥1 000 in cash; v2 paid a ¥500 deposit (Alipay) when the parts were ordered,
credited on its ¥2 310 bill, and ¥1 810 by card at the till. Then each extension adds its
visits (see their modules for the hand count of each):

* `add_diagnosis_fee`: vd, a declined estimate, ¥150 fee paid (WeChat Pay);
* `add_warranty_claims`: a ¥480 labour line approved at ¥450, and a ¥360 part line whose claim
  was rejected and which the customer paid in cash;
* `add_insurance_job`: T 5 000, A 4 600, E 500, the customer's ¥900 (WeChat Pay).
"""

from datetime import timedelta
from decimal import Decimal

import pytest

from appointments.models import Appointment, Deposit, DepositStatus
from dealership.tests.factories import UserFactory
from delivery.models import Payment, Settlement
from reports.figures import period_figures, revenue_by_category

from .test_figures import JAN, NOW, at, build_store
from .test_january_claims import add_warranty_claims
from .test_january_diagnosis import add_diagnosis_fee
from .test_january_insurance import add_insurance_job

pytestmark = pytest.mark.django_db
D = Decimal


def _booking(visit) -> Appointment:
    start = visit.checked_in_at - timedelta(days=2)
    return Appointment.objects.create(
        customer=visit.customer, vehicle=visit.vehicle, start=start, end=start + timedelta(hours=2)
    )


def _pay_v1_and_v2_with_a_deposit(store: dict) -> Deposit:
    v1_bill = Settlement.objects.get(visit=store["v1"], status="paid")
    Payment.objects.create(settlement=v1_bill, method="cash", amount=D("1000.00"))
    v2_bill = Settlement.objects.get(visit=store["v2"], status="paid")
    deposit = Deposit.objects.create(
        appointment=_booking(store["v2"]),
        receipt_number="DJ2026-000001",
        amount=D("500.00"),
        method="alipay",
        status=DepositStatus.APPLIED,
        taken_at=at(2026, 1, 8, 10),
        taken_by=UserFactory(roles=["advisor"]),
        settlement_id=v2_bill.pk,
        invoice_number=v2_bill.invoice_number,
        applied_at=v2_bill.settled_at,
    )
    Payment.objects.create(settlement=v2_bill, method="card", amount=D("1810.00"))  # 2310 − 500
    return deposit


def test_january_with_a_deposit_a_diagnosis_fee_claims_and_an_insurance_job():
    store = build_store()
    _pay_v1_and_v2_with_a_deposit(store)
    add_diagnosis_fee(store)
    add_warranty_claims(store)
    add_insurance_job(store)

    f = period_figures(JAN, now=NOW)
    assert f["repair_orders"] == 8  # v1, v2, v3, v6 + vd + two claim visits + the insurance job
    assert f["labour_revenue"] == D("5190.00")  # 1710 + 480 (claim) + 2460 + 540 (insurance)
    assert f["parts_revenue"] == D("5160.00")  # 2800 + 360 (rejected claim) + 1640 + 360
    assert f["other_revenue"] == D("150.00")  # the diagnosis fee
    assert f["warranty_revenue"] == D("1650.00")  # 1200 billed before claims + 450 approved
    assert f["average_ticket"] == D("1312.50")  # (5190 + 5160 + 150) / 8
    assert f["hours_sold"] == D("13.00")  # 7.5 + 1.5 (claim) + 4 (insurance)
    # What the customers paid for these bills: 1000 + (500 deposit + 1810) + 150 + 360 + 900.
    assert f["payments_received"] == D("4720.00")

    table = revenue_by_category(JAN)
    customers, manufacturer, insurer = table["totals"]
    assert customers == D("4720.00")  # 1000 + 2310 + 150 + 360 + 540 + 360
    assert manufacturer == D("1680.00")  # 1200 + 480 as billed (the maker approved 450)
    assert insurer == D("4100.00")  # 2460 + 1640
    assert table["payments_received"] == D("4720.00")
    assert table["balanced"]  # the deposit is part of what the customer paid


def test_a_deposit_refunded_or_still_held_is_not_paid_for_a_bill():
    store = build_store()
    deposit = _pay_v1_and_v2_with_a_deposit(store)
    Deposit.objects.create(  # held for a later booking: not money for a January bill
        appointment=_booking(store["v1"]),
        receipt_number="DJ2026-000002",
        amount=D("800.00"),
        method="cash",
        taken_at=at(2026, 1, 20, 10),
        taken_by=deposit.taken_by,
    )
    assert period_figures(JAN, now=NOW)["payments_received"] == D("3310.00")  # 1000 + 500 + 1810
