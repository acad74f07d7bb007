"""Lost-customer (win-back) calls need `marketing`; satisfaction calls stop on a withdrawal."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dealership.consent import consent_record
from dealership.models import DueTask, TimelineEvent
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup import duties as K
from followup.models import DailyScan
from followup.services import followup_daily_scan, followup_schedule_after_delivery
from followup.tests.factories import delivered_visit
from reception.models import Visit
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db


def _lost_vehicle(owner, now):
    vehicle = VehicleFactory(owner=owner)
    visit = VisitFactory(vehicle=vehicle, customer=owner)
    when = now - timedelta(days=200)
    Visit.objects.filter(pk=visit.pk).update(
        checked_in_at=when, status=VisitStatus.CLOSED, delivered_at=when
    )
    return vehicle


def test_lost_customer_calls_only_for_customers_who_granted_marketing():
    now = timezone.now()
    granted, never, withdrawn = CustomerFactory(), CustomerFactory(), CustomerFactory()
    consent_record(customer=granted, purpose="marketing", granted=True, source="desk")
    consent_record(customer=withdrawn, purpose="marketing", granted=True, source="desk")
    consent_record(customer=withdrawn, purpose="marketing", granted=False, source="sms")
    for customer in (granted, never, withdrawn):
        _lost_vehicle(customer, now)

    scan, _created = DailyScan.objects.get_or_create(day=timezone.localdate(now))
    assert followup_daily_scan(scan=scan, now=now)["lost_calls"] == 1
    assert DueTask.objects.get(kind=K.LOST_CALL).customer == granted


def test_no_satisfaction_calls_for_a_customer_who_withdrew_satisfaction():
    customer = CustomerFactory()
    consent_record(customer=customer, purpose="satisfaction", granted=False, source="phone")
    visit = delivered_visit(customer=customer, schedule=False)

    assert followup_schedule_after_delivery(visit=visit, actor=visit.advisor) == []
    assert not DueTask.objects.filter(kind__in=[K.CARE_CALL, K.ADVISOR_CALL]).exists()
    assert TimelineEvent.objects.filter(kind="followup.not_called", customer=customer).exists()


def test_withdrawing_satisfaction_cancels_the_planned_24h_care_call():
    visit = delivered_visit()
    care = DueTask.objects.get(kind=K.CARE_CALL, customer=visit.customer)
    consent_record(customer=visit.customer, purpose="satisfaction", granted=False, source="phone")
    care.refresh_from_db()
    assert care.state == DueTask.State.CANCELLED


def test_the_n_plus_15_call_is_a_satisfaction_call():
    today = timezone.localdate()
    withdrawn = CustomerFactory()
    consent_record(customer=withdrawn, purpose="satisfaction", granted=False, source="desk")
    VehicleFactory(owner=withdrawn, handover_date=today - timedelta(days=3))
    kept = VehicleFactory(handover_date=today - timedelta(days=3))
    scan, _created = DailyScan.objects.get_or_create(day=today)
    assert followup_daily_scan(scan=scan)["new_car_calls"] == 1
    assert DueTask.objects.get(kind=K.NEW_CAR_CALL).subject_id == kept.pk
