"""One service registers a customer with a car: the walk-in at reception and the phone booking."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from dealership.models import Customer, TimelineEvent, Vehicle
from dealership.selectors import customer_by_mobile
from dealership.services import customer_with_vehicle_register
from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

GOOD_VIN = "1M8GDM9AXKP042788"
CAR = {"name": "陈静", "mobile": "136 1234 5678", "plate": "苏e7k2m9", "model": "凯美瑞"}


def _refusal(**data) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        customer_with_vehicle_register(actor=None, **data)
    return refused.value.message_dict


def test_a_new_customer_and_car_are_registered_with_their_timeline(make_staff):
    advisor = make_staff("advisor")
    vehicle = customer_with_vehicle_register(actor=advisor, vin=GOOD_VIN, **CAR)
    assert (vehicle.plate, vehicle.vin, vehicle.owner.mobile) == (
        "苏E7K2M9",
        GOOD_VIN,
        "13612345678",
    )
    kinds = set(TimelineEvent.objects.values_list("kind", flat=True))
    assert {"customer.created", "vehicle.created"} <= kinds


def test_a_known_mobile_reuses_its_customer_whatever_name_is_typed():
    known = CustomerFactory(mobile="13612345678")
    vehicle = customer_with_vehicle_register(actor=None, **{**CAR, "name": ""})
    assert vehicle.owner == known
    assert Customer.objects.count() == 1
    assert customer_by_mobile("136-1234-5678") == known


def test_every_error_comes_back_at_once_and_nothing_is_saved():
    errors = _refusal(
        name="张三", mobile="1380013800", plate="粤B1234", vin="1M8GDM9AXKP042789", model=""
    )
    assert set(errors) == {"mobile", "plate", "vin", "model"}
    assert not Customer.objects.exists() and not Vehicle.objects.exists()


def test_a_vin_on_file_is_refused_with_a_link_to_its_car():
    on_file = VehicleFactory(vin=GOOD_VIN)
    errors = _refusal(vin=GOOD_VIN, **CAR)
    assert list(errors) == ["vin"]
    assert reverse("vehicle_detail", args=[on_file.pk]) in errors["vin"][0]
    assert Vehicle.objects.count() == 1


def test_a_plate_on_file_is_refused_at_the_plate():
    VehicleFactory(plate="苏E7K2M9")
    assert "plate" in _refusal(**CAR)


def test_text_that_cannot_be_stored_is_refused_before_any_lookup():
    errors = _refusal(**{**CAR, "name": "陈\x00静", "model": "x" * 201})
    assert set(errors) == {"name", "model"}
