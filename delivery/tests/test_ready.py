"""Ready for pick-up: the wash guard and the ready notice through the due-task table."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from dealership.due import due_task_perform, due_tasks_dispatch
from dealership.errors import DomainError
from dealership.models import DueTask, Message
from dealership.rules import rule_set
from delivery import services
from delivery.duties import READY_NOTICE
from delivery.models import Delivery
from delivery.tests.factories import TO_QC, qc_passed_visit, signed_visit, walk
from delivery.tests.test_ready_notice import _open_around_the_clock
from reception.models import Visit
from reception.states import VisitStatus

pytestmark = pytest.mark.django_db
S = VisitStatus


@pytest.fixture(autouse=True)
def _store_open_around_the_clock():
    """These tests are about the hours before the promise, not about opening hours."""

    _open_around_the_clock()


def _notice(visit) -> DueTask:
    return DueTask.objects.get(
        kind=READY_NOTICE,
        subject_type=ContentType.objects.get_for_model(Visit),
        subject_id=visit.pk,
    )


def test_marking_ready_moves_the_visit_and_schedules_the_notice_an_hour_before():
    visit, _order = qc_passed_visit(promised_in=timedelta(hours=5))

    services.visit_mark_ready(visit=visit, actor=visit.advisor)

    stored = Visit.objects.get(pk=visit.pk)
    assert stored.status == S.READY_FOR_PICKUP and stored.ready_at is not None
    assert visit.status == S.READY_FOR_PICKUP
    task = _notice(visit)
    assert task.due_at == stored.promised_at - timedelta(hours=1)
    assert task.customer == visit.customer
    assert Delivery.objects.get(visit=visit).pickup_at == stored.promised_at


def test_a_job_longer_than_two_days_is_announced_four_hours_before():
    visit, _order = qc_passed_visit(promised_in=timedelta(hours=8))
    Visit.objects.filter(pk=visit.pk).update(checked_in_at=timezone.now() - timedelta(days=3))

    services.visit_mark_ready(visit=visit, actor=visit.advisor)

    visit.refresh_from_db()
    assert _notice(visit).due_at == visit.promised_at - timedelta(hours=4)


def test_the_hours_are_store_rules():
    rule_set("delivery.ready_notice_hours_short_job", 2)
    visit, _order = qc_passed_visit(promised_in=timedelta(hours=5))
    services.visit_mark_ready(visit=visit, actor=visit.advisor)
    visit.refresh_from_db()
    assert _notice(visit).due_at == visit.promised_at - timedelta(hours=2)


def test_a_notice_whose_moment_has_passed_goes_out_at_once():
    visit, _order = qc_passed_visit(promised_in=timedelta(minutes=30))
    before = timezone.now()

    services.visit_mark_ready(visit=visit, actor=visit.advisor)

    task = _notice(visit)
    assert before <= task.due_at <= timezone.now()
    assert due_tasks_dispatch(now=timezone.now() + timedelta(seconds=1)) >= 1
    assert due_task_perform(task_id=task.pk) == "done"
    message = Message.objects.get(due_task=task)
    assert visit.vehicle.plate in message.body and visit.number in message.body


def test_the_notice_is_not_sent_for_a_car_that_has_left():
    visit, _order = qc_passed_visit()
    services.visit_mark_ready(visit=visit, actor=visit.advisor)
    task = _notice(visit)
    Visit.objects.filter(pk=visit.pk).update(status=S.DELIVERED)
    DueTask.objects.filter(pk=task.pk).update(state="claimed")

    assert due_task_perform(task_id=task.pk) == "done"
    assert not Message.objects.filter(due_task=task).exists()


def test_an_agreed_wash_not_done_is_refused_and_nothing_changes():
    visit, _order = qc_passed_visit(wash=True)

    with pytest.raises(DomainError) as error:
        services.visit_mark_ready(visit=visit, actor=visit.advisor)

    assert "wash" in str(error.value.error_dict)
    assert Visit.objects.get(pk=visit.pk).status == S.QC_PASSED
    assert not DueTask.objects.filter(kind=READY_NOTICE).exists()
    assert not Delivery.objects.filter(visit=visit, wash_done_at__isnull=False).exists()


def test_an_agreed_wash_done_lets_the_car_be_ready():
    visit, _order = qc_passed_visit(wash=True)
    services.visit_mark_ready(visit=visit, actor=visit.advisor, wash_done=True)
    assert Visit.objects.get(pk=visit.pk).status == S.READY_FOR_PICKUP
    assert Delivery.objects.get(visit=visit).wash_done_at is not None


@pytest.mark.parametrize("steps", [0, 1, 2, 3], ids=["signed", "dispatched", "working", "done"])
def test_a_car_before_qc_pass_cannot_be_ready(steps):
    visit, _order = signed_visit()
    walk(visit, TO_QC[:steps], visit.advisor)
    status = Visit.objects.get(pk=visit.pk).status

    with pytest.raises(DomainError, match="quality control"):
        services.visit_mark_ready(visit=visit, actor=visit.advisor)

    assert Visit.objects.get(pk=visit.pk).status == status
    assert not DueTask.objects.filter(kind=READY_NOTICE).exists()


def test_marking_ready_twice_is_refused():
    visit, _order = qc_passed_visit()
    services.visit_mark_ready(visit=visit, actor=visit.advisor)
    with pytest.raises(DomainError, match="already"):
        services.visit_mark_ready(visit=visit, actor=visit.advisor)
