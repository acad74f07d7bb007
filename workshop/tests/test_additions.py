"""Additional work (增项): finding → proposal → the customer's answer by phone or link."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import formats, timezone, translation
from pypdf import PdfReader

from dealership.due import due_task_perform, due_tasks_dispatch
from dealership.errors import DomainError
from dealership.links import customer_link_resolve
from dealership.models import DueTask, Message, TimelineEvent
from dealership.tests.factories import LabourOperationFactory, PartFactory
from reception.models import DeclinedWork, Visit
from reception.selectors import vehicle_history
from reception.states import HoldReason, VisitStatus
from workorders.models import OrderStatus, WorkOrder, WorkOrderLine
from workorders.pdf import work_order_pdf
from workshop import additions, duties, services
from workshop.models import Addition, Finding, Job
from workshop.states import (
    ADDITION_STATES,
    SELF_CHECK_ITEMS,
    AdditionStatus,
    AnswerChannel,
    JobStatus,
)

from .factories import make_signed_visit, make_technician, refusal_code
from .test_images import png_bytes

pytestmark = pytest.mark.django_db

J = JobStatus
V = VisitStatus
ALL_CHECKS = [key for key, _label in SELF_CHECK_ITEMS]


@pytest.fixture
def working(controller, tech, bay):
    """A car with one job clocked on by `tech`."""
    visit = make_signed_visit(jobs=1, promised_in=timedelta(hours=3))
    services.jobs_materialise(visit_ids=[visit.pk])
    (job,) = services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    services.job_clock_on(job=job, actor=tech.user)
    visit.refresh_from_db()
    return visit, Job.objects.get(pk=job.pk)


@pytest.fixture
def proposed(working, tech):
    visit, job = working
    finding = services.finding_report(
        job=job,
        actor=tech.user,
        note="前刹车片剩余2mm",
        photos=[SimpleUploadedFile("pads.png", png_bytes(), content_type="image/png")],
    )
    operation = LabourOperationFactory(standard_hours="0.75", price="180.00", work_type="repair")
    part = PartFactory(price="320.00")
    addition = additions.addition_propose(
        visit=visit,
        actor=tech.user,
        finding=finding,
        title="更换前刹车片",
        explanation="刹车片过薄，继续使用会损伤刹车盘",
        operations=[operation],
        parts=[part],
        safety_related=True,
    )
    return visit, job, addition


def test_a_finding_keeps_the_note_and_photos(working, tech):
    _visit, job = working
    finding = services.finding_report(
        job=job,
        actor=tech.user,
        note="左前轮胎鼓包",
        photos=[
            SimpleUploadedFile(f"p{i}.png", png_bytes(), content_type="image/png") for i in range(2)
        ],
    )
    assert finding.photos.count() == 2
    assert Finding.objects.get(pk=finding.pk).job == job


def test_a_finding_on_someone_elses_job_is_refused(working):
    _visit, job = working
    with pytest.raises(DomainError):
        services.finding_report(job=job, actor=make_technician().user, note="x")
    assert not Finding.objects.exists()


def test_a_proposal_prices_the_work_alerts_the_advisor_and_makes_a_customer_link(proposed):
    visit, _job, addition = proposed
    assert addition.status == AdditionStatus.PROPOSED
    assert addition.price == Decimal("500.00")
    assert addition.extra_minutes == 45
    assert addition.safety_related
    (job,) = addition.jobs.all()
    assert job.status == J.PROPOSED and job.technician is None
    call = DueTask.objects.get(kind=duties.ADDITION_CALL)
    assert call.for_person and call.assigned_to == visit.advisor and call.state == "pending"
    assert "更换前刹车片" in call.note_text
    link = customer_link_resolve(addition.link_token, purpose=additions.ADDITION_PURPOSE)
    assert link.subject == addition


def test_proposals_need_work_and_a_car_in_the_workshop(working, tech):
    visit, _job = working
    with pytest.raises(DomainError):
        additions.addition_propose(visit=visit, actor=tech.user, title="x")
    with pytest.raises(DomainError):
        additions.addition_propose(visit=visit, actor=tech.user, title="", parts=[PartFactory()])
    signed = make_signed_visit(jobs=1)
    with pytest.raises(DomainError):
        additions.addition_propose(visit=signed, actor=tech.user, title="x", parts=[PartFactory()])
    assert not Addition.objects.exists()


def test_work_on_an_addition_cannot_start_before_approval(proposed, tech):
    visit, job, addition = proposed
    services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)
    (extra,) = addition.jobs.all()
    with pytest.raises(DomainError) as refused:
        services.job_clock_on(job=extra, actor=tech.user)
    assert refusal_code(refused.value) == "not_approved"
    assert Job.objects.get(pk=extra.pk).status == J.PROPOSED
    # Nothing else to do: the car waits for the customer.
    visit.refresh_from_db()
    assert (visit.status, visit.hold_reason) == (V.ON_HOLD, HoldReason.AWAITING_APPROVAL)


def test_approval_by_phone_revises_the_order_moves_the_promise_and_hands_the_work_over(
    proposed, tech, make_staff
):
    visit, job, addition = proposed
    advisor = visit.advisor
    promised_before = visit.promised_at
    services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)

    additions.addition_approve(
        addition=addition,
        actor=advisor,
        channel=AnswerChannel.PHONE,
        answered_by="车主本人",
        note="同意更换，尽快修好",
    )

    addition.refresh_from_db()
    assert addition.status == AdditionStatus.APPROVED
    assert (addition.answer_channel, addition.answered_by, addition.recorded_by) == (
        "phone",
        "车主本人",
        advisor,
    )
    revision = WorkOrder.objects.get(visit=visit, revision=2)
    assert addition.revision == revision
    assert (revision.status, revision.signed_via) == (OrderStatus.SIGNED, "phone")
    assert revision.approval_note == "同意更换，尽快修好"
    assert WorkOrder.objects.get(visit=visit, revision=1).status == OrderStatus.SUPERSEDED
    assert revision.lines.filter(is_additional=True).count() == 2
    visit.refresh_from_db()
    assert visit.promised_at == promised_before + timedelta(minutes=45)
    assert addition.promised_after == visit.promised_at
    (extra,) = addition.jobs.all()
    assert (extra.status, extra.technician, extra.bay) == (J.DISPATCHED, tech, job.bay)
    assert extra.order_line.order == revision and extra.position == extra.order_line.position
    assert visit.status == V.IN_PROGRESS
    call = DueTask.objects.get(kind=duties.ADDITION_CALL)
    assert (call.state, call.outcome, call.completed_by) == ("done", "answered", advisor)
    # The approved work now starts, and no duplicate job appears for the new revision's lines.
    services.job_clock_on(job=extra, actor=tech.user)
    assert services.jobs_materialise() == 0


def test_approval_through_the_link_is_signed_via_link(proposed):
    visit, _job, addition = proposed
    additions.addition_approve(addition=addition, actor=None, channel=AnswerChannel.LINK)
    addition.refresh_from_db()
    assert addition.answered_by == visit.customer.name
    assert addition.revision.signed_via == "link"
    assert addition.recorded_by is None


def test_a_second_answer_is_refused_and_changes_nothing(proposed):
    visit, _job, addition = proposed
    additions.addition_approve(addition=addition, actor=None, channel=AnswerChannel.LINK)
    with pytest.raises(DomainError) as refused:
        additions.addition_decline(
            addition=addition, actor=visit.advisor, channel=AnswerChannel.PHONE, reason="贵"
        )
    assert refusal_code(refused.value) == "already_answered"
    assert WorkOrder.objects.filter(visit=visit).count() == 2
    assert Addition.objects.get(pk=addition.pk).status == AdditionStatus.APPROVED
    assert not DeclinedWork.objects.exists()


def test_the_phone_answer_must_say_what_the_customer_said(proposed):
    visit, _job, addition = proposed
    with pytest.raises(DomainError):
        additions.addition_approve(addition=addition, actor=visit.advisor, channel="phone")
    with pytest.raises(DomainError):
        additions.addition_decline(addition=addition, actor=visit.advisor, channel="phone")
    with pytest.raises(DomainError):
        additions.addition_approve(addition=addition, actor=visit.advisor, channel="fax", note="ok")
    assert Addition.objects.get(pk=addition.pk).status == AdditionStatus.PROPOSED
    assert WorkOrder.objects.filter(visit=visit).count() == 1


def test_declined_work_is_kept_on_the_vehicle_and_shows_at_the_next_check_in(proposed, tech):
    visit, job, addition = proposed
    services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)
    additions.addition_decline(
        addition=addition,
        actor=visit.advisor,
        channel=AnswerChannel.PHONE,
        reason="下次保养再换",
        answered_by="车主本人",
    )
    addition.refresh_from_db()
    assert addition.status == AdditionStatus.DECLINED
    assert addition.jobs.get().status == J.CANCELLED
    declined = DeclinedWork.objects.get(vehicle=visit.vehicle)
    assert "更换前刹车片" in declined.description and "下次保养再换" in declined.description
    assert declined.estimated_amount == Decimal("500.00")
    assert declined in vehicle_history(visit.vehicle).declined
    visit.refresh_from_db()
    assert visit.status == V.WORK_DONE
    assert WorkOrder.objects.filter(visit=visit).count() == 1


def test_a_withdrawn_proposal_cancels_its_jobs_and_the_call(proposed):
    visit, _job, addition = proposed
    with pytest.raises(DomainError):
        additions.addition_withdraw(addition=addition, actor=visit.advisor, reason="")
    additions.addition_withdraw(addition=addition, actor=visit.advisor, reason="技师看错了")
    assert addition.jobs.get().status == J.CANCELLED
    assert DueTask.objects.get(kind=duties.ADDITION_CALL).outcome == "not_needed"
    with pytest.raises(DomainError) as refused:
        additions.addition_approve(addition=addition, actor=None, channel="link")
    assert refusal_code(refused.value) == "withdrawn"


@pytest.mark.parametrize("status", list(AdditionStatus), ids=str)
def test_only_a_proposal_waiting_for_its_answer_can_be_answered(status, proposed):
    _visit, _job, addition = proposed
    Addition.objects.filter(pk=addition.pk).update(status=status)
    moves = {
        AdditionStatus.APPROVED: lambda: additions.addition_approve(
            addition=addition, actor=None, channel="link"
        ),
        AdditionStatus.DECLINED: lambda: additions.addition_decline(
            addition=addition, actor=None, channel="link"
        ),
        AdditionStatus.WITHDRAWN: lambda: additions.addition_withdraw(
            addition=addition, actor=None, reason="x"
        ),
    }
    for target, move in moves.items():
        if ADDITION_STATES.allows(status, target) and status == AdditionStatus.PROPOSED:
            continue
        with pytest.raises(DomainError):
            move()
        assert Addition.objects.get(pk=addition.pk).status == status


def test_sending_the_link_messages_the_customer_with_it(proposed, make_staff):
    visit, _job, addition = proposed
    url = additions.addition_send_link(
        addition=addition, actor=visit.advisor, base_url="https://desk.example"
    )
    assert url.startswith("https://desk.example/workshop/approve/")
    task = DueTask.objects.get(kind=duties.ADDITION_LINK)
    assert task.payload["url"] == url and not task.for_person
    duties.send_addition_link(task)
    message = Message.objects.get(template="workshop_addition_link")
    assert url in message.body and "更换前刹车片" in message.body
    assert message.customer == visit.customer


def _perform_due(kind):
    due_tasks_dispatch(now=timezone.now())
    for task in DueTask.objects.filter(kind=kind, state="claimed"):
        due_task_perform(task_id=task.pk)


def test_approval_through_the_link_prints_the_new_promise_and_tells_the_customer_once(proposed):
    """Issue 15 item 6: the revision carries the promise in force; one message with the time."""

    visit, _job, addition = proposed
    promised_before = visit.promised_at
    additions.addition_approve(addition=addition, actor=None, channel=AnswerChannel.LINK)
    _perform_due(duties.PROMISE_NOTICE)
    _perform_due(duties.PROMISE_NOTICE)  # a second round sends nothing more

    visit.refresh_from_db()
    assert visit.promised_at == promised_before + timedelta(minutes=45)
    revision = WorkOrder.objects.get(visit=visit, revision=2)
    assert revision.promised_at == visit.promised_at
    when = formats.date_format(timezone.localtime(visit.promised_at), "Y-m-d H:i")
    before = formats.date_format(timezone.localtime(promised_before), "Y-m-d H:i")
    (message,) = Message.objects.filter(customer=visit.customer, body__contains=when)
    assert message.status == "sent" and "更换前刹车片" in message.body
    assert before in message.body and "感谢您同意" in message.body

    reader = PdfReader(io.BytesIO(work_order_pdf(revision)))
    text = "".join(page.extract_text() for page in reader.pages)
    assert when in text and before not in text.replace(when, "")


def test_a_long_revision_still_prints_on_one_page(proposed):
    """Issue 15 item 6: the signature block never spills onto a second sheet."""

    visit, _job, addition = proposed
    order = WorkOrder.objects.get(visit=visit, revision=1)
    for i in range(5):
        WorkOrderLine.objects.create(
            order=order,
            position=order.lines.count() + 1,
            kind="labour",
            code=f"X{i}",
            name_zh=f"检查项目{i}",
            name_en=f"Check {i}",
            hours=Decimal("0.5"),
            unit_price=Decimal("100"),
        )
    Visit.objects.filter(pk=visit.pk).update(
        concern_text="冷车启动有异响\n刹车时有异响\n空调不凉",
        diagnosis="前刹车片磨损到极限，需要更换；空调滤芯堵塞",
        exterior_notes="左前门划痕",
        interior_notes="座椅有污渍",
    )
    additions.addition_approve(addition=addition, actor=None, channel=AnswerChannel.LINK)
    revision = WorkOrder.objects.get(visit=visit, revision=2)

    reader = PdfReader(io.BytesIO(work_order_pdf(revision, progress_url="https://x.test/p/a")))

    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert "客户签字" in text and "服务顾问" in text and "通过链接" in text


def test_the_promise_move_for_approved_work_reads_in_the_readers_language(proposed, tech):
    visit, job, addition = proposed
    services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)
    with translation.override("zh-hans"):
        additions.addition_approve(
            addition=addition,
            actor=visit.advisor,
            channel=AnswerChannel.PHONE,
            answered_by="车主",
            note="同意",
        )
    line = TimelineEvent.objects.get(kind="visit.promise_changed", subject_id=visit.pk)
    with translation.override("en"):
        english = line.summary_text
    with translation.override("zh-hans"):
        chinese = line.summary_text
    assert f"additional work approved: {addition.title}" in english
    assert "promised time moved to" in english
    assert addition.title in chinese and "additional work approved" not in chinese


@pytest.mark.parametrize(
    ("channel", "words"), [(AnswerChannel.PHONE, "同意更换"), (AnswerChannel.LINK, "")]
)
def test_an_approved_addition_publishes_order_signed_once(proposed, published, channel, words):
    visit, _job, addition = proposed
    actor = visit.advisor if channel == AnswerChannel.PHONE else None
    with published.commit():
        additions.addition_approve(addition=addition, actor=actor, channel=channel, note=words)
    addition.refresh_from_db()
    signed = published.of("order.signed")
    assert [(e.data["order"], e.data["revision"], e.data["visit"]) for e in signed] == [
        (addition.revision_id, 2, visit.pk)
    ]
    assert len(published.of("addition.answered")) == 1


def test_a_declined_addition_signs_nothing(proposed, published):
    visit, _job, addition = proposed
    with published.commit():
        additions.addition_decline(
            addition=addition, actor=visit.advisor, channel=AnswerChannel.PHONE, reason="太贵"
        )
    assert published.of("order.signed") == []
    assert len(published.of("addition.answered")) == 1
