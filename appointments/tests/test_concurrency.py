"""Two advisors book the last free slot at the same moment: exactly one succeeds (PostgreSQL)."""

import threading

import pytest
from django.db import close_old_connections, connection

from appointments.models import Appointment
from appointments.services import SlotUnavailable, appointment_book
from dealership.rules import rule_set

from .factories import days_ahead, local, make_vehicle, make_workshop

pytestmark = [pytest.mark.django_db(transaction=True)]


def _race(bookings):
    """Run each booking in its own thread and database connection, released at once."""
    barrier = threading.Barrier(len(bookings))
    outcomes = [None] * len(bookings)

    def run(index, booking):
        try:
            barrier.wait(timeout=10)
            booking()
            outcomes[index] = "booked"
        except SlotUnavailable:
            outcomes[index] = "refused"
        except Exception as exc:  # noqa: BLE001 - reported in the assertion
            outcomes[index] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, b)) for i, b in enumerate(bookings)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    close_old_connections()
    return outcomes


def test_two_advisors_booking_the_last_place_of_a_slot_exactly_one_wins(
    require_postgres, make_staff
):
    workshop = make_workshop()
    rule_set("appointments.arrivals_per_slot", 1)
    start = local(days_ahead(4), 10)
    advisors = [make_staff("advisor"), make_staff("advisor")]
    vehicles = [make_vehicle(), make_vehicle()]

    def booking(i):
        return lambda: appointment_book(
            customer=vehicles[i].owner,
            vehicle=vehicles[i],
            start=start,
            operations=[workshop["oil"]],
            actor=advisors[i],
        )

    outcomes = _race([booking(0), booking(1)])
    assert sorted(outcomes) == ["booked", "refused"]
    assert Appointment.objects.filter(start=start).count() == 1


def test_two_bookings_for_the_last_hours_of_a_day_in_different_slots_exactly_one_wins(
    require_postgres, make_staff
):
    workshop = make_workshop()
    day = days_ahead(4)
    advisor = make_staff("advisor")
    first = make_vehicle()
    appointment_book(
        customer=first.owner,
        vehicle=first,
        start=local(day, 9),
        operations=[workshop["clutch"]],
        actor=advisor,
    )  # 6 of 12.8 repair hours left → room for one more 6 h job, not two
    vehicles = [make_vehicle(), make_vehicle()]

    def booking(i, hour):
        return lambda: appointment_book(
            customer=vehicles[i].owner,
            vehicle=vehicles[i],
            start=local(day, hour),
            operations=[workshop["clutch"]],
            actor=advisor,
        )

    outcomes = _race([booking(0, 10), booking(1, 14)])
    assert sorted(outcomes) == ["booked", "refused"]
    assert Appointment.objects.filter(start__date=day).count() == 2
