"""The enquiries page through the API (followup.api_enquiries, issue 18.1): each call with a
real API token; the right role, the wrong one (403), an unknown id (404), bad input (400 by
field, nothing changed) and the same records as the page."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from appointments.services import appointment_book
from appointments.tests.factories import days_ahead, local, make_workshop
from dealership.tests.factories import CustomerFactory, VehicleFactory
from dealership.tokens import api_token_issue
from followup.enquiries import enquiry_log
from followup.models import Complaint, Enquiry

pytestmark = pytest.mark.django_db

URL = "/api/followup/enquiries/"


def _api(user, language="en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='dms')[1]}")
    return client


def _fields(enquiry):
    return (
        enquiry.customer_id,
        enquiry.caller_name,
        enquiry.caller_mobile,
        enquiry.channel,
        enquiry.topic,
        enquiry.note,
        enquiry.first_response_at is None,
    )


def test_logging_through_the_api_makes_the_same_enquiry_as_the_page(client, care):
    customer = CustomerFactory(mobile="13900002222")
    client.force_login(care)
    data = {"caller_mobile": "139 0000 2222", "channel": "wechat", "topic": "price", "note": "价"}
    assert client.post(reverse("followup:enquiries"), data).status_code == 302
    by_page = Enquiry.objects.get()

    response = _api(care).post(URL, data, format="json")
    assert response.status_code == 201, response.content
    by_api = Enquiry.objects.get(pk=response.json()["id"])
    assert _fields(by_api) == _fields(by_page)
    assert by_api.customer == customer and by_api.taken_by == care
    body = response.json()
    assert body["channel_label"] == "WeChat message" and body["first_response_at"] is None
    assert body["response_due_at"] is not None and body["overdue"] is False


def test_the_list_is_the_pages_rows_and_open_filters_the_open_ones(care):
    api = _api(care)
    old_open = enquiry_log(
        actor=care,
        channel="web",
        topic="repair",
        caller_name="甲",
        received_at=timezone.now() - timedelta(days=2),
    )
    call = enquiry_log(actor=care, channel="phone", topic="price", caller_name="乙")
    closed = api.post(f"{URL}{call.pk}/close/", {"outcome": "answered"}, format="json")
    assert closed.status_code == 200, closed.content
    listed = api.get(URL)
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [old_open.pk, call.pk]
    assert listed.json()[0]["overdue"] is True
    assert [row["id"] for row in api.get(URL, {"open": "true"}).json()] == [old_open.pk]
    yesterday = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert [row["id"] for row in api.get(URL, {"day": yesterday}).json()] == [old_open.pk]
    bad = api.get(URL, {"day": "2026-13-40"})
    assert bad.status_code == 400 and "day" in bad.json()


def test_respond_then_close_as_booked_with_the_pages_appointment(care):
    api = _api(care)
    workshop = make_workshop()
    vehicle = VehicleFactory(owner=CustomerFactory())
    enquiry = enquiry_log(actor=care, channel="wechat", topic="booking", customer=vehicle.owner)
    answered = api.post(f"{URL}{enquiry.pk}/respond/")
    assert answered.status_code == 200 and answered.json()["first_response_at"]

    needs = api.post(f"{URL}{enquiry.pk}/close/", {"outcome": "booked"}, format="json")
    assert needs.status_code == 400
    assert needs.json() == {"appointment": ["Choose the appointment that was booked."]}
    other = VehicleFactory(owner=CustomerFactory())
    theirs = appointment_book(
        customer=other.owner,
        vehicle=other,
        start=local(days_ahead(5), 10),
        operations=[workshop["oil"]],
        actor=care,
    )
    for appointment_id in (theirs.pk, 999999999):
        refused = api.post(
            f"{URL}{enquiry.pk}/close/",
            {"outcome": "booked", "appointment": appointment_id},
            format="json",
        )
        assert refused.status_code == 400
        assert refused.json() == {"appointment": ["Choose the appointment that was booked."]}
    enquiry.refresh_from_db()
    assert enquiry.closed_at is None

    appointment = appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"]],
        actor=care,
    )
    booked = api.post(
        f"{URL}{enquiry.pk}/close/",
        {"outcome": "booked", "appointment": appointment.pk},
        format="json",
    )
    assert booked.status_code == 200, booked.content
    assert booked.json()["appointment"] == appointment.pk and booked.json()["outcome"] == "booked"
    again = api.post(f"{URL}{enquiry.pk}/close/", {"outcome": "answered"}, format="json")
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This enquiry is closed already."]}


def test_closing_as_a_complaint_opens_one_with_the_pages_message(care):
    api = _api(care, "zh-hans")
    anonymous = enquiry_log(actor=care, channel="phone", topic="repair", caller_name="路人")
    refused = api.post(f"{URL}{anonymous.pk}/close/", {"outcome": "complaint"}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["outcome"]
    assert not Complaint.objects.exists()

    customer = CustomerFactory()
    enquiry = enquiry_log(actor=care, channel="phone", topic="repair", customer=customer)
    response = api.post(
        f"{URL}{enquiry.pk}/close/",
        {"outcome": "complaint", "category": "quality", "note": "异响没修好"},
        format="json",
    )
    assert response.status_code == 200, response.content
    complaint = Complaint.objects.get()
    assert response.json()["complaint"] == complaint.pk
    assert complaint.customer == customer and complaint.category == "quality"
    assert complaint.description == "异响没修好"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"channel": "fax", "topic": "price", "caller_name": "x"}, "channel"),
        ({"channel": "phone", "topic": "price"}, "caller_name"),
        ({"channel": "phone", "topic": "price", "caller_mobile": "12345"}, "caller_mobile"),
        ({"channel": "phone", "topic": "price", "caller_name": "x" * 101}, "caller_name"),
        ({"channel": "phone", "topic": "price", "customer": 999999999}, "customer"),
        ({"channel": "web", "topic": "price", "caller_name": "x", "note": "x" * 5000}, "note"),
        (
            {
                "channel": "web",
                "topic": "price",
                "caller_name": "x",
                "received_at": (timezone.now() + timedelta(hours=1)).isoformat(),
            },
            "received_at",
        ),
    ],
)
def test_bad_input_is_a_400_by_field_and_logs_nothing(care, data, field):
    response = _api(care).post(URL, data, format="json")
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Enquiry.objects.exists()


def test_wrong_role_is_refused_and_an_unknown_enquiry_is_not_found(care, make_staff):
    enquiry = enquiry_log(actor=care, channel="wechat", topic="price", caller_name="甲")
    technician = _api(make_staff("technician"))
    assert technician.get(URL).status_code == 403
    assert technician.post(f"{URL}{enquiry.pk}/respond/").status_code == 403
    refused = technician.post(f"{URL}{enquiry.pk}/close/", {"outcome": "answered"})
    assert refused.status_code == 403
    enquiry.refresh_from_db()
    assert enquiry.first_response_at is None and enquiry.closed_at is None
    api = _api(care)
    assert api.get(f"{URL}999999999/").status_code == 404
    assert api.post(f"{URL}999999999/respond/").status_code == 404
    assert api.get(f"{URL}{enquiry.pk}/").json()["caller_name"] == "甲"
