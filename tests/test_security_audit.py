"""Audit: changes to personal data, money, signatures and statuses are kept in history with
the person who made them. A visit is walked through the services over the API (token
log-in, as another system would) and every historical row written on the way names the
actor."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient
from simple_history.models import registered_models

from appointments.tests.factories import make_workshop
from dealership.models import Customer, Vehicle
from dealership.tests.factories import LabourOperationFactory
from dealership.tokens import api_token_issue

pytestmark = pytest.mark.django_db


def _workday(days: int = 3):
    day = timezone.localdate() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


# Models whose rows hold money, signatures, statuses or personal data, edited by people.
AUDITED = [
    "dealership.Customer",
    "dealership.Vehicle",
    "appointments.Appointment",
    "reception.Visit",
    "workorders.WorkOrder",
    "workorders.WorkOrderLine",
    "workshop.Job",
    "workshop.Addition",
    "delivery.Delivery",
    "delivery.Settlement",
    "delivery.Refund",
    "followup.Complaint",
]


def test_every_audited_model_keeps_history():
    labels = {model._meta.label for model in registered_models.values()}
    assert [label for label in AUDITED if label not in labels] == []


def test_a_visit_walked_through_the_api_leaves_history_with_the_actor(make_staff):
    workshop = make_workshop()
    user = make_staff("advisor")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='test')[1]}")

    customer = client.post(
        "/api/customers/", {"name": "赵敏", "mobile": "13700001111"}, format="json"
    )
    assert customer.status_code == 201, customer.data
    customer_id = customer.data["id"]
    assert (
        client.patch(
            f"/api/customers/{customer_id}/", {"address": "上海市徐汇区"}, format="json"
        ).status_code
        == 200
    )
    vehicle = client.post(
        "/api/vehicles/",
        {"vin": "LSVAU2187N2123456", "plate": "沪A12345", "owner": customer_id, "model": "帕萨特"},
        format="json",
    )
    assert vehicle.status_code == 201, vehicle.data
    vehicle_id = vehicle.data["id"]

    slots = client.get(
        "/api/appointments/appointments/free-slots/",
        {"day": _workday().isoformat(), "operations": [workshop["oil"].pk]},
    ).data["slots"]
    start = next(s["start"] for s in slots if s["available"])
    appointment = client.post(
        "/api/appointments/appointments/",
        {"vehicle": vehicle_id, "start": start, "operations": [workshop["oil"].pk]},
        format="json",
    )
    assert appointment.status_code == 201, appointment.data
    appointment_id = appointment.data["id"]
    assert (
        client.post(f"/api/appointments/appointments/{appointment_id}/confirm/").status_code == 200
    )

    visit = client.post(
        "/api/reception/visits/", {"vehicle": vehicle_id, "concern_text": "保养"}, format="json"
    )
    assert visit.status_code == 201, visit.data
    order = client.post("/api/orders/work-orders/", {"visit": visit.data["id"]}, format="json")
    assert order.status_code == 201, order.data
    operation = LabourOperationFactory(price=Decimal("150.00"))
    line = client.post(
        f"/api/orders/work-orders/{order.data['id']}/lines/",
        {"operation": operation.pk},
        format="json",
    )
    assert line.status_code == 201, line.data

    from appointments.models import Appointment
    from reception.models import Visit
    from workorders.models import WorkOrder, WorkOrderLine

    written = {
        "customer": Customer.history.filter(id=customer_id),
        "vehicle": Vehicle.history.filter(id=vehicle_id),
        "appointment": Appointment.history.filter(id=appointment_id),
        "visit": Visit.history.filter(id=visit.data["id"]),
        "order": WorkOrder.history.filter(id=order.data["id"]),
        "lines": WorkOrderLine.history.filter(order_id=order.data["id"]),
    }
    for name, rows in written.items():
        assert rows.exists(), name
        assert set(rows.values_list("history_user", flat=True)) == {user.pk}, name
    # Personal data and status changes are both in the history, each with the actor.
    assert Customer.history.filter(id=customer_id, address="上海市徐汇区").exists()
    assert Appointment.history.filter(id=appointment_id, status="confirmed").exists()
