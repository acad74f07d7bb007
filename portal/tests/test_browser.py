"""The portal on a 390 px phone: the SMS link → the visit → approve the extra work →
(the car is delivered) → the survey; screenshots in /tmp/portal-*.png."""

import re
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from dealership.due import State
from dealership.models import DueTask
from dealership.roles import Role
from followup import duties as K
from followup.models import Complaint, Survey
from followup.services import followup_schedule_after_delivery
from portal.services import portal_link_send
from reception.services import visit_transition
from reception.states import VisitStatus
from workshop.models import Addition
from workshop.states import AdditionStatus

from .helpers import proposed_addition

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

S = VisitStatus
TO_DELIVERED = (S.WORK_DONE, S.QC_PASSED, S.READY_FOR_PICKUP, S.SETTLED, S.DELIVERED)


@pytest.fixture(autouse=True)
def _roles():
    """An earlier transactional test flushes the role groups the migrations created."""
    for role in Role:
        Group.objects.get_or_create(name=role)


def _deliver(visit):
    visit.refresh_from_db()
    if visit.status == S.ON_HOLD:
        visit = visit_transition(visit=visit, to=S.IN_PROGRESS, actor=visit.advisor)
    for status in TO_DELIVERED:
        visit = visit_transition(visit=visit, to=status, actor=visit.advisor)
    followup_schedule_after_delivery(visit=visit, actor=visit.advisor)
    return visit


def _shot(page, name):
    page.screenshot(path=Path(tempfile.gettempdir()) / f"portal-{name}.png", full_page=True)


@pytest.mark.viewport(390, 844)
def test_a_customer_approves_extra_work_and_answers_the_survey_on_the_phone(page, sms):
    visit, addition = proposed_addition()
    portal_link_send(customer=visit.customer, actor=visit.advisor, base_url=page.base_url)
    link = re.search(r"https?://\S+/portal/link/\S+/", sms[-1]["text"]).group(0)

    page.goto(link)
    page.wait_for_selector(f"#current-visit-{visit.pk}")
    assert page.locator("#store-phone").get_attribute("href").startswith("tel:")
    assert page.locator("#store-address").is_visible()
    # Nothing runs wider than the phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "home")

    page.locator(f"#current-visit-{visit.pk}").click()
    page.wait_for_selector(f"#addition-{addition.pk}")
    assert page.locator("#steps li.current").inner_text().startswith("维修中")
    assert page.locator(f"#addition-{addition.pk} img").count() == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "visit")

    page.locator(f"#approve-{addition.pk}").click()
    page.wait_for_selector(".messages")
    assert Addition.objects.get(pk=addition.pk).status == AdditionStatus.APPROVED
    assert "同意" in page.locator(f"#addition-{addition.pk}").inner_text()
    _shot(page, "approved")

    _deliver(visit)
    page.reload()
    page.locator("#survey-link").click()
    page.wait_for_selector("#send-survey")
    for name in Survey.QUESTIONS:
        page.locator(f"input[name={name}][value='9']").check()
    page.fill("textarea[name=customer_words]", "服务很好，刹车片换得及时")
    _shot(page, "survey")
    page.locator("#send-survey").click()
    page.wait_for_selector("#survey-done")
    call = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    assert call.state == State.DONE and Survey.objects.get(visit=visit).overall == 9

    page.locator("#lang-switch").click()
    page.wait_for_selector("#survey-done")
    assert "Thank you for answering our survey." in page.locator("#survey-done").inner_text()
    _shot(page, "after-survey-en")

    page.get_by_role("link", name="Not happy? Tell us").click()
    page.fill("textarea[name=description]", "The car came back with a scratch on the door")
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector("[id^=complaint-]")
    complaint = Complaint.objects.get(customer=visit.customer)
    assert complaint.source == "portal" and complaint.visit_id == visit.pk
    assert complaint.number in page.locator(f"#complaint-{complaint.pk}").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    _shot(page, "complaints")
