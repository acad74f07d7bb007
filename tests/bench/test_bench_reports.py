"""The monthly report over a year of a busy store's data.

Run: pytest -m bench tests/bench/test_bench_reports.py -s -p no:cacheprovider (PostgreSQL).
Target: the monthly report page under 1 s server time, a fixed number of queries.
"""

import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealership.models import User
from delivery.tests.factories import settled_visit
from reception.models import Visit
from reports import cache as report_cache
from reports.periods import Period
from reports.selectors import report_build
from reports.tests.test_day_figures import report_values
from tests.bench.timing import (
    Measurement,
    measure,
    percentile,
    print_table,
    production_rendering,
    record,
)

pytestmark = [pytest.mark.bench, pytest.mark.django_db]


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
        assert row.median_ms < 1000, row


def test_report_first_view_after_a_change_equals_a_full_recomputation(scale_data, client, settings):
    """Issue 21.4: the report's day rows (`reports.daily`) against a full recomputation on
    the large store, and the first view after a change: a bill paid today marks today,
    and each timed request starts a new data version (`reports.cache.forget`), so it
    finds no cached report and counts today afresh (the test's transaction, still open,
    keeps today's mark above every reader's xmin)."""
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    today = timezone.localdate()
    settled_visit()  # a change today, through the services
    now = timezone.now()
    for kind in ("month", "week", "day"):
        period = Period.containing(kind, today)
        from_days = report_values(report_build(period, now=now))
        assert from_days == report_values(report_build(period, now=now, recompute=True)), kind
    client.force_login(User.objects.get(username="manager"))
    baseline = measure(client, "/healthz/", name="bare Django page (/healthz/)", runs=5)
    rows = []
    for kind, label in (("month", "monthly"), ("day", "daily")):
        params = {"period": kind, "date": today.isoformat()}
        client.get("/reports/", params)  # the day rows of the year exist (first ever view)
        changed = _measure_after_change(
            client, params, f"{label} report, first view after a change"
        )
        unchanged = measure(
            client, "/reports/", name=f"{label} report, unchanged data", params=params, runs=10
        )
        rows += [record("pages", changed, baseline=baseline), unchanged]
    print_table("Reports after a change (issue 21.4)", rows, baseline)
    report_cache.forget()


def _measure_after_change(client, params, name, runs=10):
    times, cpu = [], []
    with production_rendering():
        for _ in range(runs):
            report_cache.forget()
            with CaptureQueriesContext(connection) as queries:
                started, started_cpu = time.perf_counter(), time.process_time()
                response = client.get("/reports/", params)
                times.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            assert response.status_code == 200
    return Measurement(
        name=name,
        median_ms=statistics.median(times),
        p95_ms=percentile(times, 0.95),
        queries=len(queries.captured_queries),
        cpu_ms=statistics.median(cpu),
    )
