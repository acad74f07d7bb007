"""Online bookings go to the customer's own advisor or by fair rotation (issue 20 item 7)."""

import threading
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import close_old_connections, connection
from django.urls import reverse
from django.utils import timezone

from appointments import duties, services
from appointments.models import Appointment
from dealership.advisors import customer_advisor_set
from dealership.errors import DomainError
from dealership.models import DueTask, DueTaskState

from .factories import days_ahead, local, make_vehicle, make_workshop


def _online(workshop, start, vehicle=None):
    vehicle = vehicle or make_vehicle()
    return services.self_service_book(vehicle=vehicle, start=start, operations=[workshop["oil"]])


def _confirm_call(appointment):
    return DueTask.objects.filter(
        kind=duties.CONFIRM_CALL,
        subject_type=ContentType.objects.get_for_model(Appointment),
        subject_id=appointment.pk,
        state=DueTaskState.PENDING,
    ).first()


@pytest.mark.django_db
def test_online_booking_goes_to_the_customers_own_advisor(workshop, make_staff):
    first, own = make_staff("advisor"), make_staff("advisor")
    vehicle = make_vehicle()
    customer_advisor_set(customer=vehicle.owner, advisor=own, actor=first)
    appointment = _online(workshop, local(days_ahead(5), 9), vehicle)
    assert appointment.advisor == own


@pytest.mark.django_db
def test_without_own_advisor_the_one_with_fewest_bookings_that_day_gets_it(workshop, make_staff):
    first, second = make_staff("advisor"), make_staff("advisor")
    day = days_ahead(5)
    # Two bookings the day before count for nothing on this day.
    for hour in (9, 10):
        _online(workshop, local(day - timedelta(days=1), hour))
    assert _online(workshop, local(day, 9)).advisor == first  # tie: lowest id
    assert _online(workshop, local(day, 10)).advisor == second
    assert _online(workshop, local(day, 11)).advisor == first


@pytest.mark.django_db
def test_an_inactive_own_advisor_is_passed_over_by_the_rotation(workshop, make_staff):
    gone, working = make_staff("advisor"), make_staff("advisor")
    vehicle = make_vehicle()
    customer_advisor_set(customer=vehicle.owner, advisor=gone, actor=working)
    gone.is_active = False
    gone.save(update_fields=["is_active"])
    assert _online(workshop, local(days_ahead(5), 9), vehicle).advisor == working


@pytest.mark.django_db
def test_a_desk_booking_keeps_the_advisor_who_made_it(workshop, make_staff):
    desk, own = make_staff("advisor"), make_staff("advisor")
    vehicle = make_vehicle()
    customer_advisor_set(customer=vehicle.owner, advisor=own, actor=desk)
    appointment = services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"]],
        advisor=desk,
        actor=desk,
    )
    assert appointment.advisor == desk


@pytest.mark.django_db
def test_only_an_active_advisor_can_be_the_own_advisor(make_staff):
    cashier = make_staff("cashier")
    vehicle = make_vehicle()
    with pytest.raises(DomainError) as refused:
        customer_advisor_set(customer=vehicle.owner, advisor=cashier, actor=cashier)
    assert "advisor" in refused.value.message_dict
    vehicle.owner.refresh_from_db()
    assert vehicle.owner.advisor is None


@pytest.mark.django_db
def test_online_booking_under_three_days_ahead_puts_a_call_on_that_advisors_list(
    workshop, make_staff
):
    own = make_staff("advisor")
    make_staff("advisor")
    vehicle = make_vehicle()
    customer_advisor_set(customer=vehicle.owner, advisor=own, actor=own)
    before = timezone.now()
    appointment = _online(workshop, local(days_ahead(2), 10), vehicle)
    call = _confirm_call(appointment)
    assert call is not None
    assert call.assigned_to == own
    assert before <= call.due_at <= timezone.now()
    # Scheduling again (a reschedule to the same day) leaves the call as it is.
    duties.schedule_for(appointment)
    assert _confirm_call(appointment).due_at == call.due_at


@pytest.mark.django_db
def test_online_booking_far_ahead_gets_its_call_three_days_before(workshop, make_staff):
    own = make_staff("advisor")
    start = local(days_ahead(6), 10)
    appointment = _online(workshop, start)
    call = _confirm_call(appointment)
    assert call.assigned_to == own
    assert call.due_at == start - timedelta(days=3)


@pytest.mark.django_db
def test_a_desk_booking_at_short_notice_gets_no_confirmation_call(workshop, advisor):
    vehicle = make_vehicle()
    appointment = services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(2), 10),
        operations=[workshop["oil"]],
        advisor=advisor,
        actor=advisor,
    )
    assert _confirm_call(appointment) is None


@pytest.mark.django_db(transaction=True)
def test_two_online_bookings_for_one_day_at_once_go_to_two_advisors(require_postgres, make_staff):
    workshop = make_workshop()
    make_staff("advisor"), make_staff("advisor")
    day = days_ahead(5)
    vehicles = [make_vehicle(), make_vehicle()]
    barrier = threading.Barrier(2)
    errors = []

    def book(index):
        try:
            barrier.wait(timeout=10)
            _online(workshop, local(day, 9 + index), vehicles[index])
        except Exception as exc:  # noqa: BLE001 - reported in the assertion
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=book, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    close_old_connections()
    assert errors == []
    advisors = set(Appointment.objects.values_list("advisor_id", flat=True))
    assert len(advisors) == 2


@pytest.mark.django_db
def test_the_short_notice_call_is_on_that_advisors_own_list_only(client, workshop, make_staff):
    own, other = make_staff("advisor"), make_staff("advisor")
    vehicle = make_vehicle()
    customer_advisor_set(customer=vehicle.owner, advisor=own, actor=own)
    appointment = _online(workshop, local(days_ahead(2), 15), vehicle)
    url = reverse("appointments:calls") + "?mine=1"
    client.force_login(own)
    assert appointment.vehicle.plate in client.get(url).content.decode()
    client.force_login(other)
    assert appointment.vehicle.plate not in client.get(url).content.decode()
