"""Issue 15 item 11: customer pages show the store (name, phone, address), not the staff desk,
and every tampered customer link answers the same clear "link not valid" page."""

import pytest

pytestmark = pytest.mark.django_db

LINKS = (
    "/appointments/my/{}/",
    "/reception/progress/{}/",
    "/workshop/approve/{}/",
    "/portal/link/{}/",
)


@pytest.mark.parametrize("link", LINKS)
def test_a_tampered_customer_link_answers_the_one_link_invalid_page(client, link):
    response = client.get(link.format("not-a-valid-token"))
    body = response.content.decode()
    assert response.status_code == 404
    assert 'id="link-invalid"' in body and "链接无效" in body
    assert "0512-6688 9900" in body and "星湖街" in body  # whom to call, where we are
    assert "售后服务台" not in body and "/login/" not in body and "/logout/" not in body
    assert 'href="/appointments/book/"' in body


def test_the_self_booking_page_shows_the_stores_contact_not_the_staff_desk(client):
    body = client.get("/appointments/book/").content.decode()
    assert "0512-6688 9900" in body and "星湖街" in body
    assert "售后服务台" not in body


def test_the_customers_slot_picker_shows_times_not_the_workshops_hours():
    from django.template.loader import render_to_string

    from appointments.selectors import slot_picker
    from appointments.tests.factories import days_ahead, make_workshop

    make_workshop()
    from django.utils import timezone

    picker = slot_picker(day=days_ahead(2), needs={}, earliest=timezone.now())
    customer = render_to_string(
        "appointments/_slot_picker.html", {"picker": picker, "for_customer": True}
    )
    staff = render_to_string("appointments/_slot_picker.html", {"picker": picker})
    assert "load-free" in staff and "load-free" not in customer
    assert " h free" not in customer and "小时" not in customer
