from datetime import time, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation

from appointments import services
from appointments.models import Appointment, Channel, OpeningHours, Status
from dealership.links import customer_link_create
from dealership.models import Message, Vehicle
from dealership.rules import rule_set

from .factories import days_ahead, local, make_vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def book(workshop, actor, start, vehicle=None, **kwargs):
    vehicle = vehicle or make_vehicle()
    return services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=start,
        operations=[workshop["oil"]],
        actor=actor,
        **kwargs,
    )


# --- advisor booking ------------------------------------------------------------------


def test_the_advisor_finds_the_car_by_plate_fragment(client, advisor, workshop):
    vehicle = make_vehicle(plate="苏E7K2M9")
    client.force_login(advisor)
    response = client.get(reverse("appointments:new"), {"q": "7k2"}, HTTP_HX_REQUEST="true")
    assert f"?vehicle={vehicle.pk}" in response.content.decode()


def test_the_advisor_books_from_the_form(client, advisor, workshop):
    vehicle = make_vehicle()
    client.force_login(advisor)
    url = reverse("appointments:new") + f"?vehicle={vehicle.pk}"
    page = client.get(url)
    assert page.status_code == 200
    assert workshop["oil"].name_zh in page.content.decode()
    start = local(days_ahead(5), 9, 30)
    response = client.post(
        url,
        {
            "vehicle": vehicle.pk,
            "operations": [workshop["oil"].pk, workshop["brakes"].pk],
            "parts": [workshop["windscreen"].pk],
            "day": start.date().isoformat(),
            "start": start.strftime("%Y-%m-%dT%H:%M"),
            "concern_text": "空调不凉",
            "advisor": advisor.pk,
            "waiting": "1",
            "channel": "phone",
        },
    )
    appointment = Appointment.objects.get()
    assert response.status_code == 302 and response["Location"] == appointment.get_absolute_url()
    assert (
        appointment.start == start
        and appointment.waiting
        and appointment.concern_text == "空调不凉"
    )
    assert appointment.deposit_required > 0
    detail = client.get(appointment.get_absolute_url()).content.decode()
    assert "空调不凉" in detail and "定金" in detail


