"""The courtesy car pages through the API (loancars.api, issue 18.1): each call with a real
API token; the right role, the wrong one (403), an unknown id (404), bad input (400 by
field, nothing changed) and the same records as the pages."""

import base64
from datetime import timedelta
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from appointments.services import appointment_book
from appointments.tests.factories import days_ahead, local, make_workshop
from dealership.models import TimelineEvent
from dealership.tokens import api_token_issue
from loancars.models import CarStatus, Loan, LoanCar, LoanStatus, PhotoStage
from reception.tests.factories import VisitFactory, signature_data_url

pytestmark = pytest.mark.django_db

LICENCE = "320102198001011234"


def _api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='dms')[1]}")
    return client


def _png_bytes() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, "PNG")
    return buffer.getvalue()


def _data_url() -> str:
    return "data:image/png;base64," + base64.b64encode(_png_bytes()).decode()


def _check_out(loan_car, /, **overrides) -> dict:
    data = {
        "car": loan_car.pk,
        "driver_name": "陈静",
        "licence_number": LICENCE,
        "fuel": 6,
        "km": 12_010,
        "due_back_at": (timezone.now() + timedelta(hours=8)).isoformat(),
        "signature": signature_data_url(),
    }
    data.update(overrides)
    return data


@pytest.fixture
def car(db):
    return LoanCar.objects.create(plate="苏E·D1234", model="卡罗拉", km=12_000)


def test_the_manager_keeps_the_fleet_and_the_advisor_only_reads_it(make_staff, car):
    manager, advisor = _api(make_staff("service_manager")), _api(make_staff("advisor"))
    added = manager.post(
        "/api/loancars/cars/", {"plate": "苏E·D5678", "model": "轩逸", "km": 100}, format="json"
    )
    assert added.status_code == 201, added.content
    new = LoanCar.objects.get(pk=added.json()["id"])
    assert (new.plate, new.status) == ("苏E·D5678", CarStatus.AVAILABLE)
    twice = manager.post("/api/loancars/cars/", {"plate": "苏E·D5678", "model": "x"})
    assert twice.status_code == 400 and list(twice.json()) == ["plate"]
    out = manager.patch(f"/api/loancars/cars/{new.pk}/", {"status": "out"}, format="json")
    assert out.status_code == 400
    assert out.json() == {"status": ["A car is lent out by checking it out to a customer."]}
    fixed = manager.patch(
        f"/api/loancars/cars/{new.pk}/", {"status": "maintenance", "note": "保养"}, format="json"
    )
    assert fixed.status_code == 200 and fixed.json()["status"] == "maintenance"
    too_far = manager.patch(f"/api/loancars/cars/{new.pk}/", {"km": 3_000_000}, format="json")
    assert too_far.status_code == 400 and list(too_far.json()) == ["km"]
    assert manager.patch("/api/loancars/cars/999999999/", {"note": "x"}).status_code == 404

    listed = advisor.get("/api/loancars/cars/")
    assert listed.status_code == 200
    assert {row["plate"] for row in listed.json()} == {"苏E·D1234", "苏E·D5678"}
    assert advisor.post("/api/loancars/cars/", {"plate": "x", "model": "y"}).status_code == 403
    assert advisor.patch(f"/api/loancars/cars/{car.pk}/", {"note": "x"}).status_code == 403
    assert _api(make_staff("cashier")).get("/api/loancars/cars/").status_code == 403


