"""Issue 15 item 8: each role starts on its own work and its menu holds only its entries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from appointments.models import Appointment
from reception.tests.factories import VisitFactory
from workshop.models import Addition

pytestmark = pytest.mark.django_db

LANDS_ON = {
    "technician": "/workshop/my-jobs/",
    "qc_inspector": "/workshop/qc/",
    "workshop_controller": "/workshop/",
    "cashier": "/delivery/cashier/",
    "customer_care": "/followup/calls/",
}


@pytest.mark.parametrize(("role", "url"), LANDS_ON.items())
def test_a_role_with_one_work_page_lands_on_it(client, make_staff, role, url):
    client.force_login(make_staff(role))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == url


def test_the_advisor_starts_on_arrivals_cars_on_site_and_approvals_waiting(client, make_staff):
    visit = VisitFactory()
    # Noon today: on the list whatever the time of day the test runs (not tomorrow after 23:30).
    start = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    Appointment.objects.create(
        customer=visit.customer,
        vehicle=visit.vehicle,
        start=start,
        end=start + timedelta(hours=1),
    )
    Addition.objects.create(visit=visit, title="更换雨刮片")
    client.force_login(make_staff("advisor"))
    page = client.get("/").content.decode()
    assert "今日到店" in page and f"{start:%H:%M}" in page and "接车" in page
    assert "在厂车辆" in page and visit.number in page
    assert "等待客户确认的增项" in page and "更换雨刮片" in page
    assert "最近登记的客户" not in page


def test_the_manager_starts_on_the_days_figures_and_alerts(client, make_staff):
    VisitFactory(status="order_signed", promised_at=timezone.now() - timedelta(hours=1))
    client.force_login(make_staff("service_manager"))
    page = client.get("/").content.decode()
    assert "今日数据" in page and "进厂台次" in page
    assert "提醒" in page and "已超承诺时间" in page


def _menu(client, make_staff, role) -> str:
    client.force_login(make_staff(role))
    return client.get("/search/").content.decode().split("<main", 1)[0]


def test_a_technicians_menu_has_no_calls_and_the_boards_say_what_they_are(client, make_staff):
    assert "我的待办电话" not in _menu(client, make_staff, "technician")
    advisor_menu = _menu(client, make_staff, "advisor")
    assert "车间看板" in advisor_menu and "预约看板" in advisor_menu
    assert "我的待办电话" in advisor_menu


def test_the_managers_less_frequent_entries_sit_under_more_and_the_advisors_do_not(
    client, make_staff
):
    manager_menu = _menu(client, make_staff, "service_manager")
    inline, more = manager_menu.split('<details id="nav-more">', 1)
    assert "更多" in more
    for label in ("设置", "报表", "接车"):
        assert (label in more) == (label != "接车"), label
    assert "接车" in inline
    client.logout()
    advisor_menu = _menu(client, make_staff, "advisor")
    assert 'id="nav-more"' not in advisor_menu


def test_the_managers_alerts_count_overdue_and_failed_tasks(client, make_staff):
    from django.contrib.contenttypes.models import ContentType

    from dealership.models import DueTask

    visit = VisitFactory()
    now = timezone.now()

    def task(state, due_at):
        DueTask.objects.create(
            slot=f"s{DueTask.objects.count()}",
            kind="followup.care_call",
            subject_type=ContentType.objects.get_for_model(visit),
            subject_id=visit.pk,
            due_at=due_at,
            run_after=due_at,
            state=state,
        )

    for state in ("pending", "claimed", "pending"):
        task(state, now - timedelta(hours=1))
    task("pending", now + timedelta(hours=1))
    task("done", now - timedelta(hours=1))
    task("failed", now - timedelta(days=30))
    client.force_login(make_staff("service_manager"))
    page = client.get("/").content.decode()
    assert "3 项计划任务已逾期" in page and "1 项计划任务执行失败" in page
