"""Customer care works through the 24 h call list in Chinese, in a real browser."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dealership.models import DueTask
from dealership.tests.factories import CustomerFactory
from followup import duties as K
from followup.models import Complaint, Survey
from followup.tests.factories import delivered_visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _roles():
    """An earlier transactional test flushes the role groups the migrations created."""
    from django.contrib.auth.models import Group

    from dealership.roles import Role

    for role in Role:
        Group.objects.get_or_create(name=role)


def _due(visit, when) -> DueTask:
    task = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    DueTask.objects.filter(pk=task.pk).update(due_at=when, run_after=when)
    return task


@pytest.mark.viewport(1180, 820)
def test_customer_care_works_through_the_24h_list(page, login, make_staff):
    now = timezone.now()
    first = delivered_visit(customer=CustomerFactory(name="陈静"))
    second = delivered_visit(customer=CustomerFactory(name="刘洋"))
    opted_out = delivered_visit(customer=CustomerFactory(name="赵敏"))
    first_call = _due(first, now - timedelta(hours=20))
    second_call = _due(second, now - timedelta(minutes=5))
    _due(opted_out, now - timedelta(hours=30))
    opted_out.customer.do_not_call = True
    opted_out.customer.save()
    login(make_staff("customer_care"))

    page.get_by_role("link", name="回访", exact=True).first.click()
    page.wait_for_selector("#call-list")
    rows = page.locator("#call-list tbody tr")
    assert rows.count() == 2  # the opted-out customer is left off
    assert "陈静" in rows.nth(0).inner_text() and "逾期" in rows.nth(0).inner_text()
    assert "刘洋" in rows.nth(1).inner_text()
    assert "赵敏" not in page.content()
    page.shot("followup-care-list")

    rows.nth(0).get_by_role("button", name="拨打").click()
    page.wait_for_url(f"**/followup/call/{first_call.pk}/")
    assert "24小时客服回访" in page.locator("h2").inner_text()
    assert not page.locator("#survey").is_visible()
    # On the tablet the outcome and its buttons are on screen without scrolling.
    assert page.get_by_role("button", name="保存并打下一个").bounding_box()["y"] < 820
    page.get_by_label("已接通，完成问卷").check()
    assert page.locator("#survey").is_visible()
    for field in ("overall", "explanation", "car_clean", "would_recommend"):
        page.locator(f"#field-{field}").get_by_text("9", exact=True).click()
    page.locator("#field-on_time").get_by_text("4", exact=True).click()
    page.fill("textarea[name=customer_words]", "说好五点交车，等到七点")
    page.shot("followup-care-call-survey")
    page.get_by_role("button", name="保存并打下一个").click()

    page.wait_for_url(f"**/followup/call/{second_call.pk}/")
    messages = page.locator(".messages").inner_text()
    assert "结果已记录" in messages and "已生成投诉" in messages
    page.get_by_label("联系不上").check()
    page.get_by_role("button", name="保存并返回列表").click()

    page.wait_for_url("**/followup/calls/care/")
    assert "未接通" in page.locator(".messages").inner_text()
    assert "陈静" not in page.locator("#call-list").inner_text()
    page.shot("followup-care-list-after")

    survey = Survey.objects.get()
    assert (survey.overall, survey.on_time) == (9, 4)
    complaint = Complaint.objects.get()
    assert complaint.category == "time" and complaint.description == "说好五点交车，等到七点"
    second_call.refresh_from_db()
    assert second_call.state == "pending" and len(second_call.payload["attempts"]) == 1

    page.goto(page.base_url + complaint.get_absolute_url())
    assert "说好五点交车，等到七点" in page.content()
    page.shot("followup-complaint")
    page.goto(page.base_url + f"/followup/archive/customer/{first.customer.pk}/")
    assert "客户档案" in page.content()
    page.shot("followup-archive")
