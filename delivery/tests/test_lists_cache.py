"""The delivery board and the cashier's lists: their HTML comes from the cache while nothing
they show changed (`dealership.fragments`); a change and a language show at once."""

import pytest
from django.urls import reverse

from dealership.models import Customer
from delivery.services import gate_pass_issue
from delivery.tests.factories import qc_passed_visit, ready_visit, settled_visit, staff

pytestmark = pytest.mark.django_db


def _get(client, name, language="zh-hans"):
    response = client.get(reverse(name), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_the_board_shows_a_paid_bill_and_a_gate_pass_at_once(client):
    visit, _order, settlement = settled_visit()
    client.force_login(staff("advisor"))
    board = _get(client, "delivery:board")
    assert settlement.invoice_number in board and visit.number in board
    gate_pass_issue(visit=visit, actor=staff("cashier"))
    board = _get(client, "delivery:board")
    visit.delivery.refresh_from_db()
    assert visit.delivery.gate_pass_number in board
    assert "Gate pass" in _get(client, "delivery:board", "en") and "Gate pass" not in board


def test_the_cashier_list_shows_a_renamed_customer_at_once(client):
    visit, _order = ready_visit()
    mobile = visit.customer.mobile
    client.force_login(staff("cashier"))
    assert mobile in _get(client, "delivery:cashier")
    Customer.objects.filter(pk=visit.customer_id).update(name="改名后的客户")
    assert "改名后的客户" in _get(client, "delivery:cashier")
    client.force_login(staff("service_manager"))
    assert "改名后的客户" in _get(client, "delivery:cashier")


def test_a_car_leaves_the_cashier_list_when_its_gate_pass_is_issued(client):
    visit, _order, settlement = settled_visit()
    qc_passed_visit()
    client.force_login(staff("cashier"))
    page = _get(client, "delivery:cashier")
    queue = page.split('id="cashier-queue"')[1].split("</table>")[0]
    settled = page.split('id="settled-today"')[1].split("</table>")[0]
    assert visit.number in queue and settlement.invoice_number in settled
    gate_pass_issue(visit=visit, actor=staff("cashier"))
    queue = _get(client, "delivery:cashier").split('id="cashier-queue"')[1].split("</table>")[0]
    assert visit.number not in queue
