"""Issue 15 at the desk: a booked car found by plate, walk-in registration, waiting customers."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dealership.tests.factories import LabourOperationFactory, VehicleFactory
from reception.models import Visit
from reception.services import visit_check_in

pytestmark = pytest.mark.django_db


def _booking(vehicle, *, start=None, waiting=True, concern="做一万公里保养,顺便看看雨刮"):
    from appointments.models import Appointment, AppointmentLine

    if start is None:  # today at 16:30, local time: always "the booking of the day"
        start = timezone.localtime().replace(hour=16, minute=30, second=0, microsecond=0)
    appointment = Appointment.objects.create(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=start,
        end=start + timedelta(hours=1),
        concern_text=concern,
        waiting=waiting,
    )
    AppointmentLine.objects.create(
        appointment=appointment,
        operation=LabourOperationFactory(name_zh="更换机油及机油滤清器", price="120"),
        work_type="maintenance",
        hours="0.5",
        price="120",
    )
    return appointment


# ---------------------------------------------------------------- item 2: booked car by plate


def test_the_plate_search_check_in_takes_over_the_booking_of_the_day(advisor_client):
    from workorders.models import WorkOrder

    vehicle = VehicleFactory(plate="粤B12345")
    appointment = _booking(vehicle)
    found = advisor_client.get(reverse("reception:check_in"), {"q": "B12345"}).content.decode()
    assert f"?vehicle={vehicle.pk}" in found
    assert "booked-today" in found  # the hint is there before the car is opened
    url = reverse("reception:check_in") + f"?vehicle={vehicle.pk}"
    page = advisor_client.get(url).content.decode()
    local_start = timezone.localtime(appointment.start)
    assert "做一万公里保养" in page  # the concern is prefilled
    assert f"{local_start:%H:%M}" in page and "更换机油及机油滤清器" in page
    response = advisor_client.post(
        url, {"vehicle": vehicle.pk, "concern_text": appointment.concern_text}
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    appointment.refresh_from_db()
    assert (visit.appointment, visit.is_walk_in, appointment.status) == (
        appointment,
        False,
        "arrived",
    )
    assert visit.customer_waits is True
    order = WorkOrder.objects.get(visit=visit)
    assert list(order.lines.values_list("name_zh", "job_type")) == [
        ("更换机油及机油滤清器", "maintenance")
    ]


def test_a_check_in_without_the_appointment_still_takes_over_the_booking(make_staff):
    """The API and any other caller: the service finds the booking of the day itself."""
    vehicle = VehicleFactory()
    appointment = _booking(vehicle, waiting=False)
    visit = visit_check_in(vehicle=vehicle, actor=make_staff("advisor"))
    appointment.refresh_from_db()
    assert visit.appointment == appointment and not visit.is_walk_in
    assert visit.concern_text == appointment.concern_text
    assert appointment.status == "arrived"


def test_a_booking_of_another_day_is_not_taken_over(make_staff):
    vehicle = VehicleFactory()
    appointment = _booking(vehicle, start=timezone.now() + timedelta(days=2))
    visit = visit_check_in(vehicle=vehicle, actor=make_staff("advisor"), concern_text="异响")
    appointment.refresh_from_db()
    assert visit.is_walk_in and visit.appointment is None and appointment.status == "booked"


def test_the_walk_in_form_for_a_known_plate_goes_to_its_booked_check_in(advisor_client):
    vehicle = VehicleFactory(plate="粤B12345")
    _booking(vehicle)
    response = advisor_client.post(
        reverse("reception:register_walk_in"),
        {
            "name": vehicle.owner.name,
            "mobile": vehicle.owner.mobile,
            "plate": "粤B 12345",
            "vin": "",
            "model": "凯美瑞",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?vehicle={vehicle.pk}")
    page = advisor_client.get(response["Location"]).content.decode()
    assert "做一万公里保养" in page


# ---------------------------------------------------------------- item 13: walk-in registration


def _field_errors(html: str) -> set[str]:
    import re

    return set(re.findall(r'class="field field-error" id="field-(\w+)"', html))


def test_walk_in_registration_shows_every_error_in_one_round(advisor_client):
    from dealership.models import Customer, Vehicle

    response = advisor_client.post(
        reverse("reception:register_walk_in"),
        {
            "name": "张三",
            "mobile": "1380013800",  # ten digits
            "plate": "粤B1234",  # too short
            "vin": "1M8GDM9AXKP042789",  # wrong check digit
            "model": "",
        },
    )
    assert response.status_code == 400
    assert _field_errors(response.content.decode()) == {"mobile", "plate", "vin", "model"}
    assert not Customer.objects.exists() and not Vehicle.objects.exists()


def test_a_car_without_its_registration_is_checked_in_and_the_vin_is_asked_before_signing(
    advisor_client, make_staff
):
    from dealership.errors import DomainError
    from dealership.models import Vehicle
    from dealership.services import vehicle_update
    from reception.tests.factories import signature_data_url
    from workorders.services import work_order_sign
    from workorders.tests.factories import CONFIRMED, ready_to_sign_order

    response = advisor_client.post(
        reverse("reception:register_walk_in"),
        {"name": "李四", "mobile": "13800138000", "plate": "粤B12345", "model": "凯美瑞"},
    )
    assert response.status_code == 302
    vehicle = Vehicle.objects.get(plate="粤B12345")
    assert vehicle.vin is None
    page = advisor_client.get(response["Location"]).content.decode()
    assert 'id="vin-missing"' in page

    advisor = make_staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    Vehicle.objects.filter(pk=order.visit.vehicle_id).update(vin=None)
    visit_page = advisor_client.get(reverse("reception:visit", args=[order.visit_id]))
    assert 'id="vin-missing"' in visit_page.content.decode()
    sign = {**CONFIRMED, "signature": signature_data_url(), "signer_name": "陈静"}
    with pytest.raises(DomainError) as error:
        work_order_sign(order=order, actor=advisor, **sign)
    assert "VIN" in str(error.value.messages)
    vehicle_update(vehicle=order.visit.vehicle, actor=advisor, vin="1M8GDM9AXKP042788")
    order.visit.vehicle.refresh_from_db()
    signed = work_order_sign(order=order, actor=advisor, **sign)
    assert signed.status == "signed"


def test_two_cars_without_vin_can_both_be_registered(advisor_client):
    from dealership.models import Vehicle

    for plate, mobile in (("粤B12345", "13800138000"), ("粤B54321", "13900139000")):
        response = advisor_client.post(
            reverse("reception:register_walk_in"),
            {"name": "王五", "mobile": mobile, "plate": plate, "vin": " ", "model": "卡罗拉"},
        )
        assert response.status_code == 302
    assert Vehicle.objects.filter(vin__isnull=True).count() == 2


def test_the_complaint_lookup_finds_what_the_main_search_finds(client, make_staff):
    from dealership.selectors import search

    vehicle = VehicleFactory(plate="粤A3HAA0")
    assert search("A3HAA0").vehicles == [vehicle]
    client.force_login(make_staff("customer_care"))
    response = client.get(reverse("followup:complaint_new"), {"find": "A3HAA0"})
    assert response.status_code == 302
    assert response["Location"].endswith(f"?customer={vehicle.owner_id}")


# ---------------------------------------------------------------- item 15: waiting customers


def test_a_walk_in_can_say_the_customer_waits_and_the_visit_page_shows_it(advisor_client):
    vehicle = VehicleFactory()
    response = advisor_client.post(
        reverse("reception:check_in") + f"?vehicle={vehicle.pk}",
        {"vehicle": vehicle.pk, "concern_text": "换机油", "customer_waits": "on"},
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert visit.is_walk_in and visit.customer_waits
    page = advisor_client.get(reverse("reception:visit", args=[visit.pk])).content.decode()
    assert 'id="customer-waits"' in page


def test_the_workshop_board_shows_waiting_customers_first(client, make_staff):
    from reception.states import VisitStatus
    from reception.tests.factories import VisitFactory

    promised = timezone.now() + timedelta(hours=3)
    booked = VisitFactory(status=VisitStatus.ORDER_SIGNED, is_walk_in=False, promised_at=promised)
    waiting = VisitFactory(
        status=VisitStatus.ORDER_SIGNED,
        is_walk_in=True,
        customer_waits=True,
        promised_at=promised + timedelta(hours=1),
    )
    client.force_login(make_staff("workshop_controller"))
    html = client.get(reverse("workshop:board")).content.decode()
    assert html.index(f'id="visit-{waiting.pk}"') < html.index(f'id="visit-{booked.pk}"')
    card = html[html.index(f'id="visit-{waiting.pk}"') :][:800]
    assert "tag warn waits" in card
    on_site = client.get(reverse("reception:on_site")).content.decode()
    assert on_site.index(waiting.number) < on_site.index(booked.number)


# ---------------------------------------------------------------- item 16: small things


def test_a_battery_electric_car_records_its_charge_level_not_fuel_or_oil(
    advisor_client, make_staff
):
    from reception.services import visit_walkaround_sign, visit_walkaround_update
    from reception.tests.factories import signature_data_url

    advisor = make_staff("advisor")
    visit = visit_check_in(
        vehicle=VehicleFactory(plate="粤BD12345"), actor=advisor, concern_text="x"
    )
    page = advisor_client.get(reverse("reception:walkaround", args=[visit.pk])).content.decode()
    assert 'name="charge_percent"' in page
    assert 'name="fuel_level"' not in page and 'value="oil"' not in page
    response = advisor_client.post(
        reverse("reception:walkaround", args=[visit.pk]),
        {"version": visit.version, "odometer_km": 12000, "charge_percent": 64, "covers": "three"},
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.charge_percent, visit.fuel_level) == (64, None)
    visit_walkaround_update(visit=visit, actor=advisor, key_tag="E1")
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="陈静"
    )
    assert visit.walkaround_signed
    # A petrol car still records fuel and may show the oil lamp.
    petrol = visit_check_in(vehicle=VehicleFactory(plate="粤B12345"), actor=advisor)
    page = advisor_client.get(reverse("reception:walkaround", args=[petrol.pk])).content.decode()
    assert 'name="fuel_level"' in page and 'value="oil"' in page
    assert 'name="charge_percent"' not in page


def test_checking_in_tomorrows_booking_shows_its_date(advisor_client):
    vehicle = VehicleFactory()
    tomorrow = timezone.localtime() + timedelta(days=1)
    start = tomorrow.replace(hour=10, minute=0, second=0, microsecond=0)
    appointment = _booking(vehicle, start=start)
    page = advisor_client.get(
        reverse("reception:check_in") + f"?appointment={appointment.pk}"
    ).content.decode()
    assert f'<span id="booked-at">{start:%Y-%m-%d} 10:00</span>' in page
    today = _booking(VehicleFactory())
    page = advisor_client.get(
        reverse("reception:check_in") + f"?appointment={today.pk}"
    ).content.decode()
    assert '<span id="booked-at">16:30</span>' in page


def test_a_duplicate_plate_is_refused_with_a_readable_message(make_staff):
    from django.utils import translation

    from dealership.errors import DomainError
    from dealership.services import vehicle_create

    VehicleFactory(plate="粤B12345")
    other = VehicleFactory()
    with translation.override("zh-hans"), pytest.raises(DomainError.__mro__[1]) as error:
        vehicle_create(
            actor=None, owner=other.owner, plate="粤B12345", vin="1M8GDM9AXKP042788", model="A"
        )
    assert error.value.message_dict["plate"] == ["车牌 粤B12345 已登记在另一辆车上。"]
