from datetime import date, timedelta

import pytest
from django.utils import timezone

from appointments import duties, selectors, services
from appointments.models import Appointment, Status
from dealership.models import DueTask, MaintenancePlan
from demo.steps.appointments import seed_appointments
from demo.store import seed_customers, seed_store

from .factories import days_ahead, local, make_vehicle

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("customers_opted_in")]


def test_kpis_give_show_no_show_and_appointment_rates(workshop, advisor):
    day = days_ahead(5)
    made = []
    for hour in (9, 10, 11, 12, 13):
        vehicle = make_vehicle()
        made.append(
            services.appointment_book(
                customer=vehicle.owner,
                vehicle=vehicle,
                start=local(day, hour),
                operations=[workshop["oil"]],
                actor=advisor,
            )
        )
    for appointment in made[:3]:
        services.appointment_mark_arrived(appointment=appointment, actor=advisor)
    services.appointment_mark_no_show(appointment=made[3], actor=None)
    services.appointment_cancel(appointment=made[4], actor=advisor)
    kpis = selectors.appointment_kpis(day, day)
    assert (kpis.booked, kpis.arrived, kpis.no_show, kpis.cancelled) == (5, 3, 1, 1)
    assert kpis.show_rate == 0.75
    assert kpis.no_show_rate == 0.25
    assert selectors.appointment_rate(day, day, visits=6) == 0.5  # 3 of 6 repair orders booked
    assert selectors.appointment_rate(day, day) == 1.0  # no walk-ins that day
    assert selectors.show_rate(day, day) == 0.75 and selectors.no_show_rate(day, day) == 0.25
    assert selectors.show_rate(days_ahead(6), days_ahead(6)) is None


def _plans(workshop):
    first = MaintenancePlan.objects.create(
        name_zh="保养", name_en="Service", interval_km=5000, interval_months=6
    )
    first.operations.set([workshop["oil"]])
    big = MaintenancePlan.objects.create(
        name_zh="大保养", name_en="Major", interval_km=40000, interval_months=48
    )
    big.operations.set([workshop["oil"], workshop["inspect"]])
    return first, big


def test_vehicles_due_for_maintenance_within_15_days_go_on_the_invitation_list(workshop):
    _first, big = _plans(workshop)
    today = timezone.localdate()
    # 40 km a day for 990 days: 39 600 km, so the 40 000 km service is due in 10 days.
    due = make_vehicle(registration_date=today - timedelta(days=990), last_odometer_km=39_600)
    # 1 000 km to go at 40 km a day: 25 days away, not yet.
    later = make_vehicle(registration_date=today - timedelta(days=975), last_odometer_km=34_000)
    # Five months since registration with little mileage: the 6-month interval is due in ~30 days.
    make_vehicle(registration_date=today - timedelta(days=150), last_odometer_km=1000)
    items = {item.vehicle_id: item for item in selectors.maintenance_due(today=today)}
    assert set(items) == {due.pk}
    assert items[due.pk].milestone_km == 40_000 and items[due.pk].plan == big
    assert items[due.pk].due_on == today + timedelta(days=10)
    assert later.pk not in items

    assert services.invitations_schedule(today=today) == 1
    assert services.invitations_schedule(today=today) == 1  # idempotent: still one call
    call = DueTask.objects.get(kind=duties.INVITATION_CALL)
    assert call.for_person and call.role == "customer_care" and call.subject == due
    assert call.payload["km"] == 40_000
    assert timezone.localtime(call.due_at).date() == today


def test_a_booked_or_recently_serviced_vehicle_is_not_invited(workshop, advisor):
    _plans(workshop)
    today = timezone.localdate()
    booked = make_vehicle(registration_date=today - timedelta(days=990), last_odometer_km=39_600)
    services.appointment_book(
        customer=booked.owner,
        vehicle=booked,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"]],
        actor=advisor,
    )
    assert selectors.maintenance_due(today=today) == []


def test_booking_the_invited_vehicle_records_the_invitation_call(workshop, make_staff):
    _plans(workshop)
    care = make_staff("customer_care")
    today = timezone.localdate()
    vehicle = make_vehicle(registration_date=today - timedelta(days=990), last_odometer_km=39_600)
    services.invitations_schedule(today=today)
    DueTask.objects.filter(kind=duties.INVITATION_CALL).update(due_at=timezone.now())
    services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"]],
        actor=care,
    )
    call = DueTask.objects.get(kind=duties.INVITATION_CALL)
    assert call.outcome == "booked" and call.completed_by == care


def test_the_demo_books_a_week_through_the_services_and_runs_twice_safely():
    from django.contrib.auth.models import Group

    from dealership.roles import Role

    for role in Role:  # made by a migration; an earlier transactional test's flush drops them
        Group.objects.get_or_create(name=role)
    seed_store()
    seed_customers(60)
    booked = seed_appointments(days=3, per_day=5)
    assert booked >= 8
    assert Appointment.objects.count() == booked
    assert seed_appointments(days=3, per_day=5) == 0
    assert Appointment.objects.filter(status=Status.BOOKED).exists()
    assert DueTask.objects.filter(kind=duties.NO_SHOW_CHECK).count() == booked
    assert all(
        a.start.date() >= date.today() - timedelta(days=1) for a in Appointment.objects.all()
    )
