"""Cars on site: the table's HTML comes from the cache while nothing it shows changed
(`dealership.fragments`), with each visitor's own CSRF token in the hand-over form."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from dealership.models import Customer
from reception.states import VisitStatus

from .factories import VisitFactory

pytestmark = pytest.mark.django_db


def test_the_cached_hand_over_form_carries_the_second_visitors_token(make_staff):
    visit = VisitFactory(status=VisitStatus.ORDER_SIGNED)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)
    first.force_login(make_staff("workshop_controller"))
    second.force_login(make_staff("workshop_controller"))
    first.get(reverse("reception:on_site"))  # renders and caches the table
    page = second.get(reverse("reception:on_site")).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.split('id="on-site"')[1])
    response = second.post(
        reverse("reception:hand_over", args=[visit.pk]), {"csrfmiddlewaretoken": token.group(1)}
    )
    assert response.status_code == 302
    visit.refresh_from_db()
    assert visit.handed_over_at is not None


def test_a_renamed_customer_and_a_new_car_show_at_once(advisor_client):
    visit = VisitFactory()
    assert visit.customer.name in advisor_client.get(reverse("reception:on_site")).content.decode()
    Customer.objects.filter(pk=visit.customer_id).update(name="改名后的客户")
    newcomer = VisitFactory()
    page = advisor_client.get(reverse("reception:on_site")).content.decode()
    assert "改名后的客户" in page and newcomer.number in page
