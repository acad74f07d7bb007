"""Query counts of the key staff pages do not grow with the data.

Each page is counted on a small store, then the store grows (about five times the
customers, visits, jobs, calls, bills) and the page must not need more queries.
The data is the benchmark's (`demo.scale`, bulk rows in every state), so
every list on these pages has rows in both rounds.
"""

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealership import due
from dealership.models import Customer, User, Vehicle
from dealership.views_due import QUEUE_ROWS
from demo.scale import seed_year
from demo.store import seed_customers, seed_store

pytestmark = pytest.mark.django_db


def _pages() -> list[tuple[str, str, dict]]:
    today = timezone.localdate().isoformat()
    busiest = Customer.objects.annotate(n=Count("visits")).order_by("-n", "id").first()
    vehicle = Vehicle.objects.filter(owner=busiest).annotate(n=Count("visits")).order_by("-n")[0]
    return [
        ("advisor", "/", {}),
        ("advisor", "/search/", {"q": "139000"}),
        ("advisor", "/search/", {"q": "苏E"}),
        ("advisor", "/appointments/", {"day": today}),
        ("advisor", "/appointments/", {"day": today, "view": "week"}),
        ("advisor", "/appointments/calls/", {}),
        ("advisor", "/reception/on-site/", {}),
        ("advisor", f"/customers/{busiest.pk}/", {}),
        ("advisor", f"/vehicles/{vehicle.pk}/", {}),
        ("advisor", "/delivery/", {}),
        ("controller", "/workshop/", {}),
        ("qc", "/workshop/qc/", {}),
        ("cashier", "/delivery/cashier/", {}),
        ("care", "/followup/calls/", {}),
        ("care", "/followup/calls/care/", {}),
        ("care", "/followup/calls/lost/", {}),
        ("care", "/followup/complaints/", {}),
        ("care", f"/followup/archive/customer/{busiest.pk}/", {}),
        ("care", f"/followup/archive/vehicle/{vehicle.pk}/", {}),
        ("care", "/due/", {}),
        ("advisor", "/due/", {}),  # 7-day calls on visits: the car in each row
        ("manager", "/due/", {}),  # every kind of call, every kind of subject
        ("manager", "/reports/", {"period": "month", "date": today}),
    ]


def _key(username, url, params):
    # Archive and detail pages are counted per kind of page: the busiest customer may change.
    path = "/".join("<id>" if part.isdigit() else part for part in url.split("/"))
    return (username, path, tuple(sorted(params.items())))


def _subject_kinds(username, url) -> set:
    """The kinds of subject on a call queue: the queue loads each kind once (with its car).

    Which kinds are among the first rows depends on the hour the test runs (calls due by
    the end of today), so each kind that appears only in the second round may add its own
    queries; that bound comes from the kinds, not from the rows.
    """
    if url != "/due/":
        return set()
    rows = due.due_queue(user=User.objects.get(username=username), limit=QUEUE_ROWS)
    return {row.subject_type_id for row in rows}


# Queries one more kind of subject may add to a call queue: the subjects, their visit, its car.
QUERIES_PER_SUBJECT_KIND = 3


def _get(client, username, url, params):
    client.force_login(User.objects.get(username=username))
    client.get(url, params)  # warm per-process caches (roles, rules, content types)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200, (url, response.status_code)
    return len(queries.captured_queries)


def test_key_pages_query_counts_do_not_grow_with_data(
    client, settings, django_assert_max_num_queries
):
    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed_store()
    seed_customers(80)
    seed_year(90, prefix="QA", seed=1)
    small = {_key(*page): _get(client, *page) for page in _pages()}
    small_kinds = {_key(*page): _subject_kinds(page[0], page[1]) for page in _pages()}

    seed_customers(400)
    seed_year(450, prefix="QB", seed=2)
    for username, url, params in _pages():
        client.force_login(User.objects.get(username=username))
        client.get(url, params)
        key = _key(username, url, params)
        new_kinds = _subject_kinds(username, url) - small_kinds[key]
        limit = small[key] + QUERIES_PER_SUBJECT_KIND * len(new_kinds)
        with django_assert_max_num_queries(limit, info=f"{username} {url} {params}"):
            response = client.get(url, params)
        assert response.status_code == 200
