"""A rule holds on every path to the same write (issue 14, item 6).

The advisor's discount cap, a call kind's own outcome service and check-in's odometer rule
were each skipped by another route (the API, the generic due queue, the vehicle API).
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from appointments import duties as appointment_duties
from appointments import services as appointment_services
from appointments.models import Status
from appointments.tests.factories import days_ahead, local, make_vehicle, make_workshop
from dealership.errors import DomainError
from dealership.models import DueTask, DueTaskState
from dealership.tests.factories import LabourOperationFactory, PartFactory, VehicleFactory
from followup import duties as K
from followup.models import Survey
from followup.tests.factories import delivered_visit
from reception.tests.factories import VisitFactory
from workorders.models import WorkOrder
from workorders.services import work_order_line_update, work_order_start

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ (a) the discount cap


@pytest.fixture
def order(make_staff):
    advisor = make_staff("advisor")
    return work_order_start(visit=VisitFactory(), actor=advisor), advisor


def _post_line(client, order, **data):
    return client.post(
        f"/api/orders/work-orders/{order.pk}/lines/", data, content_type="application/json"
    )


@pytest.mark.parametrize(
    ("kind", "price"),
    [("labour", "0.00"), ("part", "0.01"), ("part", "350.00")],  # list prices 200 and 398
)
def test_a_price_below_list_is_a_discount_the_advisor_may_not_give_through_the_api(
    client, order, kind, price
):
    order, advisor = order
    client.force_login(advisor)
    item = (
        {"operation": LabourOperationFactory(price="200.00").pk}
        if kind == "labour"
        else {"part": PartFactory(price="398.00").pk}
    )
    response = _post_line(client, order, unit_price=price, **item)
    assert response.status_code == 400, response.content
    assert "unit_price" in response.json()
    assert "10" in response.json()["unit_price"][0]  # names the advisor's limit
    assert not WorkOrder.objects.get(pk=order.pk).lines.exists()


def test_a_price_within_the_advisors_limit_and_a_managers_price_are_accepted(
    client, order, make_staff
):
    order, advisor = order
    part = PartFactory(price="398.00")
    client.force_login(advisor)
    assert _post_line(client, order, part=part.pk, unit_price="360.00").status_code == 201
    # 10 % off a price already 9.5 % below list is 18.6 % in all: the cap counts both.
    stacked = _post_line(client, order, part=part.pk, unit_price="360.00", discount_percent="10")
    assert stacked.status_code == 400 and "unit_price" in stacked.json()
    client.force_login(make_staff("service_manager"))
    assert _post_line(client, order, part=part.pk, unit_price="0.01").status_code == 201
    assert WorkOrder.objects.get(pk=order.pk).lines.count() == 2


def test_the_page_refuses_a_price_below_list_the_same_way(client, order):
    order, advisor = order
    client.force_login(advisor)
    part = PartFactory(price="398.00")
    line = order.lines.create(
        kind="part", part=part, code=part.part_number, name_zh=part.name_zh, unit_price="398.00"
    )
    with pytest.raises(DomainError) as error:
        work_order_line_update(line=line, actor=advisor, unit_price="0.01")
    assert getattr(error.value, "field", None) == "unit_price"
    # A change that does not deepen the discount (the quantity) stays allowed.
    work_order_line_update(line=line, actor=advisor, quantity="2")


# ------------------------------------------------------------- (b) the generic due queue


def _complete(client, task, outcome, note=""):
    return client.post(
        reverse("due_complete", args=[task.pk]),
        {f"t{task.pk}-outcome": outcome, f"t{task.pk}-note": note},
        HTTP_HX_REQUEST="true",
    )


def test_surveyed_without_a_survey_is_refused_on_the_generic_queue(client, make_staff):
    care = make_staff("customer_care")
    visit = delivered_visit()
    task = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    client.force_login(care)
    response = _complete(client, task, "surveyed")
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    task.refresh_from_db()
    assert task.state == DueTaskState.PENDING and not Survey.objects.exists()


def test_cancelled_on_the_queue_cancels_the_appointment(client, make_staff):
    make_workshop_data = make_workshop()
    advisor = make_staff("advisor")
    vehicle = make_vehicle()
    appointment = appointment_services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 9),
        operations=[make_workshop_data["oil"]],
        advisor=advisor,
        actor=advisor,
    )
    task = DueTask.objects.get(kind=appointment_duties.CONFIRM_CALL, subject_id=appointment.pk)
    client.force_login(advisor)
    response = _complete(client, task, "cancelled", note="客户不来了")
    assert response.status_code == 200
    appointment.refresh_from_db()
    task.refresh_from_db()
    assert task.state == DueTaskState.DONE
    assert appointment.status == Status.CANCELLED and appointment.cancel_reason == "客户不来了"


# ------------------------------------------------------------------ (c) the odometer


@pytest.mark.parametrize("path", ["api", "page"])
def test_the_vehicle_record_does_not_lower_the_odometer(client, make_staff, path):
    vehicle = VehicleFactory(last_odometer_km=52_000)
    client.force_login(make_staff("advisor"))
    if path == "api":
        response = client.patch(
            f"/api/vehicles/{vehicle.pk}/",
            {"last_odometer_km": 5},
            content_type="application/json",
        )
        assert response.status_code == 400
        assert "last_odometer_km" in response.json()
    else:
        from dealership.forms import VehicleForm

        form = VehicleForm(instance=vehicle)
        data = {
            name: ("" if value is None else value)
            for name, value in form.initial.items()
            if name in form.fields
        }
        data["last_odometer_km"] = 5
        data["owner"] = vehicle.owner_id
        response = client.post(reverse("vehicle_edit", args=[vehicle.pk]), data)
        assert response.status_code == 200  # the form again, with the message
    vehicle.refresh_from_db()
    assert vehicle.last_odometer_km == 52_000
    raised = client.patch(
        f"/api/vehicles/{vehicle.pk}/",
        {"last_odometer_km": 60_000},
        content_type="application/json",
    )
    assert raised.status_code == 200
    assert Decimal(raised.json()["last_odometer_km"]) == 60_000


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [("workshop.addition_call", "answered"), ("workshop.promise_alert", "moved")],
)
def test_a_workshop_outcome_recorded_by_its_own_service_is_refused_on_the_queue(
    client, make_staff, kind, outcome
):
    from django.utils import timezone

    from dealership.due import due_task_schedule

    advisor = make_staff("advisor")
    visit = VisitFactory()
    task = due_task_schedule(
        kind=kind, subject=visit, due_at=timezone.now(), customer=visit.customer
    )
    client.force_login(advisor)
    response = _complete(client, task, outcome)
    assert 'role="alert"' in response.content.decode()
    task.refresh_from_db()
    assert task.state == DueTaskState.PENDING
    _complete(client, task, "not_reached")
    task.refresh_from_db()
    assert (task.state, task.outcome) == (DueTaskState.DONE, "not_reached")
