"""Issue 20.11: courtesy cars — the fleet, booking, check-out, return, late and damage."""

import logging
import threading
from datetime import timedelta
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, close_old_connections, transaction
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from appointments.services import appointment_book, appointment_cancel
from appointments.tests.factories import days_ahead, local, make_workshop
from dealership.models import TimelineEvent
from loancars import selectors, services
from loancars.models import CarStatus, Loan, LoanCar, LoanStatus, PhotoStage
from reception.tests.factories import VisitFactory, signature_data_url

pytestmark = pytest.mark.django_db

LICENCE = "320102198001011234"


def png(name="car.png") -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (16, 16), "blue").save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


@pytest.fixture
def advisor(make_staff):
    return make_staff("advisor")


@pytest.fixture
def car(db):
    return LoanCar.objects.create(plate="苏E·D1234", model="卡罗拉", km=12_000)


def lend(car, visit, actor, **overrides):
    data = {
        "driver_name": "陈静",
        "licence_number": LICENCE,
        "fuel": 6,
        "km": 12_010,
        "due_back_at": timezone.now() + timedelta(hours=8),
        "signature": signature_data_url(),
        "photos": [png()],
    }
    data.update(overrides)
    return services.loan_check_out(car=car, visit=visit, actor=actor, **data)


def test_check_out_records_readings_agreement_and_photos_and_the_car_is_out(car, advisor):
    visit = VisitFactory()
    loan = lend(car, visit, advisor)
    car.refresh_from_db()
    assert car.status == CarStatus.OUT
    assert (loan.status, loan.visit, loan.fuel_out, loan.km_out) == ("out", visit, 6, 12_010)
    assert loan.agreement_signature.name.endswith(".png")
    assert [p.stage for p in loan.photos.all()] == [PhotoStage.OUT]
    assert TimelineEvent.objects.filter(kind="loancar.out", customer=visit.customer).exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"licence_number": "12"}, "licence_number"),
        ({"licence_number": "3201<script>"}, "licence_number"),
        ({"fuel": 9}, "fuel"),
        ({"km": -1}, "km"),
        ({"due_back_at": timezone.now() - timedelta(minutes=1)}, "due_back_at"),
        ({"signature": signature_data_url(blank=True)}, "signature"),
        ({"driver_name": " "}, "driver_name"),
        ({"photos": [png() for _ in range(services.MAX_PHOTOS + 1)]}, "photos"),
        ({"photos": [SimpleUploadedFile("x.png", b"not an image")]}, "photos"),
    ],
)
def test_bad_check_out_input_is_refused_by_field_and_changes_nothing(
    car, advisor, overrides, field
):
    with pytest.raises(ValidationError) as caught:
        lend(car, VisitFactory(), advisor, **overrides)
    assert field in caught.value.message_dict
    car.refresh_from_db()
    assert car.status == CarStatus.AVAILABLE and not Loan.objects.exists()


def test_a_car_out_or_in_maintenance_cannot_be_lent(car, advisor):
    lend(car, VisitFactory(), advisor)
    with pytest.raises(ValidationError) as caught:
        lend(car, VisitFactory(), advisor)
    assert "car" in caught.value.message_dict
    other = LoanCar.objects.create(plate="苏E·D9999", model="雷凌", status=CarStatus.MAINTENANCE)
    with pytest.raises(ValidationError):
        lend(other, VisitFactory(), advisor)
    assert Loan.objects.filter(status="out").count() == 1


