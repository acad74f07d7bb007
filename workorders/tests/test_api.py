"""The API checks in and builds orders through the same services and rules as the pages."""

import pytest

from dealership.tests.factories import PartFactory, VehicleFactory
from reception.models import Visit
from reception.tests.factories import VisitFactory
from workorders.models import WorkOrder

pytestmark = [pytest.mark.django_db, pytest.mark.urls("reception.tests.api_urls")]


@pytest.fixture
def api(client, make_staff):
    client.force_login(make_staff("advisor"))
    return client


def test_check_in_and_order_lines_through_the_api(api):
    vehicle = VehicleFactory()
    response = api.post(
        "/api/reception/visits/",
        {"vehicle": vehicle.pk, "concern_text": "方向盘抖动"},
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    visit_id = response.json()["id"]
    assert response.json()["status"] == "checked_in"
    response = api.post(
        "/api/orders/work-orders/", {"visit": visit_id}, content_type="application/json"
    )
    assert response.status_code == 201
    order = response.json()
    part = PartFactory(price="88.00")
    response = api.post(
        f"/api/orders/work-orders/{order['id']}/lines/",
        {"part": part.pk, "quantity": "2", "version": order["version"]},
        content_type="application/json",
    )
    assert response.status_code == 201
    assert response.json()["estimate_total"] == "176.00"
    stale = api.post(
        f"/api/orders/work-orders/{order['id']}/lines/",
        {"part": part.pk, "quantity": "1", "version": order["version"]},
        content_type="application/json",
    )
    assert stale.status_code == 400 and "non_field_errors" in stale.json()
    bad = api.post(
        f"/api/orders/work-orders/{order['id']}/lines/",
        {"part": part.pk, "quantity": "-1"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and "quantity" in bad.json()
    assert WorkOrder.objects.get().lines.count() == 1
    listing = api.get("/api/reception/visits/?on_site=1").json()
    assert [row["number"] for row in listing["results"]] == [Visit.objects.get().number]


def test_second_check_in_of_a_car_on_site_is_refused(api):
    visit = VisitFactory()
    response = api.post(
        "/api/reception/visits/", {"vehicle": visit.vehicle_id}, content_type="application/json"
    )
    assert response.status_code == 400
    assert Visit.objects.count() == 1


def test_roles_are_enforced_on_the_api(client, make_staff):
    client.force_login(make_staff("technician"))
    assert client.get("/api/reception/visits/").status_code == 403
    client.force_login(make_staff("cashier"))
    assert client.get("/api/orders/work-orders/").status_code == 200
    response = client.post(
        "/api/reception/visits/", {"vehicle": VehicleFactory().pk}, content_type="application/json"
    )
    assert response.status_code == 403
