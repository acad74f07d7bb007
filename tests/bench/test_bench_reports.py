"""The monthly report over a year of a busy store's data.

Run: pytest -m bench tests/bench/test_bench_reports.py -s -p no:cacheprovider (PostgreSQL).
Target: the monthly report page under 1 s server time, a fixed number of queries.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealership.models import User
from reception.models import Visit
from tests.bench.timing import measure, print_table

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
