import pytest
from django.urls import reverse
from django.utils import translation

from dealership.models import Customer, TimelineEvent, Vehicle
from dealership.services import customer_create, vehicle_change_owner, vehicle_create
from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

GOOD_VIN = "1M8GDM9AXKP042788"


def test_advisor_registers_customer_and_vehicle_through_the_pages(advisor_client):
    response = advisor_client.post(
        reverse("customer_create"),
        {
            "name": "张三",
            "mobile": "+86 138 0013 8000",
            "preferred_channel": "phone",
            "language": "zh-hans",
        },
    )
    customer = Customer.objects.get(name="张三")
    assert response.status_code == 302
    assert customer.mobile == "13800138000"

    response = advisor_client.post(
        reverse("vehicle_create", args=[customer.pk]),
        {
            "plate": "沪a·12345",
            "vin": GOOD_VIN.lower(),
            "model": "凯美瑞 Camry",
            "last_odometer_km": 100,
        },
    )
    vehicle = Vehicle.objects.get()
    assert response.status_code == 302
    assert (vehicle.plate, vehicle.vin, vehicle.owner) == ("沪A12345", GOOD_VIN, customer)


def test_invalid_input_is_shown_next_to_the_field_in_chinese_and_nothing_is_saved(advisor_client):
    customer = CustomerFactory()
    response = advisor_client.post(
        reverse("vehicle_create", args=[customer.pk]),
        {"plate": "ABC", "vin": "1M8GDM9A1KP042788", "model": "Corolla", "last_odometer_km": 0},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "field-error" in html
    assert "校验位" in html  # check digit message, in Chinese
    assert "车牌" in html
    assert not Vehicle.objects.exists()


def test_invalid_mobile_is_refused_in_english_when_the_user_chose_english(advisor_client):
    advisor_client.cookies["django_language"] = "en"
    response = advisor_client.post(
        reverse("customer_create"),
        {"name": "Li", "mobile": "12345", "preferred_channel": "phone", "language": "en"},
    )
    assert "A mobile number has 11 digits" in response.content.decode()
    assert not Customer.objects.exists()


def test_duplicate_vin_is_refused_with_a_link_to_the_existing_vehicle(advisor_client):
    existing = VehicleFactory(vin=GOOD_VIN)
    other = CustomerFactory()
    response = advisor_client.post(
        reverse("vehicle_create", args=[other.pk]),
        {"plate": "京A88888", "vin": GOOD_VIN, "model": "RAV4", "last_odometer_km": 0},
    )
    html = response.content.decode()
    assert reverse("vehicle_detail", args=[existing.pk]) in html
    assert Vehicle.objects.count() == 1


def test_edits_are_kept_in_history_with_the_actor_and_shown_on_the_page(client, make_staff):
    advisor = make_staff("advisor")
    client.force_login(advisor)
    customer = CustomerFactory(name="王五")
    client.post(
        reverse("customer_edit", args=[customer.pk]),
        {
            "name": "王五",
            "mobile": customer.mobile,
            "address": "苏州市星湖街1号",
            "preferred_channel": "wechat",
            "language": "zh-hans",
        },
    )
    latest = customer.history.latest()
    assert latest.history_user == advisor
    assert latest.address == "苏州市星湖街1号"
    with translation.override("en"):
        page = client.get(reverse("customer_detail", args=[customer.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert "苏州市星湖街1号" in page.content.decode()
    assert str(advisor) in page.content.decode()


def test_owner_change_keeps_the_earlier_owner_in_history_and_on_both_timelines():
    first, second = CustomerFactory(), CustomerFactory()
    vehicle = VehicleFactory(owner=first)
    vehicle_change_owner(vehicle=vehicle, new_owner=second, actor=None)
    vehicle.refresh_from_db()
    assert vehicle.owner == second
    assert set(vehicle.history.values_list("owner_id", flat=True)) == {first.pk, second.pk}
    assert TimelineEvent.objects.filter(kind="vehicle.owner_changed", customer=first).exists()
    assert TimelineEvent.objects.filter(kind="vehicle.owner_changed", customer=second).exists()


def test_services_record_the_registration_on_the_timeline():
    customer = customer_create(actor=None, name="赵六", mobile="13900000001")
    vehicle_create(actor=None, owner=customer, vin=GOOD_VIN, plate="京A12345", model="卡罗拉")
    kinds = list(TimelineEvent.objects.filter(customer=customer).values_list("kind", flat=True))
    assert sorted(kinds) == ["customer.created", "vehicle.created"]


def test_timeline_lines_written_in_chinese_read_in_the_readers_language():
    with translation.override("zh-hans"):
        customer = customer_create(actor=None, name="赵六", mobile="13900000002")
        vehicle_create(actor=None, owner=customer, vin=GOOD_VIN, plate="京A12345", model="卡罗拉")
    created = TimelineEvent.objects.get(kind="vehicle.created")
    registered = TimelineEvent.objects.get(kind="customer.created")
    with translation.override("en"):
        assert created.summary_text == "Vehicle 京A12345 registered"
        assert registered.summary_text == "Customer registered"
    with translation.override("zh-hans"):
        assert "京A12345" in created.summary_text
        assert "Vehicle" not in created.summary_text
        assert "registered" not in registered.summary_text


def test_an_old_timeline_line_without_a_code_still_reads_as_stored():
    customer = CustomerFactory()
    TimelineEvent.objects.create(kind="customer.created", summary="客户已登记", customer=customer)
    with translation.override("en"):
        assert TimelineEvent.objects.get(customer=customer).summary_text == "客户已登记"
