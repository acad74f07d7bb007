from datetime import time
from decimal import Decimal

import pytest

from appointments.capacity import capacity_for_days, free_slots
from appointments.models import Holiday, OpeningHours
from appointments.services import appointment_book
from dealership.rules import rule_set

from .factories import days_ahead, local, make_vehicle

pytestmark = pytest.mark.django_db


def test_capacity_is_technician_hours_by_work_type_minus_the_walk_in_reserve(workshop):
    day = days_ahead(3)
    capacity = capacity_for_days(day)[day]
    maintenance = capacity.loads["maintenance"]
    assert maintenance.total == Decimal("16.00")  # two technicians × 8 h
    assert maintenance.bookable == Decimal("12.80")  # 20 % kept for walk-ins and comebacks
    assert capacity.loads["repair"].bookable == Decimal("12.80")
    assert capacity.loads["body_paint"].total == Decimal("8.00")
    assert capacity.loads["body_paint"].bookable == Decimal("6.40")


def test_the_reserve_is_a_rule_the_manager_changes(workshop):
    rule_set("appointments.walk_in_reserve_percent", Decimal("50"))
    day = days_ahead(3)
    assert capacity_for_days(day)[day].loads["maintenance"].bookable == Decimal("8.00")


def test_booked_hours_reduce_free_hours_of_their_work_type_only(workshop, advisor):
    day = days_ahead(3)
    appointment_book(
        customer=(v := make_vehicle()).owner,
        vehicle=v,
        start=local(day, 9),
        operations=[workshop["oil"], workshop["brakes"]],
        actor=advisor,
    )
    capacity = capacity_for_days(day)[day]
    assert capacity.loads["maintenance"].appointed == Decimal("0.50")
    assert capacity.loads["maintenance"].free_bookable == Decimal("12.30")
    assert capacity.loads["repair"].free_bookable == Decimal("11.80")
    assert capacity.loads["body_paint"].appointed == 0
    assert capacity.slot_at(local(day, 9)).arrivals == 1
    assert capacity.slot_at(local(day, 9, 30)).arrivals == 0


def test_slots_cover_opening_hours_at_the_slot_length(workshop):
    day = days_ahead(3)
    slots = capacity_for_days(day)[day].slots
    assert [s.start.time() for s in slots[:2]] == [time(8, 30), time(9, 0)]
    assert slots[-1].start.time() == time(17, 0)  # the last slot ends at closing time
    assert len(slots) == 18
    rule_set("appointments.slot_minutes", 15)
    assert len(capacity_for_days(day)[day].slots) == 36


def test_short_opening_hours_cap_each_technician_at_the_open_span(workshop):
    day = days_ahead(3)
    OpeningHours.objects.create(weekday=day.weekday(), opens=time(9), closes=time(12))
    capacity = capacity_for_days(day)[day]
    assert capacity.loads["maintenance"].total == Decimal("6.00")  # 2 × 3 h
    assert len(capacity.slots) == 6


def test_holidays_and_closed_weekdays_have_no_capacity(workshop):
    day = days_ahead(3)
    Holiday.objects.create(day=day, name="国庆节")
    closed = days_ahead(4)
    OpeningHours.objects.create(
        weekday=closed.weekday(), opens=time(9), closes=time(17), closed=True
    )
    capacity = capacity_for_days(day, closed)
    assert capacity[day].closed and capacity[day].holiday == "国庆节"
    assert capacity[day].slots == []
    assert capacity[closed].closed


def test_free_slots_skip_full_slots_and_days_without_hours(workshop, advisor):
    rule_set("appointments.arrivals_per_slot", 1)
    day = days_ahead(3)
    vehicle = make_vehicle()
    appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(day, 10),
        operations=[workshop["oil"]],
        actor=advisor,
    )
    found = free_slots(needs={"maintenance": Decimal("0.5")}, first=day, near=local(day, 10))
    assert local(day, 10) not in found
    assert found == [local(day, 9), local(day, 9, 30), local(day, 10, 30)]  # nearest first
    # A job bigger than what is left of the day's hours is offered the next days.
    found = free_slots(needs={"maintenance": Decimal("13")}, first=day)
    assert found == []
    found = free_slots(needs={"maintenance": Decimal("12.5")}, first=day)
    assert [s.date() for s in found] == [days_ahead(4)] * 3


def test_capacity_of_a_week_costs_a_fixed_number_of_queries(
    workshop, advisor, django_assert_max_num_queries
):
    for offset in range(1, 4):
        vehicle = make_vehicle()
        appointment_book(
            customer=vehicle.owner,
            vehicle=vehicle,
            start=local(days_ahead(offset), 9),
            operations=[workshop["oil"]],
            actor=advisor,
        )
    # opening hours and holidays (2, the carry-over's too), the technicians, the appointments
    # and their lines, the roster (1) and the cars still in (1)
    with django_assert_max_num_queries(7):
        capacity_for_days(days_ahead(0), days_ahead(6))