def test_a_full_slot_shows_the_refusal_next_to_the_time_with_alternatives(
    client, advisor, workshop
):
    rule_set("appointments.arrivals_per_slot", 1)
    day = days_ahead(5)
    book(workshop, advisor, local(day, 10))
    vehicle = make_vehicle()
    client.force_login(advisor)
    response = client.post(
        reverse("appointments:new") + f"?vehicle={vehicle.pk}",
        {
            "vehicle": vehicle.pk,
            "operations": [workshop["oil"].pk],
            "day": day.isoformat(),
            "start": local(day, 10).strftime("%Y-%m-%dT%H:%M"),
            "waiting": "0",
            "channel": "phone",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="start-errors"' in body and "已满" in body
    assert 'id="alternatives"' in body and f'value="{day.isoformat()}T10:30"' in body
    assert Appointment.objects.count() == 1


def test_the_preview_shows_hours_price_stock_and_free_slots(client, advisor, workshop):
    client.force_login(advisor)
    day = days_ahead(5)
    response = client.get(
        reverse("appointments:preview"),
        {
            "operations": [workshop["oil"].pk],
            "parts": [workshop["windscreen"].pk],
            "day": day.isoformat(),
        },
    )
    body = response.content.decode()
    assert "¥3400.00" in body  # 120 labour + 3280 part
    assert "需订货" in body or "订货" in body
    assert f'value="{day.isoformat()}T08:30"' in body


def test_a_new_customer_and_car_are_created_then_booked(client, advisor, workshop):
    client.force_login(advisor)
    response = client.post(
        reverse("appointments:quick_customer"),
        {
            "name": "陈静",
            "mobile": "136 1234 5678",
            "plate": "苏e7k2m9",
            "vin": "1M8GDM9AXKP042788",
            "model": "凯美瑞",
        },
    )
    vehicle = Vehicle.objects.get(plate="苏E7K2M9")
    assert vehicle.owner.mobile == "13612345678"
    assert response["Location"].endswith(f"?vehicle={vehicle.pk}")


@pytest.mark.parametrize(
    ("field", "value"), [("plate", "ABC123"), ("mobile", "12345")], ids=["plate", "phone"]
)
def test_an_invalid_plate_or_phone_is_refused_at_the_field(client, advisor, field, value):
    client.force_login(advisor)
    data = {
        "name": "陈静",
        "mobile": "13612345678",
        "plate": "苏E7K2M9",
        "vin": "1M8GDM9AXKP042788",
        "model": "x",
    }
    data[field] = value
    response = client.post(reverse("appointments:quick_customer"), data)
    assert response.status_code == 400
    assert f'id="field-{field}"' in response.content.decode()
    assert not Vehicle.objects.exists()


# --- board ----------------------------------------------------------------------------


def test_the_board_shows_capacity_statuses_and_appointed_apart_from_walk_ins(
    client, advisor, workshop
):
    tomorrow = days_ahead(1)
    booked = book(workshop, advisor, local(tomorrow, 9))
    client.force_login(advisor)
    body = client.get(reverse("appointments:board"), {"day": tomorrow.isoformat()}).content.decode()
    assert booked.vehicle.plate in body
    assert "★ 预约" in body and "已预约 1" in body
    assert "预约 0.50 小时" in body  # capacity bar of maintenance


def test_the_board_lists_receptions_walk_ins_with_their_own_marker(client, advisor, workshop):
    reception = pytest.importorskip("reception.services")
    walk_in = make_vehicle()
    reception.visit_check_in(vehicle=walk_in, actor=advisor, concern_text="异响")
    client.force_login(advisor)
    body = client.get(reverse("appointments:board")).content.decode()
    walk_ins = body.split('id="walk-ins"')[1]
    assert walk_in.plate in walk_ins and "直接入厂" in walk_ins


def test_todays_open_appointments_link_to_check_in_when_reception_has_it(client, advisor, workshop):
    # The store opens around the clock here, so that there is a slot later today at any hour
    # but the last one before midnight (the test skipped after the store's closing time).
    for weekday in range(7):
        OpeningHours.objects.update_or_create(
            weekday=weekday, defaults={"opens": time(0, 0), "closes": time(23, 59, 59)}
        )
    now = timezone.localtime()
    slot = now.replace(minute=0 if now.minute < 30 else 30, second=0, microsecond=0)
    start = slot + timedelta(minutes=60)
    if start.date() != now.date():
        pytest.skip("no slot left today in the hour before midnight")
    appointment = book(workshop, advisor, start)
    client.force_login(advisor)
    body = client.get(reverse("appointments:board")).content.decode()
    from appointments.selectors import check_in_url

    url = check_in_url(appointment)
    if url:
        assert url.replace("&", "&amp;") in body or url in body
    assert appointment.vehicle.plate in body


def test_the_board_query_count_does_not_grow_with_appointments(
    client, advisor, workshop, django_assert_max_num_queries
):
    client.force_login(advisor)
    day = days_ahead(5)
    book(workshop, advisor, local(day, 9))
    url = reverse("appointments:board")
    client.get(url, {"day": day.isoformat()})  # the user and their roles now come from the cache
    with django_assert_max_num_queries(20) as few:
        client.get(url, {"day": day.isoformat()})
    rule_set("appointments.arrivals_per_slot", 10)
    for hour in range(9, 17):
        for _ in range(3):
            book(workshop, advisor, local(day, hour), advisor=advisor)
    counts = {}
    for view in ("day", "week"):
        with django_assert_max_num_queries(len(few.captured_queries)) as many:
            response = client.get(url, {"day": day.isoformat(), "view": view})
        assert response.status_code == 200
        page = response.content.decode()
        assert page.count("data-appointment=" if view == "day" else "data-status=") >= 25
        counts[view] = len(many.captured_queries)
    assert counts["day"] == len(few.captured_queries)  # 25 appointments cost what one did
    assert counts["week"] <= counts["day"]  # the week loads no lines


def test_the_advisor_filter_shows_only_their_appointments(client, make_staff, workshop):
    mine, other = make_staff("advisor"), make_staff("advisor")
    day = days_ahead(5)
    a = book(workshop, mine, local(day, 9), advisor=mine)
    b = book(workshop, mine, local(day, 10), advisor=other)
    client.force_login(mine)
    body = client.get(
        reverse("appointments:board"), {"day": day.isoformat(), "advisor": mine.pk}
    ).content.decode()
    assert a.vehicle.plate in body and b.vehicle.plate not in body


# --- settings ---------------------------------------------------------------------------


def test_the_manager_edits_opening_hours_and_holidays(client, make_staff, workshop):
    client.force_login(make_staff("service_manager"))
    data = {}
    for day in range(7):
        data[f"d{day}-opens"] = "09:00"
        data[f"d{day}-closes"] = "18:00"
    data["d6-closed"] = "on"
    response = client.post(reverse("appointments:opening_hours"), data)
    assert response.status_code == 302
    holiday_day = days_ahead(5)
    client.post(
        reverse("appointments:holiday_add"), {"day": holiday_day.isoformat(), "name": "盘点"}
    )
    from appointments.capacity import capacity_for_days

    capacity = capacity_for_days(days_ahead(1), days_ahead(7))
    assert capacity[holiday_day].closed
    assert all(c.closed for d, c in capacity.items() if d.weekday() == 6)
    open_day = next(c for d, c in capacity.items() if not c.closed)
    assert open_day.slots[0].start.strftime("%H:%M") == "09:00"


def test_a_holiday_on_a_booked_day_is_refused(client, make_staff, workshop, advisor):
    day = days_ahead(5)
    book(workshop, advisor, local(day, 9))
    client.force_login(make_staff("service_manager"))
    client.post(reverse("appointments:holiday_add"), {"day": day.isoformat(), "name": "盘点"})
    from appointments.models import Holiday

    assert not Holiday.objects.exists()


def test_campaigns_show_when_booking_a_matching_vehicle(client, make_staff, workshop):
    client.force_login(make_staff("service_manager"))
    response = client.post(
        reverse("appointments:campaign_new"),
        {
            "code": "RC-2026-01",
            "kind": "recall",
            "name_zh": "燃油泵召回",
            "name_en": "Fuel pump recall",
            "models_match": "凯美瑞",
            "active": "on",
        },
    )
    assert response.status_code == 302
    camry = make_vehicle(model="凯美瑞 Camry")
    corolla = make_vehicle(model="卡罗拉 Corolla")
    client.force_login(make_staff("advisor"))
    assert (
        "燃油泵召回"
        in client.get(reverse("appointments:new"), {"vehicle": camry.pk}).content.decode()
    )
    assert (
        "燃油泵召回"
        not in client.get(reverse("appointments:new"), {"vehicle": corolla.pk}).content.decode()
    )


# --- customer self-service ----------------------------------------------------------------


def test_the_customer_books_online_with_plate_and_mobile(
    client, workshop, django_capture_on_commit_callbacks
):
    vehicle = make_vehicle(plate="苏E7K2M9")
    identify = client.post(
        reverse("appointments:self_book"),
        {"plate": "苏e 7k2m9", "mobile": vehicle.owner.mobile},
    )
    assert identify.status_code == 302
    page = client.get(reverse("appointments:self_book"))
    assert "苏E7K2M9" in page.content.decode()
    start = local(days_ahead(5), 10)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("appointments:self_book"),
            {
                "operations": [workshop["oil"].pk],
                "day": start.date().isoformat(),
                "start": start.strftime("%Y-%m-%dT%H:%M"),
                "concern_text": "仪表盘亮了保养灯",
                "waiting": "0",
            },
        )
    appointment = Appointment.objects.get()
    assert appointment.channel == Channel.WEB and appointment.booked_by is None
    assert response.status_code == 302 and "/appointments/my/" in response["Location"]
    assert client.get(response["Location"]).status_code == 200
    message = Message.objects.get(template="appointment_booked")
    assert message.customer == vehicle.owner
    assert "http://testserver" + response["Location"] in message.body


def test_a_wrong_plate_and_mobile_pair_reveals_nothing(client, workshop):
    vehicle = make_vehicle(plate="苏E7K2M9")
    other = make_vehicle(plate="苏A12345")
    response = client.post(
        reverse("appointments:self_book"), {"plate": "苏E7K2M9", "mobile": other.owner.mobile}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert vehicle.owner.name not in body and other.owner.name not in body
    assert vehicle.model not in body


def test_self_service_attempts_are_rate_limited(client, workshop):
    rule_set("appointments.self_service_attempts_per_hour", 3)
    for _ in range(3):
        assert (
            client.post(
                reverse("appointments:self_book"), {"plate": "苏E7K2M9", "mobile": "13612345678"}
            ).status_code
            == 400
        )
    response = client.post(
        reverse("appointments:self_book"), {"plate": "苏E7K2M9", "mobile": "13612345678"}
    )
    assert response.status_code == 429


def test_self_service_limit_counts_per_plate_and_mobile_not_only_per_address(client, workshop):
    """Guessing one car's owner from many addresses stops at the plate's allowance, and one
    visitor using up their address's allowance does not stop anybody else booking."""
    rule_set("appointments.self_service_attempts_per_hour", 3)
    url = reverse("appointments:self_book")
    for i in range(3):
        response = client.post(
            url, {"plate": "苏E7K2M9", "mobile": f"1361234567{i}"}, REMOTE_ADDR=f"10.9.0.{i}"
        )
        assert response.status_code == 400
    refused = client.post(
        url, {"plate": "苏E7K2M9", "mobile": "13612345679"}, REMOTE_ADDR="10.9.0.9"
    )
    assert refused.status_code == 429
    # The same mobile from many addresses, each time with another plate: refused as well.
    for i in range(3):
        client.post(
            url, {"plate": f"苏E7K2N{i}", "mobile": "13700000001"}, REMOTE_ADDR=f"10.8.0.{i}"
        )
    assert (
        client.post(url, {"plate": "苏E7K2N9", "mobile": "13700000001"}, REMOTE_ADDR="10.8.0.9")
    ).status_code == 429
    # A real customer at another address books as usual.
    vehicle = make_vehicle()
    response = client.post(
        url, {"plate": vehicle.plate, "mobile": vehicle.owner.mobile}, REMOTE_ADDR="10.7.0.1"
    )
    assert response.status_code == 302


def test_online_bookings_need_the_notice_period(client, workshop):
    vehicle = make_vehicle()
    session = client.session
    session["appointments.self_service_vehicle"] = vehicle.pk
    session.save()
    soon = timezone.localtime() + timedelta(minutes=30)
    soon = soon.replace(minute=0 if soon.minute < 30 else 30, second=0, microsecond=0)
    response = client.post(
        reverse("appointments:self_book"),
        {
            "operations": [workshop["oil"].pk],
            "day": soon.date().isoformat(),
            "start": soon.strftime("%Y-%m-%dT%H:%M"),
            "waiting": "0",
        },
    )
    assert response.status_code == 400
    assert not Appointment.objects.exists()


def test_the_signed_link_shows_moves_and_cancels_only_its_appointment(client, advisor, workshop):
    mine = book(workshop, advisor, local(days_ahead(5), 9))
    theirs = book(workshop, advisor, local(days_ahead(5), 10))
    url = reverse("appointments:manage", kwargs={"token": mine.link_token})
    body = client.get(url).content.decode()
    assert mine.vehicle.plate in body and theirs.vehicle.plate not in body
    new_start = local(days_ahead(6), 11)
    response = client.post(
        url,
        {
            "action": "reschedule",
            "day": new_start.date().isoformat(),
            "start": new_start.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.start == new_start
    assert client.get(url).status_code == 404  # the old link was replaced
    new_url = response["Location"]
    client.post(new_url, {"action": "cancel"})
    mine.refresh_from_db()
    assert mine.status == Status.CANCELLED
    theirs.refresh_from_db()
    assert theirs.status == Status.BOOKED


def test_junk_or_foreign_tokens_get_404(client, workshop):
    assert client.get(reverse("appointments:manage", kwargs={"token": "junk"})).status_code == 404
    vehicle = make_vehicle()
    token = customer_link_create(obj=vehicle, purpose="appointment")  # right purpose, wrong object
    assert client.get(reverse("appointments:manage", kwargs={"token": token})).status_code == 404


def test_pages_speak_english_when_asked(client, advisor, workshop):
    client.force_login(advisor)
    client.cookies["django_language"] = "en"
    body = client.get(reverse("appointments:board")).content.decode()
    with translation.override("en"):
        assert "Appointment board" in body
