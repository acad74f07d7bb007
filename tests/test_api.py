"""The REST API: same services and rules as the pages, one error format, token auth,
pagination, and a schema that documents every answer."""

from datetime import timedelta

import pytest
import yaml
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from appointments.models import Appointment, Status
from appointments.tests.factories import local, make_vehicle, make_workshop
from dealership.models import Customer, Vehicle
from dealership.tests.factories import CustomerFactory, VehicleFactory
from dealership.tokens import api_token_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(make_staff):
    def make(*roles):
        client = APIClient()
        user = make_staff(*roles)
        client.force_authenticate(user)
        client.user = user
        return client

    return make


def _workday(days: int = 3):
    day = timezone.localdate() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def test_a_customer_is_created_through_the_service_with_history_and_field_errors(api):
    client = api("advisor")
    response = client.post(
        "/api/customers/", {"name": " 王芳 ", "mobile": "138 1234 5678"}, format="json"
    )
    assert response.status_code == 201, response.data
    customer = Customer.objects.get(pk=response.data["id"])
    assert customer.name == "王芳" and customer.mobile == "13812345678"  # the service normalised

    refused = client.post("/api/customers/", {"name": "李", "mobile": "12345"}, format="json")
    assert refused.status_code == 400
    assert list(refused.data) == ["mobile"] and refused.data["mobile"]


def test_a_duplicate_vin_is_refused_with_the_pages_message_by_field(api):
    client = api("advisor")
    existing = VehicleFactory()
    response = client.post(
        "/api/vehicles/",
        {"vin": existing.vin, "owner": CustomerFactory().pk, "model": "Camry"},
        format="json",
    )
    assert response.status_code == 400
    assert "vin" in response.data
    assert Vehicle.objects.count() == 1


def test_roles_are_the_pages_roles(api):
    customer = CustomerFactory()
    inspector = api("qc_inspector")
    assert inspector.get(f"/api/customers/{customer.pk}/").status_code == 200
    assert api("technician").get("/api/customers/").status_code == 403  # not their job
    refused = inspector.patch(f"/api/customers/{customer.pk}/", {"name": "X"}, format="json")
    assert refused.status_code == 403
    assert set(refused.data) == {"detail"}
    assert api("cashier").get("/api/workshop/qc/").status_code == 403
    assert api("qc_inspector").get("/api/workshop/qc/").status_code == 200


def test_anonymous_callers_are_refused_and_tokens_log_in(make_staff):
    assert APIClient().get("/api/customers/").status_code in (401, 403)
    user = make_staff("advisor")
    key = api_token_issue(user=user, name="DMS")[1]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/customers/").status_code == 200


def test_lists_are_paginated(api):
    for _ in range(3):
        CustomerFactory()
    data = api("advisor").get("/api/customers/?page_size=2").data
    assert data["count"] == 3 and len(data["results"]) == 2 and data["next"]


def test_bad_ids_and_filters_are_4xx_not_5xx(api):
    client = api("service_manager")
    assert client.get("/api/vehicles/?owner=abc").status_code == 400
    assert client.get("/api/vehicles/99999999999999/").status_code == 404
    assert client.get("/api/appointments/appointments/?first=2024-13-40").status_code == 400
    assert client.get("/api/appointments/appointments/free-slots/?operations=x").status_code == 400


def test_booking_free_slots_and_moves_use_the_appointment_services(api):
    workshop = make_workshop()
    vehicle = make_vehicle()
    client = api("advisor")
    day = _workday()
    slots = client.get(
        "/api/appointments/appointments/free-slots/",
        {"day": day.isoformat(), "operations": [workshop["oil"].pk]},
    )
    assert slots.status_code == 200
    free = [s for s in slots.data["slots"] if s["available"]]
    assert free
    booked = client.post(
        "/api/appointments/appointments/",
        {"vehicle": vehicle.pk, "start": free[0]["start"], "operations": [workshop["oil"].pk]},
        format="json",
    )
    assert booked.status_code == 201, booked.data
    appointment = Appointment.objects.get(pk=booked.data["id"])
    assert appointment.customer == vehicle.owner and appointment.status == Status.BOOKED

    confirmed = client.post(f"/api/appointments/appointments/{appointment.pk}/confirm/")
    assert confirmed.status_code == 200 and confirmed.data["status"] == Status.CONFIRMED
    cancelled = client.post(
        f"/api/appointments/appointments/{appointment.pk}/cancel/", {"reason": "出差"}
    )
    assert cancelled.data["status"] == Status.CANCELLED
    # A refused move: the state machine's message, as field messages, nothing changed.
    again = client.post(f"/api/appointments/appointments/{appointment.pk}/confirm/")
    assert again.status_code == 400
    assert isinstance(again.data, dict) and all(isinstance(v, list) for v in again.data.values())
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED


def test_a_slot_taken_is_refused_by_the_same_rule_as_the_page(api):
    workshop = make_workshop()
    client = api("advisor")
    start = local(_workday(), 9)
    results = [
        client.post(
            "/api/appointments/appointments/",
            {
                "vehicle": make_vehicle().pk,
                "start": start.isoformat(),
                "operations": [workshop["clutch"].pk],
            },
            format="json",
        ).status_code
        for _ in range(6)
    ]
    assert results[0] == 201
    assert 400 in results  # the day's repair hours run out: refused, not overbooked


def test_the_schema_documents_every_operation_with_its_errors(make_staff):
    client = Client()
    client.force_login(make_staff("advisor"))
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    operations = [
        (path, method, op)
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) > 40
    prefixes = {path.split("/")[2] for path, _m, _o in operations}
    assert {
        "customers",
        "vehicles",
        "appointments",
        "reception",
        "orders",
        "workshop",
        "delivery",
        "followup",
    } <= prefixes
    for path, method, op in operations:
        assert {"400", "403", "404"} <= set(op["responses"]), (path, method)
    assert client.get("/api/docs/").status_code == 200


def test_visit_transitions_go_through_the_services_with_the_pages_roles(api):
    from reception.models import Visit
    from reception.states import VisitStatus
    from reception.tests.factories import VisitFactory

    advisor = api("advisor")
    visit = VisitFactory()
    url = f"/api/reception/visits/{visit.pk}/"
    assert list(advisor.post(url + "cancel/", {}, format="json").json()) == ["reason"]
    cancelled = advisor.post(url + "cancel/", {"reason": "客户改约"}, format="json")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert visit.history.first().history_user == advisor.user
    again = advisor.post(url + "cancel/", {"reason": "x"}, format="json")
    assert again.status_code == 400 and "non_field_errors" in again.json()

    signed = VisitFactory(status=VisitStatus.ORDER_SIGNED)
    hand_over = f"/api/reception/visits/{signed.pk}/hand-over/"
    assert advisor.post(hand_over).status_code == 403  # the workshop signs for the car
    controller = api("workshop_controller")
    answer = controller.post(hand_over)
    assert answer.status_code == 200 and answer.json()["handed_over_at"]
    assert Visit.objects.get(pk=signed.pk).handed_over_to == controller.user
    assert controller.post(hand_over).status_code == 400  # once only


def test_a_nul_character_in_a_query_parameter_is_a_400_on_every_list(api):
    from tests.test_permission_matrix import _endpoints

    client = api("admin")
    lists = sorted({path for path, method, _a, _r in _endpoints() if method == "get"})
    assert len(lists) > 20
    for path in lists:
        response = client.get(path, {"status": "a\x00b", "q": "x"})
        assert response.status_code in (400, 404), (path, response.status_code)
        if response.status_code == 400:
            assert "status" in response.json(), path
