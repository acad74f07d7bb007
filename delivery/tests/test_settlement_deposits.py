"""A deposit paid at booking is credited on the bill (by hand: ¥2 345.60 − ¥800 = ¥1 545.60)."""

from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from pypdf import PdfReader

from appointments.models import DepositStatus
from appointments.services import appointment_book, appointment_record_deposit
from appointments.tests.factories import days_ahead, local, make_workshop
from dealership.errors import DomainError
from dealership.tests.factories import LabourOperationFactory, PartFactory
from delivery import pdf, selectors, services
from delivery.models import Settlement
from delivery.tests.factories import checked_visit, staff
from reception.models import Visit

pytestmark = pytest.mark.django_db
D = Decimal


def _visit_with_deposit(amount: str):
    """A checked brake job of ¥2 345.60 (labour 345.60 + pads 2 000) whose visit came from an
    appointment with a deposit of `amount` held."""
    lines = [
        {"operation": LabourOperationFactory(price=D("345.60")), "job_type": "repair"},
        {"part": PartFactory(price=D("2000.00")), "quantity": "1", "job_type": "repair"},
    ]
    visit, order = checked_visit(lines=lines)
    workshop = make_workshop()
    advisor = visit.advisor
    appointment = appointment_book(
        customer=visit.customer,
        vehicle=visit.vehicle,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"]],
        parts=[(workshop["windscreen"], 1)],
        actor=advisor,
    )
    deposit = appointment_record_deposit(
        appointment=appointment, amount=amount, method="wechat", actor=advisor
    )
    # The car checked in from this appointment (the check-in itself is reception's test).
    Visit.objects.filter(pk=visit.pk).update(appointment=appointment)
    visit.refresh_from_db()
    return visit, deposit


def test_a_deposit_is_credited_on_the_bill_and_the_receipt(client):
    visit, deposit = _visit_with_deposit("800.00")
    bill = selectors.bill_for(visit)
    assert bill.customer_total == D("2345.60")
    assert bill.to_pay() == D("1545.60")
    cashier = staff("cashier")
    client.force_login(cashier)
    page = client.get(reverse("delivery:visit", args=[visit.pk]), HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert f"Deposit received ({deposit.receipt_number})" in html
    assert "¥1545.60" in html  # the settle button asks for what is left to pay
    settlement = services.settlement_create(
        visit=visit, actor=cashier, payments=[{"method": "cash", "amount": "1545.60"}]
    )
    assert settlement.amount_due == D("1545.60")
    assert settlement.paid_total == D("1545.60")
    assert settlement.deposits_credited == D("800.00")
    assert settlement.vat_amount == D("269.85")  # 2345.60 − 2345.60 / 1.13, on the whole bill
    deposit.refresh_from_db()
    assert (deposit.status, deposit.invoice_number) == (
        DepositStatus.APPLIED,
        settlement.invoice_number,
    )
    reader = PdfReader(BytesIO(pdf.receipt_pdf(settlement, language="en")))
    text = "".join(page.extract_text() for page in reader.pages)
    assert f"Deposit received ({deposit.receipt_number})" in text
    assert "1545.60" in text


def test_the_full_bill_is_refused_while_a_deposit_is_held(make_staff):
    visit, _deposit = _visit_with_deposit("800.00")
    with pytest.raises(DomainError) as refused:
        services.settlement_create(
            visit=visit, actor=staff("cashier"), payments=[{"method": "cash", "amount": "2345.60"}]
        )
    assert refused.value.field == "payments"


def test_a_deposit_larger_than_the_bill_is_refused_and_nothing_changes(make_staff):
    visit, deposit = _visit_with_deposit("3000.00")
    with pytest.raises(DomainError) as refused:
        services.settlement_create(visit=visit, actor=staff("cashier"), payments=[])
    assert refused.value.field == "payments"
    assert "¥3,000.00" in refused.value.messages[0]
    assert not Settlement.objects.exists()
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.HELD


def test_a_voided_bill_gives_its_deposit_back_to_the_next_bill(make_staff):
    visit, deposit = _visit_with_deposit("800.00")
    settlement = services.settlement_create(
        visit=visit, actor=staff("cashier"), payments=[{"method": "cash", "amount": "1545.60"}]
    )
    services.settlement_void(settlement=settlement, actor=staff("service_manager"), reason="错单")
    deposit.refresh_from_db()
    assert (deposit.status, deposit.invoice_number) == (DepositStatus.HELD, "")
    again = services.settlement_create(
        visit=visit, actor=staff("cashier"), payments=[{"method": "card", "amount": "1545.60"}]
    )
    deposit.refresh_from_db()
    assert deposit.invoice_number == again.invoice_number
