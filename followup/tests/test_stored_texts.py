"""Issue 15 item 16: texts the system stores are codes, shown in the reader's language."""

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dealership.models import DueTask
from followup import duties as K
from followup.models import ComplaintAction
from followup.tests.test_complaints import _open, _tasks

pytestmark = pytest.mark.django_db


def _get(client, user, url, language):
    client.force_login(user)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def test_a_missed_complaint_deadline_reads_in_the_readers_language(
    client, care, manager, run_dispatch
):
    complaint = _open(care, safety_related=True, description="刹车失灵")
    run_dispatch(now=complaint.opened_at + timedelta(hours=24, minutes=1))
    action = ComplaintAction.objects.get(complaint=complaint, code=K.NO_FIRST_RESPONSE)
    assert action.params == {"hours": 24}

    page = reverse("followup:complaint", args=[complaint.pk])
    english = _get(client, manager, page, "en")
    assert "No first response within 24 h." in english and "未首次响应" not in english
    assert "24 小时内未首次响应。" in _get(client, manager, page, "zh-hans")

    escalation = _tasks(complaint, kind=K.ESCALATION, slot="response").get()
    assert escalation.payload["note_code"] == K.NO_FIRST_RESPONSE
    due = _get(client, manager, reverse("due_queue"), "en")
    assert "No first response within 24 h." in due and "未首次响应" not in due


def test_an_addition_call_note_reads_in_the_readers_language(client, manager):
    from dealership.tests.factories import LabourOperationFactory
    from workshop import additions, services
    from workshop.duties import ADDITION_CALL, PROGRESS_CHECK
    from workshop.models import Job
    from workshop.tests.factories import make_signed_visit, make_technician
    from workshop.tests.test_images import png_bytes

    tech = make_technician()
    visit = make_signed_visit(jobs=1, promised_in=timedelta(hours=3))
    services.jobs_materialise(visit_ids=[visit.pk])
    (job,) = services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=None,
        actor=manager,
    )
    services.job_clock_on(job=job, actor=tech.user)
    finding = services.finding_report(
        job=job,
        actor=tech.user,
        note="前刹车片剩余2mm",
        photos=[SimpleUploadedFile("pads.png", png_bytes(), content_type="image/png")],
    )
    additions.addition_propose(
        visit=visit,
        actor=tech.user,
        finding=finding,
        title="更换前刹车片",
        explanation="刹车片过薄",
        operations=[LabourOperationFactory(standard_hours="0.75", price="180.00")],
        parts=[],
        safety_related=True,
    )
    call = DueTask.objects.get(kind=ADDITION_CALL)
    assert "note" not in call.payload and call.payload["note_params"]["safety"] is True
    assert DueTask.objects.get(kind=PROGRESS_CHECK).payload["note_code"]

    english = _get(client, manager, reverse("due_queue"), "en")
    assert "[safety-related]" in english and "涉及安全" not in english
    chinese = _get(client, manager, reverse("due_queue"), "zh-hans")
    assert "[涉及安全]" in chinese and "更换前刹车片" in chinese


def test_a_call_outcome_on_the_timeline_reads_in_the_readers_language(care):
    from django.utils import translation

    from dealership.due import due_task_complete
    from dealership.models import TimelineEvent
    from followup.tests.factories import delivered_visit

    visit = delivered_visit()
    task = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    with translation.override("zh-hans"):  # the care agent works in Chinese
        due_task_complete(task=task, actor=care, outcome="no_survey")
    event = TimelineEvent.objects.get(kind="due.completed")
    assert event.summary.startswith("24小时客服回访")

    with translation.override("en"):
        assert event.summary_text == "24 h care call: Reached, did not want the survey"
    with translation.override("zh-hans"):
        assert event.summary_text.startswith("24小时客服回访")


def test_the_complaint_timeline_reads_in_the_readers_language(care, manager, run_dispatch):
    from django.utils import translation

    from dealership.models import TimelineEvent

    with translation.override("zh-hans"):
        complaint = _open(care, safety_related=True, description="刹车失灵")
        run_dispatch(now=complaint.opened_at + timedelta(hours=24, minutes=1))
    escalated = TimelineEvent.objects.filter(
        kind="complaint.escalated", subject_id=complaint.pk
    ).latest("at")
    opened = TimelineEvent.objects.get(kind="complaint.opened", subject_id=complaint.pk)
    with translation.override("en"):
        assert escalated.summary_text.startswith(f"{complaint.number}: escalated to the service")
        assert escalated.summary_text.endswith("No first response within 24 h.")
        assert opened.summary_text.startswith(f"{complaint.number}: complaint logged (")
        assert opened.summary_text.endswith(": 刹车失灵")
    with translation.override("zh-hans"):
        assert "24 小时内未首次响应。" in escalated.summary_text
        assert "escalated" not in escalated.summary_text
        assert "complaint logged" not in opened.summary_text
