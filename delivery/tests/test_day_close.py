"""The cashier's day close (日结): one day's money by method, counted by hand, and a closed day.

The day of every test: three brake jobs of ¥2 345.60 each (labour 345.60 + pads 2 000):
- bill 1 paid cash ¥1 000.00 + card ¥1 345.60, then ¥100.00 refunded in cash;
- bill 2 from an appointment with an ¥800.00 WeChat deposit: ¥1 545.60 left, paid by Alipay;
- bill 3 paid cash ¥2 345.60, then voided (the cash goes back);
- a second appointment's ¥300.00 cash deposit, refunded in full the same day.
"""

import io
import os
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from appointments.services import (
    appointment_book,
    appointment_record_deposit,
    deposit_refund,
)
from appointments.tests.factories import days_ahead, local, make_workshop
from conftest import SHOTS_DIR
from dealership.errors import DomainError
from dealership.tests.factories import LabourOperationFactory, PartFactory
from delivery import day_close, services
from delivery.models import DayClose
from delivery.states import DayCloseStatus
from delivery.tests.factories import checked_visit, error_code, staff
from reception.models import Visit

pytestmark = pytest.mark.django_db
D = Decimal

EXACT = {
    "cash": "900.00",  # 1 000.00 + 2 345.60 paid − 2 345.60 voided − 100.00 refunded + 300 − 300
    "card": "1345.60",  # bill 1's card share
    "alipay": "1545.60",  # 2 345.60 − 800.00 deposit credited
    "wechat": "800.00",  # the deposit taken
    "transfer": "0.00",
}


def _brake_job():
    return checked_visit(
        lines=[
            {"operation": LabourOperationFactory(price=D("345.60")), "job_type": "repair"},
            {"part": PartFactory(price=D("2000.00")), "quantity": "1", "job_type": "repair"},
        ]
    )[0]


def _book(visit, workshop, days):
    return appointment_book(
        customer=visit.customer,
        vehicle=visit.vehicle,
        start=local(days_ahead(days), 9),
        operations=[workshop["oil"]],
        parts=[(workshop["windscreen"], 1)],
        actor=visit.advisor,
    )


@pytest.fixture
def day():
    cashier, manager = staff("cashier"), staff("service_manager")
    workshop = make_workshop()

    first = _brake_job()
    bill1 = services.settlement_create(
        visit=first,
        actor=cashier,
        payments=[
            {"method": "cash", "amount": "1000.00"},
            {"method": "card", "amount": "1345.60"},
        ],
    )
    services.settlement_refund(
        settlement=bill1, actor=manager, amount="100.00", method="cash", reason="少收工时"
    )

    second = _brake_job()
    appointment = _book(second, workshop, 5)
    taken = appointment_record_deposit(
        appointment=appointment, amount="800.00", method="wechat", actor=second.advisor
    )
    Visit.objects.filter(pk=second.pk).update(appointment=appointment)
    second.refresh_from_db()
    bill2 = services.settlement_create(
        visit=second, actor=cashier, payments=[{"method": "alipay", "amount": "1545.60"}]
    )

    third = _brake_job()
    bill3 = services.settlement_create(
        visit=third, actor=cashier, payments=[{"method": "cash", "amount": "2345.60"}]
    )
    services.settlement_void(settlement=bill3, actor=manager, reason="开错单")

    other = _book(first, workshop, 6)
    given_back = appointment_record_deposit(
        appointment=other, amount="300.00", method="cash", actor=first.advisor
    )
    deposit_refund(
        deposit=given_back, actor=manager, amount="300.00", method="cash", reason="客户取消"
    )
    return {
        "day": timezone.localdate(),
        "cashier": cashier,
        "manager": manager,
        "bills": (bill1, bill2, bill3),
        "deposit": taken,
        "workshop": workshop,
    }


def _figures(day):
    summary = day_close.day_summary(day)
    return summary, {line.method: line for line in summary.methods}


# ---------------------------------------------------------------------------- the figures


