"""Issue 20 items 1-2 in the browser: the controller marks two technicians on leave on the
roster week; a car is still in the workshop from the last close; the advisor booking a car
on that day sees fewer hours, with the reason. Screenshots roster-*.png go to
$ROSTER_SCREENSHOTS (e.g. /tmp), else the screenshot folder, to be looked at."""

import os
from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.tests.factories import make_vehicle, make_workshop
from conftest import SHOTS_DIR
from dealership.models import Technician
from reception.states import VisitStatus
from workshop import roster
from workshop.models import RosterEntry
from workshop.tests.factories import make_signed_visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _shot(page, name: str) -> None:
    folder = os.environ.get("ROSTER_SCREENSHOTS") or SHOTS_DIR
    os.makedirs(folder, exist_ok=True)
    page.screenshot(path=os.path.join(folder, f"roster-{name}.png"), full_page=True)


def test_booking_on_a_day_with_two_on_leave_and_a_carry_over_car(page, login, make_staff):
    workshop = make_workshop()  # maintenance 2, repair 2, body 1, 8 h each
    last_close, day = roster._last_close_and_next_day(timezone.now())
    held = make_signed_visit(
        jobs=1,
        hours="3.00",
        status=VisitStatus.IN_PROGRESS,
        checked_in_at=last_close - timedelta(hours=2),
    )
    controller = make_staff("workshop_controller")
    login(controller)

    # The controller marks both maintenance technicians on leave on the roster week.
    page.goto(f"{page.base_url}/workshop/roster/?week={day.isoformat()}")
    for technician in Technician.objects.filter(work_type="maintenance"):
        cell = page.locator(f"#cell-{technician.pk}-{day.isoformat()}")
        cell.locator("summary").click()
        cell.locator("select[name=kind]").select_option("leave")
        cell.locator("input[name=note]").fill("年假")
        cell.locator("button[value=set]").click()
        page.locator(f"#cell-{technician.pk}-{day.isoformat()}.kind-leave").wait_for()
    assert RosterEntry.objects.filter(day=day, kind="leave").count() == 2
    assert "休假" in page.inner_text(f"#cell-{technician.pk}-{day.isoformat()}")
    _shot(page, "week")

    # The board tags the car held over from the last close.
    page.goto(f"{page.base_url}/workshop/")
    assert "滞留车" in page.inner_text(f"#visit-{held.pk} header")
    assert "1 辆滞留车" in page.inner_text("#roster-line")
    _shot(page, "board")

    # The advisor books a car for that day: the day offers fewer hours, and says why.
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": page.base_url}]
    )
    login(make_staff("advisor"))
    vehicle = make_vehicle(plate="苏E5R0S7", model="帕萨特")
    page.goto(f"{page.base_url}/appointments/new/?vehicle={vehicle.pk}")
    page.locator("#field-operations label", has_text=workshop["brakes"].name_zh).click()
    page.click(f".day-strip button[data-day='{day.isoformat()}']")
    reason = page.locator("#capacity-reason")
    reason.wait_for()
    text = reason.inner_text()
    # repair 12.8 h bookable less the 3 h carried over, body 6.4 h, maintenance none
    assert "2 名技师休假或培训" in text and "1 辆滞留车" in text and "16.2" in text
    free = page.inner_text(".slot-picker p.muted")
    assert "9.8" in free  # the repair hours left after the carry-over car
    _shot(page, "booking")

    # The next day without absences offers its full hours, and no reason.
    other = day + timedelta(days=1)
    page.click(f".day-strip button[data-day='{other.isoformat()}']")
    page.locator(".day-strip button.current", has_text=other.strftime("%m-%d")).wait_for()
    assert page.locator("#capacity-reason").count() == 0
