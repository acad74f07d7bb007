"""Query counts of the staff pages and papers do not grow with the data.

Every row of the benchmark table (tests/bench/pages.py: the staff pages, the three PDFs,
the reports, the month's report right after a change) and a few more queues are counted
on a small store, then the store grows (about five times the customers, visits, jobs,
calls, bills) and each must not need more queries. The data is the benchmark's
(`demo.scale`, bulk rows in every state), so every list on these pages has rows in both
rounds.

The PDFs are counted without WeasyPrint's layout: every query a paper makes is made
while its HTML is built (WeasyPrint reads no database, its fetcher takes only data:
URLs), and laying out three papers twice would double the time of this test.
"""

from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dealership import due
from dealership.models import User
from dealership.views_due import QUEUE_ROWS
from demo.scale import seed_year
from demo.store import seed_customers, seed_store
from tests.bench.pages import (
    Page,
    cars_to_settle,
    papers,
    report_after_change,
    settle_next,
    staff_pages,
    subjects,
)

pytestmark = pytest.mark.django_db


def _pages() -> list[Page]:
    subject = subjects()
    return (
        staff_pages(subject)
        + papers(subject)
        + [
            Page("advisor", "/search/", "search: phone", 0, {"q": "139000"}),
            Page("advisor", "/search/", "search: plate with province", 0, {"q": "苏E"}),
            Page("advisor", "/due/", "7-day calls on visits: the car in each row", 0),
            Page("manager", "/due/", "every kind of call, every kind of subject", 0),
        ]
    )


def _key(page: Page):
    # Archive and detail pages are counted per kind of page: the busiest customer may change.
    path = "/".join("<id>" if part.isdigit() else part for part in page.url.split("/"))
    return (page.username, path, tuple(sorted(page.params.items())))


def _subject_kinds(page: Page) -> set:
    """The kinds of subject on a call queue: the queue loads each kind once (with its car).

    Which kinds are among the first rows depends on the hour the test runs (calls due by
    the end of today), so each kind that appears only in the second round may add its own
    queries; that bound comes from the kinds, not from the rows.
    """
    if page.url != "/due/":
        return set()
    rows = due.due_queue(user=User.objects.get(username=page.username), limit=QUEUE_ROWS)
    return {row.subject_type_id for row in rows}


# Queries one more kind of subject may add to a call queue: the subjects, their visit, its car.
QUERIES_PER_SUBJECT_KIND = 3


class _Layout:
    """Stands in for weasyprint.HTML: the HTML is built (and its queries made), not laid out."""

    def __init__(self, string: str, **kwargs):
        assert string

    def render(self, **options):
        return SimpleNamespace(pages=[None], write_pdf=lambda: b"%PDF-1.7\n")


def _count(client, page: Page) -> int:
    client.force_login(User.objects.get(username=page.username))
    client.get(page.url, page.params)  # warm per-process caches (roles, rules, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page.url, page.params)
    assert response.status_code == 200, (page.url, response.status_code)
    if page.content_type:
        assert response["Content-Type"].startswith(page.content_type)
    return len(queries.captured_queries)


def _count_after_a_change(client, django_capture_on_commit_callbacks) -> int:
    """The month's report, first view after a car is settled at the till (the report's
    cached view was counted just before: per-process caches are warm)."""
    page = report_after_change()
    client.force_login(User.objects.get(username=page.username))
    with django_capture_on_commit_callbacks(execute=True):
        assert settle_next(cars_to_settle(), User.objects.get(username="cashier"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(page.url, page.params)
    assert response.status_code == 200
    return len(queries.captured_queries)


def test_key_pages_query_counts_do_not_grow_with_data(
    client, settings, monkeypatch, django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    import weasyprint

    monkeypatch.setattr(weasyprint, "HTML", _Layout)
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_store()
    seed_customers(80)
    seed_year(90, prefix="QA", seed=1)
    small = {_key(page): _count(client, page) for page in _pages()}
    small_kinds = {_key(page): _subject_kinds(page) for page in _pages()}
    small_after_change = _count_after_a_change(client, django_capture_on_commit_callbacks)

    seed_customers(400)
    seed_year(450, prefix="QB", seed=2)
    pages = _pages()
    assert {_key(page) for page in pages} == set(small)
    for page in pages:
        client.force_login(User.objects.get(username=page.username))
        client.get(page.url, page.params)
        key = _key(page)
        new_kinds = _subject_kinds(page) - small_kinds[key]
        limit = small[key] + QUERIES_PER_SUBJECT_KIND * len(new_kinds)
        with django_assert_max_num_queries(limit, info=f"{page.name}: {page.url} {page.params}"):
            response = client.get(page.url, page.params)
        assert response.status_code == 200
    grown_after_change = _count_after_a_change(client, django_capture_on_commit_callbacks)
    assert grown_after_change <= small_after_change, (small_after_change, grown_after_change)
