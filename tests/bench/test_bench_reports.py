"""The monthly report over a year of a busy store's data.

Run: pytest -m bench tests/bench/test_bench_reports.py -s -p no:cacheprovider (PostgreSQL).
The report as a manager reopens it (unchanged data: a staff page, ≤ 30 ms), and its
first view after a real change: a car settled at the till through the services, as the
advisor and the cashier do (issue 21.4: ≤ 150 ms at a year of data).
"""

import statistics
import time
from contextlib import nullcontext

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealership.models import User
from reception.models import Visit
from tests.bench.pages import STAFF_PAGE_MS, cars_to_settle, report_after_change, settle_next
from tests.bench.timing import (
    Breakdown,
    MachineLoad,
    Measurement,
    assert_targets,
    measure,
    percentile,
    print_table,
    production_rendering,
    record,
)

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

CHANGES = 5  # timed first views, each after its own settlement (the store has 6 to settle)
BREAKDOWN_CHANGES = 3  # then first views with the SQL and template clocks on


def test_monthly_report_over_a_year(scale_data, client, settings, django_db_blocker):
    settings.ALLOWED_HOSTS = ["testserver"]
    # The year comes with the large store (seed_demo --scale: 0.8 visits per customer).
    assert Visit.objects.count() >= scale_data * 4 // 5 - 10
    client.force_login(User.objects.get(username="manager"))
    today = timezone.localdate()
    baseline = measure(client, "/healthz/", name="bare Django page (/healthz/)", runs=5)
    rows = [
        measure(
            client,
            "/reports/",
            name=f"report: {kind}",
            params={"period": kind, "date": today.isoformat()},
            runs=5,
            warmup=1,
            target_ms=STAFF_PAGE_MS,
        )
        for kind in ("month", "week", "day")
    ]
    print_table(
        f"Reports: {Visit.objects.count()} visits, {scale_data} customers ({connection.vendor})",
        rows,
        baseline,
    )
    with CaptureQueriesContext(connection) as captured:
        client.get("/reports/", {"period": "month", "date": today.isoformat()})
    slowest = sorted(captured.captured_queries, key=lambda q: -float(q["time"]))[:5]
    print("slowest queries of the monthly report (s):")
    for query in slowest:
        print(f"  {query['time']}  {query['sql'][:160]}")
    for row in rows:
        assert row.queries <= 80, row
    assert_targets(rows)


def test_monthly_report_first_view_after_a_change(
    scale_data, client, settings, django_capture_on_commit_callbacks
):
    settings.ALLOWED_HOSTS = ["testserver"]
    page = report_after_change()
    client.force_login(User.objects.get(username=page.username))
    baseline = measure(client, "/healthz/", name="bare", runs=20)
    client.get(page.url, page.params)  # the report as it stands, computed and kept

    cashier = User.objects.get(username="cashier")
    cars = cars_to_settle()

    def first_view_after_a_change(breakdown=None) -> tuple[float, float] | None:
        with django_capture_on_commit_callbacks(execute=True):
            if not settle_next(cars, cashier):
                return None
        clocks = breakdown.installed() if breakdown else nullcontext()
        with production_rendering(), clocks:
            started, started_cpu = time.perf_counter(), time.process_time()
            response = client.get(page.url, page.params)
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - started_cpu
        assert response.status_code == 200
        return elapsed * 1000, cpu * 1000

    times, cpu = [], []
    with MachineLoad() as load:
        while len(times) < CHANGES and (timed := first_view_after_a_change()):
            times.append(timed[0])
            cpu.append(timed[1])
    assert len(times) >= 3, "too few cars ready to settle in the seeded store"
    total = sql = template = 0.0
    queries = None
    for _ in range(BREAKDOWN_CHANGES):
        breakdown = Breakdown()
        timed = first_view_after_a_change(breakdown)
        if timed is None:
            break
        total += timed[0] / 1000
        sql += breakdown.sql
        template += breakdown.template
        queries = breakdown.queries
    row = Measurement(
        name=f"{page.name} (a car settled, {len(times)} times)",
        median_ms=statistics.median(times),
        p95_ms=percentile(times, 0.95),
        queries=queries,
        cpu_ms=statistics.median(cpu),
        sql_share=sql / total if total else None,
        template_share=template / total if total else None,
        target_ms=page.target_ms,
        others_cpus=load.others_cpus,
    )
    assert_targets([record("reports", row, baseline=baseline)])
