"""Insurance jobs on the bill (issue 16 item 4): the insurer pays min(T, A) − E (never below
zero), the customer the rest of the insurance work T; the settlement records the split line
by line and the customer's part goes through the till."""

import subprocess
from decimal import Decimal

import pytest
from django.urls import reverse

from dealership.errors import DomainError
from dealership.tests.factories import LabourOperationFactory, PartFactory
from delivery import selectors, services
from delivery.models import Payment, Settlement, SettlementLine
from delivery.selectors import _shares_by_line, bill_for, insurance_split
from delivery.tests.factories import checked_visit, error_code, staff
from reception.insurance import insurance_case_save
from reception.states import VisitStatus

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.mark.parametrize(
    ("total", "approved", "excess", "insurer", "customer"),
    [
        # min(5000, 4600) − 500 = 4100; the customer 5000 − 4100 = 900 (500 excess + 400 above)
        ("5000.00", "4600.00", "500.00", "4100.00", "900.00"),
        # within the approval: min(4000, 4600) − 500 = 3500; the customer the 500 excess
        ("4000.00", "4600.00", "500.00", "3500.00", "500.00"),
        # no excess, approval above the work: the insurer pays all 3000
        ("3000.00", "4600.00", "0.00", "3000.00", "0.00"),
        # an excess above the work: min(300, 4600) − 500 < 0 → 0; the customer all 300
        ("300.00", "4600.00", "500.00", "0.00", "300.00"),
        # the insurer approved nothing: the customer pays everything
        ("1200.00", "0.00", "0.00", "0.00", "1200.00"),
    ],
)
def test_the_insurance_split_rule(total, approved, excess, insurer, customer):
    assert insurance_split(D(total), D(approved), D(excess)) == (D(insurer), D(customer))


def test_the_customers_share_is_spread_over_the_lines_to_the_cent():
    # 900 over 3000 + 2000: 540 + 360 (900 × 3/5, 900 × 2/5)
    assert _shares_by_line([D("3000.00"), D("2000.00")], D("900.00")) == [D("540"), D("360")]
    # 0.02 over four lines of 1.00: one cent each to the first two (equal remainders, in order)
    assert _shares_by_line([D("1.00")] * 4, D("0.02")) == [D("0.01"), D("0.01"), D(0), D(0)]
    # 100 over 33.33 + 66.67: the whole of each line
    assert _shares_by_line([D("33.33"), D("66.67")], D("100.00")) == [D("33.33"), D("66.67")]


def _insurance_visit():
    """Body work 3000 (labour) + a bumper 2000 (part), both insurance; a 200 wash paid by the
    customer: T = 5000."""
    lines = [
        {"operation": LabourOperationFactory(price=D("3000.00")), "job_type": "insurance"},
        {"part": PartFactory(price=D("2000.00")), "job_type": "insurance"},
        {"operation": LabourOperationFactory(price=D("200.00")), "job_type": "repair"},
    ]
    return checked_visit(lines=lines)


def _case(visit, approved="4600.00", excess="500.00"):
    return insurance_case_save(
        visit=visit,
        actor=visit.advisor,
        insurer="ping_an",
        policy_number="PDAA2026320500001234",
        report_number="RDAA2026000123",
        adjuster_name="刘定损",
        adjuster_phone="13912345678",
        approved_amount=approved,
        excess=excess,
    )


def test_the_bill_splits_insurer_and_customer_shares():
    visit, _order = _insurance_visit()
    _case(visit)
    bill = bill_for(visit)
    assert bill.total == D("5200.00")  # 3000 + 2000 + 200
    assert bill.insurance.total == D("5000.00")
    assert bill.by_payer["insurer"] == D("4100.00")  # min(5000, 4600) − 500
    assert bill.customer_total == D("1100.00")  # the wash 200 + 900 of the insurance work
    assert [item.customer_share for item in bill.lines] == [D("540"), D("360"), D("0")]
    assert not bill.needs_approval()  # the excess is not measured against the estimate (200)


