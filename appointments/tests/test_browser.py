"""The advisor's phone booking and the customer's online booking, in Chinese, in Chromium."""

import pytest
from django.core.cache import cache

from appointments.models import Appointment, Channel, Status
from dealership.rules import rule_set

from .factories import days_ahead, local, make_vehicle, make_workshop

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def _pick(page, day, hour, minute=0):
    """Choose the day in the strip, wait for its slots, choose the time."""
    page.click(f".day-strip button[data-day='{day.isoformat()}']")
    value = f"{day.isoformat()}T{hour:02d}:{minute:02d}"
    page.locator(f"label[data-start='{value}']").click()
    assert page.locator(f"input[name=start][value='{value}']").is_checked()
    return value


def test_the_advisor_books_a_car_on_the_phone(page, login, make_staff):
    workshop = make_workshop()
    rule_set("appointments.arrivals_per_slot", 1)
    advisor = make_staff("advisor")
    other = make_vehicle()
    day = days_ahead(3)
    from appointments.services import appointment_book

    appointment_book(
        customer=other.owner,
        vehicle=other,
        start=local(day, 9),
        operations=[workshop["oil"]],
        actor=advisor,
    )
    vehicle = make_vehicle(plate="苏E7K2M9", model="凯美瑞 Camry")
    login(advisor)

    page.click("text=新建预约")
    page.fill("#find-q", "7k2")
    page.locator("#find-vehicles a[role=button]").first.click()
    page.wait_for_url("**/appointments/new/?vehicle=*")
    assert "凯美瑞" in page.inner_text("main")

    page.locator("#field-operations label", has_text=workshop["oil"].name_zh).click()
    page.locator("#field-operations label", has_text=workshop["brakes"].name_zh).click()
    page.locator("#estimate", has_text="¥320.00").wait_for()  # 120 + 200 from the catalogue
    page.click(f".day-strip button[data-day='{day.isoformat()}']")
    full = page.locator(f"label[data-start='{day.isoformat()}T09:00']")
    full.wait_for()
    assert "unavailable" in full.get_attribute("class")  # the other car took the only place
    assert "已满" in full.inner_text()
    _pick(page, day, 10, 30)
    page.fill("#id_concern_text", "刹车的时候有吱吱的响声")
    page.check("input[name=waiting][value='1']")
    page.shot("appointments-advisor-booking-zh")
    page.click("#book-button")

    page.wait_for_url("**/appointments/*/")
    assert "预约已保存" in page.inner_text("main")
    assert "刹车的时候有吱吱的响声" in page.inner_text("main")
    appointment = Appointment.objects.get(vehicle=vehicle)
    assert appointment.start == local(day, 10, 30)
    assert appointment.waiting and appointment.channel == Channel.PHONE
    assert appointment.lines.count() == 2
    page.shot("appointments-detail-zh")

    page.goto(page.base_url + f"/appointments/?day={day.isoformat()}")
    row = page.locator("tr[data-slot='10:30']")
    assert "苏E7K2M9" in row.inner_text() and "已预约" in row.inner_text()
    page.shot("appointments-board-zh")


def test_a_customer_books_online_and_moves_the_appointment(page):
    workshop = make_workshop()
    vehicle = make_vehicle(plate="苏E5A8B2", model="RAV4 荣放")
    day = days_ahead(4)

    page.goto(page.base_url + "/appointments/book/")
    page.fill("#id_plate", "苏e5a8b2")
    page.fill("#id_mobile", "139 0000 0000")  # not the number on file
    page.click("#identify-form button[type=submit]")
    assert "未找到与此手机号码匹配的车牌" in page.inner_text("main")
    assert vehicle.owner.name not in page.content()

    page.fill("#id_mobile", vehicle.owner.mobile)
    page.click("#identify-form button[type=submit]")
    page.locator("text=RAV4 荣放").wait_for()
    page.locator("#field-operations label", has_text=workshop["oil"].name_zh).click()
    page.locator("#estimate").wait_for()
    _pick(page, day, 14)
    page.fill("#id_concern_text", "仪表盘上保养灯亮了")
    page.shot("appointments-self-service-zh")
    page.click("#confirm-booking")

    page.wait_for_url("**/appointments/my/*/")
    assert "您的预约已成功" in page.inner_text("main") or "谢谢" in page.inner_text("main")
    assert f"{day.isoformat()}" in page.inner_text("#my-start")
    assert "14:00" in page.inner_text("#my-start")
    appointment = Appointment.objects.get(vehicle=vehicle)
    assert appointment.channel == Channel.WEB and appointment.concern_text == "仪表盘上保养灯亮了"
    page.shot("appointments-self-service-done-zh")

    page.click("#move summary")
    later = days_ahead(5)
    _pick(page, later, 9, 30)
    page.click("#move button[type=submit]")
    page.wait_for_url("**/appointments/my/*/")
    assert "09:30" in page.inner_text("#my-start")
    appointment.refresh_from_db()
    assert appointment.start == local(later, 9, 30) and appointment.status == Status.BOOKED

    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel-appointment")
    page.locator("text=您的预约已取消").wait_for()
    appointment.refresh_from_db()
    assert appointment.status == Status.CANCELLED


@pytest.mark.language("en")
@pytest.mark.viewport(1180, 820)
def test_the_advisor_works_the_call_list_and_the_week_board_on_a_tablet_in_english(
    page, login, make_staff
):
    from django.utils import timezone

    from appointments import duties
    from appointments.services import appointment_book, appointment_mark_no_show
    from dealership.models import DueTask

    workshop = make_workshop()
    advisor = make_staff("advisor")
    day = days_ahead(5)
    booked = appointment_book(
        customer=(car := make_vehicle(plate="苏A1B2C3", model="Camry")).owner,
        vehicle=car,
        start=local(day, 9),
        operations=[workshop["oil"]],
        advisor=advisor,
        actor=advisor,
    )
    missed = appointment_book(
        customer=(other := make_vehicle(plate="苏D4E5F6", model="RAV4")).owner,
        vehicle=other,
        start=local(day, 10),
        operations=[workshop["brakes"]],
        actor=advisor,
    )
    appointment_mark_no_show(appointment=missed, actor=None)  # puts a rebooking call on the list
    # The N-3 call of the first booking is due now (as if its day had come).
    DueTask.objects.filter(kind=duties.CONFIRM_CALL, subject_id=booked.pk).update(
        due_at=timezone.now()
    )
    login(advisor)

    page.goto(page.base_url + "/appointments/calls/")
    confirm = page.locator(f"#calls-{duties.CONFIRM_CALL.replace('.', '')}")
    assert "苏A1B2C3" in confirm.inner_text() and "Booked" in confirm.inner_text()
    rebook = page.locator(f"#calls-{duties.REBOOK_CALL.replace('.', '')}")
    assert "苏D4E5F6" in rebook.inner_text() and "No-show" in rebook.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1180  # no sideways scroll
    page.shot("appointments-calls-tablet-en")
    confirm.get_by_role("button", name="Confirmed").click()
    page.locator("text=Call recorded.").wait_for()
    booked.refresh_from_db()
    assert booked.status == Status.CONFIRMED

    page.goto(page.base_url + f"/appointments/?view=week&day={day.isoformat()}")
    confirmed = page.inner_text("#week li[data-status=confirmed]")
    assert "苏A1B2C3" in confirmed and "Confirmed" in confirmed
    no_show = page.inner_text("#week li[data-status=no_show]")
    assert "苏D4E5F6" in no_show and "No-show" in no_show
    assert "Booked" in page.inner_text("#status-legend")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1180
    page.shot("appointments-board-week-tablet-en")
