"""The order page's promise suggestion through the API (workorders.api_promise)."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.tokens import api_token_issue
from reception.tests.factories import signature_data_url
from workorders.selectors import promise_suggestion
from workorders.services import work_order_sign
from workorders.tests.factories import CONFIRMED, ready_to_sign_order

pytestmark = pytest.mark.django_db


def _api(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='DMS')[1]}")
    return client


def _url(order) -> str:
    return f"/api/orders/work-orders/{order.pk}/promise-suggestion/"


def test_a_draft_order_has_the_suggestion_its_page_shows(make_staff, client):
    advisor = make_staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    before = promise_suggestion(order)
    response = _api(advisor).get(_url(order))
    after = promise_suggestion(order)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["order"] == order.pk and body["is_draft"] is True
    suggested = timezone.datetime.fromisoformat(body["suggested_promised_at"])
    assert suggested in (before, after)
    client.force_login(advisor)
    page = client.get(reverse("workorders:order", args=[order.pk])).content.decode()
    shown = timezone.localtime(suggested).strftime("%Y-%m-%d %H:%M")
    assert 'id="promise-suggestion"' in page and shown in page


def test_a_signed_order_has_no_suggestion_any_more(make_staff):
    advisor = make_staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    work_order_sign(
        order=order,
        actor=advisor,
        signature=signature_data_url(),
        signer_name="陈静",
        **CONFIRMED,
    )
    body = _api(make_staff("cashier")).get(_url(order)).json()
    assert body["is_draft"] is False and body["suggested_promised_at"] is None
    assert body["promised_at"] is not None


@pytest.mark.parametrize("role", ["technician", "customer_care"])
def test_roles_that_do_not_see_the_order_get_403(make_staff, role):
    order = ready_to_sign_order(advisor=make_staff("advisor"))
    assert _api(make_staff(role)).get(_url(order)).status_code == 403


def test_an_unknown_order_is_404(make_staff):
    response = _api(make_staff("advisor")).get("/api/orders/work-orders/999999/promise-suggestion/")
    assert response.status_code == 404
