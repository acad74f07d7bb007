"""The satisfaction survey on the care call: scores 1–10; a low answer opens a complaint."""

import pytest
from django.urls import reverse

from dealership.errors import DomainError
from dealership.models import DueTask, TimelineEvent
from dealership.rules import rule_set
from followup import duties as K
from followup.models import Complaint, Survey
from followup.services import call_record
from followup.tests.factories import delivered_visit

pytestmark = pytest.mark.django_db

GOOD = {
    "overall": 9,
    "explanation": 9,
    "on_time": 10,
    "car_clean": 8,
    "would_recommend": 9,
    "customer_words": "师傅很专业",
}


def _care_call(visit) -> DueTask:
    return DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)


def test_good_answers_are_kept_and_open_nothing(care):
    visit = delivered_visit()
    result = call_record(task=_care_call(visit), actor=care, outcome="surveyed", survey=GOOD)

    survey = Survey.objects.get()
    assert result.survey == survey and result.complaint is None
    assert (survey.overall, survey.car_clean, survey.customer_words) == (9, 8, "师傅很专业")
    assert survey.visit == visit and survey.vehicle == visit.vehicle and survey.taken_by == care
    assert not Complaint.objects.exists()
    assert TimelineEvent.objects.filter(kind="followup.survey", customer=visit.customer).exists()


def test_a_low_score_opens_a_complaint(care):
    visit = delivered_visit()
    answers = {**GOOD, "on_time": 4, "customer_words": "说好五点交车，七点才好"}

    result = call_record(task=_care_call(visit), actor=care, outcome="surveyed", survey=answers)

    complaint = Complaint.objects.get()
    assert result.complaint == complaint
    assert complaint.source == "survey" and complaint.category == "time"
    assert complaint.description == "说好五点交车，七点才好"
    assert complaint.visit == visit and complaint.vehicle == visit.vehicle
    assert complaint.survey == result.survey and complaint.owner == care
    assert complaint.severity == "normal" and complaint.status == "open"
    opened = complaint.actions.get(kind="opened")
    assert "4/10" in opened.text


def test_the_score_that_opens_a_complaint_is_a_rule(care):
    rule_set("followup.survey_complaint_score", 8)
    visit = delivered_visit()
    call_record(task=_care_call(visit), actor=care, outcome="surveyed", survey=GOOD)
    assert Complaint.objects.get().category == "quality"  # car clean: 8


@pytest.mark.parametrize("bad", [0, 11, -3, "abc", None, "7.5"])
def test_a_score_out_of_range_is_refused_and_nothing_is_recorded(care, bad):
    task = _care_call(delivered_visit())
    with pytest.raises(DomainError) as refused:
        call_record(task=task, actor=care, outcome="surveyed", survey={**GOOD, "explanation": bad})
    assert "explanation" in refused.value.message_dict
    assert "1" in refused.value.message_dict["explanation"][0]
    task.refresh_from_db()
    assert task.state == DueTask.State.PENDING
    assert not Survey.objects.exists()


def test_the_page_refuses_an_out_of_range_score_next_to_the_question(client, care):
    task = _care_call(delivered_visit())
    client.force_login(care)
    response = client.post(
        reverse("followup:call", args=[task.pk]),
        {**GOOD, "overall": 11, "outcome": "surveyed", "attempts_seen": 0},
    )
    assert response.status_code == 400
    assert "请按 1 到 10 分回答" in response.content.decode()
    assert not Survey.objects.exists()


def test_the_page_asks_for_every_answer_when_the_survey_was_taken(client, care):
    task = _care_call(delivered_visit())
    client.force_login(care)
    response = client.post(
        reverse("followup:call", args=[task.pk]),
        {"overall": 9, "outcome": "surveyed", "attempts_seen": 0},
    )
    assert response.status_code == 400
    task.refresh_from_db()
    assert task.state == DueTask.State.PENDING
