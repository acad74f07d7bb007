"""The call queue and the scheduled-work page in a real browser."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from dealership.due import due_task_schedule
from dealership.models import DueTask
from dealership.roles import Role
from dealership.tests.factories import CustomerFactory, UserFactory, VehicleFactory

from .test_due import FAILURES  # also registers the test kinds

pytestmark = pytest.mark.browser


def _staff(role, username):
    Group.objects.get_or_create(name=role)  # a flush by an earlier live-server test drops them
    return UserFactory(username=username, roles=[role])


def _calls():
    vehicle = VehicleFactory(owner=CustomerFactory(name="韩梅梅", preferred_contact_time="下午"))
    overdue = due_task_schedule(
        kind="test.call",
        subject=vehicle,
        due_at=timezone.now() - timedelta(hours=3),
        customer=vehicle.owner,
        payload={"note": "交车后24小时回访"},
    )
    due_task_schedule(
        kind="test.call",
        subject=VehicleFactory(owner=CustomerFactory(name="李雷")),
        due_at=timezone.now() + timedelta(minutes=5),
        customer=None,
    )
    return overdue


def test_customer_care_records_a_call_outcome_in_place(page, login):
    overdue = _calls()
    login(_staff(Role.CUSTOMER_CARE, "care-browser"))
    page.goto(page.base_url + "/due/")
    row = page.locator(f"#due-{overdue.pk}")
    assert "逾期" in row.inner_text()
    page.shot("due_queue_zh")
    row.locator("select").select_option("reached")
    row.locator("input[name$=note]").fill("客户很满意")
    row.locator("button[type=submit]").click()
    page.locator(f"#due-{overdue.pk} .tag.good").wait_for()
    assert "已联系上客户" in page.locator(f"#due-{overdue.pk}").inner_text()
    page.shot("due_queue_recorded_zh")
    overdue.refresh_from_db()
    assert overdue.state == DueTask.State.DONE and overdue.result == {"note": "客户很满意"}


@pytest.mark.language("en")
def test_manager_sees_failed_work_and_retries_it(page, login):
    FAILURES["left"] = 0
    _calls()
    vehicle = VehicleFactory()
    failed = due_task_schedule(
        kind="test.flaky", subject=vehicle, due_at=timezone.now(), customer=vehicle.owner
    )
    DueTask.objects.filter(pk=failed.pk).update(
        state=DueTask.State.FAILED, attempts=3, last_error="ConnectionError: provider down"
    )
    login(_staff(Role.SERVICE_MANAGER, "manager-browser"))
    page.goto(page.base_url + "/due/ops/")
    assert page.locator("#count-failed h3").inner_text() == "1"
    page.shot("due_ops_en")
    page.locator(f"#failed-{failed.pk} button").click()
    page.wait_for_url("**/due/ops/")
    assert "tried again within a minute" in page.locator(".messages").inner_text()
    failed.refresh_from_db()
    assert failed.state == DueTask.State.PENDING


@pytest.mark.viewport(820, 1180)
def test_the_queue_fits_a_tablet(page, login):
    _calls()
    login(_staff(Role.CUSTOMER_CARE, "care-tablet"))
    page.goto(page.base_url + "/due/")
    page.shot("due_queue_tablet_zh")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 820 + 1
