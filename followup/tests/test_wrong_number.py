"""A call that finds the mobile wrong flags the customer for the desk (issue 20 item 9)."""

import pytest
from django.urls import reverse

from dealership.models import DueTask, TimelineEvent
from dealership.services import customer_update
from followup import duties as K
from followup.services import call_record
from followup.tests.factories import delivered_visit

pytestmark = pytest.mark.django_db


def _care_call(visit) -> DueTask:
    return DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)


def test_wrong_number_flags_the_customer_and_a_new_mobile_clears_it(care):
    visit = delivered_visit()
    customer = visit.customer
    call_record(task=_care_call(visit), actor=care, outcome=K.WRONG_NUMBER)
    customer.refresh_from_db()
    assert customer.wrong_number_at is not None
    assert TimelineEvent.objects.filter(customer=customer, kind="customer.wrong_number").exists()

    customer_update(customer=customer, actor=care, name="改了名字")
    customer.refresh_from_db()
    assert customer.wrong_number_at is not None  # only a new mobile clears it

    customer_update(customer=customer, actor=care, mobile="13912345678")
    customer.refresh_from_db()
    assert customer.wrong_number_at is None


def test_the_customer_page_and_check_in_show_the_banner_until_corrected(client, care, make_staff):
    visit = delivered_visit()
    customer = visit.customer
    call_record(task=_care_call(visit), actor=care, outcome=K.WRONG_NUMBER)
    client.force_login(make_staff("advisor"))
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert 'id="wrong-number"' in page
    assert reverse("customer_edit", args=[customer.pk]) in page
    check_in = client.get(reverse("reception:check_in") + f"?vehicle={visit.vehicle_id}")
    assert 'id="wrong-number"' in check_in.content.decode()

    client.post(
        reverse("customer_edit", args=[customer.pk]),
        {
            "name": customer.name,
            "mobile": "13912345678",
            "preferred_channel": "phone",
            "language": "zh-hans",
        },
    )
    customer.refresh_from_db()
    assert customer.wrong_number_at is None
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert 'id="wrong-number"' not in page


def test_a_reached_call_flags_nothing(care):
    visit = delivered_visit()
    call_record(task=_care_call(visit), actor=care, outcome="no_survey")
    visit.customer.refresh_from_db()
    assert visit.customer.wrong_number_at is None
