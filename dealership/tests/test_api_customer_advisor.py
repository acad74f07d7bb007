"""The customer's own advisor through the API (dealership.api_customer_advisor, issue
18.1): a real API token; the page's roles, the wrong one (403), an unknown customer (404),
bad input (400 by field, nothing changed) and the same record and timeline as the page."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dealership.models import TimelineEvent
from dealership.tests.factories import CustomerFactory
from dealership.tokens import api_token_issue

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='dms')[1]}")
    return client


def _timeline(customer):
    return list(
        TimelineEvent.objects.filter(customer=customer, kind="customer.advisor")
        .order_by("id")
        .values_list("data", flat=True)
    )


@pytest.mark.parametrize("role", ["advisor", "service_manager"])
def test_set_and_clear_the_own_advisor_as_on_the_page(client, make_staff, role):
    own = make_staff("advisor")
    actor = make_staff(role)
    by_page, by_api = CustomerFactory(), CustomerFactory()
    client.force_login(actor)
    client.post(reverse("customer_advisor", args=[by_page.pk]), {"advisor": own.pk})
    client.post(reverse("customer_advisor", args=[by_page.pk]), {"advisor": ""})
    api = _api(actor)
    url = f"/api/customers/{by_api.pk}/advisor/"
    saved = api.post(url, {"advisor": own.pk}, format="json")
    assert saved.status_code == 200, saved.content
    assert saved.json() == {
        "customer": by_api.pk,
        "advisor": own.pk,
        "advisor_name": str(own),
        "detail": "Own advisor saved.",
    }
    by_api.refresh_from_db()
    assert by_api.advisor == own
    cleared = api.post(url, {"advisor": None}, format="json")
    assert cleared.status_code == 200 and cleared.json()["advisor"] is None
    by_api.refresh_from_db()
    assert by_api.advisor is None
    assert _timeline(by_api) == _timeline(by_page) and len(_timeline(by_api)) == 2


def test_not_an_advisor_is_a_400_the_wrong_role_a_403_an_unknown_customer_a_404(make_staff):
    own, cashier = make_staff("advisor"), make_staff("cashier")
    customer = CustomerFactory(advisor=own)
    api = _api(make_staff("service_manager"))
    url = f"/api/customers/{customer.pk}/advisor/"
    for value in (cashier.pk, 999999999, "x"):
        refused = api.post(url, {"advisor": value}, format="json")
        assert refused.status_code == 400 and list(refused.json()) == ["advisor"]
    assert list(api.post(url, {}, format="json").json()) == ["advisor"]
    assert (
        api.post("/api/customers/999999999/advisor/", {"advisor": None}, format="json").status_code
        == 404
    )
    for role in ("customer_care", "cashier", "technician"):
        denied = _api(make_staff(role)).post(url, {"advisor": None}, format="json")
        assert denied.status_code == 403
    customer.refresh_from_db()
    assert customer.advisor == own
    assert _timeline(customer) == []
