"""The key staff pages and the PDFs on a busy store's year (`seed_demo --scale 50000`).

Run: make bench (or: pytest -m bench tests/bench/test_bench_pages.py -s -p no:cacheprovider).
Each page: median and p95 server time of 30 requests through the test client (routing,
middleware, view, queries, template; no network), its query count, its time as a
multiple of the bare Django page (/healthz/: the middleware and one SELECT 1) measured
in the same run, and the shares of SQL, templates and the rest. The pages and their
targets are in tests/bench/pages.py (issue 21: every staff page ≤ 30 ms median; work
order PDF ≤ 100 ms, delivery sheet ≤ 80 ms, monthly report PDF ≤ 300 ms). A row over its
target fails the run unless other processes kept the machine busy while it was timed.
"""

import pytest

from dealership.models import User
from reception.models import Visit
from tests.bench.pages import papers, staff_pages, subjects
from tests.bench.timing import assert_targets, measure, record

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SECTION = "pages"


def _as(client, username):
    client.force_login(User.objects.get(username=username))
    return client


def test_key_pages_at_scale(scale_data, client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert Visit.objects.count() >= scale_data * 4 // 5 - 10
    baseline = record(
        SECTION, measure(client, "/healthz/", name="bare Django page (/healthz/)", runs=50)
    )
    rows = []
    for page in staff_pages(subjects()):
        _as(client, page.username)
        row = measure(
            client, page.url, name=page.name, params=page.params, target_ms=page.target_ms
        )
        rows.append(record(SECTION, row, baseline=baseline))
    assert_targets(rows)


def test_pdf_render_times_at_scale(scale_data, client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    baseline = measure(client, "/healthz/", name="bare", runs=20)
    rows = []
    for page in papers(subjects()):
        _as(client, page.username)
        row = measure(
            client,
            page.url,
            name=page.name,
            params=page.params,
            runs=8,
            warmup=1,
            content_type=page.content_type,
            target_ms=page.target_ms,
        )
        rows.append(record("PDF", row, baseline=baseline))
    assert_targets(rows)
