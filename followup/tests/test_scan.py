"""The daily scan: N+15 calls for new cars, lost customers, first service, closing visits."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from dealership.due import due_task_schedule
from dealership.models import DueTask
from dealership.rules import rule_set
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup import duties as K
from followup.models import DailyScan
from followup.services import (
    add_months,
    call_record,
    followup_daily_scan,
    followup_daily_scan_ensure,
)
from followup.tests.factories import delivered_visit
from reception.models import Visit
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("customers_opted_in")]


def _scan(now=None):
    now = now or timezone.now()
    scan, _created = DailyScan.objects.get_or_create(day=timezone.localdate(now))
    return followup_daily_scan(scan=scan, now=now)


def test_a_new_car_gets_its_n_plus_15_call_once():
    today = timezone.localdate()
    vehicle = VehicleFactory(handover_date=today - timedelta(days=3))
    VehicleFactory(handover_date=today - timedelta(days=3), owner=CustomerFactory(do_not_call=True))
    VehicleFactory(handover_date=today - timedelta(days=200))

    assert _scan()["new_car_calls"] == 1
    assert _scan()["new_car_calls"] == 0

    task = DueTask.objects.get(kind=K.NEW_CAR_CALL)
    assert task.subject_id == vehicle.pk and task.customer == vehicle.owner
    assert timezone.localdate(task.due_at) == vehicle.handover_date + timedelta(days=15)


def test_a_new_car_with_a_call_of_its_kind_already_is_not_called_again():
    today = timezone.localdate()
    called, new = (VehicleFactory(handover_date=today - timedelta(days=3)) for _n in range(2))
    due_task_schedule(
        kind=K.NEW_CAR_CALL,
        subject=called,
        slot="moved by hand",
        due_at=timezone.now() + timedelta(days=1),
        customer=called.owner,
    )

    assert _scan()["new_car_calls"] == 1

    assert sorted(
        DueTask.objects.filter(kind=K.NEW_CAR_CALL).values_list("subject_id", "slot")
    ) == [
        (called.pk, "moved by hand"),
        (new.pk, ""),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
def test_the_scan_leaves_the_databases_query_compiling_as_it_was():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = on")
        _scan()
        cursor.execute("SELECT current_setting('jit')")
        assert cursor.fetchone()[0] == "on"


def test_the_n_plus_15_day_is_a_rule():
    rule_set("followup.new_car_call_days", 10)
    vehicle = VehicleFactory(handover_date=timezone.localdate())
    _scan()
    task = DueTask.objects.get(kind=K.NEW_CAR_CALL)
    assert timezone.localdate(task.due_at) == vehicle.handover_date + timedelta(days=10)


def _visit_on(vehicle, when):
    visit = VisitFactory(vehicle=vehicle, customer=vehicle.owner)
    Visit.objects.filter(pk=visit.pk).update(
        checked_in_at=when, status=VisitStatus.CLOSED, delivered_at=when
    )
    return visit


def test_vehicles_not_seen_for_3_6_12_months_go_on_the_lost_customer_list():
    now = timezone.now()
    today = timezone.localdate(now)
    recent = VehicleFactory()
    _visit_on(recent, now - timedelta(days=30))
    four_months = VehicleFactory()
    _visit_on(four_months, now - timedelta(days=125))
    _visit_on(four_months, now - timedelta(days=400))
    seven_months = VehicleFactory()
    _visit_on(seven_months, now - timedelta(days=215))
    two_years = VehicleFactory()
    _visit_on(two_years, now - timedelta(days=730))
    opted_out = VehicleFactory(owner=CustomerFactory(do_not_call=True))
    _visit_on(opted_out, now - timedelta(days=730))

    counts = _scan(now)

    assert counts["lost_calls"] == 3
    slots = dict(DueTask.objects.filter(kind=K.LOST_CALL).values_list("subject_id", "slot"))
    assert slots[four_months.pk].startswith("3m:")
    assert slots[seven_months.pk].startswith("6m:")
    assert slots[two_years.pk].startswith("12m:")
    assert _scan(now)["lost_calls"] == 0  # idempotent

    # Three months on, the 4-month vehicle reaches the 6-month step: a new call replaces the old.
    later = now + timedelta(days=92)
    assert add_months(today, 3) <= timezone.localdate(later)
    counts = _scan(later)
    calls = DueTask.objects.filter(kind=K.LOST_CALL, subject_id=four_months.pk)
    assert sorted(calls.values_list("slot", "state")) == [
        (slots[four_months.pk], "cancelled"),
        (slots[four_months.pk].replace("3m:", "6m:"), "pending"),
    ]


def test_a_lost_customer_who_came_back_is_not_called():
    now = timezone.now()
    vehicle = VehicleFactory()
    _visit_on(vehicle, now - timedelta(days=125))
    _scan(now)
    VisitFactory(vehicle=vehicle, customer=vehicle.owner)

    assert _scan(now)["lost_calls_cancelled"] == 1
    assert DueTask.objects.get(kind=K.LOST_CALL).state == "cancelled"


def test_a_new_car_not_back_for_its_first_service_is_called_with_the_reason(care):
    today = timezone.localdate()
    vehicle = VehicleFactory(handover_date=add_months(today, -7))
    serviced = VehicleFactory(handover_date=add_months(today, -7))
    _visit_on(serviced, timezone.now() - timedelta(days=30))

    assert _scan()["first_service_calls"] == 1
    task = DueTask.objects.get(kind=K.LOST_CALL)
    assert task.subject_id == vehicle.pk and task.payload["reason"] == "first_service"

    result = call_record(task=task, actor=care, outcome="other_shop", note="在路边店保养")
    assert result.task.outcome == "other_shop" and result.task.result["note"] == "在路边店保养"


def test_delivered_visits_without_open_calls_are_closed_after_the_follow_up_period():
    opted_out = delivered_visit(customer=CustomerFactory(do_not_call=True))
    waiting = delivered_visit()

    counts = _scan(timezone.now() + timedelta(days=9))

    opted_out.refresh_from_db()
    waiting.refresh_from_db()
    assert counts["visits_closed"] == 1
    assert opted_out.status == VisitStatus.CLOSED
    assert waiting.status == VisitStatus.DELIVERED  # its calls are still to be made


def test_the_scan_is_scheduled_once_a_day_and_run_by_the_dispatcher(run_dispatch):
    VehicleFactory(handover_date=timezone.localdate())
    now = timezone.now()
    first = followup_daily_scan_ensure(now=now)
    assert followup_daily_scan_ensure(now=now) == first
    assert DueTask.objects.filter(kind=K.DAILY_SCAN).count() == 1

    run_dispatch(now=now + timedelta(seconds=1))

    first.refresh_from_db()
    assert first.finished_at is not None and first.counts["new_car_calls"] == 1
    assert DueTask.objects.get(kind=K.DAILY_SCAN).state == "done"
