"""Check-in, walk-around, concern and hand-over: what the advisor and the controller notice."""

import pytest
from django.urls import reverse
from django.utils import translation

from dealership.errors import DomainError
from dealership.models import Customer, TimelineEvent, Vehicle
from dealership.tests.factories import CustomerFactory, VehicleFactory
from reception.models import Belonging, DamageMark, DeclinedWork, Visit
from reception.services import (
    belonging_add,
    damage_mark_add,
    visit_check_in,
    visit_concern_update,
    visit_hand_over,
    visit_walkaround_sign,
    visit_walkaround_update,
)
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory, WalkedAroundVisitFactory, signature_data_url

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------- check-in


def test_walk_in_check_in_opens_a_visit_with_a_readable_number(make_staff):
    advisor = make_staff("advisor")
    vehicle = VehicleFactory(last_odometer_km=30_000)
    visit = visit_check_in(vehicle=vehicle, actor=advisor, concern_text="  冷车启动有异响 ")
    assert visit.number.startswith("RO") and str(visit.pk) in visit.number
    assert (visit.status, visit.is_walk_in, visit.advisor) == ("checked_in", True, advisor)
    assert visit.concern_text == "冷车启动有异响"
    assert visit.previous_odometer_km == 30_000
    assert Visit.objects.get(pk=visit.pk).number == visit.number
    assert TimelineEvent.objects.filter(kind="visit.checked_in", vehicle=vehicle).exists()


def test_a_car_already_on_site_cannot_be_checked_in_twice(make_staff):
    visit = VisitFactory()
    with pytest.raises(DomainError) as error:
        visit_check_in(vehicle=visit.vehicle, actor=make_staff("advisor"))
    assert visit.number in error.value.messages[0]
    assert Visit.objects.count() == 1


def test_a_comeback_links_the_earlier_visit_of_the_same_car(make_staff):
    earlier = VisitFactory(status=VisitStatus.DELIVERED)
    other = VisitFactory(status=VisitStatus.DELIVERED)
    advisor = make_staff("advisor")
    with pytest.raises(DomainError):
        visit_check_in(vehicle=earlier.vehicle, actor=advisor, is_comeback=True)
    with pytest.raises(DomainError):
        visit_check_in(vehicle=earlier.vehicle, actor=advisor, comeback_of=other)
    visit = visit_check_in(vehicle=earlier.vehicle, actor=advisor, comeback_of=earlier)
    assert visit.is_comeback and visit.comeback_of == earlier


def test_check_in_page_shows_history_declined_work_and_odometer(advisor_client):
    vehicle = VehicleFactory(last_odometer_km=52_340)
    VisitFactory(vehicle=vehicle, status=VisitStatus.CLOSED, concern_text="保养")
    DeclinedWork.objects.create(vehicle=vehicle, description="更换后刹车片", estimated_amount=680)
    response = advisor_client.get(reverse("reception:check_in") + f"?vehicle={vehicle.pk}")
    html = response.content.decode()
    assert response.status_code == 200
    assert ("52,340" in html or "52340" in html) and "更换后刹车片" in html and "保养" in html


def test_walk_in_lookup_by_plate_fragment_then_check_in(advisor_client):
    vehicle = VehicleFactory(plate="苏E7K2M9")
    response = advisor_client.get(reverse("reception:check_in"), {"q": "7k2"})
    assert f"?vehicle={vehicle.pk}" in response.content.decode()
    response = advisor_client.post(
        reverse("reception:check_in") + f"?vehicle={vehicle.pk}",
        {"concern_text": "空调不凉", "vehicle": vehicle.pk},
    )
    visit = Visit.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("reception:walkaround", args=[visit.pk])
    assert visit.concern_text == "空调不凉"


def test_unknown_walk_in_is_registered_inline_and_a_known_mobile_is_reused(advisor_client):
    known = CustomerFactory(name="陈静", mobile="13612345678")
    response = advisor_client.post(
        reverse("reception:register_walk_in"),
        {
            "name": "陈静",
            "mobile": "136 1234 5678",
            "plate": "苏a·12345",
            "vin": "1M8GDM9AXKP042788",
            "model": "凯美瑞 Camry",
        },
    )
    vehicle = Vehicle.objects.get(vin="1M8GDM9AXKP042788")
    assert response.status_code == 302
    assert response["Location"].endswith(f"?vehicle={vehicle.pk}")
    assert vehicle.owner == known and vehicle.plate == "苏A12345"
    assert Customer.objects.count() == 1


def test_bad_walk_in_registration_shows_the_error_and_saves_nothing(advisor_client):
    response = advisor_client.post(
        reverse("reception:register_walk_in"),
        {"name": "张三", "mobile": "13800138000", "plate": "ABC", "vin": "X", "model": "A"},
    )
    assert response.status_code == 400
    assert "field-error" in response.content.decode()
    assert not Customer.objects.exists()


