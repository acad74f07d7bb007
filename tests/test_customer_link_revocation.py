"""Customer links revoked by staff (issue 18.3): the customer page lists the live links, a
person revokes one or all with a reason (who, when and why kept), and the customer who opens
a revoked link meets the "link not valid" page, never a 500."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from appointments.services import appointment_book, appointment_link_create
from appointments.tests.factories import local, make_vehicle, make_workshop
from dealership.links import (
    customer_link_revoke_by_staff,
    customer_links_revoke_all_by_staff,
    customer_live_links,
)
from dealership.models import CustomerLink
from dealership.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def booked(make_staff):
    """A booked appointment with two links of the customer (the booking's own and a second)."""
    workshop = make_workshop()
    vehicle = make_vehicle()
    day = timezone.localdate() + timedelta(days=5)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    advisor = make_staff("advisor")
    appointment = appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(day, 10),
        operations=[workshop["oil"]],
        actor=advisor,
    )
    second = appointment_link_create(appointment=appointment, actor=advisor)
    return {"appointment": appointment, "customer": vehicle.owner, "token": second}


def _manage(token):
    return reverse("appointments:manage", kwargs={"token": token})


def test_the_customer_page_lists_the_live_links(client, make_staff, booked):
    customer = booked["customer"]
    expired = CustomerLink.objects.filter(customer=customer).first()
    live = list(customer_live_links(customer))
    client.force_login(make_staff("customer_care"))
    page = client.get(customer.get_absolute_url())
    assert page.status_code == 200
    rows = [link for link, _purpose in page.context["links"]]
    assert rows == live and len(rows) >= 2
    CustomerLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    page = client.get(customer.get_absolute_url())
    assert expired.pk not in [link.pk for link, _purpose in page.context["links"]]
    assert b"customer-links" in page.content


def test_one_link_is_revoked_with_a_reason_and_the_customer_meets_the_invalid_page(
    client, make_staff, booked
):
    customer, token = booked["customer"], booked["token"]
    assert client.get(_manage(token)).status_code == 200
    link = customer_live_links(customer).first()  # the newest: the second link
    advisor = make_staff("advisor")
    client.force_login(advisor)
    response = client.post(
        reverse("customer_link_revoke", args=[customer.pk]),
        {"link": link.pk, "reason": "短信转发给了别人"},
    )
    assert response.status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None and link.revoked_by == advisor
    assert link.revoke_reason == "短信转发给了别人"
    client.logout()
    invalid = client.get(_manage(token))
    assert invalid.status_code == 404
    assert "link_invalid.html" in [t.name for t in invalid.templates]
    assert link.pk not in [row.pk for row in customer_live_links(customer)]


def test_all_links_are_revoked_at_once(client, make_staff, booked):
    customer = booked["customer"]
    count = customer_live_links(customer).count()
    manager = make_staff("service_manager")
    client.force_login(manager)
    page = client.post(
        reverse("customer_links_revoke_all", args=[customer.pk]),
        {"reason": "手机丢失"},
        follow=True,
    )
    assert page.status_code == 200 and page.context["links"] == []
    revoked = CustomerLink.objects.filter(customer=customer, revoked_by=manager)
    assert revoked.count() == count >= 2
    assert set(revoked.values_list("revoke_reason", flat=True)) == {"手机丢失"}
    assert client.get(_manage(booked["token"])).status_code == 404


def test_a_reason_is_required_and_bounded_and_nothing_changes_without_it(
    client, make_staff, booked
):
    customer = booked["customer"]
    link = customer_live_links(customer).first()
    actor = make_staff("advisor")
    with pytest.raises(ValidationError) as blank:
        customer_link_revoke_by_staff(customer=customer, link_id=link.pk, actor=actor, reason=" ")
    assert "reason" in blank.value.message_dict
    with pytest.raises(ValidationError):
        customer_links_revoke_all_by_staff(customer=customer, actor=actor, reason="x" * 201)
    client.force_login(actor)
    page = client.post(
        reverse("customer_link_revoke", args=[customer.pk]),
        {"link": link.pk, "reason": ""},
        follow=True,
    )
    assert [str(m) for m in page.context["messages"]]
    link.refresh_from_db()
    assert link.revoked_at is None
    assert customer_live_links(customer).count() >= 2


def test_another_customers_link_and_a_revoked_link_are_refused(make_staff, booked):
    customer = booked["customer"]
    link = customer_live_links(customer).first()
    actor = make_staff("advisor")
    with pytest.raises(ValidationError):
        customer_link_revoke_by_staff(
            customer=CustomerFactory(), link_id=link.pk, actor=actor, reason="错的客户"
        )
    customer_link_revoke_by_staff(customer=customer, link_id=link.pk, actor=actor, reason="泄露")
    with pytest.raises(ValidationError):
        customer_link_revoke_by_staff(
            customer=customer, link_id=link.pk, actor=actor, reason="再次"
        )
    link.refresh_from_db()
    assert link.revoke_reason == "泄露"


@pytest.mark.parametrize(
    ("role", "status"),
    [("advisor", 302), ("cashier", 302), ("technician", 403), ("claims_clerk", 403)],
)
def test_revoking_needs_a_role_that_sees_the_customer(client, make_staff, booked, role, status):
    customer = booked["customer"]
    link = customer_live_links(customer).first()
    client.force_login(make_staff(role))
    response = client.post(
        reverse("customer_link_revoke", args=[customer.pk]), {"link": link.pk, "reason": "泄露"}
    )
    assert response.status_code == status
    link.refresh_from_db()
    assert (link.revoked_at is not None) == (status == 302)


def test_a_garbled_link_id_is_a_message_not_a_500(client, make_staff, booked):
    customer = booked["customer"]
    client.force_login(make_staff("advisor"))
    for link in ("abc", "99999999999999999999999", "-1"):
        response = client.post(
            reverse("customer_link_revoke", args=[customer.pk]), {"link": link, "reason": "x"}
        )
        assert response.status_code == 302
    assert customer_live_links(customer).count() >= 2