def test_settling_records_the_split_and_takes_the_customers_part_at_the_till(client):
    visit, _order = _insurance_visit()
    _case(visit)
    settlement = services.settlement_create(
        visit=visit,
        actor=staff("cashier"),
        payments=[{"method": "wechat", "amount": "1100.00"}],  # 200 + 900
    )
    assert settlement.insurer_total == D("4100.00")
    assert settlement.customer_total == D("1100.00")
    assert settlement.total == D("5200.00")
    assert settlement.insurance_approved_amount == D("4600.00")
    assert settlement.insurance_excess == D("500.00")
    assert settlement.insurance_customer_total == D("900.00")
    assert settlement.insurance_total == D("5000.00")  # 4100 + 900
    assert settlement.amount_due == D("1100.00") and settlement.paid_total == D("1100.00")
    lines = [
        (line.kind, line.payer, line.amount, line.hours)
        for line in settlement.lines.order_by("position", "id")
    ]
    labour_hours = lines[0][3]
    assert lines == [
        ("labour", "insurer", D("2460.00"), labour_hours),  # 3000 − 540
        ("labour", "customer", D("540.00"), D("0.00")),  # 900 × 3000 / 5000
        ("part", "insurer", D("1640.00"), D("0.00")),  # 2000 − 360
        ("part", "customer", D("360.00"), D("0.00")),  # 900 × 2000 / 5000
        ("labour", "customer", D("200.00"), lines[4][3]),
    ]
    # Every yuan is traced: the lines by payer add up to the settlement's totals.
    by_payer = {}
    for line in SettlementLine.objects.filter(settlement=settlement):
        by_payer[line.payer] = by_payer.get(line.payer, D(0)) + line.amount
    assert by_payer == {"insurer": D("4100.00"), "customer": D("1100.00")}

    client.force_login(staff("cashier"))
    page = client.get(reverse("delivery:visit", args=[visit.pk])).content.decode()
    assert 'id="insurance-settled"' in page and "¥4600.00" in page and "¥900.00" in page
    detail = client.get(f"/api/delivery/settlements/{settlement.pk}/").json()
    assert (detail["insurance_approved_amount"], detail["insurance_excess"]) == (
        "4600.00",
        "500.00",
    )
    assert (detail["insurer_total"], detail["insurance_customer_total"]) == ("4100.00", "900.00")
    assert [(line["payer"], line["amount"]) for line in detail["lines"][:2]] == [
        ("insurer", "2460.00"),
        ("customer", "540.00"),
    ]


def test_the_cashiers_page_shows_the_split_before_settling(client):
    visit, _order = _insurance_visit()
    _case(visit)
    client.force_login(staff("cashier"))
    page = client.get(reverse("delivery:visit", args=[visit.pk])).content.decode()
    assert 'id="insurance-split"' in page
    assert 'id="insurance-insurer">¥4100.00' in page
    assert 'id="insurance-customer">¥900.00' in page


def test_an_insurance_job_without_an_approved_amount_is_not_settled(client):
    visit, _order = _insurance_visit()
    _case(visit, approved="", excess="500.00")
    with pytest.raises(DomainError) as refused:
        services.settlement_create(
            visit=visit, actor=staff("cashier"), payments=[{"method": "cash", "amount": "200"}]
        )
    assert error_code(refused.value) == "insurance_not_approved"
    visit.refresh_from_db()
    assert visit.status == VisitStatus.READY_FOR_PICKUP
    assert not Settlement.objects.exists() and not Payment.objects.exists()

    insurance_url = reverse("reception:insurance", args=[visit.pk])
    client.force_login(staff("cashier"))
    page = client.get(reverse("delivery:visit", args=[visit.pk])).content.decode()
    assert 'id="insurance-pending"' in page and insurance_url not in page  # not the cashier's
    client.force_login(visit.advisor)
    page = client.get(reverse("delivery:visit", args=[visit.pk])).content.decode()
    assert 'id="insurance-pending"' in page and f'href="{insurance_url}"' in page


def test_insurance_lines_without_an_insurance_job_are_not_settled():
    visit, _order = _insurance_visit()
    assert bill_for(visit).insurance.pending
    with pytest.raises(DomainError) as refused:
        services.settlement_create(
            visit=visit, actor=staff("cashier"), payments=[{"method": "cash", "amount": "200"}]
        )
    assert error_code(refused.value) == "insurance_not_approved"
    assert not Settlement.objects.exists()


def test_the_approved_amount_cannot_change_once_settled(client):
    visit, _order = _insurance_visit()
    case = _case(visit)
    services.settlement_create(
        visit=visit, actor=staff("cashier"), payments=[{"method": "cash", "amount": "1100.00"}]
    )
    visit.refresh_from_db()
    with pytest.raises(DomainError) as refused:
        _case(visit, approved="5000.00")
    assert error_code(refused.value) == "closed"
    case.refresh_from_db()
    assert case.approved_amount == D("4600.00")
    client.force_login(visit.advisor)
    page = client.get(reverse("reception:insurance", args=[visit.pk])).content.decode()
    assert 'id="insurance-form"' not in page and "¥4600.00" in page  # read only now


def test_the_receipt_shows_the_split(tmp_path):
    visit, _order = _insurance_visit()
    _case(visit)
    settlement = services.settlement_create(
        visit=visit, actor=staff("cashier"), payments=[{"method": "cash", "amount": "1100.00"}]
    )
    from delivery.pdf import receipt_pdf

    pdf = receipt_pdf(selectors.settlement_detail(settlement.pk))
    path = tmp_path / "receipt.pdf"  # looked at: pdftoppm -png -r 60 receipt.pdf
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "4,100.00" in text or "4100.00" in text
    assert "4600.00" in text and "900.00" in text
