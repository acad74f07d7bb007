"""The customer's own advisor is set on the customer page (issue 20 item 7)."""

import pytest
from django.urls import reverse

from dealership.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", ["advisor", "service_manager"])
def test_advisor_and_manager_set_the_own_advisor(client, make_staff, role):
    own = make_staff("advisor")
    client.force_login(make_staff(role))
    customer = CustomerFactory()
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert reverse("customer_advisor", args=[customer.pk]) in page
    answer = client.post(reverse("customer_advisor", args=[customer.pk]), {"advisor": own.pk})
    assert answer.status_code == 302
    customer.refresh_from_db()
    assert customer.advisor == own
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert f'<option value="{own.pk}" selected>' in page

    client.post(reverse("customer_advisor", args=[customer.pk]), {"advisor": ""})
    customer.refresh_from_db()
    assert customer.advisor is None


@pytest.mark.parametrize("role", ["customer_care", "cashier", "workshop_controller"])
def test_other_roles_see_the_advisor_but_may_not_set_it(client, make_staff, role):
    own = make_staff("advisor")
    customer = CustomerFactory(advisor=own)
    client.force_login(make_staff(role))
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert reverse("customer_advisor", args=[customer.pk]) not in page
    assert str(own) in page
    answer = client.post(reverse("customer_advisor", args=[customer.pk]), {"advisor": ""})
    assert answer.status_code == 403
    customer.refresh_from_db()
    assert customer.advisor == own


def test_someone_who_is_not_an_advisor_is_refused_next_to_the_field(client, make_staff):
    cashier = make_staff("cashier")
    client.force_login(make_staff("advisor"))
    customer = CustomerFactory()
    answer = client.post(reverse("customer_advisor", args=[customer.pk]), {"advisor": cashier.pk})
    assert answer.status_code == 400
    assert 'id="own-advisor"' in answer.content.decode()
    assert answer.context["advisor_form"].errors["advisor"]
    customer.refresh_from_db()
    assert customer.advisor is None
