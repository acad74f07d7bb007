from datetime import timedelta

import pytest
from django.core import signing

from dealership.links import (
    LinkInvalid,
    customer_link_create,
    customer_link_resolve,
    customer_links_revoke,
)
from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db


def test_a_link_opens_exactly_its_object():
    vehicle = VehicleFactory()
    token = customer_link_create(obj=vehicle, purpose="progress", customer=vehicle.owner)
    link = customer_link_resolve(token, purpose="progress")
    assert link.subject == vehicle
    assert link.customer == vehicle.owner
    assert link.last_used_at is not None


def test_an_altered_token_is_refused():
    token = customer_link_create(obj=CustomerFactory(), purpose="progress")
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(LinkInvalid):
        customer_link_resolve(tampered, purpose="progress")


def test_a_token_forged_for_another_row_without_the_key_is_refused():
    forged = signing.dumps({"t": "00000000-0000-0000-0000-000000000000", "p": "x"}, salt="other")
    with pytest.raises(LinkInvalid):
        customer_link_resolve(forged, purpose="x")


def test_a_link_for_one_purpose_does_not_open_another():
    token = customer_link_create(obj=CustomerFactory(), purpose="booking")
    with pytest.raises(LinkInvalid):
        customer_link_resolve(token, purpose="approval")


def test_an_expired_link_is_refused():
    token = customer_link_create(obj=CustomerFactory(), purpose="p", max_age=timedelta(seconds=-1))
    with pytest.raises(LinkInvalid):
        customer_link_resolve(token, purpose="p")


def test_a_revoked_link_is_refused():
    customer = CustomerFactory()
    token = customer_link_create(obj=customer, purpose="p")
    assert customer_links_revoke(obj=customer) == 1
    with pytest.raises(LinkInvalid):
        customer_link_resolve(token, purpose="p")
