"""The demo's customers come with consent imported from the store's old system."""

import pytest

from dealership.consent import consent_filter
from dealership.models import ConsentRecord, Customer
from demo.store import seed_customers

pytestmark = pytest.mark.django_db


def test_most_demo_customers_granted_reminders_and_many_marketing_once():
    seed_customers(40)
    customers = Customer.objects.filter(mobile__startswith="139")
    assert consent_filter(customers, "reminders").count() == 36
    assert consent_filter(customers, "marketing").count() == 28
    assert set(ConsentRecord.objects.values_list("source", flat=True)) == {"import"}
    count = ConsentRecord.objects.count()
    seed_customers(40)  # running again adds nothing
    assert ConsentRecord.objects.count() == count
