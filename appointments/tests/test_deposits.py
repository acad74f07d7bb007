"""Deposits for ordered parts: taken like a payment, refunded by the manager, kept for a no-show.

Amounts by hand: the windscreen (¥3 280) plus an oil change (¥120) book at ¥3 400; its
ordered-part deposit is half the part, ¥1 640.
"""

from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from appointments import services
from appointments.models import Deposit, DepositStatus
from appointments.pdf import deposit_receipt_pdf
from appointments.selectors import deposit_movements
from dealership.errors import DomainError
from dealership.models import TimelineEvent
from dealership.rules import rule_set

from .factories import days_ahead, local, make_vehicle

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def manager(make_staff):
    return make_staff("service_manager")


@pytest.fixture
def booking(workshop, advisor):
    vehicle = make_vehicle()
    return services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"]],
        parts=[(workshop["windscreen"], 1)],
        actor=advisor,
    )


def _take(booking, advisor, amount="800.00", method="alipay"):
    return services.appointment_record_deposit(
        appointment=booking, amount=amount, method=method, actor=advisor
    )


def test_a_deposit_is_taken_with_its_method_and_a_receipt_number_of_its_own(booking, advisor):
    assert booking.amount_total == D("3400.00")
    first = _take(booking, advisor, "800.00", "alipay")
    second = _take(booking, advisor, "840.00", "cash")
    year = timezone.localdate().year
    assert [first.receipt_number, second.receipt_number] == [
        f"DJ{year}-000001",
        f"DJ{year}-000002",
    ]
    assert (first.method, first.status, first.taken_by) == ("alipay", "held", advisor)
    booking.refresh_from_db()
    assert booking.deposit_paid == D("1640.00")  # 800 + 840
    assert booking.deposit_due == 0


def test_a_refused_deposit_changes_nothing_and_uses_no_receipt_number(booking, advisor):
    for amount, method, field in (
        ("0", "cash", "amount"),
        ("-5", "cash", "amount"),
        ("3400.01", "cash", "amount"),  # more than the booking's estimate of ¥3 400
        ("10", "cheque", "method"),
    ):
        with pytest.raises(DomainError) as refused:
            _take(booking, advisor, amount, method)
        assert refused.value.field == field, amount
    assert not Deposit.objects.exists()
    _take(booking, advisor, "3000", "cash")
    with pytest.raises(DomainError) as refused:
        _take(booking, advisor, "400.01", "cash")  # 3000 + 400.01 > 3400
    assert "3,400.01" in refused.value.messages[0]
    assert Deposit.objects.get().receipt_number.endswith("-000001")


def test_the_manager_refunds_a_deposit_once_and_never_more_than_was_paid(booking, advisor, manager):
    deposit = _take(booking, advisor, "800.00")
    services.appointment_cancel(appointment=booking, actor=advisor, reason="客户取消")
    with pytest.raises(DomainError) as refused:
        services.deposit_refund(
            deposit=deposit, actor=advisor, amount="800", method="alipay", reason="取消"
        )
    assert refused.value.code == "permission"
    with pytest.raises(DomainError) as refused:
        services.deposit_refund(
            deposit=deposit, actor=manager, amount="800.01", method="alipay", reason="取消"
        )
    assert refused.value.field == "amount"
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.HELD
    services.deposit_refund(
        deposit=deposit, actor=manager, amount="800.00", method="alipay", reason="取消"
    )
    deposit.refresh_from_db()
    assert (deposit.status, deposit.refund_amount, deposit.refunded_by) == (
        "refunded",
        D("800.00"),
        manager,
    )
    assert deposit.refunded_at is not None
    booking.refresh_from_db()
    assert booking.deposit_paid == 0  # 800 paid − 800 back
    with pytest.raises(DomainError) as refused:
        services.deposit_refund(
            deposit=deposit, actor=manager, amount="1", method="alipay", reason="again"
        )
    assert refused.value.code == "already_refunded"
    day = deposit_movements(timezone.localdate())
    assert [d.amount for d in day["taken"]] == [D("800.00")]
    assert [d.refund_amount for d in day["refunded"]] == [D("800.00")]
    assert not day["applied"].exists() and not day["forfeited"].exists()


def test_a_no_show_forfeits_the_deposit_by_the_stores_rule(workshop, booking, advisor):
    deposit = _take(booking, advisor, "800.00")
    services.appointment_mark_no_show(appointment=booking, actor=None)
    deposit.refresh_from_db()
    assert deposit.status == DepositStatus.FORFEITED
    assert deposit.forfeited_at is not None
    assert TimelineEvent.objects.filter(kind="appointment.deposit_forfeited").count() == 1
    rule_set("appointments.no_show_deposit_kept", False)
    vehicle = make_vehicle()
    other = services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 10),
        operations=[workshop["oil"]],
        parts=[(workshop["windscreen"], 1)],
        actor=advisor,
    )
    kept = _take(other, advisor, "500.00")
    services.appointment_mark_no_show(appointment=other, actor=None)
    kept.refresh_from_db()
    assert kept.status == DepositStatus.HELD  # waits for the manager's refund


def test_the_receipt_pdf_carries_the_receipt_number_and_amount(booking, advisor):
    deposit = _take(booking, advisor, "800.00")
    pdf = PdfReader(BytesIO(deposit_receipt_pdf(deposit)))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert deposit.receipt_number in text
    assert "800.00" in text


def test_the_deposit_form_shows_a_refusal_by_the_amount(booking, advisor, client):
    client.force_login(advisor)
    url = reverse("appointments:deposit", args=[booking.pk])
    response = client.post(url, {"amount": "5000", "method": "cash"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="deposit-amount-errors"' in page
    assert "more than the booking" in page or "预约" in page
    assert not Deposit.objects.exists()
    response = client.post(url, {"amount": "800", "method": "wechat"})
    assert response.status_code == 302
    page = client.get(reverse("appointments:detail", args=[booking.pk])).content.decode()
    assert Deposit.objects.get().receipt_number in page
