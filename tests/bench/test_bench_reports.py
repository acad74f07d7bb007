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
from delivery.tests.factories import settled_visit
from reception.models import Visit
from reports import cache as report_cache
from reports.periods import Period
from reports.selectors import report_build
from reports.tests.test_day_figures import report_values
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
            client, params, f"{label} report, recomputed from the day rows (cache forgotten)"
        )
        unchanged = measure(
            client, "/reports/", name=f"{label} report, unchanged data", params=params, runs=10
        )
        rows += [record("reports", changed, baseline=baseline), unchanged]
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
