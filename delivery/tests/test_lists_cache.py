"""The delivery board and the cashier's lists: their HTML comes from the cache while nothing
they show changed (`dealership.fragments`); a change and a language show at once."""

from datetime import date
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from dealership.models import Customer
from dealership.money import PaymentMethod
from delivery import services, views
from delivery.forms import TaxInvoiceExportForm
from delivery.models import Payment
from delivery.selectors import bill_for, settled_rows
from delivery.services import gate_pass_issue
from delivery.tests.factories import (
    checked_visit,
    qc_passed_visit,
    ready_visit,
    settled_visit,
    staff,
)

pytestmark = pytest.mark.django_db


def _get(client, name, language="zh-hans"):
    response = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_the_board_shows_a_paid_bill_and_a_gate_pass_at_once(client):
    visit, _order, settlement = settled_visit()
    client.force_login(staff("advisor"))
    board = _get(client, "delivery:board")
    assert settlement.invoice_number in board and visit.number in board
    gate_pass_issue(visit=visit, actor=staff("cashier"))
    board = _get(client, "delivery:board")
    visit.delivery.refresh_from_db()
    assert visit.delivery.gate_pass_number in board
    assert "Gate pass" in _get(client, "delivery:board", "en") and "Gate pass" not in board


def test_the_cashier_list_shows_a_renamed_customer_at_once(client):
    visit, _order = ready_visit()
    mobile = visit.customer.mobile
    client.force_login(staff("cashier"))
    assert mobile in _get(client, "delivery:cashier")
    Customer.objects.filter(pk=visit.customer_id).update(name="改名后的客户")
    assert "改名后的客户" in _get(client, "delivery:cashier")
    client.force_login(staff("service_manager"))
    assert "改名后的客户" in _get(client, "delivery:cashier")


def test_a_car_leaves_the_cashier_list_when_its_gate_pass_is_issued(client):
    visit, _order, settlement = settled_visit()
    qc_passed_visit()
    client.force_login(staff("cashier"))
    page = _get(client, "delivery:cashier")
    queue = page.split('id="cashier-queue"')[1].split("</table>")[0]
    settled = page.split('id="settled-today"')[1].split("</table>")[0]
    assert visit.number in queue and settlement.invoice_number in settled
    gate_pass_issue(visit=visit, actor=staff("cashier"))
    queue = _get(client, "delivery:cashier").split('id="cashier-queue"')[1].split("</table>")[0]
    assert visit.number not in queue


def _section(page: str, table_id: str) -> str:
    return page.split(f'id="{table_id}"')[1].split("</table>")[0]


def test_the_cashier_queue_says_settle_or_gate_pass_and_drops_a_car_with_its_pass(client):
    ready, _order = ready_visit()
    paid, _order, _settlement = settled_visit()
    gone, _order, _settlement = settled_visit()
    gate_pass_issue(visit=gone, actor=staff("cashier"))
    client.force_login(staff("cashier"))
    queue = _section(_get(client, "delivery:cashier", "en"), "cashier-queue")
    rows = {row.split("</a>")[0].rsplit(">", 1)[1]: row for row in queue.split("<tr>")[2:]}
    assert set(rows) == {ready.number, paid.number}
    assert ">Settle</td>" in rows[ready.number] and "gate pass" not in rows[ready.number]
    assert "Issue the gate pass" in rows[paid.number]


def test_the_settled_list_prints_each_bill_once_with_its_payments_in_order(client):
    visit, _order = checked_visit()
    due = bill_for(visit).customer_total
    part = (due / 3).quantize(Decimal("0.01"))
    split = services.settlement_create(
        visit=visit,
        actor=staff("cashier"),
        payments=[{"method": "alipay", "amount": part}, {"method": "cash", "amount": due - part}],
    )
    _visit, _order, unpaid = settled_visit()
    Payment.objects.filter(settlement=unpaid).delete()  # as a bill with nothing to pay
    rows = settled_rows()
    assert [row["id"] for row in rows] == [unpaid.pk, split.pk]
    assert rows[0]["payments"] == []
    assert [(p["method_label"], p["amount"]) for p in rows[1]["payments"]] == [
        (str(PaymentMethod.ALIPAY.label), part),
        (str(PaymentMethod.CASH.label), due - part),
    ]
    client.force_login(staff("cashier"))
    settled = _section(_get(client, "delivery:cashier", "en"), "settled-today")
    assert f"Alipay ¥{part} +" in settled and f"Cash ¥{due - part}</td>" in settled
    assert settled.count(split.invoice_number) == 1 and ">—</td>" in settled


def test_the_export_form_follows_the_day_and_the_language(client, monkeypatch):
    client.force_login(staff("cashier"))

    def form_on(day: date, language: str) -> str:
        month = {"start": day.replace(day=1), "end": day}
        monkeypatch.setattr(views, "_this_month", lambda: month)
        page = _get(client, "delivery:cashier", language)
        shown = '<form method="get"' + page.split('<form method="get"')[1].split("</form>")[0]
        with translation.override(language):
            fresh = render_to_string(
                "delivery/_tax_invoice_export.html",
                {"export_form": TaxInvoiceExportForm(initial=month)},
            )
        assert shown + "</form>\n" == fresh  # what the page would render without the memo
        return shown

    march = form_on(date(2026, 3, 15), "en")
    assert 'value="2026-03-01"' in march and 'value="2026-03-15"' in march
    assert "Settled from" in march
    assert "Settled from" not in form_on(date(2026, 3, 15), "zh-hans")
    april = form_on(date(2026, 4, 2), "en")
    assert 'value="2026-04-01"' in april and 'value="2026-04-02"' in april
