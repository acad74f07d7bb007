"""Markup typed into a form comes back as text, and `next` never leads off-site."""

import pytest
from django.urls import reverse

from reception.forms import WalkaroundForm
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

HOSTILE = "<b>x</b>"  # a key tag holds 10 characters


def _walkaround_post(visit, **changes):
    form = WalkaroundForm(instance=visit)
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            continue
        data[name] = value
    data.update(changes)
    return data


def test_a_key_tag_error_shows_the_typed_tag_as_text(advisor_client):
    VisitFactory(key_tag=HOSTILE.upper())  # another car on site carries this "tag"
    visit = VisitFactory()
    response = advisor_client.post(
        reverse("reception:walkaround", args=[visit.pk]), _walkaround_post(visit, key_tag=HOSTILE)
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "<B>X</B>" not in body
    assert "&lt;B&gt;X&lt;/B&gt;" in body  # the message names the tag, as text


def test_hand_over_does_not_redirect_off_site(client, make_staff):
    client.force_login(make_staff("workshop_controller"))
    visit = VisitFactory(status=VisitStatus.ORDER_SIGNED)
    for evil in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        " https://evil.example",
    ):
        response = client.post(reverse("reception:hand_over", args=[visit.pk]), {"next": evil})
        assert response.status_code == 302
        assert response["Location"] == reverse("reception:on_site"), evil
    response = client.post(
        reverse("reception:hand_over", args=[visit.pk]), {"next": "/workshop/?x=1"}
    )
    assert response["Location"] == "/workshop/?x=1"  # our own page: followed


def test_safe_next_keeps_our_pages_and_drops_the_rest(rf):
    from dealership.urltools import safe_next

    def target(value, method="post"):
        request = getattr(rf, method)("/x/", {"next": value})
        return safe_next(request, "/home/")

    assert target("/appointments/calls/?day=2026-01-01") == "/appointments/calls/?day=2026-01-01"
    assert target("http://testserver/orders/") == "http://testserver/orders/"
    for evil in (
        "https://evil.example/",
        "//evil.example",
        "/\\evil.example",
        "javascript:x()",
        "",
    ):
        assert target(evil) == "/home/", evil
        assert target(evil, "get") == "/home/", evil


def test_our_own_links_in_messages_still_work(advisor_client):
    """The duplicate-VIN refusal carries a link to the car (built with format_html):
    escaping the errors must not turn it into text."""
    from dealership.tests.factories import CustomerFactory, VehicleFactory

    vin = "1M8GDM9AXKP042788"
    existing = VehicleFactory(vin=vin)
    response = advisor_client.post(
        reverse("vehicle_create", args=[CustomerFactory().pk]),
        {"plate": "京A88888", "vin": vin, "model": "RAV4", "last_odometer_km": 0},
    )
    assert (
        f'<a href="{reverse("vehicle_detail", args=[existing.pk])}">' in response.content.decode()
    )
