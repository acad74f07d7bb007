"""Issue 15 item 16: the settlement form starts from the payment method agreed on the order."""

import re

import pytest

from delivery.tests.factories import checked_visit, staff

pytestmark = pytest.mark.django_db


def test_the_settlement_form_starts_with_the_orders_payment_method_and_amount(client):
    visit, order = checked_visit()  # the order says cash
    client.force_login(staff("cashier"))
    body = client.get(f"/delivery/visits/{visit.pk}/").content.decode()
    field = re.search(r'<input[^>]*name="cash_amount"[^>]*>', body).group(0)
    assert 'value="1000.00"' in field or 'value="1000"' in field
