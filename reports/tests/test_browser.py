"""The monthly report in a real browser: charts drawn, drill-down followed, PDF fetched."""

import os

import pytest

from reports.tests import test_figures as data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_reads_the_month_and_drills_into_late_deliveries(page, login, make_staff):
    visits = data.build_store()
    login(make_staff("service_manager"))
    page.goto(page.base_url + "/reports/?period=month&date=2026-01-01")
    assert page.locator("svg").count() == 4
    assert page.locator("tr[data-figure=repair_orders] td").nth(1).inner_text() == "4"
    page.shot("reports-month")
    page.click("tr[data-figure=late] a")
    page.wait_for_url("**/reports/visits/**")
    assert visits["v2"].number in page.content()
    page.shot("reports-drill")
    pdf = page.request.get(page.base_url + "/reports/report.pdf?period=month&date=2026-01-01")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    folder = os.environ.get("SCREENSHOT_DIR", "var/screenshots")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "reports-month.pdf"), "wb") as handle:
        handle.write(pdf.body())


@pytest.mark.language("en")
@pytest.mark.viewport(1180, 820)
def test_the_weekly_report_reads_in_english_on_a_tablet(page, login, make_staff):
    data.build_store()
    login(make_staff("service_manager"))
    page.goto(page.base_url + "/reports/?period=week&date=2026-01-11")
    assert page.locator("h2").first.inner_text().startswith("Reports")
    assert page.locator(".report-kinds a[aria-current=page]").inner_text() == "Weekly"
    row = page.locator("tr[data-figure=repair_orders]")
    assert row.locator("td").nth(1).inner_text() == "2"  # v1 on Monday 5, v2 on Sunday 11
    # The figures table fits the tablet's width: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 1180
    page.shot("reports-week-en-tablet")
