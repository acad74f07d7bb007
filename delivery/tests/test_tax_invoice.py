"""The official invoice (发票): asked for at settlement, its number recorded once issued in the
tax software, the cashier's list of bills waiting for one and the sheet for the tax software."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from dealership.errors import DomainError
from delivery import services
from delivery.models import Settlement, TaxInvoiceKind
from delivery.selectors import bill_for, settlements_awaiting_tax_invoice
from delivery.tests.factories import checked_visit, error_code, settled_visit, staff

pytestmark = pytest.mark.django_db

TENCENT = "9144030071526726XG"


def _settle(visit, **invoice):
    due = bill_for(visit).customer_total
    return services.settlement_create(
        visit=visit,
        actor=staff("cashier"),
        payments=[{"method": "transfer", "amount": due}],
        **invoice,
    )


def test_a_special_invoice_is_recorded_with_the_buyer_and_a_normalised_tax_number():
    visit, _order = checked_visit()
    settlement = _settle(
        visit,
        tax_invoice_kind=TaxInvoiceKind.SPECIAL,
        buyer_name=" 深圳市腾讯计算机系统有限公司 ",
        buyer_tax_number="9144 0300 7152 6726 xg",
        buyer_address_phone="深圳市南山区 0755-86013388",
    )
    settlement.refresh_from_db()
    assert settlement.tax_invoice_kind == TaxInvoiceKind.SPECIAL
    assert settlement.buyer_name == "深圳市腾讯计算机系统有限公司"
    assert settlement.buyer_tax_number == TENCENT
    assert settlement.awaits_tax_invoice


def test_a_private_buyer_of_an_ordinary_invoice_needs_no_tax_number():
    visit, _order = checked_visit()
    settlement = _settle(visit, tax_invoice_kind=TaxInvoiceKind.ORDINARY, buyer_name="张三")
    assert settlement.buyer_tax_number == ""
    assert settlement.awaits_tax_invoice


def test_no_invoice_asked_keeps_no_buyer_and_waits_for_nothing():
    visit, _order = checked_visit()
    settlement = _settle(visit, buyer_name="张三")
    assert settlement.tax_invoice_kind == TaxInvoiceKind.NONE
    assert settlement.buyer_name == ""
    assert not settlement.awaits_tax_invoice


@pytest.mark.parametrize(
    ("invoice", "field", "code"),
    [
        (
            {"tax_invoice_kind": "special", "buyer_name": "腾讯"},
            "buyer_tax_number",
            "tax_number_missing",
        ),
        (
            {"tax_invoice_kind": "special", "buyer_tax_number": TENCENT},
            "buyer_name",
            "buyer_missing",
        ),
        ({"tax_invoice_kind": "ordinary", "buyer_name": ""}, "buyer_name", "buyer_missing"),
        (
            {
                "tax_invoice_kind": "ordinary",
                "buyer_name": "腾讯",
                "buyer_tax_number": "9144030071526726XA",
            },
            "buyer_tax_number",
            "tax_number_check_character",
        ),
        (
            {
                "tax_invoice_kind": "special",
                "buyer_name": "腾讯",
                "buyer_tax_number": "91440300715267",
            },
            "buyer_tax_number",
            "tax_number_length",
        ),
        ({"tax_invoice_kind": "receipt"}, "tax_invoice_kind", None),
    ],
)
def test_a_bad_invoice_request_refuses_the_settlement_by_the_field(invoice, field, code):
    visit, _order = checked_visit()
    with pytest.raises(DomainError) as error:
        _settle(visit, **invoice)
    assert error.value.field == field
    assert error_code(error.value) == code
    assert not Settlement.objects.filter(visit=visit).exists()
    visit.refresh_from_db()
    assert visit.settled_at is None


def test_the_issued_number_is_recorded_once_with_who_and_when():
    visit, _order = checked_visit()
    settlement = _settle(visit, tax_invoice_kind="ordinary", buyer_name="张三")
    cashier = staff("cashier")
    services.tax_invoice_issue(
        settlement=settlement, actor=cashier, number=" 2544 2000 0000 1234 5678 "
    )
    settlement.refresh_from_db()
    assert settlement.tax_invoice_number == "25442000000012345678"
    assert settlement.tax_invoice_issued_by == cashier
    assert settlement.tax_invoice_issued_at is not None
    assert not settlement.awaits_tax_invoice

    with pytest.raises(DomainError) as error:
        services.tax_invoice_issue(settlement=settlement, actor=cashier, number="12345678")
    assert error_code(error.value) == "tax_invoice_issued"
    settlement.refresh_from_db()
    assert settlement.tax_invoice_number == "25442000000012345678"


@pytest.mark.parametrize("number", ["1234567", "123456789", "1234567A", "", "2544200000001234567"])
def test_a_malformed_invoice_number_is_refused_and_nothing_recorded(number):
    visit, _order = checked_visit()
    settlement = _settle(visit, tax_invoice_kind="ordinary", buyer_name="张三")
    with pytest.raises(DomainError) as error:
        services.tax_invoice_issue(settlement=settlement, actor=staff("cashier"), number=number)
    assert error.value.field == "number"
    settlement.refresh_from_db()
    assert settlement.tax_invoice_number == "" and settlement.tax_invoice_issued_at is None


def test_no_number_on_a_bill_without_an_invoice_request_or_on_a_void_bill():
    _visit, _order, plain = settled_visit()
    with pytest.raises(DomainError) as error:
        services.tax_invoice_issue(settlement=plain, actor=staff("cashier"), number="12345678")
    assert error_code(error.value) == "no_tax_invoice_asked"

    visit, _order = checked_visit()
    asked = _settle(visit, tax_invoice_kind="ordinary", buyer_name="张三")
    services.settlement_void(settlement=asked, actor=staff("service_manager"), reason="录错")
    with pytest.raises(DomainError) as error:
        services.tax_invoice_issue(settlement=asked, actor=staff("cashier"), number="12345678")
    assert error_code(error.value) == "void"
    assert Settlement.objects.get(pk=asked.pk).tax_invoice_number == ""
    assert settlements_awaiting_tax_invoice() == []


def test_the_period_selects_the_bills_settled_in_it():
    visit, _order = checked_visit()
    settlement = _settle(visit, tax_invoice_kind="ordinary", buyer_name="张三")
    today = timezone.localdate()
    assert settlements_awaiting_tax_invoice(start=today, end=today) == [settlement]
    yesterday = today - timedelta(days=1)
    assert settlements_awaiting_tax_invoice(start=yesterday, end=yesterday) == []


# ---------------------------------------------------------------------------- pages


def test_the_settle_form_shows_a_wrong_tax_number_by_its_field(client):
    visit, _order = checked_visit()
    client.force_login(staff("cashier"))
    due = bill_for(visit).customer_total
    response = client.post(
        reverse("delivery:settle", args=[visit.pk]),
        {
            "card_amount": str(due),
            "tax_invoice_kind": "special",
            "buyer_name": "腾讯",
            "buyer_tax_number": "9144030071526726XA",
        },
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    errors = response.context["settle_form"].errors
    assert "does not match" in errors["buyer_tax_number"][0]
    assert not Settlement.objects.exists()

    response = client.post(
        reverse("delivery:settle", args=[visit.pk]),
        {
            "card_amount": str(due),
            "tax_invoice_kind": "special",
            "buyer_name": "腾讯",
            "buyer_tax_number": TENCENT,
        },
        follow=True,
    )
    assert Settlement.objects.get(visit=visit).buyer_tax_number == TENCENT
    assert 'id="tax-invoice-form"' in response.content.decode()


def test_the_cashier_lists_bills_waiting_records_the_number_and_downloads_the_sheet(client):
    visit, _order = checked_visit()
    settlement = _settle(
        visit, tax_invoice_kind="special", buyer_name="腾讯", buyer_tax_number=TENCENT
    )
    client.force_login(staff("cashier"))
    page = client.get(reverse("delivery:cashier")).content.decode()
    assert TENCENT in page and settlement.invoice_number in page

    today = timezone.localdate().isoformat()
    sheet = client.get(reverse("delivery:tax_invoice_export"), {"start": today, "end": today})
    assert sheet.status_code == 200
    rows = list(load_workbook(io.BytesIO(sheet.content)).active.values)
    assert len(rows) == 2
    row = rows[1]
    assert row[0] == settlement.invoice_number and row[4] == "腾讯" and row[5] == TENCENT
    gross, net, vat = (Decimal(str(value)) for value in (row[8], row[9], row[11]))
    assert gross == settlement.amount_due and vat == settlement.vat_amount
    assert net + vat == gross

    url = reverse("delivery:tax_invoice_issue", args=[settlement.pk])
    response = client.post(url, {"number": "12AB"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "8 digits" in response.context["tax_invoice_form"].errors["number"][0]
    response = client.post(url, {"number": "12345678"})
    assert response.status_code == 302
    assert Settlement.objects.get(pk=settlement.pk).tax_invoice_number == "12345678"
    assert TENCENT not in client.get(reverse("delivery:cashier")).content.decode()


def test_an_export_with_the_end_before_the_start_goes_back_with_a_message(client):
    client.force_login(staff("cashier"))
    response = client.get(
        reverse("delivery:tax_invoice_export"), {"start": "2026-03-02", "end": "2026-03-01"}
    )
    assert response.status_code == 302 and response["Location"] == reverse("delivery:cashier")
