"""The board in Chromium: the express lane with its alert, time in status, the suggested
technician taken in one click, and a technician sent to the desk."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from reception.models import Visit
from reception.states import VisitStatus
from workshop import services
from workshop.models import DeskCall, Job
from workshop.states import JobStatus

from .factories import make_signed_visit, make_technician

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("role_groups"),
]
V = VisitStatus


def _aged(visit, *, checked_in: int, in_status: int):
    now = timezone.now()
    Visit.objects.filter(pk=visit.pk).update(
        checked_in_at=now - timedelta(minutes=checked_in),
        status_changed_at=now - timedelta(minutes=in_status),
    )
    services.jobs_materialise(visit_ids=[visit.pk])
    return visit


def test_the_board_shows_the_express_lane_and_takes_a_suggestion(page, login, make_staff):
    controller = make_staff("workshop_controller")
    express_tech = make_technician(team="快修组", work_type="maintenance", skill_level="skilled")
    repair_tech = make_technician(team="机修组", skill_level="master")
    make_technician(team="机修组", skill_level="apprentice", hours_per_day=Decimal("6"))
    late = _aged(
        make_signed_visit(jobs=1, hours="0.50", work_type="maintenance", status=V.IN_PROGRESS),
        checked_in=78,
        in_status=35,
    )
    Job.objects.filter(visit=late).update(status=JobStatus.IN_PROGRESS, technician=express_tech)
    fresh = _aged(
        make_signed_visit(jobs=1, hours="0.40", work_type="maintenance"), checked_in=12, in_status=4
    )
    repair = _aged(make_signed_visit(jobs=2, hours="1.50"), checked_in=140, in_status=95)
    for status, minutes in ((V.ON_HOLD, 50), (V.WORK_DONE, 20)):
        visit = _aged(make_signed_visit(jobs=1, status=status), checked_in=240, in_status=minutes)
        Job.objects.filter(visit=visit).update(status=JobStatus.DISPATCHED, technician=repair_tech)
    # The advisor asks for a technician from the visit page.
    login(repair.advisor)
    page.goto(page.base_url + repair.get_absolute_url())
    page.fill("#desk-call input[name=note]", "客户想听异响")
    page.click("#ask-desk")
    expect(page.locator("#desk-call")).to_contain_text("等待车间主管")
    page.shot("visit-desk-call")
    call = DeskCall.objects.get(visit=repair)
    DeskCall.objects.filter(pk=call.pk).update(asked_at=timezone.now() - timedelta(minutes=6))

    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": page.base_url}]
    )
    login(controller)
    page.goto(page.base_url + "/workshop/")
    expect(page.locator(".express-alert")).to_contain_text("1 辆快修车超过目标时间")
    lane = page.locator("#lane-express")
    expect(lane.locator(f"#visit-{late.pk}")).to_have_class("wcard risk-ok express express-late")
    expect(lane.locator(f"#visit-{fresh.pk}")).to_contain_text("接车后 12 分钟")
    expect(page.locator(f"#visit-{repair.pk}")).to_contain_text("当前状态已 1 小时 35 分钟")
    expect(page.locator(f"#desk-call-{call.pk}")).to_contain_text("已等待 6 分钟")
    card = lane.locator(f"#visit-{fresh.pk}")
    expect(card.locator(".suggestion")).to_contain_text(express_tech.name)
    page.shot("board-express")  # SCREENSHOT_DIR=/tmp puts it at /tmp/board-express.png

    card.get_by_role("button", name="采用").click()
    page.wait_for_selector(f"text=已派给 {express_tech.name}")
    assert Job.objects.get(visit=fresh).technician == express_tech

    desk = page.locator(f"#desk-call-{call.pk}")
    desk.locator("select[name=technician]").select_option(str(repair_tech.pk))
    desk.get_by_role("button", name="派去前台").click()
    expect(page.locator(f"#desk-call-{call.pk}")).to_have_count(0)
    page.shot("board-after")