def test_each_method_adds_up_by_hand(day):
    summary, by = _figures(day["day"])
    assert by["cash"].paid == D("3345.60")  # 1 000.00 (bill 1) + 2 345.60 (bill 3)
    assert by["cash"].voided == D("2345.60")  # bill 3's cash went back
    assert by["cash"].refunded == D("100.00")
    assert by["cash"].deposits_taken == D("300.00")
    assert by["cash"].deposits_refunded == D("300.00")
    assert by["cash"].expected == D("900.00")  # 3 345.60 + 300 − 2 345.60 − 100 − 300
    assert by["card"].expected == D("1345.60")
    assert by["alipay"].expected == D("1545.60")  # 2 345.60 − 800.00 credited
    assert by["wechat"].expected == D("800.00")  # the deposit taken
    assert by["transfer"].expected == D("0.00")
    totals = summary.totals
    assert totals["paid"] == D("6236.80")  # 3 345.60 + 1 345.60 + 1 545.60
    assert totals["deposits_taken"] == D("1100.00")  # 800 + 300
    assert totals["deposits_applied"] == D("800.00")
    assert totals["deposits_refunded"] == D("300.00")
    assert totals["voided"] == D("2345.60")
    assert totals["refunded"] == D("100.00")
    assert totals["expected"] == D("4591.20")  # 900 + 1 345.60 + 1 545.60 + 800
    assert [s.invoice_number for s in summary.voided] == [day["bills"][2].invoice_number]
    assert len(summary.settlements) == 3
    assert [d.receipt_number for d in summary.deposits["applied"]] == [
        day["deposit"].receipt_number
    ]


def test_exact_counts_close_the_day_without_a_reason(day):
    close = day_close.day_close(day=day["day"], actor=day["cashier"], counted=EXACT)
    assert close.status == DayCloseStatus.CLOSED
    assert close.closed_by == day["cashier"] and close.closed_at is not None
    assert close.expected_cash == D("900.00") and close.counted_cash == D("900.00")
    assert close.expected_alipay == D("1545.60")
    summary, by = _figures(day["day"])
    assert summary.is_closed and not summary.has_variance
    assert summary.totals["variance"] == D("0.00")


def test_a_variance_without_a_reason_is_refused_and_nothing_is_written(day):
    short = {**EXACT, "cash": "895.00", "alipay": "1547.60"}
    with pytest.raises(DomainError) as refused:
        day_close.day_close(day=day["day"], actor=day["cashier"], counted=short)
    assert error_code(refused.value) == "variance_unexplained"
    assert "variance_reason" in refused.value.error_dict
    message = refused.value.error_dict["variance_reason"][0].message
    assert "¥5.00" in message and "¥2.00" in message  # cash 895 − 900, Alipay 1 547.60 − 1 545.60
    assert not DayClose.objects.exists()


def test_a_variance_with_a_reason_is_recorded_per_method(day):
    short = {**EXACT, "cash": "895.00"}
    day_close.day_close(
        day=day["day"], actor=day["cashier"], counted=short, variance_reason="找零多找了5元"
    )
    summary, by = _figures(day["day"])
    assert by["cash"].variance == D("-5.00")  # 895.00 counted − 900.00 expected
    assert by["card"].variance == D("0.00")
    assert summary.totals["variance"] == D("-5.00")
    assert summary.close.variance_reason == "找零多找了5元"


@pytest.mark.parametrize(
    ("counts", "field", "code"),
    [
        ({**EXACT, "cash": "-1.00"}, "counted_cash", "negative"),
        ({**EXACT, "card": "10000000.00"}, "counted_card", "too_large"),
        ({**EXACT, "wechat": "12.345"}, "counted_wechat", None),
        ({**EXACT, "transfer": ""}, "counted_transfer", "count_missing"),
        ({**EXACT, "alipay": "abc"}, "counted_alipay", None),
    ],
)
def test_bad_counts_are_refused_by_their_field(day, counts, field, code):
    with pytest.raises(DomainError) as refused:
        day_close.day_close(day=day["day"], actor=day["cashier"], counted=counts)
    assert list(refused.value.error_dict) == [field]
    if code:
        assert error_code(refused.value) == code
    assert not DayClose.objects.exists()


def test_a_reason_too_long_is_refused(day):
    with pytest.raises(DomainError) as refused:
        day_close.day_close(
            day=day["day"],
            actor=day["cashier"],
            counted={**EXACT, "cash": "1.00"},
            variance_reason="x" * 501,
        )
    assert list(refused.value.error_dict) == ["variance_reason"]
    assert not DayClose.objects.exists()


def test_closing_twice_or_a_future_day_is_refused(day):
    day_close.day_close(day=day["day"], actor=day["cashier"], counted=EXACT)
    with pytest.raises(DomainError) as twice:
        day_close.day_close(day=day["day"], actor=day["manager"], counted=EXACT)
    assert error_code(twice.value) == "already_closed"
    tomorrow = day["day"] + timedelta(days=1)
    with pytest.raises(DomainError) as future:
        day_close.day_close(day=tomorrow, actor=day["cashier"], counted=EXACT)
    assert list(future.value.error_dict) == ["day"]
    assert error_code(future.value) == "future_day"
    assert DayClose.objects.count() == 1


