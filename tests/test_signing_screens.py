"""Issue 15 item 10: the screens the customer signs on the staff tablet show only what is
signed: no staff menu, no log-out, no link into the staff pages."""

import re

import pytest

from delivery.tests.factories import services as delivery_services
from delivery.tests.factories import settled_visit, staff
from workorders.tests.factories import ready_to_sign_order

pytestmark = pytest.mark.django_db


def _staff_links(body: str) -> list[str]:
    return [
        href for href in re.findall(r'href="(/[^"]*)"', body) if not href.startswith("/static/")
    ]


def test_the_order_signing_screen_has_no_staff_menu_logout_or_links(client):
    advisor = staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    client.force_login(advisor)
    body = client.get(f"/orders/{order.pk}/sign/").content.decode()
    assert "请客户签字" in body and order.number in body
    assert "/logout/" not in body and "我的待办电话" not in body
    assert _staff_links(body) == []


def test_the_hand_back_screen_has_no_staff_menu_logout_or_links(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    visit, _order, _settlement = settled_visit()
    delivery_services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    advisor = staff("advisor")
    client.force_login(advisor)
    body = client.get(f"/delivery/visits/{visit.pk}/hand-back/").content.decode()
    assert "请客户签字" in body and visit.vehicle.plate in body
    assert "/logout/" not in body
    assert _staff_links(body) == []
