"""In the browser, in Chinese: a checked-in car whose estimate the customer declines leaves
with the diagnosis fee paid, the diagnosis report, the gate pass and the signed hand-back."""

import io
import os
from decimal import Decimal

import pytest
from pypdf import PdfReader

from dealership.rules import rule_set
from dealership.tests.factories import TEST_PASSWORD, LabourOperationFactory
from delivery.tests.factories import default_lines, staff
from reception.models import Belonging, DeclinedWork, Visit
from reception.services import visit_walkaround_sign
from reception.states import VisitStatus
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url
from workorders.services import work_order_start

pytestmark = pytest.mark.browser


def _log_out(page):
    page.click("header form[action='/logout/'] button")
    page.wait_for_url(lambda url: "/login/" in url)


def _pdf_text(page, url: str, name: str) -> str:
    response = page.request.get(page.base_url + url)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    body = response.body()
    folder = os.environ.get("SCREENSHOT_DIR", "var/screenshots")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as out:
        out.write(body)
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


def _sign(page, pad_id: str):
    pad = page.locator(f"#{pad_id}").bounding_box()
    page.mouse.move(pad["x"] + 40, pad["y"] + 120)
    page.mouse.down()
    for x, y in ((120, 50), (200, 140), (300, 60), (380, 120)):
        page.mouse.move(pad["x"] + x, pad["y"] + y, steps=6)
    page.mouse.up()


def _unlock(page):
    page.click("#tablet-unlock summary")
    page.fill("#tablet-unlock input[name=password]", TEST_PASSWORD)
    page.click("#tablet-unlock button[type=submit]")


@pytest.mark.viewport(1180, 820)
def test_a_declined_estimate_from_check_in_to_gate_pass_and_hand_back(page, login):
    LabourOperationFactory(
        code="DIAG-180", name_zh="故障诊断费", name_en="Diagnosis fee", price=Decimal("180.00")
    )
    rule_set("workorders.diagnosis_fee_operation", "DIAG-180")
    advisor = staff("advisor", username="advisor-zhao")
    cashier = staff("cashier", username="cashier-qian")
    # Checked in, walked around and estimated: brake pads ¥300 labour + ¥700 parts.
    visit = WalkedAroundVisitFactory(advisor=advisor)
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="张三"
    )
    work_order_start(visit=visit, actor=advisor, lines=default_lines())
    Belonging.objects.create(visit=visit, description="雨伞", handling="left_in_car")
    delivery_url = f"/delivery/visits/{visit.pk}/"

    # 1. The customer declines the estimate: the advisor records it and the customer signs.
    login(advisor)
    page.goto(page.base_url + f"/reception/visits/{visit.pk}/")
    page.click("#not-repaired-link")
    assert "更换前刹车片 · ¥300.00" in page.inner_text("#offered-lines")
    form = page.locator("#not-repaired-form")
    form.locator("input[name=reason][value=declined]").check()
    form.locator("textarea[name=findings]").fill("前刹车片剩余2毫米，刹车盘有划痕，建议更换。")
    _sign(page, "not-repaired-pad")
    page.shot("not-repaired-1-declined")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/tablet/**")
    _unlock(page)
    page.wait_for_url(f"**{delivery_url}")
    assert page.locator("#visit-status").inner_text() == "待取车"
    assert "客户不接受报价" in page.inner_text("#not-repaired")
    report_url = page.locator("#diagnosis-report-link").get_attribute("href")
    page.shot("not-repaired-2-delivery-page")
    _log_out(page)

    # 2. The cashier takes the fee (no final check asked) and issues the gate pass.
    login(cashier)
    page.goto(page.base_url + delivery_url)
    assert page.locator("input[name=cash_amount]").input_value() == "180.00"
    page.click("#settle-form button[type=submit]")
    page.wait_for_selector("#settlement-done")
    page.click("#issue-gate-pass")
    page.wait_for_selector("#gate-pass-link")
    page.shot("not-repaired-3-settled-gate-pass")
    # The title is letter-spaced: text extraction splits it with blanks.
    report = "".join(_pdf_text(page, report_url, "not-repaired-diagnosis-report.pdf").split())
    for expected in (
        "故障诊断报告",
        visit.number,
        "刹车时有异响",  # the customer's concern
        "前刹车片剩余2毫米，刹车盘有划痕",
        "更换前刹车片",
        "1000.00",  # 300 + 700 declined, kept as recommended work
        "180.00",  # the fee
        "".join(str(advisor).split()),
    ):
        assert expected in report, expected
    _log_out(page)

    # 3. The customer gets the key and the umbrella back and signs for the car.
    login(advisor)
    page.goto(page.base_url + delivery_url)
    page.click("#hand-back-link")
    for name in ("returned_belongings", "belongings_returned", "keys_returned", "covers_removed"):
        page.check(f"input[name={name}]")
    _sign(page, "handback-pad")
    page.click("#hand-back-form button[type=submit]")
    page.wait_for_url("**/tablet/hand-back/")
    _unlock(page)
    page.wait_for_selector("text=已交车，请送客户离店")
    page.shot("not-repaired-4-delivered")

    stored = Visit.objects.get(pk=visit.pk)
    assert stored.status == VisitStatus.DELIVERED
    assert stored.delivery.keys_returned and stored.delivery.returned_belonging_ids
    assert DeclinedWork.objects.filter(vehicle=stored.vehicle).count() == 2