def test_a_past_day_with_no_movement_closes_at_zero(day):
    yesterday = day["day"] - timedelta(days=1)
    zero = dict.fromkeys(EXACT, "0")
    close = day_close.day_close(day=yesterday, actor=day["cashier"], counted=zero)
    assert close.expected_cash == D("0.00") and close.is_closed


def test_only_the_cashier_or_the_manager_closes(day):
    with pytest.raises(DomainError) as refused:
        day_close.day_close(day=day["day"], actor=staff("advisor"), counted=EXACT)
    assert error_code(refused.value) == "permission"


# ---------------------------------------------------------------------------- a closed day


def test_nothing_falls_on_a_closed_day(day):
    bill1, bill2, _bill3 = day["bills"]
    manager, cashier = day["manager"], day["cashier"]
    day_close.day_close(day=day["day"], actor=cashier, counted=EXACT)
    visit = _brake_job()
    refusals = [
        lambda: services.settlement_create(
            visit=visit, actor=cashier, payments=[{"method": "cash", "amount": "2345.60"}]
        ),
        lambda: services.settlement_refund(
            settlement=bill1, actor=manager, amount="1.00", method="cash", reason="再退"
        ),
        lambda: services.settlement_void(settlement=bill2, actor=manager, reason="作废"),
        lambda: services.tax_invoice_issue(settlement=bill2, actor=cashier, number="12345678"),
        lambda: deposit_refund(
            deposit=day["deposit"], actor=manager, amount="1.00", method="cash", reason="退"
        ),
        lambda: appointment_record_deposit(
            appointment=_book(visit, day["workshop"], 7),
            amount="100.00",
            method="cash",
            actor=visit.advisor,
        ),
    ]
    for attempt in refusals:
        with pytest.raises(DomainError) as refused:
            attempt()
        assert error_code(refused.value) == "day_closed"
        assert day["day"].strftime("%Y-%m-%d") in refused.value.messages[0]
    summary, by = _figures(day["day"])
    assert summary.totals["expected"] == D("4591.20")  # unchanged
    assert len(summary.settlements) == 3


def test_the_manager_reopens_with_a_reason_and_the_cashier_closes_again(day):
    cashier, manager = day["cashier"], day["manager"]
    day_close.day_close(day=day["day"], actor=cashier, counted=EXACT)
    with pytest.raises(DomainError) as not_manager:
        day_close.day_reopen(day=day["day"], actor=cashier, reason="补录")
    assert error_code(not_manager.value) == "permission"
    with pytest.raises(DomainError) as no_reason:
        day_close.day_reopen(day=day["day"], actor=manager, reason=" ")
    assert list(no_reason.value.error_dict) == ["reason"]
    close = day_close.day_reopen(day=day["day"], actor=manager, reason="漏录一笔退款")
    assert close.status == DayCloseStatus.REOPENED
    assert (close.reopened_by, close.reopen_reason) == (manager, "漏录一笔退款")
    services.settlement_refund(
        settlement=day["bills"][0], actor=manager, amount="20.00", method="card", reason="补退"
    )
    again = day_close.day_close(day=day["day"], actor=cashier, counted={**EXACT, "card": "1325.60"})
    assert again.pk == close.pk and again.is_closed
    assert again.expected_card == D("1325.60")  # 1 345.60 − 20.00 refunded after reopening


# ---------------------------------------------------------------------------- pages


def _counts_post(day_value, **overrides):
    data = {"day": f"{day_value:%Y-%m-%d}", "variance_reason": ""}
    data.update({f"counted_{m}": v for m, v in EXACT.items()})
    data.update(overrides)
    return data


