"""Issue 18.4: the services publish their events; one visit's events queue in order."""

import json

import pytest

from dealership.errors import DomainError
from dealership.events import Event
from dealership.models import WebhookDelivery
from dealership.tests.factories import VehicleFactory
from dealership.webhooks import subscription_create
from followup.complaints import complaint_open
from reception.services import visit_check_in

pytestmark = pytest.mark.django_db


def test_check_in_and_an_important_complaint_publish_in_the_visits_order(
    make_staff, settings, django_capture_on_commit_callbacks
):
    manager = make_staff("service_manager")
    subscription, _secret = subscription_create(
        url="https://dms.example.com/hook", events=list(Event.values), actor=manager
    )
    advisor = make_staff("advisor")
    with django_capture_on_commit_callbacks(execute=True):
        visit = visit_check_in(vehicle=VehicleFactory(), actor=advisor)
    with django_capture_on_commit_callbacks(execute=True):
        complaint = complaint_open(
            customer=visit.customer,
            actor=advisor,
            source="phone",
            category="quality",
            description="刹车异响，担心安全",
            visit=visit,
            safety_related=True,  # important: escalated to the manager at once
        )
    deliveries = list(subscription.deliveries.order_by("id"))
    assert [d.event_type for d in deliveries] == [
        "visit.checked_in",
        "complaint.opened",
        "complaint.escalated",
    ]
    assert {d.order_key for d in deliveries} == {f"visit:{visit.pk}"}
    # Only the first goes now; the others wait for it to be acknowledged (or given up).
    assert [d.released_at is not None for d in deliveries] == [True, False, False]
    assert json.loads(deliveries[0].body)["data"] == {"number": visit.number, "visit": visit.pk}
    assert json.loads(deliveries[2].body)["data"] == {
        "complaint": complaint.pk,
        "number": complaint.number,
        "reason": "important",
        "visit": visit.pk,
    }


def test_a_refused_service_publishes_nothing(make_staff, django_capture_on_commit_callbacks):
    manager = make_staff("service_manager")
    subscription_create(
        url="https://dms.example.com/hook", events=list(Event.values), actor=manager
    )
    vehicle = VehicleFactory()
    advisor = make_staff("advisor")
    with django_capture_on_commit_callbacks(execute=True):
        visit_check_in(vehicle=vehicle, actor=advisor)
    with pytest.raises(DomainError), django_capture_on_commit_callbacks(execute=True):
        visit_check_in(vehicle=vehicle, actor=advisor)  # the car is already on site
    assert WebhookDelivery.objects.filter(event_type="visit.checked_in").count() == 1
