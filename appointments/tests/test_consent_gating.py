"""Invitations and campaign messages reach only customers with the consent they need."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments import duties, selectors, services
from appointments.models import Campaign, CampaignKind
from dealership.consent import consent_record
from dealership.due import due_task_perform_now
from dealership.models import DueTask, MaintenancePlan, Message
from dealership.tests.factories import CustomerFactory

from .factories import days_ahead, local, make_vehicle

pytestmark = pytest.mark.django_db


def _due_vehicle(owner):
    today = timezone.localdate()
    # 40 km a day for 990 days: the 40 000 km service is due in 10 days.
    return make_vehicle(
        owner=owner, registration_date=today - timedelta(days=990), last_odometer_km=39_600
    )


def test_maintenance_invitations_only_for_customers_who_granted_reminders(workshop):
    MaintenancePlan.objects.create(
        name_zh="大保养", name_en="Major", interval_km=40000, interval_months=48
    )
    granted, never, withdrawn = CustomerFactory(), CustomerFactory(), CustomerFactory()
    consent_record(customer=granted, purpose="reminders", granted=True, source="desk")
    consent_record(customer=withdrawn, purpose="reminders", granted=True, source="desk")
    consent_record(customer=withdrawn, purpose="reminders", granted=False, source="phone")
    cars = {c.pk: _due_vehicle(c) for c in (granted, never, withdrawn)}

    today = timezone.localdate()
    assert [item.vehicle_id for item in selectors.maintenance_due(today=today)] == [
        cars[granted.pk].pk
    ]
    assert services.invitations_schedule(today=today) == 1
    call = DueTask.objects.get(kind=duties.INVITATION_CALL)
    assert call.customer == granted


def _campaign(kind=CampaignKind.SERVICE):
    return Campaign.objects.create(
        code=f"C-{kind}",
        name_zh="空调清洗活动",
        name_en="Air-con cleaning offer",
        kind=kind,
        models_match="Corolla",
    )


def test_marketing_never_reaches_a_customer_without_marketing_consent():
    granted, never, withdrawn, late = (CustomerFactory() for _ in range(4))
    for customer in (granted, withdrawn, late):
        consent_record(customer=customer, purpose="marketing", granted=True, source="desk")
    consent_record(customer=withdrawn, purpose="marketing", granted=False, source="phone")
    for customer in (granted, never, withdrawn, late):
        make_vehicle(owner=customer)
    campaign = _campaign()

    assert services.campaign_notify(campaign=campaign, actor=None) == 2
    planned = set(
        DueTask.objects.filter(kind=duties.CAMPAIGN_MESSAGE).values_list("customer", flat=True)
    )
    assert planned == {granted.pk, late.pk}
    # Withdrawn after the run, before the send: the message is cancelled and never goes out.
    consent_record(customer=late, purpose="marketing", granted=False, source="sms")
    for task in DueTask.objects.filter(kind=duties.CAMPAIGN_MESSAGE):
        due_task_perform_now(task.pk)

    sent = Message.objects.filter(template="campaign_message")
    assert list(sent.values_list("customer", flat=True)) == [granted.pk]
    assert "Air-con" in sent.get().body or "空调清洗活动" in sent.get().body
    # Running the campaign again plans no second message.
    assert services.campaign_notify(campaign=campaign, actor=None) == 1
    assert Message.objects.filter(template="campaign_message").count() == 1


def test_a_recall_reaches_owners_unless_they_withdrew_service_messages():
    everyone, withdrawn = CustomerFactory(), CustomerFactory()
    consent_record(customer=withdrawn, purpose="service", granted=False, source="desk")
    make_vehicle(owner=everyone)
    make_vehicle(owner=withdrawn)
    assert services.campaign_notify(campaign=_campaign(CampaignKind.RECALL), actor=None) == 1
    assert DueTask.objects.get(kind=duties.CAMPAIGN_MESSAGE).customer == everyone


def test_the_manager_messages_a_campaigns_owners_from_the_campaigns_page(client, make_staff):
    granted, never = CustomerFactory(), CustomerFactory()
    consent_record(customer=granted, purpose="marketing", granted=True, source="desk")
    make_vehicle(owner=granted)
    make_vehicle(owner=never)
    campaign = _campaign()
    client.force_login(make_staff("service_manager"))
    response = client.post(reverse("appointments:campaign_notify", args=[campaign.pk]))
    assert response.status_code == 302
    assert list(
        DueTask.objects.filter(kind=duties.CAMPAIGN_MESSAGE).values_list("customer", flat=True)
    ) == [granted.pk]
    page = client.get(reverse("appointments:campaigns")).content.decode()
    assert reverse("appointments:campaign_notify", args=[campaign.pk]) in page


def test_a_customer_who_withdrew_service_messages_gets_no_booking_reminder(workshop, advisor):
    vehicle = make_vehicle()
    appointment = services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 10),
        operations=[workshop["oil"]],
        advisor=advisor,
        actor=advisor,
    )
    reminder = DueTask.objects.get(subject_id=appointment.pk, kind="appointments.reminder_first")
    consent_record(customer=vehicle.owner, purpose="service", granted=False, source="phone")
    reminder.refresh_from_db()
    assert reminder.state == DueTask.State.CANCELLED
    # Even a reminder that was already running is dropped at send time.
    DueTask.objects.filter(pk=reminder.pk).update(state=DueTask.State.PENDING)
    due_task_perform_now(reminder.pk)
    assert not Message.objects.filter(template="appointment_reminder").exists()
    assert DueTask.objects.get(pk=reminder.pk).result == {"skipped": "no_consent"}
