"""The delivery sheet, the receipt and the gate pass as PDFs, in Chinese with a real font."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation
from pypdf import PdfReader

from delivery import pdf, selectors, services
from delivery.models import Delivery
from delivery.tests.factories import settled_visit, staff
from reception.models import DeclinedWork

pytestmark = pytest.mark.django_db


def _text(content: bytes) -> str:
    reader = PdfReader(io.BytesIO(content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _fonts(content: bytes) -> set[str]:
    reader = PdfReader(io.BytesIO(content))
    names = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            names.add(str(font.get_object()["/BaseFont"]))
    return names


@pytest.mark.parametrize(
    ("odometer", "due_km", "plan_km"),
    [(1200, 5000, 5000), (5200, 10000, 10000), (12000, 20000, 20000), (42003, 50000, 10000)],
)
def test_next_service_comes_from_the_maintenance_plans(plans, odometer, due_km, plan_km):
    upcoming = selectors.next_service(odometer_km=odometer, on=date(2025, 1, 31))
    assert (upcoming.due_km, upcoming.plan) == (due_km, plans[plan_km])
    months = plans[plan_km if plan_km == 5000 else 10000].interval_months
    assert upcoming.due_date == (date(2025, 7, 31) if months == 6 else date(2026, 1, 31))


def test_next_service_cost_and_time(plans):
    with translation.override("zh-hans"):
        upcoming = selectors.next_service(odometer_km=12000)
    assert upcoming.estimated_cost == Decimal("305.00")  # 120 + 100 + 40 + filter 45
    assert upcoming.estimated_hours == Decimal("1.2")
    assert "更换空气滤清器" in upcoming.items


def test_the_delivery_sheet_has_care_notes_next_service_and_declined_work(plans):
    visit, _order, settlement = settled_visit()
    DeclinedWork.objects.create(
        vehicle=visit.vehicle, visit=visit, description="更换雨刮片", estimated_amount=120
    )

    content = pdf.delivery_sheet_pdf(visit, language="zh-hans")

    text = _text(content)
    assert "交车说明单" in text
    assert "新刹车片需要磨合" in text  # the labour operation's care note
    assert "下次保养：行驶至 50000 公里" in text  # 42 003 km → the next 10 000 km step
    assert "更换雨刮片" in text and "¥120.00" in text
    assert settlement.invoice_number in text
    assert any("WenQuanYi" in font for font in _fonts(content))


def test_the_sheet_in_english_for_an_english_speaking_customer(plans):
    visit, _order, _settlement = settled_visit()
    text = _text(pdf.delivery_sheet_pdf(visit, language="en"))
    assert "Next service due at 50000 km" in text
    assert "New pads bed in" in text


def test_the_receipt_shows_invoice_payments_and_vat():
    visit, _order, settlement = settled_visit()
    text = _text(pdf.receipt_pdf(selectors.settlement_detail(settlement.pk), language="zh-hans"))
    assert settlement.invoice_number in text
    assert "¥1000.00" in text.replace(",", "")
    assert "增值税" in text and "现金" in text


def test_the_gate_pass_names_the_car_and_the_paid_invoice():
    visit, _order, settlement = settled_visit()
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    delivery = Delivery.objects.get(visit=visit)

    with translation.override("zh-hans"):
        text = _text(pdf.gate_pass_pdf(visit, delivery, settlement))
    assert "出门证" in text and visit.vehicle.plate in text
    assert delivery.gate_pass_number in text and settlement.invoice_number in text


def test_a_sheet_printed_again_after_a_change_shows_the_change_in_its_language(plans):
    visit, _order, _settlement = settled_visit()
    assert "更换雨刮片" not in _text(pdf.delivery_sheet_pdf(visit, language="zh-hans"))
    DeclinedWork.objects.create(
        vehicle=visit.vehicle, visit=visit, description="更换雨刮片", estimated_amount=120
    )

    chinese = _text(pdf.delivery_sheet_pdf(visit, language="zh-hans"))
    english = _text(pdf.delivery_sheet_pdf(visit, language="en"))

    assert "更换雨刮片" in chinese and "交车说明单" in chinese
    assert "更换雨刮片" in english and "Delivery explanation sheet" in english
