"""Delivery pages and PDFs on a busy day. Run: pytest -m bench delivery -s (or make bench).

A busy store hands back some 40 cars a day: the board, the cashier's queue and
one car's page are timed with that many cars between QC and the gate, and the
three PDFs (delivery sheet, receipt, gate pass) are rendered in Chinese.
"""

import pytest
from django.db import connection
from django.urls import reverse

from delivery.services import gate_pass_issue
from delivery.tests.factories import checked_visit, qc_passed_visit, settled_visit, staff
from tests.bench.timing import measure, print_table

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

CARS = 40


def test_delivery_pages_and_pdfs_on_a_busy_day(client, plans):
    cashier = staff("cashier")
    for n in range(CARS):
        if n % 3 == 0:
            qc_passed_visit()
        elif n % 3 == 1:
            checked_visit()
        else:
            settled_visit(cashier=cashier)
    visit, _order, settlement = settled_visit(cashier=cashier)
    gate_pass_issue(visit=visit, actor=cashier)
    client.force_login(staff("service_manager"))  # may open every page timed here
    client.cookies["django_language"] = "zh-hans"

    baseline = measure(client, "/healthz/", name="bare Django page (/healthz/)", runs=20)
    pages = [
        measure(client, reverse("delivery:board"), name=f"delivery board ({CARS} cars)", runs=20),
        measure(client, reverse("delivery:cashier"), name="cashier queue", runs=20),
        measure(client, reverse("delivery:visit", args=[visit.pk]), name="one car's page", runs=20),
    ]
    pdfs = [
        measure(
            client,
            reverse("delivery:sheet_pdf", args=[visit.pk]),
            name="delivery sheet PDF",
            runs=10,
            content_type="application/pdf",
        ),
        measure(
            client,
            reverse("delivery:receipt_pdf", args=[settlement.pk]),
            name="receipt PDF",
            runs=10,
            content_type="application/pdf",
        ),
        measure(
            client,
            reverse("delivery:gate_pass_pdf", args=[visit.pk]),
            name="gate pass PDF",
            runs=10,
            content_type="application/pdf",
        ),
    ]
    print_table(f"Delivery ({connection.vendor})", pages + pdfs, baseline)
    for row in pages:
        assert row.queries <= 25, row
    for row in pdfs:
        assert row.median_ms < 1000, row  # as the signed work order: under a second
