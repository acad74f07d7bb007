"""Issue 19.4: the lounge TV, opened with a store-level key the service manager makes."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dealership.pii import mask_plate
from dealership.tests.factories import CustomerFactory, VehicleFactory
from reception.lounge import lounge_link_issue
from reception.models import LoungeDisplay
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_client(client, make_staff):
    client.force_login(make_staff("service_manager"))
    return client


def _issue(manager_client, **data) -> str:
    """Make the lounge link on the settings page; returns the TV's URL shown once."""
    response = manager_client.post(reverse("reception:lounge_settings"), data)
    assert response.status_code == 200
    match = re.search(r'id="new-lounge-url">https?://[^/]+(/[^<]+)<', response.content.decode())
    assert match, "the new link is shown on the answer"
    return match.group(1)


def _waiting_car(plate: str, **kwargs):
    customer = CustomerFactory(name="王小明", mobile="13912345678")
    vehicle = VehicleFactory(plate=plate, owner=customer, brand="大众", model="帕萨特")
    return VisitFactory(vehicle=vehicle, customer=customer, customer_waits=True, **kwargs)


def test_plates_are_masked_to_province_letter_and_last_two():
    assert mask_plate("苏E12345") == "苏E·***45"
    assert mask_plate("粤BD12345") == "粤B·***45"
    assert mask_plate("苏E·12345") == "苏E·***45"
    assert mask_plate("LSVAU2180N2183294") == "***94"
    assert mask_plate("") == ""


def test_the_tv_needs_the_key(client, manager_client):
    _issue(manager_client)
    for name in ("reception:lounge", "reception:lounge_board"):
        assert client.get(reverse(name, args=["not-the-key"])).status_code == 404
        assert client.get(reverse(name, args=["x" * 500])).status_code == 404


def test_only_the_digest_of_the_key_is_stored(manager_client):
    url = _issue(manager_client)
    key = url.rstrip("/").rsplit("/", 1)[1]
    display = LoungeDisplay.objects.get(active=True)
    assert key not in display.digest and len(display.digest) == 64
    # Shown once: the settings page no longer shows it.
    assert key not in manager_client.get(reverse("reception:lounge_settings")).content.decode()


def test_a_new_link_retires_the_old_one(client, manager_client):
    old = _issue(manager_client)
    assert client.get(old).status_code == 200
    new = _issue(manager_client)
    assert new != old
    assert client.get(old).status_code == 404
    assert client.get(old + "board/").status_code == 404
    assert client.get(new).status_code == 200
    assert LoungeDisplay.objects.filter(active=True).count() == 1


def test_switching_off_closes_the_tv(client, manager_client):
    url = _issue(manager_client)
    response = manager_client.post(reverse("reception:lounge_retire"))
    assert response.status_code == 302
    assert client.get(url).status_code == 404
    assert not LoungeDisplay.objects.filter(active=True).exists()


def test_only_the_manager_makes_the_link(client, make_staff):
    client.force_login(make_staff("advisor"))
    assert client.post(reverse("reception:lounge_settings"), {}).status_code == 403
    assert client.post(reverse("reception:lounge_retire")).status_code == 403
    assert not LoungeDisplay.objects.exists()


def test_waiting_cars_show_masked_with_model_stage_and_time_and_nothing_personal(
    client, manager_client
):
    promised = timezone.now() + timedelta(hours=1)
    visit = _waiting_car("苏E12345", status=VisitStatus.IN_PROGRESS, promised_at=promised)
    url = _issue(manager_client)

    html = client.get(url).content.decode()

    assert "苏E·***45" in html and "帕萨特" in html
    assert "维修中" in html and "Being repaired" in html
    assert timezone.localtime(promised).strftime("%H:%M") in html
    for personal in ("苏E12345", "12345", "王小明", "13912345678", visit.number):
        assert personal not in html
    assert "¥" not in html and "元" not in html


def test_not_waiting_cars_show_only_when_the_display_shows_every_car(client, make_staff):
    _waiting_car("苏E11111")
    VisitFactory(vehicle=VehicleFactory(plate="苏E22222"), customer_waits=False)
    yesterday = _waiting_car("苏E33333")
    yesterday.checked_in_at = timezone.now() - timedelta(days=1, hours=1)
    yesterday.save(update_fields=["checked_in_at"])
    _waiting_car("苏E44444", status=VisitStatus.CANCELLED)
    _waiting_car("苏E55555", status=VisitStatus.DELIVERED)
    manager = make_staff("service_manager")

    _display, key = lounge_link_issue(actor=manager, show_all_cars=False)
    board = client.get(reverse("reception:lounge_board", args=[key])).content.decode()
    assert "苏E·***11" in board
    for hidden in ("***22", "***33", "***44", "***55"):
        assert hidden not in board

    _display, key = lounge_link_issue(actor=manager, show_all_cars=True)
    board = client.get(reverse("reception:lounge_board", args=[key])).content.decode()
    assert "苏E·***11" in board and "苏E·***22" in board
    assert "***33" not in board


def test_a_ready_car_is_highlighted_first(client, make_staff):
    _waiting_car("苏E10001", status=VisitStatus.IN_PROGRESS)
    _waiting_car("苏E10002", status=VisitStatus.READY_FOR_PICKUP)
    _display, key = lounge_link_issue(actor=make_staff("service_manager"), show_all_cars=False)

    board = client.get(reverse("reception:lounge_board", args=[key])).content.decode()

    rows = re.findall(r'<tr class="([^"]*)" data-plate="([^"]+)"', board)
    assert rows == [("ready", "苏E·***02"), ("", "苏E·***01")]
    assert "请到前台" in board and "please come to the desk" in board


def test_the_tv_page_refreshes_itself_under_the_csp(client, make_staff):
    _display, key = lounge_link_issue(actor=make_staff("service_manager"), show_all_cars=False)
    response = client.get(reverse("reception:lounge", args=[key]))
    html = response.content.decode()
    assert 'src="/static/reception/lounge.js"' in html
    assert f'data-board-url="{reverse("reception:lounge_board", args=[key])}"' in html
    assert 'data-refresh="30"' in html
    assert '<meta http-equiv="refresh" content="30">' in html  # without scripts
    assert "<script>" not in html  # no inline script: the CSP allows our static files only
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
