"""Staff text the customer a portal link through the API (portal.api, issue 18.1): the
page's service, roles and messages; the link then signs the customer in and is listed and
revocable with the customer's links through the API too."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from dealership.models import CustomerLink, Message
from dealership.tests.factories import CustomerFactory
from dealership.tokens import api_token_issue
from portal import services

pytestmark = pytest.mark.django_db

MOBILE = "13912345678"


def _api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='dms')[1]}")
    return client


def test_staff_text_a_portal_link_that_signs_the_customer_in_until_revoked(make_staff, sms):
    customer = CustomerFactory(mobile=MOBILE)
    api = _api(make_staff("cashier"))
    response = api.post(f"/api/customers/{customer.pk}/portal-link/")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "sent": True,
        "channel": "sms",
        "status": Message.objects.get(customer=customer, template="portal_link").status,
        "error": "",
        "detail": "The portal link was sent to the customer.",
    }
    [(number, text)] = [(item["to"], item["text"]) for item in sms]
    assert number == MOBILE
    path = re.search(r"https?://[^/]+(/portal/link/\S+/)", text).group(1)
    phone = Client()
    phone.get(path)
    assert phone.session[services.SESSION_CUSTOMER] == customer.pk

    link = CustomerLink.objects.get(customer=customer, purpose="portal")
    listed = api.get(f"/api/customers/{customer.pk}/links/").json()
    assert [row["id"] for row in listed] == [link.pk]
    revoked = api.post(
        f"/api/customers/{customer.pk}/links/{link.pk}/revoke/", {"reason": "lost phone"}
    )
    assert revoked.status_code == 200
    assert Client().get(path).status_code == 404


def test_the_technician_may_not_and_an_unknown_customer_is_not_found(make_staff, sms):
    customer = CustomerFactory(mobile=MOBILE)
    refused = _api(make_staff("technician")).post(f"/api/customers/{customer.pk}/portal-link/")
    assert refused.status_code == 403
    missing = _api(make_staff("advisor")).post("/api/customers/999999999/portal-link/")
    assert missing.status_code == 404
    assert not Message.objects.filter(template="portal_link").exists()
    assert not CustomerLink.objects.exists()
