"""Issue 19.4: progress messages every N hours while the car is in, at once when the promise
moves, never after the car is ready, never twice for one slot, off at 0."""

from datetime import date, datetime, time, timedelta

import pytest
from django.utils import timezone

from appointments.models import Holiday, OpeningHours
from dealership.due import due_task_perform_now
from dealership.models import DueTask, Message
from dealership.rules import rule_set
from dealership.tests.factories import UserFactory, VehicleFactory
from reception import progress_push
from reception.progress_push import PROGRESS_PUSH, next_open_moment, progress_push_schedule
from reception.services import visit_cancel, visit_check_in, visit_transition
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

SHANGHAI = timezone.get_fixed_timezone(8 * 60)


@pytest.fixture
def open_all_day():
    """The store open around the clock, so a message due now is within opening hours."""
    for weekday in range(7):
        OpeningHours.objects.create(
            weekday=weekday, opens=time(0, 0), closes=time(23, 59, 59, 999999)
        )


def _pushes(visit, **filters):
    return DueTask.objects.filter(kind=PROGRESS_PUSH, subject_id=visit.pk, **filters)


def _messages(visit):
    return Message.objects.filter(template=progress_push.TEMPLATE, customer=visit.customer)


def _due_now_slot(visit):
    """A slot due now: booked two hours ago (the store is open around the clock)."""
    return progress_push_schedule(visit=visit, after=timezone.now() - timedelta(hours=2))


# ------------------------------------------------------------------ opening hours


def test_a_slot_inside_opening_hours_stays_where_it_is():
    # 2026-03-02 is a Monday; no OpeningHours rows: the default 08:30-17:30.
    moment = datetime(2026, 3, 2, 11, 15, tzinfo=SHANGHAI)
    assert next_open_moment(moment) == moment


def test_a_slot_before_opening_or_after_closing_moves_to_the_next_opening():
    assert next_open_moment(datetime(2026, 3, 2, 7, 0, tzinfo=SHANGHAI)) == datetime(
        2026, 3, 2, 8, 30, tzinfo=SHANGHAI
    )
    assert next_open_moment(datetime(2026, 3, 2, 18, 5, tzinfo=SHANGHAI)) == datetime(
        2026, 3, 3, 8, 30, tzinfo=SHANGHAI
    )


def test_closed_days_and_holidays_are_skipped():
    OpeningHours.objects.create(weekday=6, opens=time(9), closes=time(12), closed=True)  # Sunday
    Holiday.objects.create(day=date(2026, 3, 9), name="店休")  # the Monday after
    saturday_evening = datetime(2026, 3, 7, 19, 0, tzinfo=SHANGHAI)
    assert next_open_moment(saturday_evening) == datetime(2026, 3, 10, 8, 30, tzinfo=SHANGHAI)


# ------------------------------------------------------------------ the chain


def test_check_in_schedules_the_first_message_two_hours_later():
    advisor = UserFactory(roles=["advisor"])
    visit = visit_check_in(vehicle=VehicleFactory(), actor=advisor, customer_waits=True)
    (task,) = _pushes(visit)
    assert task.state == "pending" and task.customer == visit.customer
    assert task.due_at == next_open_moment(visit.checked_in_at + timedelta(hours=2))
    assert task.due_at >= visit.checked_in_at + timedelta(hours=2)


def test_the_message_names_the_stage_the_promised_time_and_the_link_then_books_the_next(
    open_all_day,
):
    promised = timezone.now() + timedelta(hours=5)
    visit = VisitFactory(status=VisitStatus.IN_PROGRESS, promised_at=promised)
    task = _due_now_slot(visit)

    assert due_task_perform_now(task.pk) == "done"

    (message,) = _messages(visit)
    assert "维修中" in message.body  # "Being repaired" in the customer's language
    assert timezone.localtime(promised).strftime("%m-%d %H:%M") in message.body
    visit.refresh_from_db()
    assert f"/reception/progress/{visit.progress_token}/" in message.body
    assert message.due_task_id == task.pk and message.subject == visit
    upcoming = _pushes(visit, state="pending").get()
    assert upcoming.pk != task.pk
    expected = timezone.now() + timedelta(hours=2)
    assert abs((upcoming.due_at - expected).total_seconds()) < 60


