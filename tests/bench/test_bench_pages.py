"""The key staff pages and the PDFs on a busy store's year (`seed_demo --scale 50000`).

Run: make bench (or: pytest -m bench tests/bench/test_bench_pages.py -s -p no:cacheprovider).
Each page: median and p95 server time of 30 requests through the test client (routing,
middleware, view, queries, template; no network), its query count, its time as a
multiple of the bare Django page (/healthz/: the middleware and one SELECT 1) measured
in the same run, and the shares of SQL, templates and the rest. The pages and their
targets are in tests/bench/pages.py (issue 21: every staff page ≤ 30 ms median; work
order PDF ≤ 100 ms, delivery sheet ≤ 80 ms, monthly report PDF ≤ 300 ms). A row over its
target fails the run unless other processes kept the machine busy while it was timed.

The rows are timed in a plain Django process (tests/bench/plain.py), the process a server
runs, not inside pytest, where some pages cost up to twice the CPU (README "How fast").
Section "pytest" times a few of the same pages inside this process, for comparison only.
"""

import pytest

from reception.models import Visit
from tests.bench.pages import Page, papers, staff_pages, subjects
from tests.bench.plain import Request, measure_plain, measure_request
from tests.bench.timing import Measurement, assert_targets, measure, record

pytestmark = [pytest.mark.bench, pytest.mark.django_db]

SECTION = "pages"
BARE = Request("bare Django page (/healthz/)", "/healthz/", runs=50)
# Timed inside pytest too, to show what the plain process measures around.
COMPARED = ("home", "dispatch / workshop board", "24 h care call list", "due queue (my calls)")


def _request(page: Page, **timing) -> Request:
    return Request(
        page.name,
        page.url,
        page.username,
        page.params,
        page.target_ms,
        page.content_type,
        **timing,
    )


def _in_process(client, page: Page, **timing) -> Measurement:
    return measure_request(client, _request(page, **timing))


def _time(client, requests: list[Request], pages: list[Page], **timing):
    """The bare page and the pages, in a plain process where it can run, else here."""
    rows = measure_plain(requests)
    if rows is not None:
        return rows[0], rows[1:]
    client.logout()
    bare = measure(client, requests[0].url, name=requests[0].name, runs=requests[0].runs)
    return bare, [_in_process(client, page, **timing) for page in pages]


def test_key_pages_at_scale(scale_data, client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    assert Visit.objects.count() >= scale_data * 4 // 5 - 10
    pages = staff_pages(subjects())
    bare, rows = _time(client, [BARE] + [_request(page) for page in pages], pages)
    baseline = record(SECTION, bare)
    for row in rows:
        record(SECTION, row, baseline=baseline)
    for page in pages:  # before the targets are checked, so that a miss still shows them
        if page.name in COMPARED:
            row = _in_process(client, page)
            row.target_ms = None  # for comparison, not checked
            row.name = f"{page.name}, inside pytest"
            record("pytest", row, baseline=baseline)
    assert_targets(rows)


def test_pdf_render_times_at_scale(scale_data, client, settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    pages = papers(subjects())
    timing = {"runs": 8, "warmup": 1}
    bare = Request("bare", "/healthz/", runs=20)
    baseline, rows = _time(client, [bare] + [_request(p, **timing) for p in pages], pages, **timing)
    for row in rows:
        record("PDF", row, baseline=baseline)
    assert_targets(rows)
