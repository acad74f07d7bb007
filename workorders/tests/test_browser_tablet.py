"""At the car with a tablet: a booked car is checked in, walked around, and signs its work order."""

import io
import os
import subprocess
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from appointments.models import Appointment, AppointmentLine
from dealership.roles import Role
from dealership.tests.factories import (
    TEST_PASSWORD,
    CustomerFactory,
    LabourOperationFactory,
    PartFactory,
    TechnicianFactory,
    VehicleFactory,
)
from reception.models import Visit
from workorders.models import OrderStatus, WorkOrder

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("SCREENSHOT_DIR", "var/screenshots")


def _draw(page, selector):
    canvas = page.locator(selector)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x, y = box["x"], box["y"]
    page.mouse.move(x + 30, y + 120)
    page.mouse.down()
    page.mouse.move(x + 110, y + 40, steps=10)
    page.mouse.move(x + 190, y + 140, steps=10)
    page.mouse.move(x + 300, y + 60, steps=10)
    page.mouse.up()


def _mark_damage(page, x, y, kind, note, count):
    page.locator("#damage-panel svg.car-outline").click(position={"x": x, "y": y})
    page.wait_for_selector("#damage-dialog[open]")
    page.locator(f"#damage-form input[name=kind][value={kind}]").check()
    page.fill("#damage-form input[name=note]", note)
    page.click("#damage-save")
    expect(page.locator("#damage-list .damage-item")).to_have_count(count)


@pytest.mark.viewport(1024, 768)
def test_booked_car_is_checked_in_walked_around_signed_and_printed(page, login, make_staff):
    # An earlier transactional test flushes the role groups the migrations made.
    for role in Role:
        Group.objects.get_or_create(name=role)
    advisor = make_staff("advisor")
    TechnicianFactory()
    customer = CustomerFactory(name="陈静", mobile="13612345678")
    vehicle = VehicleFactory(owner=customer, plate="苏E7K2M9", model="凯美瑞 Camry")
    vehicle.last_odometer_km = 41_800
    vehicle.save()
    oil = LabourOperationFactory(code="M-OIL", name_zh="更换机油及机油滤清器", price="120")
    filt = PartFactory(part_number="90915-YZZD4", name_zh="机油滤清器", price="58")
    LabourOperationFactory(code="R-BRPF", name_zh="更换前制动片", price="200")
    start = timezone.now() + timedelta(minutes=15)
    appointment = Appointment.objects.create(
        customer=customer,
        vehicle=vehicle,
        advisor=advisor,
        start=start,
        end=start + timedelta(hours=1),
        concern_text="做保养,刹车时前面有吱吱声",
    )
    AppointmentLine.objects.create(
        appointment=appointment, operation=oil, work_type="maintenance", hours="0.5", price="120"
    )
    AppointmentLine.objects.create(
        appointment=appointment, part=filt, work_type="maintenance", price="58"
    )

    login(advisor)
    page.goto(f"{page.base_url}/reception/check-in/?appointment={appointment.pk}")
    assert "刹车时前面有吱吱声" in page.input_value("textarea[name=concern_text]")
    assert "更换机油及机油滤清器" in page.inner_text("#booked-lines")
    page.shot("tablet-1-check-in")
    page.click("#check-in-submit")
    page.wait_for_url("**/walkaround/")

    _mark_damage(page, 330, 95, "scratch", "左后门划痕", 1)
    _mark_damage(page, 760, 300, "dent", "右前翼子板凹陷", 2)
    page.fill("input[name=odometer_km]", "42350")
    page.locator("input[name=fuel_level][value='4']").check()
    page.locator("input[name=covers][value=three]").check()
    page.fill("input[name=key_tag]", "k12")
    page.fill("input[name=parking_spot]", "B-07")
    page.locator("input[name=registration_received]").check()
    page.shot("tablet-2-walkaround")
    page.click("#walkaround-save")
    page.wait_for_selector(".messages")
    _draw(page, "#walkaround-signature canvas")
    page.click("#walkaround-sign")
    page.wait_for_url("**/orders/*/")

    page.fill("#catalogue-q", "制动片")
    page.wait_for_selector("#catalogue-results button[data-add='R-BRPF']")
    page.click("#catalogue-results button[data-add='R-BRPF']")
    page.wait_for_selector("#lines td.line-name:has-text('更换前制动片')")
    page.select_option("select[name=payment_method]", "wechat")
    page.click("#terms-save")
    page.wait_for_selector(".messages")
    page.shot("tablet-3-order")
    page.click("#to-sign")
    page.wait_for_url("**/sign/")

    for name in ("confirm_items", "confirm_cost", "confirm_time"):
        page.locator(f"input[name={name}]").check()
    page.locator("input[name=keep_old_parts][value=no]").check()
    page.locator("input[name=wash][value=yes]").check()
    _draw(page, "#sign-form canvas")
    page.shot("tablet-4-sign")
    page.click("#sign-submit")
    # The customer hands the tablet back: no menu, no 退出; only the staff password returns.
    page.wait_for_url("**/tablet/hand-back/")
    assert "签名完成，请将平板交还服务顾问" in page.inner_text("main")
    assert page.locator("header.site a, a[href*='logout']").count() == 0
    page.shot("tablet-5-hand-back")
    page.click("#tablet-unlock summary")
    page.fill("#tablet-unlock input[name=password]", "wrong-password")
    page.click("#tablet-unlock button[type=submit]")
    page.wait_for_selector("#field-password .errorlist")
    assert "/tablet/hand-back/" in page.url
    page.fill("#tablet-unlock input[name=password]", TEST_PASSWORD)
    page.click("#tablet-unlock button[type=submit]")
    page.wait_for_selector("#download-pdf")
    page.shot("tablet-5-signed")

    page.goto(f"{page.base_url}/reception/on-site/")
    assert "K12" in page.inner_text("#on-site")
    page.shot("tablet-6-on-site")

    order = WorkOrder.objects.get()
    visit = Visit.objects.get()
    assert (order.status, visit.status, visit.key_tag) == (
        OrderStatus.SIGNED,
        "order_signed",
        "K12",
    )
    assert visit.damage_marks.count() == 2 and visit.odometer_km == 42_350
    appointment.refresh_from_db()
    assert appointment.status == "arrived"

    page.goto(f"{page.base_url}/orders/{order.pk}/")
    with page.expect_download() as download_info:
        page.click("#download-pdf")
    os.makedirs(SHOTS, exist_ok=True)
    pdf_path = os.path.join(SHOTS, "work-order.pdf")
    download_info.value.save_as(pdf_path)
    with open(pdf_path, "rb") as handle:
        pdf = handle.read()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("陈静", "更换机油及机油滤清器", "机油滤清器", "更换前制动片", "苏E7K2M9"):
        assert expected in text, expected
    assert "左后门划痕" in text and "右前翼子板凹陷" in text
    png_prefix = os.path.join(SHOTS, "work-order")
    subprocess.run(
        ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf_path, png_prefix], check=True
    )
    assert any(
        name.startswith("work-order-") and name.endswith(".png") for name in os.listdir(SHOTS)
    )
