"""Issue 15 item 14: a car serviced on a walk-in visit is not invited for that service."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments import duties, selectors, services
from dealership.models import DueTask, MaintenancePlan
from reception.services import visit_check_in, visit_walkaround_update
from workorders.services import work_order_line_add, work_order_start

from .factories import make_vehicle

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("customers_opted_in")]


def _plan(workshop):
    plan = MaintenancePlan.objects.create(
        name_zh="保养", name_en="Service", interval_km=5000, interval_months=6
    )
    plan.operations.set([workshop["oil"]])
    return plan


def test_a_walk_in_service_at_39_600_km_counts_as_the_40_000_km_service(workshop, advisor):
    _plan(workshop)
    today = timezone.localdate()
    # 40 km a day for 990 days: without a record the 40 000 km service is due in 10 days.
    car = make_vehicle(registration_date=today - timedelta(days=990), last_odometer_km=39_600)
    assert [item.vehicle_id for item in selectors.maintenance_due(today=today)] == [car.pk]
    visit = visit_check_in(vehicle=car, actor=advisor, concern_text="做保养")
    visit_walkaround_update(visit=visit, actor=advisor, odometer_km=39_600)
    order = work_order_start(visit=visit, actor=advisor)
    work_order_line_add(
        order=order, actor=advisor, operation=workshop["oil"], job_type="maintenance"
    )
    assert selectors.maintenance_due(today=today) == []
    # Months later, the next one is the 45 000 km service, not the 40 000 km one.
    later = today + timedelta(days=120)
    due = selectors.maintenance_due(today=later)
    assert [(item.vehicle_id, item.milestone_km) for item in due] == [(car.pk, 45_000)]


def test_a_repair_visit_is_not_a_maintenance_service(workshop, advisor):
    _plan(workshop)
    today = timezone.localdate()
    car = make_vehicle(registration_date=today - timedelta(days=990), last_odometer_km=39_600)
    visit = visit_check_in(vehicle=car, actor=advisor, concern_text="刹车异响")
    order = work_order_start(visit=visit, actor=advisor)
    work_order_line_add(order=order, actor=advisor, operation=workshop["oil"], job_type="repair")
    assert [item.vehicle_id for item in selectors.maintenance_due(today=today)] == [car.pk]


def test_checking_the_car_in_cancels_its_open_invitation_call(workshop, advisor):
    _plan(workshop)
    today = timezone.localdate()
    car = make_vehicle(registration_date=today - timedelta(days=990), last_odometer_km=39_600)
    assert services.invitations_schedule(today=today) == 1
    call = DueTask.objects.get(kind=duties.INVITATION_CALL)
    assert call.state == "pending"
    visit_check_in(vehicle=car, actor=advisor, concern_text="做保养")
    call.refresh_from_db()
    assert call.state == "cancelled"
