from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from appointments import services
from appointments.models import Appointment, AppointmentLine, Holiday, Status, StockStatus
from appointments.services import SlotUnavailable, appointment_book
from dealership.errors import DomainError
from dealership.models import DueTask, MaintenancePlan, MaintenancePlanPart, TimelineEvent
from dealership.rules import rule_set

from .factories import days_ahead, local, make_vehicle

pytestmark = pytest.mark.django_db


def book(workshop, advisor, start, vehicle=None, operations=("oil",), **kwargs):
    vehicle = vehicle or make_vehicle()
    return appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=start,
        operations=[workshop[name] for name in operations],
        actor=advisor,
        **kwargs,
    )


def nothing_saved():
    return (
        Appointment.objects.count(),
        AppointmentLine.objects.count(),
        DueTask.objects.count(),
        TimelineEvent.objects.filter(kind__startswith="appointment").count(),
    )


def test_an_advisor_books_a_free_slot_with_services_request_and_preferences(workshop, advisor):
    vehicle = make_vehicle()
    appointment = appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"], workshop["brakes"]],
        concern_text="刹车的时候有吱吱的响声",
        advisor=advisor,
        waiting=True,
        actor=advisor,
    )
    appointment.refresh_from_db()
    assert appointment.status == Status.BOOKED
    assert appointment.concern_text == "刹车的时候有吱吱的响声"
    assert appointment.waiting and appointment.advisor == advisor
    assert appointment.end - appointment.start == timedelta(hours=1.5)
    assert sorted(appointment.lines.values_list("hours", flat=True)) == [
        Decimal("0.50"),
        Decimal("1.00"),
    ]
    assert TimelineEvent.objects.filter(kind="appointment.booked", vehicle=vehicle).exists()


def test_a_maintenance_plan_brings_its_operations_and_parts(workshop, advisor):
    plan = MaintenancePlan.objects.create(
        name_zh="小保养", name_en="Minor", interval_km=10000, interval_months=12
    )
    plan.operations.set([workshop["oil"], workshop["inspect"]])
    MaintenancePlanPart.objects.create(plan=plan, part=workshop["filter"], quantity=1)
    appointment = book(workshop, advisor, local(days_ahead(5), 9), operations=("oil",), plan=plan)
    lines = list(appointment.lines.all())
    assert {line.operation for line in lines if line.operation} == {
        workshop["oil"],
        workshop["inspect"],
    }  # the oil change is not counted twice
    (part_line,) = [line for line in lines if line.part]
    assert part_line.part == workshop["filter"]
    assert part_line.stock_status == StockStatus.RESERVED
    assert appointment.maintenance_plan == plan


def test_parts_are_reserved_from_stock_and_the_rest_is_ordered_with_a_date(workshop, advisor):
    expected = days_ahead(4)
    first = book(
        workshop,
        advisor,
        local(days_ahead(5), 9),
        parts=[(workshop["filter"], 2)],
        parts_expected_on=expected,
    )
    assert [
        (line.stock_status, line.quantity) for line in first.lines.filter(part__isnull=False)
    ] == [(StockStatus.RESERVED, Decimal("2.00"))]
    second = book(
        workshop,
        advisor,
        local(days_ahead(5), 10),
        parts=[(workshop["filter"], 2)],
        parts_expected_on=expected,
    )
    lines = list(second.lines.filter(part__isnull=False).order_by("id"))
    assert [(line.stock_status, line.quantity) for line in lines] == [
        (StockStatus.RESERVED, Decimal("1.00")),  # 3 in stock, 2 held by the first booking
        (StockStatus.TO_ORDER, Decimal("1.00")),
    ]
    assert lines[1].expected_on == expected
    # Cancelling the first booking gives its parts back to stock.
    services.appointment_cancel(appointment=first, actor=advisor)
    third = book(workshop, advisor, local(days_ahead(5), 11), parts=[(workshop["filter"], 2)])
    assert third.lines.get(part__isnull=False).stock_status == StockStatus.RESERVED


def test_expensive_ordered_parts_need_a_deposit_of_half_their_price(workshop, advisor):
    appointment = book(
        workshop, advisor, local(days_ahead(5), 9), parts=[(workshop["windscreen"], 1)]
    )
    assert appointment.deposit_required == Decimal("1640.00")
    cheap = book(workshop, advisor, local(days_ahead(5), 10), parts=[(workshop["filter"], 5)])
    assert cheap.deposit_required == 0  # cheap parts on order need no deposit
    rule_set("appointments.deposit_percent", Decimal("60"))
    other = book(workshop, advisor, local(days_ahead(5), 11), parts=[(workshop["windscreen"], 1)])
    assert other.deposit_required == Decimal("1968.00")
    services.appointment_record_deposit(
        appointment=appointment, amount=Decimal("1640"), method="cash", actor=advisor
    )
    appointment.refresh_from_db()
    assert appointment.deposit_due == 0


