"""Delivering a visit plans exactly the 24 h care call and the advisor's 7-day call."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType

from dealership.models import DueTask, TimelineEvent
from dealership.rules import rule_set
from dealership.tests.factories import CustomerFactory
from followup import duties as K
from followup.services import followup_schedule_after_delivery
from followup.tests.factories import delivered_visit
from reception.models import Visit

pytestmark = pytest.mark.django_db


def _tasks_of(visit):
    return DueTask.objects.filter(
        subject_type=ContentType.objects.get_for_model(Visit), subject_id=visit.pk
    )


def test_delivering_a_visit_creates_exactly_the_24h_and_7_day_tasks():
    visit = delivered_visit()

    tasks = {task.kind: task for task in _tasks_of(visit)}
    assert set(tasks) == {K.CARE_CALL, K.ADVISOR_CALL}
    care, advisor = tasks[K.CARE_CALL], tasks[K.ADVISOR_CALL]
    assert care.due_at == visit.delivered_at + timedelta(hours=24)
    assert care.role == "customer_care" and care.assigned_to is None and care.for_person
    assert advisor.due_at == visit.delivered_at + timedelta(days=7)
    assert advisor.role == "advisor" and advisor.assigned_to == visit.advisor
    assert {care.customer, advisor.customer} == {visit.customer}
    assert care.state == advisor.state == DueTask.State.PENDING
    assert TimelineEvent.objects.filter(kind="followup.scheduled", customer=visit.customer).exists()


def test_delivering_twice_still_leaves_two_calls():
    visit = delivered_visit()
    again = followup_schedule_after_delivery(visit=visit, actor=visit.advisor)
    assert len(again) == 2
    assert _tasks_of(visit).count() == 2


def test_the_call_times_are_store_rules():
    rule_set("followup.care_call_hours", 48)
    rule_set("followup.advisor_call_days", 3)
    visit = delivered_visit()
    tasks = {task.kind: task for task in _tasks_of(visit)}
    assert tasks[K.CARE_CALL].due_at == visit.delivered_at + timedelta(hours=48)
    assert tasks[K.ADVISOR_CALL].due_at == visit.delivered_at + timedelta(days=3)


def test_a_customer_who_asked_not_to_be_called_gets_no_call_and_the_timeline_says_so():
    customer = CustomerFactory(do_not_call=True)
    visit = delivered_visit(customer=customer, schedule=False)

    assert followup_schedule_after_delivery(visit=visit, actor=visit.advisor) == []
    assert not _tasks_of(visit).exists()
    event = TimelineEvent.objects.get(kind="followup.not_called", customer=customer)
    assert visit.number in event.summary
