"""The key staff pages and the PDFs on a busy store's year (`seed_demo --scale 50000`).

Run: make bench (or: pytest -m bench tests/bench/test_bench_pages.py -s -p no:cacheprovider).
Each page: median and p95 server time of 30 requests through the test client (routing,
middleware, view, queries, template; no network), its query count, and its time as a
multiple of the bare Django page (/healthz/: the middleware and one SELECT 1) measured
in the same run. Target: every staff page under 100 ms median.
"""

import os
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from dealership.models import Customer, User, Vehicle
from reception.models import Visit
from tests.bench.timing import measure, record
from workorders.models import WorkOrder

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SECTION = "pages"


def _as(client, username):
    client.force_login(User.objects.get(username=username))
    return client


def test_key_pages_at_scale(scale_data, client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert Visit.objects.count() >= scale_data * 4 // 5 - 10
    today = timezone.localdate()
    busiest = (
        Customer.objects.annotate(n=Count("visits")).order_by("-n", "id").values("pk", "n").first()
    )
    vehicle = Vehicle.objects.filter(owner_id=busiest["pk"]).order_by("id").first()
    baseline = record(
        SECTION, measure(client, "/healthz/", name="bare Django page (/healthz/)", runs=50)
    )

    pages = [
        # user, url, params, name
        ("advisor", "/search/", {"q": "E1A"}, "search: plate fragment (E1A)"),
        ("advisor", "/search/", {"q": "13900012"}, "search: phone fragment (13900012)"),
        ("advisor", "/search/", {"q": "KP0"}, "search: VIN fragment (KP0)"),
        ("advisor", "/search/", {"q": "张伟"}, "search: name (张伟)"),
        ("advisor", "/", {}, "home"),
        ("advisor", "/appointments/", {"day": today.isoformat()}, "appointment board, today"),
        (
            "advisor",
            "/appointments/",
            {"day": today.isoformat(), "view": "week"},
            "appointment board, week",
        ),
        ("advisor", "/appointments/calls/", {}, "appointment calls"),
        ("advisor", "/reception/on-site/", {}, "cars on site (reception)"),
        ("advisor", f"/customers/{busiest['pk']}/", {}, "customer page (busiest)"),
        ("advisor", f"/vehicles/{vehicle.pk}/", {}, "vehicle page"),
        ("controller", "/workshop/", {}, "dispatch / workshop board"),
        ("qc", "/workshop/qc/", {}, "QC list"),
        ("advisor", "/delivery/", {}, "delivery board"),
        ("cashier", "/delivery/cashier/", {}, "cashier list"),
        ("care", "/followup/calls/", {}, "call lists overview"),
        ("care", "/followup/calls/care/", {}, "24 h care call list"),
        ("care", "/followup/calls/lost/", {}, "lost-customer call list"),
        ("care", "/followup/complaints/", {}, "complaints"),
        (
            "care",
            f"/followup/archive/customer/{busiest['pk']}/",
            {},
            f"customer archive ({busiest['n']} visits)",
        ),
        ("care", f"/followup/archive/vehicle/{vehicle.pk}/", {}, "vehicle archive"),
        ("care", "/due/", {}, "due queue (my calls)"),
        (
            "manager",
            "/reports/",
            {"period": "month", "date": today.isoformat()},
            "monthly report",
        ),
        ("manager", "/reports/", {"period": "day", "date": today.isoformat()}, "daily report"),
    ]
    rows = []
    for username, url, params, name in pages:
        _as(client, username)
        row = measure(client, url, name=name, params=params)
        rows.append(record(SECTION, row, baseline=baseline))
    slow = [row for row in rows if row.median_ms >= 100]
    # Wall time on a shared machine is noisy: the 100 ms target is asserted only when the
    # machine was not busy with other work (the table says what the load was).
    if os.getloadavg()[0] < (os.cpu_count() or 1):
        assert not slow, [f"{row.name}: {row.median_ms:.0f} ms" for row in slow]


def test_pdf_render_times_at_scale(scale_data, client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    today = timezone.localdate()
    visit = (
        Visit.objects.filter(
            status="closed", checked_in_at__gte=timezone.now() - timedelta(days=40)
        )
        .order_by("-checked_in_at")
        .first()
    )
    order = WorkOrder.objects.filter(visit=visit, status="signed").first()
    baseline = measure(client, "/healthz/", name="bare", runs=20)
    rows = [
        (
            "advisor",
            f"/orders/{order.pk}/pdf/",
            {},
            "work order PDF",
        ),
        ("cashier", f"/delivery/visits/{visit.pk}/sheet.pdf", {}, "delivery sheet PDF"),
        (
            "manager",
            "/reports/report.pdf",
            {"period": "month", "date": today.isoformat()},
            "monthly report PDF",
        ),
    ]
    for username, url, params, name in rows:
        _as(client, username)
        record(
            "PDF",
            measure(
                client,
                url,
                name=name,
                params=params,
                runs=8,
                warmup=1,
                content_type="application/pdf",
            ),
            baseline=baseline,
        )
