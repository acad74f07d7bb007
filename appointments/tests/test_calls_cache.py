"""The calls list: its rows' HTML comes from the cache while nothing they show changed
(`dealership.fragments`); each visitor's outcome buttons carry their own CSRF token."""

import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from appointments import duties
from appointments.models import Status
from dealership.models import Customer, DueTask

from .factories import days_ahead, local
from .test_duties import book

pytestmark = pytest.mark.django_db


def _call_due_now(workshop, advisor):
    appointment = book(workshop, advisor, local(days_ahead(5), 9))
    DueTask.objects.filter(kind=duties.CONFIRM_CALL).update(due_at=timezone.now())
    return appointment, DueTask.objects.get(kind=duties.CONFIRM_CALL)


def test_an_outcome_posts_from_the_cached_list_with_the_second_visitors_token(
    workshop, advisor, make_staff
):
    appointment, call = _call_due_now(workshop, advisor)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(advisor)
    second.force_login(make_staff("advisor"))
    first.get(reverse("appointments:calls"))  # renders and caches the rows
    row = (
        second.get(reverse("appointments:calls")).content.decode().split(f'id="call-{call.pk}"')[1]
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', row).group(1)
    response = second.post(
        reverse("appointments:call_outcome", args=[call.pk]),
        {"csrfmiddlewaretoken": token, "outcome": "confirmed"},
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.status == Status.CONFIRMED


def test_a_renamed_customer_shows_at_once_and_an_overdue_call_is_marked(client, workshop, advisor):
    appointment, call = _call_due_now(workshop, advisor)
    client.force_login(advisor)
    row = (
        client.get(reverse("appointments:calls")).content.decode().split(f'id="call-{call.pk}"')[1]
    )
    assert 'class="tag warn"' in row.split("</td>")[0]  # due already
    Customer.objects.filter(pk=appointment.customer_id).update(name="改名后的客户")
    assert "改名后的客户" in client.get(reverse("appointments:calls")).content.decode()
