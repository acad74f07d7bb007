"""Consent by purpose (PIPL): defaults by legal basis, the latest record decides, the text kept,
set-based filtering, withdrawal cancels open duties, an unsubscribe reply."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dealership.consent import (
    Purpose,
    consent_allows,
    consent_filter,
    consent_record,
    consent_state,
    consent_withdraw_by_reply,
)
from dealership.due import due_task_perform_now, due_task_schedule
from dealership.models import ConsentRecord, Customer, DueTask, Message, TimelineEvent
from dealership.tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_contract_purposes_are_allowed_until_withdrawn_opt_ins_need_a_grant():
    customer = CustomerFactory()
    assert consent_allows(customer, Purpose.SERVICE)
    assert consent_allows(customer, Purpose.SATISFACTION)
    assert not consent_allows(customer, Purpose.REMINDERS)
    assert not consent_allows(customer, Purpose.MARKETING)

    consent_record(customer=customer, purpose="marketing", granted=True, source="desk")
    consent_record(customer=customer, purpose="satisfaction", granted=False, source="phone")
    assert consent_allows(customer, Purpose.MARKETING)
    assert not consent_allows(customer, Purpose.SATISFACTION)

    consent_record(customer=customer, purpose="marketing", granted=False, source="sms")
    assert not consent_allows(customer, Purpose.MARKETING)
    # Append-only: both marketing records stay, the latest decides.
    assert customer.consents.filter(purpose="marketing").count() == 2


def test_the_record_keeps_the_text_read_in_the_customers_language_and_who_recorded_it():
    advisor = UserFactory(roles=["advisor"])
    chinese = CustomerFactory(language="zh-hans")
    english = CustomerFactory(language="en")
    zh = consent_record(
        customer=chinese, purpose="reminders", granted=True, source="desk", actor=advisor
    )
    en = consent_record(customer=english, purpose="reminders", granted=True, source="paper")
    assert zh.text_code == en.text_code == "consent.reminders.grant.v1"
    assert "保养" in zh.text and zh.language == "zh-hans" and zh.actor == advisor
    assert "maintenance" in en.text and en.language == "en"
    state = {row["purpose"]: row for row in consent_state(chinese)}
    assert state["reminders"]["allowed"] and state["reminders"]["record"] == zh
    assert state["marketing"]["record"] is None and not state["marketing"]["allowed"]
    assert TimelineEvent.objects.filter(customer=chinese, kind="consent.granted").exists()


def test_consent_filter_is_one_query_over_many_customers(django_assert_num_queries):
    granted, withdrawn, never = CustomerFactory(), CustomerFactory(), CustomerFactory()
    consent_record(customer=granted, purpose="marketing", granted=True, source="desk")
    consent_record(customer=withdrawn, purpose="marketing", granted=True, source="desk")
    consent_record(customer=withdrawn, purpose="marketing", granted=False, source="phone")
    consent_record(customer=withdrawn, purpose="service", granted=False, source="phone")
    with django_assert_num_queries(1):
        marketing = set(consent_filter(Customer.objects.all(), "marketing"))
    assert marketing == {granted}
    assert set(consent_filter(Customer.objects.all(), "service")) == {granted, never}


def test_a_withdrawal_cancels_the_open_duties_of_that_purpose_only():
    customer = CustomerFactory()
    consent_record(customer=customer, purpose="reminders", granted=True, source="desk")
    invitation = due_task_schedule(
        kind="appointments.invitation_call",
        subject=customer,
        due_at=timezone.now() + timedelta(days=2),
        customer=customer,
    )
    care = due_task_schedule(
        kind="followup.care_call",
        subject=customer,
        due_at=timezone.now() + timedelta(days=1),
        customer=customer,
    )
    consent_record(customer=customer, purpose="reminders", granted=False, source="phone")
    invitation.refresh_from_db()
    care.refresh_from_db()
    assert invitation.state == DueTask.State.CANCELLED
    assert care.state == DueTask.State.PENDING


def test_an_unsubscribe_reply_withdraws_reminders_and_marketing_of_that_mobile():
    first = CustomerFactory(mobile="13912345678")
    second = CustomerFactory(mobile="13912345678", name="同号客户")
    other = CustomerFactory(mobile="13800000001")
    for customer in (first, second, other):
        for purpose in ("reminders", "marketing"):
            consent_record(customer=customer, purpose=purpose, granted=True, source="desk")

    assert consent_withdraw_by_reply(mobile="13912345678", text="你好") == 0
    assert consent_withdraw_by_reply(mobile="+86 139 1234 5678", text=" td ") == 2
    for customer in (first, second):
        assert not consent_allows(customer, "reminders")
        assert not consent_allows(customer, "marketing")
        assert consent_allows(customer, "service")
        assert customer.consents.filter(source="sms", granted=False).count() == 2
    assert consent_allows(other, "marketing")
    # A second reply changes nothing more.
    assert consent_withdraw_by_reply(mobile="13912345678", text="退订") == 0
    assert ConsentRecord.objects.filter(source="sms").count() == 4


def test_a_reminder_of_the_reminders_purpose_reaches_only_a_customer_who_granted_it():
    granted, silent = CustomerFactory(), CustomerFactory()
    consent_record(customer=granted, purpose="reminders", granted=True, source="desk")
    tasks = [
        due_task_schedule(
            kind="customer.reminder",
            subject=customer,
            due_at=timezone.now(),
            customer=customer,
            payload={"note": "保养到期", "purpose": "reminders"},
        )
        for customer in (granted, silent)
    ]
    for task in tasks:
        due_task_perform_now(task.pk)
    assert list(Message.objects.values_list("customer", flat=True)) == [granted.pk]
    skipped = DueTask.objects.get(pk=tasks[1].pk)
    assert skipped.result == {"skipped": "no_consent"}
