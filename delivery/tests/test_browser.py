"""In the browser, in Chinese: final check → settlement → delivery sheet PDF → gate pass →
the customer's signature on the tablet."""

import io
import os

import pytest
from pypdf import PdfReader

from dealership.tests.factories import TEST_PASSWORD
from delivery.tests.factories import ready_visit, staff
from reception.models import Belonging, Visit
from reception.states import VisitStatus

pytestmark = pytest.mark.browser


def _log_out(page):
    page.click("header form[action='/logout/'] button")
    page.wait_for_url(lambda url: "/login/" in url)


def _pdf_text(page, url: str, name: str) -> str:
    response = page.request.get(page.base_url + url)
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    body = response.body()
    os.makedirs(os.environ.get("SCREENSHOT_DIR", "var/screenshots"), exist_ok=True)
    with open(os.path.join(os.environ.get("SCREENSHOT_DIR", "var/screenshots"), name), "wb") as out:
        out.write(body)
    return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(body)).pages)


@pytest.mark.viewport(1180, 820)
def test_final_check_settlement_sheet_gate_pass_and_signature(page, login, plans):
    advisor = staff("advisor", username="advisor-wang")
    cashier = staff("cashier", username="cashier-xu")
    visit, _order = ready_visit(advisor=advisor, keep_old_parts=True)
    Belonging.objects.create(visit=visit, description="行车记录仪", handling="left_in_car")
    url = f"/delivery/visits/{visit.pk}/"

    # 1. The advisor's final check against the order.
    login(advisor)
    page.goto(page.base_url + url)
    assert "对照工单终检" in page.content()
    form = page.locator("#final-check-form")
    for box in form.locator("input[name=lines]").all():
        box.check()
    for name in ("exterior_matches", "no_tools_left", "settings_restored"):
        form.locator(f"input[name={name}]").check()
    form.locator("button[type=submit]").click()
    assert page.locator("#field-belongings_present .errorlist").inner_text() == (
        "请核对随车物品清单是否齐全。"
    )
    page.shot("delivery-1-final-check-refused")
    form = page.locator("#final-check-form")
    for box in form.locator("input[name=lines]").all():
        box.check()
    for name in ("exterior_matches", "no_tools_left", "settings_restored", "belongings_present"):
        form.locator(f"input[name={name}]").check()
    assert form.locator("select[name=old_parts_handling]").input_value() == "handed_over"
    form.locator("button[type=submit]").click()
    page.wait_for_selector("text=终检已记录。")
    page.shot("delivery-2-final-check-done")
    _log_out(page)

    # 2. The cashier settles: cash, with change.
    login(cashier)
    page.goto(page.base_url + "/delivery/cashier/")
    page.click(f"#cashier-queue a[href='{url}#settle']")
    page.fill("input[name=cash_amount]", "999")
    page.click("#settle-form button[type=submit]")
    assert "付款合计 ¥999.00，但应收金额为 ¥1,000.00" in page.locator(".errorlist").inner_text()
    page.fill("input[name=cash_amount]", "1000")
    page.fill("input[name=cash_tendered]", "1100")
    page.click("#settle-form button[type=submit]")
    page.wait_for_selector("text=应找零：¥100.00。")
    invoice = page.locator("#settlement-done strong").first.inner_text()
    assert invoice.startswith("结算单 JS")
    page.shot("delivery-3-settled")

    # 3. The delivery sheet: care notes on top, the next service at the bottom.
    sheet = _pdf_text(page, page.locator("#sheet-link").get_attribute("href"), "delivery-sheet.pdf")
    assert "新刹车片需要磨合" in sheet
    assert "下次保养：行驶至 50000 公里" in sheet
    receipt = _pdf_text(page, page.locator("#receipt-link").get_attribute("href"), "receipt.pdf")
    assert invoice.split()[-1] in receipt

    # 4. The gate pass, only now that the bill is paid.
    page.click("#issue-gate-pass")
    page.wait_for_selector("text=已开具出门证")
    gate = _pdf_text(page, page.locator("#gate-pass-link").get_attribute("href"), "gate-pass.pdf")
    # The plate is printed large and letter-spaced: text extraction may split it with blanks.
    assert "出门证" in gate and visit.vehicle.plate in "".join(gate.split())
    page.shot("delivery-4-gate-pass")
    _log_out(page)

    # 5. The customer signs for the car on the tablet.
    login(advisor)
    page.goto(page.base_url + url)
    page.click("#hand-back-link")
    # The dash cam listed at check-in is ticked by itself, then the rest.
    for name in (
        "returned_belongings",
        "belongings_returned",
        "keys_returned",
        "covers_removed",
        "old_parts_returned",
    ):
        page.check(f"input[name={name}]")
    page.click("#hand-back-form button[type=submit]")
    assert "客户尚未签字" in page.locator("#hand-back-form").inner_text()
    for name in (
        "returned_belongings",
        "belongings_returned",
        "keys_returned",
        "covers_removed",
        "old_parts_returned",
    ):
        page.check(f"input[name={name}]")
    pad = page.locator("#handback-pad").bounding_box()
    page.mouse.move(pad["x"] + 40, pad["y"] + 150)
    page.mouse.down()
    for x, y in ((120, 60), (200, 170), (300, 80), (420, 140)):
        page.mouse.move(pad["x"] + x, pad["y"] + y, steps=6)
    page.mouse.up()
    page.shot("delivery-5-signing")
    page.click("#hand-back-form button[type=submit]")
    # The tablet waits for the staff member's password before any staff page.
    page.wait_for_url("**/tablet/hand-back/")
    assert "签名完成，请将平板交还服务顾问" in page.inner_text("main")
    page.click("#tablet-unlock summary")
    page.fill("#tablet-unlock input[name=password]", TEST_PASSWORD)
    page.click("#tablet-unlock button[type=submit]")
    page.wait_for_selector("text=已交车，请送客户离店")
    assert page.locator("#visit-status").inner_text() == "已交车"
    page.shot("delivery-6-delivered")

    visit = Visit.objects.get(pk=visit.pk)
    assert visit.status == VisitStatus.DELIVERED
    assert visit.delivery.handback_signature