def test_book_check_out_with_multipart_photos_and_return_with_data_urls(make_staff, car):
    advisor = make_staff("advisor")
    api = _api(advisor)
    workshop = make_workshop()
    visit = VisitFactory()
    appointment = appointment_book(
        customer=visit.customer,
        vehicle=visit.vehicle,
        start=local(days_ahead(3), 9),
        operations=[workshop["oil"]],
        actor=advisor,
    )
    booked = api.post(
        f"/api/loancars/appointments/{appointment.pk}/book/", {"car": car.pk}, format="json"
    )
    assert booked.status_code == 201, booked.content
    assert booked.json()["status"] == "booked" and booked.json()["detail"] == "Courtesy car booked."
    again = api.post(
        f"/api/loancars/appointments/{appointment.pk}/book/", {"car": car.pk}, format="json"
    )
    assert again.status_code == 400
    assert again.json() == {
        "non_field_errors": ["A courtesy car is booked for this appointment already."]
    }
    assert [row["id"] for row in api.get("/api/loancars/loans/").json()["bookings"]] == [
        booked.json()["id"]
    ]

    photo = SimpleUploadedFile("car.png", _png_bytes(), content_type="image/png")
    lent = api.post(
        f"/api/loancars/visits/{visit.pk}/check-out/",
        {**_check_out(car), "photos": [photo]},
        format="multipart",
    )
    assert lent.status_code == 201, lent.content
    body = lent.json()
    assert body["id"] == booked.json()["id"]  # the booking became the loan
    assert body["licence"] == "3201**********1234" and body["detail"] == "Courtesy car lent."
    assert [p["stage"] for p in body["photos"]] == [PhotoStage.OUT]
    loan = Loan.objects.get()
    assert loan.agreement_signature.name.endswith(".png") and loan.out_by == advisor
    car.refresh_from_db()
    assert car.status == CarStatus.OUT
    assert TimelineEvent.objects.filter(kind="loancar.out", customer=visit.customer).exists()
    page = api.get("/api/loancars/loans/").json()
    assert [row["id"] for row in page["out"]] == [loan.pk] and page["bookings"] == []

    less = api.post(
        f"/api/loancars/loans/{loan.pk}/return/", {"fuel": 4, "km": 12_000}, format="json"
    )
    assert less.status_code == 400 and list(less.json()) == ["km"]
    returned = api.post(
        f"/api/loancars/loans/{loan.pk}/return/",
        {
            "fuel": 4,
            "km": 12_080,
            "damage_note": "左后门划痕",
            "photos": [_data_url()],
            "damage_photos": [_data_url()],
        },
        format="json",
    )
    assert returned.status_code == 200, returned.content
    assert returned.json()["status"] == LoanStatus.RETURNED
    assert returned.json()["detail"] == "Courtesy car returned."
    assert sorted(p["stage"] for p in returned.json()["photos"]) == sorted(
        [PhotoStage.OUT, PhotoStage.RETURN, PhotoStage.DAMAGE]
    )
    car.refresh_from_db()
    assert (car.status, car.km) == (CarStatus.MAINTENANCE, 12_080)
    not_out = api.post(f"/api/loancars/loans/{loan.pk}/return/", {"fuel": 4, "km": 12_090})
    assert not_out.status_code == 400
    assert not_out.json() == {"non_field_errors": ["This courtesy car is not out."]}


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"licence_number": "12"}, "licence_number"),
        ({"licence_number": "x" * 21}, "licence_number"),
        ({"fuel": 9}, "fuel"),
        ({"km": -1}, "km"),
        ({"driver_name": ""}, "driver_name"),
        ({"due_back_at": "2020-01-01T08:00:00+08:00"}, "due_back_at"),
        ({"signature": ""}, "signature"),
        ({"photos": ["not a photo"]}, "photos"),
        ({"photos": [_data_url()] * 9}, "photos"),
        ({"car": 999999999}, "car"),
    ],
)
def test_bad_check_out_is_a_400_by_field_and_lends_nothing(make_staff, car, overrides, field):
    visit = VisitFactory()
    response = _api(make_staff("advisor")).post(
        f"/api/loancars/visits/{visit.pk}/check-out/", _check_out(car, **overrides), format="json"
    )
    assert response.status_code == 400
    assert field in response.json(), response.json()
    assert not Loan.objects.exists()
    car.refresh_from_db()
    assert car.status == CarStatus.AVAILABLE


def test_wrong_role_and_unknown_ids(make_staff, car):
    visit = VisitFactory()
    cashier = _api(make_staff("cashier"))
    refused = cashier.post(
        f"/api/loancars/visits/{visit.pk}/check-out/", _check_out(car), format="json"
    )
    assert refused.status_code == 403
    assert cashier.get("/api/loancars/loans/").status_code == 403
    assert not Loan.objects.exists()
    api = _api(make_staff("service_manager"))
    assert api.post("/api/loancars/visits/999999999/check-out/", {}).status_code == 404
    assert api.post("/api/loancars/appointments/999999999/book/", {}).status_code == 404
    assert api.post("/api/loancars/loans/999999999/return/", {}).status_code == 404
    assert api.get("/api/loancars/loans/999999999/").status_code == 404
