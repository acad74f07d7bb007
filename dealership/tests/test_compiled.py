"""dealership.compiled: a detail page's queries compiled once, sent with each row's ids."""

import pytest
from django.db.models import F

from dealership import compiled
from dealership.models import TimelineEvent, Vehicle
from dealership.staff_names import name_columns
from dealership.tests.factories import CustomerFactory, UserFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def _events(limit, customer_id):
    return (
        TimelineEvent.objects.filter(customer=customer_id)
        .order_by("-at", "-id")
        .values("id", "at", "data", summary_text=F("summary"), **name_columns("actor"))[:limit]
    )


def _vehicles(customer_id):
    return (
        Vehicle.objects.filter(owner=customer_id)
        .annotate(owner_name=F("owner__name"))
        .order_by("plate", "id")
    )


def _all_vehicles_or_none(customer_id):
    # The id is not used as a parameter at all: nothing to send it in.
    return Vehicle.objects.all() if customer_id else Vehicle.objects.none()


def _story(customer):
    actor = UserFactory(first_name="", last_name="", username="desk7")
    for kind in ("visit.checked_in", "visit.delivered"):
        TimelineEvent.objects.create(
            customer=customer, kind=kind, summary=kind, actor=actor, data={"step": kind}
        )


def test_rows_are_those_of_the_queryset_for_every_id_from_one_compilation():
    first, second = CustomerFactory(), CustomerFactory()
    _story(first)
    _story(second)
    TimelineEvent.objects.create(customer=second, kind="note", summary="no actor")
    compiled._compiled.cache_clear()

    for customer in (first, second, first):
        rows = compiled.value_rows(_events, customer.pk, fixed=(10,))
        assert rows == list(_events(10, customer.pk))  # JSON as dicts, aware datetimes
    assert [row["data"] for row in rows] == [
        {"step": "visit.delivered"},
        {"step": "visit.checked_in"},
    ]
    assert rows[0]["actor_username"] == "desk7"
    assert compiled._compiled.cache_info().misses == 1  # compiled once, sent three times
    assert len(compiled.value_rows(_events, second.pk, fixed=(1,))) == 1  # another limit


def test_instances_are_the_models_rows_with_their_annotations():
    owner = CustomerFactory(name="王芳")
    cars = sorted([VehicleFactory(owner=owner), VehicleFactory(owner=owner)], key=lambda v: v.plate)
    VehicleFactory()  # someone else's

    found = compiled.instances(_vehicles, owner.pk)

    assert [car.pk for car in found] == [car.pk for car in cars]
    assert [car.vin for car in found] == [car.vin for car in cars]
    assert {car.owner_name for car in found} == {"王芳"}
    assert not found[0]._state.adding  # saved rows, as the queryset gives them
    assert compiled.instances(_vehicles, 999_999) == []


def test_an_id_that_is_no_parameter_runs_the_queryset_as_built():
    VehicleFactory()
    assert compiled._compiled(_all_vehicles_or_none, (), (int,)) is None
    assert len(compiled.instances(_all_vehicles_or_none, 1)) == 1
    assert compiled.instances(_all_vehicles_or_none, 0) == []