def test_the_database_refuses_a_second_loan_out_on_the_same_car(car):
    visit = VisitFactory()
    Loan.objects.create(car=car, customer=visit.customer, status=LoanStatus.OUT, km_out=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Loan.objects.create(car=car, customer=visit.customer, status=LoanStatus.OUT, km_out=1)


@pytest.mark.django_db(transaction=True)
def test_two_advisors_lending_the_same_car_at_once_one_wins(make_staff):
    car = LoanCar.objects.create(plate="苏E·R0001", model="卡罗拉")
    advisors = [make_staff("advisor"), make_staff("advisor")]
    visits = [VisitFactory(), VisitFactory()]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(index: int):
        try:
            barrier.wait()
            lend(car, visits[index], advisors[index], photos=[])
            outcomes.append("lent")
        except ValidationError as error:
            outcomes.append(error.message_dict["car"][0])
        finally:
            close_old_connections()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2 and outcomes.count("lent") == 1
    assert Loan.objects.filter(car=car, status="out").count() == 1
    assert LoanCar.objects.get(pk=car.pk).status == CarStatus.OUT


def test_return_on_time_frees_the_car(car, advisor):
    loan = lend(car, VisitFactory(), advisor)
    returned = services.loan_return(loan=loan, actor=advisor, fuel=5, km=12_080, photos=[png()])
    car.refresh_from_db()
    assert (returned.status, returned.late, car.status, car.km) == (
        "returned",
        False,
        "available",
        12_080,
    )
    assert loan.photos.filter(stage=PhotoStage.RETURN).count() == 1


def test_return_after_the_agreed_time_is_flagged_late(car, advisor):
    loan = lend(car, VisitFactory(), advisor)
    Loan.objects.filter(pk=loan.pk).update(due_back_at=timezone.now() - timedelta(minutes=5))
    assert Loan.objects.get(pk=loan.pk).is_overdue
    returned = services.loan_return(loan=loan, actor=advisor, fuel=6, km=12_020)
    assert returned.late
    event = TimelineEvent.objects.filter(kind="loancar.returned").get()
    assert event.data["summary_params"]["msgid"] == "Courtesy car %(plate)s returned late"


def test_damage_is_noted_with_photos_and_sends_the_car_to_maintenance(car, advisor):
    loan = lend(car, VisitFactory(), advisor)
    with pytest.raises(ValidationError) as caught:
        services.loan_return(loan=loan, actor=advisor, fuel=6, km=12_020, damage_photos=[png()])
    assert "damage_note" in caught.value.message_dict
    services.loan_return(
        loan=loan,
        actor=advisor,
        fuel=6,
        km=12_020,
        damage_note="右后门划痕",
        damage_photos=[png()],
    )
    car.refresh_from_db()
    assert car.status == CarStatus.MAINTENANCE
    assert loan.photos.filter(stage=PhotoStage.DAMAGE).count() == 1


def test_return_below_the_check_out_km_or_twice_is_refused(car, advisor):
    loan = lend(car, VisitFactory(), advisor)
    with pytest.raises(ValidationError) as caught:
        services.loan_return(loan=loan, actor=advisor, fuel=6, km=12_000)
    assert "km" in caught.value.message_dict
    services.loan_return(loan=loan, actor=advisor, fuel=6, km=12_010)
    with pytest.raises(ValidationError):
        services.loan_return(loan=loan, actor=advisor, fuel=6, km=12_020)


def test_booked_with_the_appointment_the_booking_becomes_the_loan(car, advisor):
    workshop = make_workshop()
    visit = VisitFactory()
    appointment = appointment_book(
        customer=visit.customer,
        vehicle=visit.vehicle,
        start=local(days_ahead(2), 10),
        operations=[workshop["oil"]],
        actor=advisor,
    )
    booking = services.loan_book(appointment=appointment, car=car, actor=advisor)
    assert booking.booked_for == days_ahead(2)
    with pytest.raises(ValidationError):
        services.loan_book(appointment=appointment, car=car, actor=advisor)
    loan = lend(car, visit, advisor)
    assert loan.pk == booking.pk and loan.appointment == appointment


def test_a_cancelled_appointment_frees_its_booked_car_for_that_day(car, advisor):
    workshop = make_workshop()
    first, second = VisitFactory(), VisitFactory()
    bookings = [
        appointment_book(
            customer=visit.customer,
            vehicle=visit.vehicle,
            start=local(days_ahead(2), hour),
            operations=[workshop["oil"]],
            actor=advisor,
        )
        for visit, hour in ((first, 9), (second, 14))
    ]
    services.loan_book(appointment=bookings[0], car=car, actor=advisor)
    with pytest.raises(ValidationError):
        services.loan_book(appointment=bookings[1], car=car, actor=advisor)
    appointment_cancel(appointment=bookings[0], actor=advisor, reason="客户改期")
    assert selectors.bookings() == []
    with pytest.raises(ValidationError):
        services.loan_book(appointment=bookings[0], car=car, actor=advisor)
    assert services.loan_book(appointment=bookings[1], car=car, actor=advisor).booked_for


def test_manager_cannot_mark_a_car_out_by_hand_nor_free_one_that_is_out(car, advisor):
    with pytest.raises(ValidationError):
        services.loan_car_save(car=car, actor=None, status=CarStatus.OUT)
    lend(car, VisitFactory(), advisor)
    car.refresh_from_db()
    with pytest.raises(ValidationError):
        services.loan_car_save(car=car, actor=None, status=CarStatus.AVAILABLE)


def test_licence_is_masked_in_logs_and_on_the_page(car, advisor, client, caplog):
    with caplog.at_level(logging.INFO, logger="loancars.services"):
        loan = lend(car, VisitFactory(), advisor)
    assert LICENCE not in caplog.text and "3201**********1234" in caplog.text
    client.force_login(advisor)
    page = client.get(reverse("loancars:loan", args=[loan.pk])).content.decode()
    assert LICENCE not in page and "3201**********1234" in page


def test_advisor_lends_and_takes_back_through_the_pages(car, advisor, client):
    visit = VisitFactory()
    client.force_login(advisor)
    url = reverse("loancars:check_out", args=[visit.pk])
    assert url in client.get(visit.get_absolute_url()).content.decode()
    due = timezone.localtime() + timedelta(hours=6)
    bad = client.post(url, {"car": car.pk, "driver_name": "陈静", "licence_number": "1"})
    assert bad.status_code == 400 and not Loan.objects.exists()
    response = client.post(
        url,
        {
            "car": car.pk,
            "driver_name": "陈静",
            "licence_number": LICENCE,
            "fuel": "6",
            "km": "12010",
            "due_back_at": due.strftime("%Y-%m-%dT%H:%M"),
            "signature": signature_data_url(),
            "photos": [png()],
        },
    )
    loan = Loan.objects.get()
    assert response.url == reverse("loancars:loan", args=[loan.pk])
    # The visit's loan is listed where the advisor lends: it cannot be lent twice by mistake.
    assert reverse("loancars:loan", args=[loan.pk]) in client.get(url).content.decode()
    listing = client.get(reverse("loancars:loans")).content.decode()
    assert car.plate in listing and LICENCE not in listing
    client.post(reverse("loancars:loan", args=[loan.pk]), {"fuel": "6", "km": "12050"})
    loan.refresh_from_db()
    assert loan.status == LoanStatus.RETURNED


def test_manager_adds_a_car_and_the_advisor_may_not(car, advisor, client, make_staff):
    client.force_login(advisor)
    assert client.get(reverse("loancars:fleet")).status_code == 403
    client.force_login(make_staff("service_manager"))
    response = client.post(
        reverse("loancars:fleet"),
        {"plate": "苏E·N0002", "model": "凯美瑞", "status": "available", "km": "0"},
    )
    assert response.status_code == 302
    assert LoanCar.objects.filter(plate="苏E·N0002").exists()


@pytest.mark.parametrize("role", ["technician", "cashier", "workshop_controller"])
def test_other_roles_cannot_lend(car, client, make_staff, role):
    client.force_login(make_staff(role))
    visit = VisitFactory()
    assert client.get(reverse("loancars:loans")).status_code == 403
    assert client.post(reverse("loancars:check_out", args=[visit.pk]), {}).status_code == 403