def test_a_slot_is_never_sent_twice(open_all_day):
    visit = VisitFactory(status=VisitStatus.DISPATCHED)
    after = timezone.now() - timedelta(hours=2)
    task = progress_push_schedule(visit=visit, after=after)
    again = progress_push_schedule(visit=visit, after=after)
    assert again.pk == task.pk  # the same slot is the same row
    assert due_task_perform_now(task.pk) == "done"
    assert due_task_perform_now(task.pk) == "skipped"
    assert _messages(visit).count() == 1


def test_nothing_goes_once_the_car_is_ready(open_all_day):
    actor = UserFactory(roles=["advisor"])
    visit = VisitFactory(status=VisitStatus.QC_PASSED)
    task = _due_now_slot(visit)

    visit_transition(visit=visit, to=VisitStatus.READY_FOR_PICKUP, actor=actor)

    task.refresh_from_db()
    assert task.state == "cancelled"
    assert due_task_perform_now(task.pk) == "skipped"
    assert not _messages(visit).exists()
    assert not _pushes(visit, state="pending").exists()


def test_a_slot_that_finds_the_car_ready_sends_nothing_and_ends_the_chain(open_all_day):
    visit = VisitFactory(status=VisitStatus.WORK_DONE)
    task = _due_now_slot(visit)
    # The car became ready by a path that did not cancel the slot (e.g. a worker had claimed it).
    type(visit).objects.filter(pk=visit.pk).update(status=VisitStatus.READY_FOR_PICKUP)

    assert due_task_perform_now(task.pk) == "done"

    task.refresh_from_db()
    assert task.result == {"skipped": VisitStatus.READY_FOR_PICKUP}
    assert not _messages(visit).exists()
    assert not _pushes(visit, state="pending").exists()


def test_a_cancelled_visit_gets_no_more_messages(open_all_day):
    visit = VisitFactory(status=VisitStatus.ORDER_SIGNED)
    task = progress_push_schedule(visit=visit, after=timezone.now())
    visit_cancel(visit=visit, actor=UserFactory(roles=["advisor"]), reason="客户改期")
    task.refresh_from_db()
    assert task.state == "cancelled"


def test_a_promise_move_tells_the_customer_at_once_and_restarts_the_clock(open_all_day):
    from workshop import duties as workshop_duties
    from workshop import services as workshop_services
    from workshop.tests.factories import make_signed_visit

    visit = make_signed_visit(promised_in=timedelta(hours=3))
    old = progress_push_schedule(visit=visit, after=timezone.now() - timedelta(hours=1))
    new_time = timezone.now() + timedelta(hours=6)

    workshop_services.promise_move(
        visit=visit, actor=visit.advisor, promised_at=new_time, reason="配件晚到"
    )

    notice = DueTask.objects.get(kind=workshop_duties.PROMISE_NOTICE, subject_id=visit.pk)
    assert notice.due_at <= timezone.now()
    assert due_task_perform_now(notice.pk) == "done"
    told = Message.objects.get(template="workshop_promise_moved", customer=visit.customer)
    assert timezone.localtime(new_time).strftime("%H:%M") in told.body
    old.refresh_from_db()
    assert old.state == "cancelled"
    upcoming = _pushes(visit, state="pending").get()
    assert abs((upcoming.due_at - (timezone.now() + timedelta(hours=2))).total_seconds()) < 60


def test_zero_hours_switches_the_messages_off(open_all_day):
    rule_set("reception.progress_push_hours", 0)
    advisor = UserFactory(roles=["advisor"])
    visit = visit_check_in(vehicle=VehicleFactory(), actor=advisor)
    assert not _pushes(visit).exists()
    # A slot booked before the switch sends nothing and books no next one.
    rule_set("reception.progress_push_hours", 2)
    task = _due_now_slot(visit)
    rule_set("reception.progress_push_hours", 0)
    assert due_task_perform_now(task.pk) == "done"
    assert not _messages(visit).exists()
    assert not _pushes(visit, state="pending").exists()


def test_a_slot_that_falls_on_a_closed_day_waits_for_the_next_opening(open_all_day):
    visit = VisitFactory(status=VisitStatus.IN_PROGRESS)
    task = _due_now_slot(visit)
    # The manager closes the store today after the slot was booked.
    today = timezone.localdate()
    OpeningHours.objects.filter(weekday=today.weekday()).update(closed=True)

    assert due_task_perform_now(task.pk) == "done"

    assert not _messages(visit).exists()
    deferred = _pushes(visit, state="pending").get()
    local = timezone.localtime(deferred.due_at)
    assert local.date() == today + timedelta(days=1) and local.time() == time(0, 0)
