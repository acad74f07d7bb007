"""The read API: settlements and each visit's delivery state, for delivery staff only."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.tests.factories import checked_visit, ready_visit, settled_visit, staff

pytestmark = [pytest.mark.django_db, pytest.mark.urls("delivery.tests.urls")]


@pytest.fixture
def api(client):
    def login(role):
        client.force_login(staff(role))
        return client

    return login


def test_settlements_list_and_detail(api):
    visit, _order, settlement = settled_visit()
    client = api("cashier")
    listing = client.get("/api/delivery/settlements/", {"visit": visit.pk}).json()
    assert listing["count"] == 1
    row = listing["results"][0]
    assert row["invoice_number"] == settlement.invoice_number
    assert row["amount_due"] == "1000.00" and row["customer_total"] == "1000.00"
    assert row["payments"] == [{"method": "cash", "amount": "1000.00", "reference": ""}]
    assert [line["payer"] for line in row["lines"]] == ["customer", "customer"]

    detail = client.get(f"/api/delivery/settlements/{settlement.pk}/").json()
    assert detail["visit_number"] == visit.number and detail["status"] == "paid"


def test_settlements_of_a_day_in_the_stores_time_zone(api):
    _visit, _order, settlement = settled_visit()
    client = api("cashier")
    today = timezone.localdate()
    for day, expected in ((today, [settlement.invoice_number]), (today - timedelta(days=1), [])):
        listing = client.get("/api/delivery/settlements/", {"date": day.isoformat()}).json()
        assert [row["invoice_number"] for row in listing["results"]] == expected


def test_delivery_state_of_the_board_and_of_one_visit(api):
    ready, _ = ready_visit()
    checked, _ = checked_visit()
    settled, _order, settlement = settled_visit()
    client = api("advisor")

    board = client.get("/api/delivery/visits/").json()
    by_number = {row["number"]: row for row in board}
    assert by_number[ready.number]["status"] == "ready_for_pickup"
    assert by_number[checked.number]["final_check_done"] is True
    assert by_number[settled.number]["invoice_number"] == settlement.invoice_number

    detail = client.get(f"/api/delivery/visits/{checked.pk}/").json()
    assert detail["bill"]["customer_total"] == "1000.00"
    assert detail["bill"]["estimate_limit"] == "1100.00"
    assert detail["bill"]["needs_approval"] is False


@pytest.mark.parametrize("role", ["technician", "qc_inspector", "customer_care"])
def test_other_roles_get_403(api, role):
    client = api(role)
    assert client.get("/api/delivery/settlements/").status_code == 403
    assert client.get("/api/delivery/visits/").status_code == 403


def test_anonymous_gets_401_with_the_token_scheme(client):
    response = client.get("/api/delivery/settlements/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"


def test_the_api_is_in_the_schema(api):
    client = api("advisor")
    schema = client.get(reverse("api-schema")).content.decode()
    assert "/api/delivery/settlements/" in schema and "/api/delivery/visits/" in schema


def test_list_query_count_is_fixed(api, django_assert_max_num_queries):
    client = api("cashier")
    settled_visit()
    with django_assert_max_num_queries(15) as first:
        client.get("/api/delivery/settlements/")
    settled_visit()
    settled_visit()
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert client.get("/api/delivery/settlements/").status_code == 200
