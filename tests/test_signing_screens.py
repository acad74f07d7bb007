"""Issue 15 item 10: the screens the customer signs on the staff tablet show only what is
signed: no staff menu, no log-out, no link into the staff pages."""

import re

import pytest

from dealership.tests.factories import TEST_PASSWORD
from delivery.tests.factories import services as delivery_services
from delivery.tests.factories import settled_visit, staff
from reception.tests.factories import signature_data_url
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


def _sign_order(client, order):
    return client.post(
        f"/orders/{order.pk}/sign/",
        {
            "version": order.version,
            "confirm_items": "on",
            "confirm_cost": "on",
            "confirm_time": "on",
            "keep_old_parts": "no",
            "wash": "yes",
            "signer_name": "陈静",
            "signature": signature_data_url(),
        },
        follow=True,
    )


def _assert_hand_back_screen(response):
    body = response.content.decode()
    assert "签名完成，请将平板交还服务顾问" in body and "返回工作台" in body
    assert "/logout/" not in body and "退出" not in body and "我的待办电话" not in body
    assert _staff_links(body) == []


def test_after_the_customer_signs_the_order_the_tablet_waits_for_the_staff_password(client):
    advisor = staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    client.force_login(advisor)
    response = _sign_order(client, order)
    assert response.redirect_chain[-1][0] == "/tablet/hand-back/"
    _assert_hand_back_screen(response)

    # Neither the back button nor a typed address reaches a staff page.
    for path in (f"/orders/{order.pk}/sign/", f"/orders/{order.pk}/", "/"):
        again = client.get(path, follow=True)
        assert again.redirect_chain[-1][0] == "/tablet/hand-back/"

    wrong = client.post("/tablet/hand-back/", {"password": "not-it"})
    assert wrong.status_code == 400
    assert "密码错误" in wrong.content.decode()
    _assert_hand_back_screen(wrong)

    right = client.post("/tablet/hand-back/", {"password": TEST_PASSWORD})
    assert right.status_code == 302 and right["Location"] == order.get_absolute_url()
    assert client.get(f"/orders/{order.pk}/").status_code == 200


def test_after_the_hand_back_signature_the_tablet_waits_for_the_staff_password(
    client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    visit, _order, _settlement = settled_visit()
    delivery_services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    advisor = staff("advisor")
    client.force_login(advisor)
    response = client.post(
        f"/delivery/visits/{visit.pk}/hand-back/",
        {
            "signer_name": "张三",
            "belongings_returned": "on",
            "keys_returned": "on",
            "covers_removed": "on",
            "signature": signature_data_url(),
        },
        follow=True,
    )
    _assert_hand_back_screen(response)
    assert "送客户离店" not in response.content.decode()  # the staff's message waits for them
    right = client.post("/tablet/hand-back/", {"password": TEST_PASSWORD})
    assert right["Location"] == f"/delivery/visits/{visit.pk}/"
    assert "已交车，请送客户离店" in client.get(right["Location"]).content.decode()


def test_five_wrong_passwords_log_the_tablet_out(client):
    advisor = staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    client.force_login(advisor)
    _sign_order(client, order)
    for _ in range(4):
        assert client.post("/tablet/hand-back/", {"password": "guess"}).status_code == 400
    last = client.post("/tablet/hand-back/", {"password": "guess"})
    assert last.status_code == 302 and last["Location"].startswith("/login/")
    assert client.get(f"/orders/{order.pk}/").status_code == 302  # logged out
