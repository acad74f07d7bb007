"""The workshop end to end in Chromium, in Chinese: dispatch → clock on → finding → the customer
approves through the link → clock off → QC fail → rework → QC pass."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dealership.tests.factories import LabourOperationFactory, PartFactory
from reception.models import Visit
from reception.states import VisitStatus
from workorders.models import WorkOrder
from workshop.models import Addition, Job, QualityCheck
from workshop.states import AdditionStatus, JobStatus

from .factories import BayFactory, make_signed_visit, make_technician
from .test_images import png_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("role_groups"),
]


@pytest.fixture
def as_user(page, login):
    """Switch the tab to another person (or to the anonymous customer with None)."""

    def switch(user):
        page.context.clear_cookies()
        page.context.add_cookies(
            [{"name": "django_language", "value": "zh-hans", "url": page.base_url}]
        )
        if user is not None:
            login(user)
        return page

    return switch


def _self_check_and_clock_off(page, job):
    card = page.locator(f"#job-{job.pk}")
    for box in card.locator("input[name=self_check]").all():
        box.check()
    card.get_by_role("button", name="完工").click()
    page.wait_for_selector(".messages li")


def test_dispatch_clock_on_finding_link_approval_clock_off_qc_fail_rework_qc_pass(
    page, as_user, make_staff
):
    controller = make_staff("workshop_controller")
    inspector = make_staff("qc_inspector")
    tech = make_technician(team="机修组")
    bay = BayFactory(code="M1", name="机修工位1")
    visit = make_signed_visit(jobs=1, hours="1.00", promised_in=timedelta(hours=5))
    operation = LabourOperationFactory(
        name_zh="更换前刹车片", standard_hours="0.50", price="150.00", work_type="repair"
    )
    part = PartFactory(name_zh="前刹车片", price="380.00")
    plate = visit.vehicle.plate

    # The controller dispatches the order from the board.
    as_user(controller).goto(page.base_url + "/workshop/")
    card = page.locator(f"#visit-{visit.pk}")
    assert plate in card.inner_text()
    assert card.locator("xpath=..").get_attribute("id") == "lane-waiting"
    page.shot("workshop-board-before")
    card.locator("summary").click()
    card.locator("select[name=technician]").select_option(str(tech.pk))
    card.locator("select[name=bay]").select_option(str(bay.pk))
    card.get_by_role("button", name="派工").click()
    page.wait_for_selector("text=已派给")
    assert (
        page.locator(f"#visit-{visit.pk}").locator("xpath=..").get_attribute("id")
        == "lane-dispatched"
    )
    assert "1.0 / 8.0 h" in page.locator(f"#load-{tech.pk}").inner_text()
    page.shot("workshop-board-dispatched")

    # The technician clocks on and reports a finding with a photo, proposing additional work.
    (job,) = Job.objects.filter(visit=visit)
    as_user(tech.user).goto(page.base_url + "/workshop/my-jobs/")
    page.locator(f"#job-{job.pk}").get_by_role("button", name="开工").click()
    page.wait_for_selector(f"#job-{job.pk}.running")
    page.locator(f"#job-{job.pk}").get_by_text("报告发现").click()
    page.fill("textarea[name=note]", "前刹车片剩余2mm，刹车盘有轻微沟槽")
    page.set_input_files(
        "input[name=photos]",
        files=[{"name": "pads.png", "mimeType": "image/png", "buffer": png_bytes()}],
    )
    page.get_by_role("button", name="保存并提出增项").click()
    page.wait_for_url("**/propose/")
    page.fill("input[name=title]", "更换前刹车片")
    page.fill("textarea[name=explanation]", "刹车片过薄，继续使用会损伤刹车盘，影响制动")
    page.select_option("select[name=operations]", [str(operation.pk)])
    page.select_option("select[name=parts]", [str(part.pk)])
    page.check("input[name=safety_related]")
    page.get_by_role("button", name="提交给客户").click()
    page.wait_for_url("**/my-jobs/")
    assert "等待客户答复" in page.content()
    page.shot("workshop-my-jobs-proposed")
    addition = Addition.objects.get()

    # The advisor sends the customer the link.
    as_user(visit.advisor).goto(page.base_url + f"/workshop/additions/{addition.pk}/")
    page.get_by_role("button", name="发送确认链接").click()
    page.wait_for_selector("text=链接正在发送给客户")
    link = page.locator("#customer-link").get_attribute("href")
    page.shot("workshop-addition-advisor")

    # The customer opens the link, sees the finding, photo, price and delay, and approves.
    as_user(None).goto(link)
    assert "前刹车片剩余2mm" in page.content() and "¥530.00" in page.content()
    assert "30" in page.locator(".approve-box").inner_text()
    photo = page.locator(".photos img").first
    # (no wait_for_function: Playwright builds its predicate with eval, which the CSP refuses)
    expect(photo).to_have_js_property("complete", True)
    assert photo.evaluate("img => img.naturalWidth") > 0
    page.shot("workshop-customer-approve")
    page.get_by_role("button", name="同意，请维修").click()
    page.wait_for_selector("#answer")
    assert "同意" in page.locator("#answer").inner_text()
    page.shot("workshop-customer-approved")
    addition.refresh_from_db()
    assert addition.status == AdditionStatus.APPROVED and addition.answer_channel == "link"
    assert WorkOrder.objects.get(visit=visit, revision=2).signed_via == "link"

    # The technician clocks off the first job, then does the approved work.
    as_user(tech.user).goto(page.base_url + "/workshop/my-jobs/")
    _self_check_and_clock_off(page, job)
    extra = Job.objects.get(addition=addition)
    assert extra.status == JobStatus.DISPATCHED
    page.locator(f"#job-{extra.pk}").get_by_role("button", name="开工").click()
    page.wait_for_selector(f"#job-{extra.pk}.running")
    _self_check_and_clock_off(page, extra)
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.WORK_DONE

    # The inspector fails the car: back to the technician as rework.
    as_user(inspector).goto(page.base_url + "/workshop/qc/")
    page.locator(f"a[href='/workshop/qc/{visit.pk}/']").click()
    page.wait_for_url(f"**/workshop/qc/{visit.pk}/")
    page.check("input[name=decision][value=fail]")
    page.fill("textarea[name=reason]", "刹车片安装后有异响")
    page.check(f"input[name=jobs][value='{extra.pk}']")
    page.get_by_role("button", name="提交质检结果").click()
    page.wait_for_selector("text=已退回返修")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.REWORK and visit.rework_count == 1

    as_user(tech.user).goto(page.base_url + "/workshop/my-jobs/")
    assert "返修 ×1" in page.locator(f"#job-{extra.pk}").inner_text()
    page.locator(f"#job-{extra.pk}").get_by_role("button", name="开工").click()
    page.wait_for_selector(f"#job-{extra.pk}.running")
    _self_check_and_clock_off(page, extra)

    # Re-inspected: an unticked item is refused next to the checklist, then it passes.
    as_user(inspector).goto(page.base_url + f"/workshop/qc/{visit.pk}/")
    assert "需要路试" in page.content()
    page.check("input[name=checklist][value=work_items_done]")
    page.check("input[name=decision][value=pass]")
    page.get_by_role("button", name="提交质检结果").click()
    error = page.locator("#field-checklist .errorlist")
    assert re.search("未检查", error.inner_text())
    page.shot("workshop-qc-refused")
    for box in page.locator("input[name=checklist]").all():
        box.check()
    page.check("input[name=decision][value=pass]")
    page.get_by_role("button", name="提交质检结果").click()
    page.wait_for_selector("text=质检合格。")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.QC_PASSED and visit.rework_count == 1
    assert [c.passed for c in QualityCheck.objects.order_by("at")] == [False, True]

    as_user(controller).goto(page.base_url + "/workshop/")
    card = page.locator(f"#visit-{visit.pk}")
    assert card.locator("xpath=..").get_attribute("id") == "lane-qc"
    assert card.locator(".tag.good").count() == 1  # QC passed, waiting for wash and ready
    page.shot("workshop-board-qc-passed")