# ---------------------------------------------------------------- walk-around


def test_odometer_below_the_last_reading_needs_a_reason_and_updates_the_vehicle(make_staff):
    advisor = make_staff("advisor")
    vehicle = VehicleFactory(last_odometer_km=40_000)
    visit = visit_check_in(vehicle=vehicle, actor=advisor)
    with pytest.raises(DomainError) as error:
        visit_walkaround_update(visit=visit, actor=advisor, odometer_km=12_000)
    assert error.value.field == "odometer_km"
    assert Visit.objects.get(pk=visit.pk).odometer_km is None
    visit_walkaround_update(
        visit=visit, actor=advisor, odometer_km=12_000, odometer_reason="更换仪表总成"
    )
    vehicle.refresh_from_db()
    assert vehicle.last_odometer_km == 12_000
    # A typo corrected later is compared with the reading before this visit, not the typo.
    visit_walkaround_update(visit=visit, actor=advisor, odometer_km=41_000, odometer_reason="")
    assert Visit.objects.get(pk=visit.pk).odometer_km == 41_000


def test_a_key_tag_in_use_on_site_is_refused(make_staff):
    advisor = make_staff("advisor")
    VisitFactory(key_tag="A12")
    VisitFactory(key_tag="A13", status=VisitStatus.DELIVERED)
    visit = VisitFactory()
    with pytest.raises(DomainError) as error:
        visit_walkaround_update(visit=visit, actor=advisor, key_tag=" a12 ")
    assert error.value.field == "key_tag"
    assert Visit.objects.get(pk=visit.pk).key_tag == ""
    visit_walkaround_update(visit=visit, actor=advisor, key_tag="a13")  # the car left: tag free
    assert Visit.objects.get(pk=visit.pk).key_tag == "A13"


def test_valuables_must_leave_the_car(make_staff):
    visit = VisitFactory()
    advisor = make_staff("advisor")
    with pytest.raises(DomainError) as error:
        belonging_add(visit=visit, actor=advisor, description="笔记本电脑", is_valuable=True)
    assert error.value.error_dict["handling"][0].code == "valuable_in_car"
    belonging_add(
        visit=visit, actor=advisor, description="笔记本电脑", is_valuable=True, handling="locked"
    )
    belonging_add(visit=visit, actor=advisor, description="雨伞")
    assert Belonging.objects.filter(visit=visit).count() == 2


def test_signing_freezes_walkaround_and_concern_but_not_the_key(make_staff):
    advisor = make_staff("advisor")
    visit = WalkedAroundVisitFactory()
    damage_mark_add(visit=visit, actor=advisor, kind="dent", x=30, y=20, note="左后门")
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="陈静"
    )
    assert visit.walkaround_signature.name.endswith(".png")
    with pytest.raises(DomainError):
        damage_mark_add(visit=visit, actor=advisor, kind="dent", x=10, y=10)
    with pytest.raises(DomainError):
        visit_walkaround_update(visit=visit, actor=advisor, fuel_level=8)
    with pytest.raises(DomainError) as error:
        visit_concern_update(visit=visit, actor=advisor, concern_text="改过的话")
    assert error.value.field == "concern_text"
    visit_concern_update(visit=visit, actor=advisor, diagnosis="前刹车片磨损至2mm")
    visit_walkaround_update(visit=visit, actor=advisor, parking_spot="B-07")
    stored = Visit.objects.get(pk=visit.pk)
    assert (stored.concern_text, stored.fuel_level, stored.parking_spot) == (
        "刹车时有异响",
        4,
        "B-07",
    )
    assert DamageMark.objects.filter(visit=visit).count() == 1


def test_walkaround_signature_needs_the_essentials_and_a_real_stroke(make_staff):
    advisor = make_staff("advisor")
    visit = VisitFactory()
    with pytest.raises(DomainError) as error:
        visit_walkaround_sign(
            visit=visit, actor=advisor, signature=signature_data_url(), signer_name="陈静"
        )
    assert error.value.field == "odometer_km"
    ready = WalkedAroundVisitFactory()
    with pytest.raises(DomainError) as error:
        visit_walkaround_sign(
            visit=ready, actor=advisor, signature=signature_data_url(blank=True), signer_name="陈"
        )
    assert error.value.field == "signature"
    assert Visit.objects.get(pk=ready.pk).walkaround_signed_at is None


