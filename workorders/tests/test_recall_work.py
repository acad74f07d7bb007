"""Issue 20.10: the campaign's work onto the order in one tap; a signed order completes the VIN."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments.models import Campaign, CampaignKind, RecallVin
from appointments.recalls import recall_progress
from dealership.tests.factories import LabourOperationFactory
from reception.tests.factories import signature_data_url
from workorders.models import JobType
from workorders.services import work_order_campaign_add, work_order_sign

from .factories import CONFIRMED, ready_to_sign_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def advisor(make_staff):
    return make_staff("advisor")


def listed_campaign(vehicle, *, kind=CampaignKind.RECALL, operation=None) -> Campaign:
    operation = operation or LabourOperationFactory(
        code="RC-PUMP", name_zh="更换燃油泵", standard_hours="1.50", price="300.00"
    )
    campaign = Campaign.objects.create(
        code="R-2026-07", kind=kind, name_zh="燃油泵召回", labour_operation=operation
    )
    RecallVin.objects.create(campaign=campaign, vin=vehicle.vin)
    return campaign


def test_one_tap_adds_the_operation_as_warranty_work_and_not_twice(advisor):
    order = ready_to_sign_order(advisor=advisor)
    campaign = listed_campaign(order.visit.vehicle)
    line = work_order_campaign_add(visit=order.visit, campaign=campaign, actor=advisor)
    assert (line.order_id, line.operation_id) == (order.pk, campaign.labour_operation_id)
    assert (line.job_type, line.group) == (JobType.WARRANTY, "R-2026-07")
    with pytest.raises(ValidationError):
        work_order_campaign_add(visit=order.visit, campaign=campaign, actor=advisor)
    assert order.lines.filter(operation=campaign.labour_operation).count() == 1


def test_a_service_campaign_is_maintenance_and_one_without_operation_is_refused(advisor):
    order = ready_to_sign_order(advisor=advisor)
    campaign = listed_campaign(order.visit.vehicle, kind=CampaignKind.SERVICE)
    line = work_order_campaign_add(visit=order.visit, campaign=campaign, actor=advisor)
    assert line.job_type == JobType.MAINTENANCE
    campaign.labour_operation = None
    campaign.save()
    before = order.lines.count()
    with pytest.raises(ValidationError):
        work_order_campaign_add(visit=order.visit, campaign=campaign, actor=advisor)
    assert order.lines.count() == before


def test_signing_the_order_with_the_operation_marks_the_vin_done(advisor):
    operation = LabourOperationFactory(code="RC-PUMP", standard_hours="1.00", price="300.00")
    order = ready_to_sign_order(advisor=advisor, operations=[operation])
    campaign = listed_campaign(order.visit.vehicle, kind=CampaignKind.SERVICE, operation=operation)
    other = Campaign.objects.create(
        code="R-OTHER", name_zh="别的召回", labour_operation=LabourOperationFactory()
    )
    RecallVin.objects.create(campaign=other, vin=order.visit.vehicle.vin)
    work_order_sign(
        order=order, actor=advisor, signature=signature_data_url(), signer_name="陈静", **CONFIRMED
    )
    listed = RecallVin.objects.get(campaign=campaign)
    assert listed.done_at is not None and listed.done_order == order.number
    assert recall_progress(other).done == 0  # its operation was not on the order


def test_a_recall_added_in_one_tap_signs_on_a_car_out_of_warranty_and_completes(advisor):
    order = ready_to_sign_order(advisor=advisor)
    vehicle = order.visit.vehicle
    vehicle.registration_date = timezone.localdate() - timedelta(days=365 * 12)
    vehicle.save(update_fields=["registration_date"])
    campaign = listed_campaign(vehicle)
    work_order_campaign_add(visit=order.visit, campaign=campaign, actor=advisor)
    order.refresh_from_db()
    work_order_sign(
        order=order, actor=advisor, signature=signature_data_url(), signer_name="陈静", **CONFIRMED
    )
    assert recall_progress(campaign).done == 1


def test_signing_without_the_operation_leaves_the_vin_open(advisor):
    order = ready_to_sign_order(advisor=advisor)
    campaign = listed_campaign(order.visit.vehicle)
    work_order_sign(
        order=order, actor=advisor, signature=signature_data_url(), signer_name="陈静", **CONFIRMED
    )
    assert recall_progress(campaign).done == 0


def test_visit_page_offers_the_button_and_the_tap_lands_on_the_order(client, advisor):
    order = ready_to_sign_order(advisor=advisor)
    campaign = listed_campaign(order.visit.vehicle, kind=CampaignKind.SERVICE)
    client.force_login(advisor)
    url = reverse("workorders:campaign_add", args=[order.visit.pk, campaign.pk])
    assert url in client.get(order.visit.get_absolute_url()).content.decode()
    response = client.post(url)
    assert response.url == order.get_absolute_url()
    assert order.lines.filter(operation=campaign.labour_operation).exists()


def test_cashier_cannot_add_campaign_work(client, make_staff, advisor):
    order = ready_to_sign_order(advisor=advisor)
    campaign = listed_campaign(order.visit.vehicle)
    client.force_login(make_staff("cashier"))
    url = reverse("workorders:campaign_add", args=[order.visit.pk, campaign.pk])
    assert client.post(url).status_code == 403
    assert not order.lines.filter(operation=campaign.labour_operation).exists()