def test_a_deposit_that_would_overflow_is_refused_next_to_the_amount(workshop, advisor, client):
    from django.urls import reverse

    appointment = book(
        workshop, advisor, local(days_ahead(5), 9), parts=[(workshop["windscreen"], 1)]
    )
    for amount in ("99999999.99", "NaN", "1e999"):
        with pytest.raises(DomainError) as error:
            services.appointment_record_deposit(
                appointment=appointment, amount=amount, method="cash", actor=advisor
            )
        assert error.value.field == "amount"
    client.force_login(advisor)
    response = client.post(
        reverse("appointments:deposit", args=[appointment.pk]),
        {"amount": "99999999.99", "method": "cash"},
    )
    assert response.status_code == 400
    assert "999,999.99" in response.content.decode()
    appointment.refresh_from_db()
    assert appointment.deposit_paid == 0


def test_booking_in_the_past_is_refused_with_free_times(workshop, advisor):
    before = nothing_saved()
    with pytest.raises(SlotUnavailable) as refusal:
        book(workshop, advisor, timezone.now() - timedelta(hours=1))
    assert "过去" in str(refusal.value.messages) or "past" in str(refusal.value.messages)
    assert nothing_saved() == before


@pytest.mark.parametrize(
    ("hour", "minute"),
    [(7, 0), (8, 45), (17, 30), (20, 0)],
    ids=["early", "off-grid", "at-closing", "evening"],
)
def test_booking_outside_opening_hours_is_refused_with_alternatives(
    workshop, advisor, hour, minute
):
    day = days_ahead(5)
    with pytest.raises(SlotUnavailable) as refusal:
        book(workshop, advisor, local(day, hour, minute))
    assert refusal.value.alternatives
    assert all(a.date() == day for a in refusal.value.alternatives)
    assert Appointment.objects.count() == 0


def test_booking_on_a_holiday_is_refused_with_the_next_days(workshop, advisor):
    day = days_ahead(5)
    Holiday.objects.create(day=day, name="春节")
    with pytest.raises(SlotUnavailable) as refusal:
        book(workshop, advisor, local(day, 9))
    assert "春节" in " ".join(refusal.value.messages)
    assert refusal.value.alternatives and refusal.value.alternatives[0].date() == days_ahead(6)


def test_a_full_slot_is_refused_naming_the_nearest_free_times(workshop, advisor):
    rule_set("appointments.arrivals_per_slot", 2)
    day = days_ahead(5)
    book(workshop, advisor, local(day, 10))
    book(workshop, advisor, local(day, 10))
    before = nothing_saved()
    with pytest.raises(SlotUnavailable) as refusal:
        book(workshop, advisor, local(day, 10))
    assert nothing_saved() == before
    assert refusal.value.alternatives == [local(day, 9), local(day, 9, 30), local(day, 10, 30)]
    message = " ".join(refusal.value.messages)
    assert "09:30" in message and "10:30" in message


def test_beyond_the_days_bookable_hours_is_refused(workshop, advisor):
    day = days_ahead(5)
    book(workshop, advisor, local(day, 9), operations=("clutch",))
    book(workshop, advisor, local(day, 10), operations=("clutch",))  # 12 of 12.8 h used
    with pytest.raises(SlotUnavailable) as refusal:
        book(workshop, advisor, local(day, 11), operations=("brakes",))
    assert refusal.value.alternatives[0].date() == days_ahead(6)
    # maintenance still has hours that day
    assert book(workshop, advisor, local(day, 11), operations=("oil",)).pk


def test_the_same_vehicle_at_an_overlapping_time_is_refused(workshop, advisor):
    vehicle = make_vehicle()
    day = days_ahead(5)
    book(workshop, advisor, local(day, 9), vehicle=vehicle, operations=("clutch",))
    with pytest.raises(DomainError) as refusal:
        book(workshop, advisor, local(day, 14), vehicle=vehicle)
    assert refusal.value.error_dict["start"][0].code == "vehicle_overlap"
    assert Appointment.objects.filter(vehicle=vehicle).count() == 1
    assert book(workshop, advisor, local(days_ahead(6), 9), vehicle=vehicle).pk


def test_a_vehicle_of_another_customer_or_no_service_is_refused(workshop, advisor):
    vehicle = make_vehicle()
    other = make_vehicle()
    with pytest.raises(DomainError):
        appointment_book(
            customer=other.owner,
            vehicle=vehicle,
            start=local(days_ahead(5), 9),
            operations=[workshop["oil"]],
            actor=advisor,
        )
    with pytest.raises(DomainError) as refusal:
        book(workshop, advisor, local(days_ahead(5), 9), operations=())
    assert "operations" in refusal.value.error_dict
    assert Appointment.objects.count() == 0


def test_booking_too_far_ahead_is_refused(workshop, advisor):
    with pytest.raises(DomainError):
        book(workshop, advisor, local(days_ahead(61), 9))


def test_rescheduling_frees_the_old_slot_and_refuses_a_full_one(workshop, advisor):
    rule_set("appointments.arrivals_per_slot", 1)
    day = days_ahead(5)
    moving = book(workshop, advisor, local(day, 9))
    book(workshop, advisor, local(day, 11))
    with pytest.raises(SlotUnavailable):
        services.appointment_reschedule(appointment=moving, start=local(day, 11), actor=advisor)
    moved = services.appointment_reschedule(appointment=moving, start=local(day, 10), actor=advisor)
    assert moved.start == local(day, 10)
    assert book(workshop, advisor, local(day, 9)).pk  # the old slot is free again