def test_walkaround_page_saves_and_marks_damage_through_htmx(advisor_client):
    # A petrol car's plate: one factory plate in ten is green (electric), with no fuel gauge.
    visit = VisitFactory(vehicle=VehicleFactory(last_odometer_km=1000, plate="苏E1234W"))
    url = reverse("reception:walkaround", args=[visit.pk])
    response = advisor_client.post(
        url,
        {
            "version": visit.version,
            "odometer_km": 1200,
            "fuel_level": 6,
            "covers": "five",
            "instruments_ok": "on",
            "warning_lamps": ["tyre"],
            "key_tag": "k9",
            "registration_received": "on",
        },
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert (visit.odometer_km, visit.fuel_level, visit.key_tag) == (1200, 6, "K9")
    assert visit.warning_lamps == ["tyre"]
    response = advisor_client.post(
        reverse("reception:damage_add", args=[visit.pk]),
        {"kind": "scratch", "x": "12.5", "y": "40", "note": "后保险杠"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "后保险杠" in response.content.decode()
    assert visit.damage_marks.get().kind == "scratch"


def test_a_stale_walkaround_form_is_refused_with_a_message(advisor_client):
    visit = VisitFactory()
    response = advisor_client.post(
        reverse("reception:walkaround", args=[visit.pk]),
        {"version": visit.version - 1 + 5, "odometer_km": 5, "covers": "three"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    with translation.override("zh-hans"):
        assert "刷新" in response.content.decode() or "Reload" in response.content.decode()
    assert Visit.objects.get(pk=visit.pk).odometer_km is None


# ---------------------------------------------------------------- hand-over and board


def test_the_controller_signs_for_a_signed_order_and_the_time_is_kept(make_staff, client):
    controller = make_staff("workshop_controller")
    unsigned = VisitFactory()
    with pytest.raises(DomainError):
        visit_hand_over(visit=unsigned, actor=controller)
    with pytest.raises(DomainError):
        visit_hand_over(visit=VisitFactory(status="order_signed"), actor=make_staff("advisor"))
    visit = VisitFactory(status=VisitStatus.ORDER_SIGNED)
    client.force_login(controller)
    response = client.post(reverse("reception:hand_over", args=[visit.pk]))
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.handed_over_at is not None and visit.handed_over_to == controller
    assert visit.status == VisitStatus.ORDER_SIGNED  # dispatch is the workshop's move
    with pytest.raises(DomainError):
        visit_hand_over(visit=visit, actor=controller)


def test_on_site_board_lists_booked_first_with_constant_queries(
    advisor_client, django_assert_max_num_queries
):
    VisitFactory.create_batch(3)
    booked = VisitFactory(is_walk_in=False)
    VisitFactory(status=VisitStatus.CLOSED)
    with django_assert_max_num_queries(8):
        response = advisor_client.get(reverse("reception:on_site"))
    rows = list(response.context["visits"])
    assert rows[0]["pk"] == booked.pk and len(rows) == 4  # rows are dicts (on_site_rows)
    VisitFactory.create_batch(10)
    with django_assert_max_num_queries(8):
        advisor_client.get(reverse("reception:on_site"))


def test_visit_page_query_count_does_not_grow_with_marks(
    advisor_client, django_assert_max_num_queries, make_staff
):
    visit = VisitFactory()
    for n in range(12):
        DamageMark.objects.create(visit=visit, kind="chip", x=n, y=n)
    with django_assert_max_num_queries(25):
        response = advisor_client.get(reverse("reception:walkaround", args=[visit.pk]))
    assert response.status_code == 200


def test_key_tag_label_is_a_small_pdf(advisor_client):
    visit = VisitFactory(key_tag="K21", parking_spot="A3")
    response = advisor_client.get(reverse("reception:key_tag", args=[visit.pk]))
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_progress_link_opens_only_with_a_valid_token(client, make_staff):
    from reception.progress_push import visit_progress_token

    visit = VisitFactory(status=VisitStatus.ORDER_SIGNED)
    token = visit_progress_token(visit=visit, actor=None)
    response = client.get(reverse("reception:progress", args=[token]))
    assert response.status_code == 200 and visit.number in response.content.decode()
    assert client.get(reverse("reception:progress", args=[token + "x"])).status_code == 404


# ---------------------------------------------------------------- booked check-in


def _booking(vehicle, advisor):
    from datetime import timedelta

    from django.utils import timezone

    from appointments.models import Appointment, AppointmentLine
    from dealership.tests.factories import LabourOperationFactory, PartFactory

    start = timezone.now() + timedelta(minutes=10)
    appointment = Appointment.objects.create(
        customer=vehicle.owner,
        vehicle=vehicle,
        advisor=advisor,
        start=start,
        end=start + timedelta(hours=1),
        concern_text="做一万公里保养,顺便看看雨刮",
    )
    AppointmentLine.objects.create(
        appointment=appointment,
        operation=LabourOperationFactory(name_zh="更换机油及机油滤清器", price="120"),
        work_type="maintenance",
        hours="0.5",
        price="120",
    )
    AppointmentLine.objects.create(
        appointment=appointment,
        part=PartFactory(name_zh="机油滤清器", price="58"),
        work_type="maintenance",
        price="58",
    )
    return appointment


def test_booked_car_check_in_prefills_and_marks_the_appointment_arrived(advisor_client):
    from workorders.models import WorkOrder

    vehicle = VehicleFactory()
    advisor = Visit._meta.get_field("advisor").related_model.objects.get()
    appointment = _booking(vehicle, advisor)
    url = reverse("reception:check_in") + f"?appointment={appointment.pk}"
    page = advisor_client.get(url).content.decode()
    assert "做一万公里保养" in page and "更换机油及机油滤清器" in page
    response = advisor_client.post(
        url, {"appointment": appointment.pk, "concern_text": appointment.concern_text}
    )
    visit = Visit.objects.get()
    appointment.refresh_from_db()
    assert response.status_code == 302
    assert (visit.appointment, visit.is_walk_in, appointment.status) == (
        appointment,
        False,
        "arrived",
    )
    order = WorkOrder.objects.get(visit=visit)
    assert sorted(order.lines.values_list("name_zh", flat=True)) == [
        "更换机油及机油滤清器",
        "机油滤清器",
    ]
    assert order.estimate_total == 178
    # The same booking cannot be checked in twice.
    assert advisor_client.post(url, {"appointment": appointment.pk}).status_code == 400


def test_a_failed_check_in_leaves_the_appointment_open(make_staff):
    advisor = make_staff("advisor")
    vehicle = VehicleFactory()
    VisitFactory(vehicle=vehicle)  # the car is already on site
    appointment = _booking(vehicle, advisor)
    with pytest.raises(DomainError):
        visit_check_in(vehicle=vehicle, actor=advisor, appointment=appointment)
    appointment.refresh_from_db()
    assert appointment.status == "booked"


def test_visit_page_shows_status_changes_and_field_history(advisor_client, make_staff):
    advisor = make_staff("advisor")
    visit = visit_check_in(vehicle=VehicleFactory(), actor=advisor, concern_text="异响")
    visit_walkaround_update(visit=visit, actor=advisor, key_tag="Z9", parking_spot="C-01")
    response = advisor_client.get(reverse("reception:visit", args=[visit.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert "Z9" in html and "C-01" in html and "异响" in html
    assert "<ins>Z9</ins>" in html  # the change history names the field and the new value


def test_open_recall_is_shown_at_check_in(advisor_client):
    from appointments.models import Campaign

    vehicle = VehicleFactory(model="卡罗拉 Corolla")
    Campaign.objects.create(
        code="R2026-07", name_zh="燃油泵召回", name_en="Fuel pump recall", models_match="Corolla"
    )
    Campaign.objects.create(
        code="R2025-01",
        name_zh="已结束的活动",
        name_en="Closed",
        models_match="Corolla",
        active=False,
    )
    html = advisor_client.get(reverse("reception:check_in") + f"?vehicle={vehicle.pk}").content
    assert "燃油泵召回" in html.decode() and "已结束的活动" not in html.decode()


def test_only_the_controller_sees_the_hand_over_button(client, make_staff):
    VisitFactory(status=VisitStatus.ORDER_SIGNED)
    client.force_login(make_staff("advisor"))
    assert "hand-over" not in client.get(reverse("reception:on_site")).content.decode()
    client.force_login(make_staff("workshop_controller"))
    assert "hand-over" in client.get(reverse("reception:on_site")).content.decode()


def test_a_damage_photo_is_uploaded_and_shown_only_to_staff(
    advisor_client, client, settings, tmp_path
):
    import base64

    from django.core.files.uploadedfile import SimpleUploadedFile

    from reception.tests.factories import signature_data_url

    settings.MEDIA_ROOT = tmp_path
    visit = VisitFactory()
    png = base64.b64decode(signature_data_url().split(",", 1)[1])
    response = advisor_client.post(
        reverse("reception:damage_add", args=[visit.pk]),
        {
            "kind": "crack",
            "x": "50",
            "y": "50",
            "photo": SimpleUploadedFile("crack.png", png, content_type="image/png"),
        },
    )
    assert response.status_code == 302
    mark = visit.damage_marks.get()
    photo_url = reverse("reception:damage_photo", args=[mark.pk])
    assert advisor_client.get(photo_url).status_code == 200
    from django.test import Client

    assert Client().get(photo_url).status_code == 302  # anonymous: to the log-in page
