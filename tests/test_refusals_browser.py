"""Issue 15 item 4: every in-place form shows the server's refusal, in the browser, in Chinese.

A refusal used to be answered 400 and dropped by htmx (belongings), or rendered into a form the
page no longer shows (terms and a manual line on a stale order that was signed meanwhile, a
second settlement). Each form is submitted here with a refused value and its message is seen.
"""

import pytest

from delivery.tests.factories import checked_visit, staff
from delivery.tests.factories import services as delivery_services
from reception.services import belonging_add, visit_walkaround_sign
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url
from workorders.services import work_order_sign
from workorders.tests.factories import CONFIRMED, ready_to_sign_order

pytestmark = pytest.mark.browser


def test_belongings_form_shows_each_refusal_in_place(page, login):
    advisor = staff("advisor", username="advisor-refusals")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    kept = belonging_add(visit=visit, actor=advisor, description="雨伞", handling="left_in_car")
    login(advisor)
    page.goto(f"{page.base_url}/reception/visits/{visit.pk}/walkaround/")
    panel = page.locator("#belongings-panel")

    panel.locator("button[type=submit]").click()
    page.wait_for_selector("#belongings-panel #field-description .errorlist")
    assert "必填" in panel.locator("#field-description .errorlist").inner_text()

    panel = page.locator("#belongings-panel")
    panel.locator("input[name=description]").fill("笔记本电脑")
    panel.locator("input[name=is_valuable]").check()
    panel.locator("select[name=handling]").select_option("left_in_car")
    panel.locator("button[type=submit]").click()
    page.wait_for_selector("#belongings-panel #field-handling .errorlist")
    assert "贵重物品不能留在车内" in page.locator("#field-handling .errorlist").inner_text()
    page.shot("refusal-1-valuable-in-car")

    # The walk-around is signed on another tablet: removing from this stale page is refused.
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="张三"
    )
    page.locator(f"#belongings-panel button[hx-post$='/belongings/{kept.pk}/remove/']").click()
    page.wait_for_selector("#belongings-panel .alert.bad")
    assert page.locator("#belongings-panel .alert.bad").inner_text().strip()
    assert "雨伞" in page.locator("#belongings-panel").inner_text()


def test_terms_and_manual_line_on_an_order_signed_meanwhile_say_why(page, login):
    advisor = staff("advisor", username="advisor-stale-order")
    order = ready_to_sign_order(advisor=advisor)
    login(advisor)
    url = f"{page.base_url}/orders/{order.pk}/"
    page.goto(url)
    other_tab = page.context.new_page()
    other_tab.goto(url)

    work_order_sign(
        order=order, actor=advisor, signature=signature_data_url(), signer_name="陈静", **CONFIRMED
    )

    page.fill("#terms-form textarea[name=notes]", "客户改时间")
    page.click("#terms-save")
    alert = page.locator("main .alert.bad[role=alert]")
    assert alert.inner_text().strip(), "the refusal of the terms is shown at the top"
    page.shot("refusal-2-terms-on-signed-order")

    other_tab.click("#manual-line summary")
    other_tab.fill("#manual-line input[name=name]", "车内臭氧消毒")
    other_tab.locator("#manual-line button[type=submit]").click()
    assert other_tab.locator("main .alert.bad[role=alert]").inner_text().strip()
    other_tab.close()


def test_a_second_settlement_of_a_settled_visit_says_why(page, login):
    cashier = staff("cashier", username="cashier-twice")
    visit, _order = checked_visit()
    login(cashier)
    page.goto(f"{page.base_url}/delivery/visits/{visit.pk}/")
    page.fill("input[name=cash_amount]", "1000")

    from delivery.selectors import bill_for

    delivery_services.settlement_create(
        visit=visit,
        actor=staff("cashier"),
        payments=[{"method": "cash", "amount": bill_for(visit).customer_total}],
    )
    page.click("#settle-form button[type=submit]")
    alert = page.locator("main .alert.bad[role=alert]")
    assert "结算" in alert.inner_text()
    page.shot("refusal-3-second-settlement")