@pytest.mark.parametrize("role", ["cashier", "service_manager"])
def test_the_page_shows_the_figures_and_closes_the_day(client, day, role):
    user = staff(role)
    client.force_login(user)
    cashier_page = client.get(reverse("delivery:cashier"), HTTP_ACCEPT_LANGUAGE="en")
    assert reverse("delivery:day_close") in cashier_page.content.decode()
    page = client.get(reverse("delivery:day_close"), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    html = page.content.decode()
    assert "¥4591.20" in html and "¥900.00" in html  # total and cash expected
    assert 'id="day-close-form"' in html
    refused = client.post(
        reverse("delivery:day_close_submit"),
        _counts_post(day["day"], counted_cash="890.00"),
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert refused.status_code == 400
    assert "give the reason" in refused.content.decode()
    assert 'field-error" id="field-variance_reason"' in refused.content.decode()
    assert not DayClose.objects.exists()
    done = client.post(reverse("delivery:day_close_submit"), _counts_post(day["day"]))
    assert done.status_code == 302
    assert DayClose.objects.get().closed_by == user
    closed = client.get(done["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Closed by" in closed and 'id="day-close-form"' not in closed
    assert ('id="day-reopen"' in closed) == (role == "service_manager")
    listing = client.get(reverse("delivery:day_closes")).content.decode()
    assert f"{day['day']:%Y-%m-%d}" in listing
    pdf = client.get(reverse("delivery:day_close_pdf") + f"?day={day['day']:%Y-%m-%d}")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"


def test_bad_input_on_the_page_is_said_by_the_field(client, day):
    client.force_login(day["cashier"])
    url = reverse("delivery:day_close_submit")
    negative = client.post(url, _counts_post(day["day"], counted_card="-3"))
    assert negative.status_code == 400
    assert 'field-error" id="field-counted_card"' in negative.content.decode()
    huge = client.post(url, _counts_post(day["day"], counted_cash="99999999999"))
    assert huge.status_code == 400
    assert 'field-error" id="field-counted_cash"' in huge.content.decode()
    future = client.post(url, _counts_post(day["day"] + timedelta(days=3)))
    assert future.status_code == 400
    assert not DayClose.objects.exists()
    odd_day = client.get(reverse("delivery:day_close") + "?day=2026-13-45")
    assert odd_day.status_code == 200  # today shown, with a message


@pytest.mark.parametrize("role", ["advisor", "workshop_controller", "technician", "customer_care"])
def test_other_roles_get_403(client, role):
    client.force_login(staff(role))
    for name in ("delivery:day_close", "delivery:day_closes", "delivery:day_close_pdf"):
        assert client.get(reverse(name)).status_code == 403
    assert client.post(reverse("delivery:day_close_submit"), {}).status_code == 403
    assert client.post(reverse("delivery:day_close_reopen"), {}).status_code == 403


def test_the_pdf_adds_up_and_is_kept_for_a_look(client, day):
    day_close.day_close(
        day=day["day"],
        actor=day["cashier"],
        counted={**EXACT, "cash": "895.00"},
        variance_reason="找零",
    )
    client.force_login(day["manager"])
    response = client.get(
        reverse("delivery:day_close_pdf") + f"?day={day['day']:%Y-%m-%d}",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    os.makedirs(SHOTS_DIR, exist_ok=True)
    with open(os.path.join(SHOTS_DIR, "day-close.pdf"), "wb") as out:
        out.write(response.content)
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert "日结" in text
    assert "4591.20" in text  # the day's total expected
    assert "895.00" in text and "-5.00" in text  # cash counted and its variance
    assert day["bills"][2].invoice_number in text  # the voided bill is listed


def test_the_manager_reopens_a_closed_day_on_the_page(client, day):
    day_close.day_close(day=day["day"], actor=day["cashier"], counted=EXACT)
    client.force_login(day["manager"])
    url = reverse("delivery:day_close_reopen")
    blank = client.post(url, {"day": f"{day['day']:%Y-%m-%d}", "reason": ""})
    assert blank.status_code == 400
    assert 'field-error" id="field-reason"' in blank.content.decode()
    assert DayClose.objects.get().is_closed
    done = client.post(url, {"day": f"{day['day']:%Y-%m-%d}", "reason": "漏录退款"})
    assert done.status_code == 302
    close = DayClose.objects.get()
    assert (close.status, close.reopen_reason) == (DayCloseStatus.REOPENED, "漏录退款")
    page = client.get(done["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Reopened by" in page and 'id="day-close-form"' in page


@pytest.mark.parametrize("asked", ["9999-12-31", "0001-01-01"])
def test_a_day_out_of_range_on_the_page_shows_today(client, asked):
    client.force_login(staff("cashier"))
    for name in ("delivery:day_close", "delivery:day_close_pdf"):
        response = client.get(reverse(name), {"day": asked})
        assert response.status_code == 200
    page = client.get(reverse("delivery:day_close"), {"day": asked}).content.decode()
    assert f"{timezone.localdate():%Y-%m-%d}</h1>" in page and f"{asked}</h1>" not in page
