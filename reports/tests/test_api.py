"""The report figures through the API: the same numbers as the page, the manager's role only."""

from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from reports.models import ReportTarget
from reports.tests.test_figures import build_store

pytestmark = pytest.mark.django_db

JANUARY = {"period": "month", "date": "2026-01-15"}


@pytest.fixture
def api(make_staff):
    client = APIClient()
    client.force_authenticate(make_staff("service_manager"))
    return client


def test_the_months_figures_are_the_pages_figures(api):
    build_store()
    response = api.get("/api/reports/figures/", JANUARY)
    assert response.status_code == 200
    data = response.json()
    assert data["period"]["first"] == "2026-01-01" and data["period"]["last"] == "2026-01-31"
    assert data["previous"]["first"] == "2025-12-01"
    assert data["last_year"]["first"] == "2025-01-01"
    figures = {row["key"]: row for row in data["figures"]}
    assert figures["repair_orders"]["value"] == 4
    assert figures["labour_revenue"]["value"] == 1710.0
    assert figures["labour_revenue"]["last_year"] == 300.0
    assert figures["average_ticket"]["previous"] is None  # no orders in December
    assert figures["on_time_rate"]["unit"] == "percent"
    types = {row["job_type"]: row["orders"] for row in data["work_types"]}
    assert types["warranty"] == 2
    assert data["trend"][-1] == {
        "month": "2026-01-01",
        "orders": 4,
        "labour": 1710.0,
        "parts": 2800.0,
    }


def test_drill_down_lists_the_visits_behind_a_figure(api):
    visits = build_store()
    response = api.get("/api/reports/visits/", {**JANUARY, "figure": "late"})
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [visits["v2"].pk]
    response = api.get("/api/reports/visits/", {**JANUARY, "figure": "orders_warranty"})
    assert response.json()["count"] == 2


def test_bad_period_date_or_figure_is_a_400_by_field(api):
    response = api.get("/api/reports/figures/", {"period": "year", "date": "2026-13-01"})
    assert response.status_code == 400
    assert set(response.json()) == {"period", "date"}
    response = api.get("/api/reports/visits/", {**JANUARY, "figure": "csi"})
    assert response.status_code == 400
    assert "figure" in response.json()


def test_targets_are_set_through_the_service_and_shown_with_the_figure(api):
    response = api.post(
        "/api/reports/targets/",
        {"month": "2026-01-20", "figure": "repair_orders", "value": "300"},
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"month": "2026-01-01", "targets": {"repair_orders": 300.0}}
    target = ReportTarget.objects.get()
    assert target.value == Decimal("300") and target.updated_by is not None
    assert target.history.first().history_user_id == target.updated_by_id
    figures = api.get("/api/reports/figures/", JANUARY).json()["figures"]
    assert next(f for f in figures if f["key"] == "repair_orders")["target"] == 300.0
    refused = api.post(
        "/api/reports/targets/",
        {"month": "2026-01-01", "figure": "repair_orders", "value": "-1"},
        format="json",
    )
    assert refused.status_code == 400 and "value" in refused.json()
    cleared = api.post(
        "/api/reports/targets/",
        {"month": "2026-01-01", "figure": "repair_orders", "value": None},
        format="json",
    )
    assert cleared.json()["targets"] == {}
    assert api.get("/api/reports/targets/", {"month": "2026-01-09"}).json()["targets"] == {}


@pytest.mark.parametrize("role", ["advisor", "cashier", "customer_care", "technician"])
def test_other_roles_may_not_read_the_reports(make_staff, role):
    client = APIClient()
    client.force_authenticate(make_staff(role))
    assert client.get("/api/reports/figures/").status_code == 403
    assert client.post("/api/reports/targets/", {}, format="json").status_code == 403
