"""Issue 19.4 in the browser: the lounge TV at 1920×1080, refreshing itself under the CSP.

The screenshot goes to $LOUNGE_SCREENSHOT (e.g. /tmp/lounge.png), else the screenshot folder,
to be looked at.
"""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from conftest import SHOTS_DIR
from dealership.rules import rule_set
from dealership.tests.factories import UserFactory, VehicleFactory
from reception.lounge import lounge_link_issue
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARS = (
    # plate, brand, model, status, promised in minutes
    ("苏E12345", "大众", "帕萨特", VisitStatus.READY_FOR_PICKUP, 10),
    ("苏EF83012", "比亚迪", "汉 EV", VisitStatus.IN_PROGRESS, 45),
    ("沪A66821", "丰田", "凯美瑞", VisitStatus.ON_HOLD, 90),
    ("苏E9K217", "本田", "雅阁", VisitStatus.DISPATCHED, 120),
    ("浙B50173", "别克", "GL8", VisitStatus.WORK_DONE, 60),
    ("苏E2Q558", "宝马", "325Li", VisitStatus.ORDER_SIGNED, 180),
)


def _car(plate, brand, model, status, minutes):
    vehicle = VehicleFactory(plate=plate, brand=brand, model=model)
    return VisitFactory(
        vehicle=vehicle,
        customer=vehicle.owner,
        status=status,
        customer_waits=True,
        promised_at=timezone.now() + timedelta(minutes=minutes),
        hold_reason="awaiting_parts" if status == VisitStatus.ON_HOLD else "",
    )


@pytest.mark.viewport(1920, 1080)
def test_the_lounge_tv_shows_masked_cars_and_picks_up_a_ready_car_by_itself(page):
    rule_set("reception.lounge_refresh_seconds", 2)
    for car in CARS[1:]:
        _car(*car)
    _display, key = lounge_link_issue(
        actor=UserFactory(roles=["service_manager"]), show_all_cars=False
    )

    page.goto(f"{page.base_url}/reception/lounge/tv/{key}/")
    assert page.locator(".lounge-cars tbody tr").count() == len(CARS) - 1
    assert page.locator("tr.ready").count() == 0

    # A car becomes ready: the TV shows it on top, highlighted, without anyone touching it.
    _car(*CARS[0])
    page.wait_for_selector('tr.ready[data-plate="苏E·***45"]', timeout=15_000)
    assert page.locator(".lounge-cars tbody tr").first.get_attribute("data-plate") == "苏E·***45"

    html = page.content()
    for plate, *_rest in CARS:
        assert plate not in html
    assert "请到前台" in html and "please come to the desk" in html

    # Everything fits the screen: no scrolling on a TV.
    height = page.evaluate("document.documentElement.scrollHeight")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert height <= 1080 and width <= 1920
    path = os.environ.get("LOUNGE_SCREENSHOT") or os.path.join(SHOTS_DIR, "lounge-1920.png")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    page.screenshot(path=path)
    assert os.path.getsize(path) > 10_000
