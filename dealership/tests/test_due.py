"""Due tasks: scheduling, moving, cancelling, dispatching once, late cutoff, retries, failures."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from dealership import due
from dealership.due import (
    due_task_complete,
    due_task_perform,
    due_task_schedule,
    due_tasks_cancel_for,
    due_tasks_dispatch,
    register_kind,
)
from dealership.errors import DomainError
from dealership.models import DueTask, Message, TimelineEvent
from dealership.roles import Role
from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

State = DueTask.State
FAILURES = {"left": 0}


def remind(task):
    from dealership.notifications import notify

    message = notify(
        customer=task.customer, template="reminder", context={"note": "test"}, subject=task.subject
    )
    return {"message": message.pk}


def flaky(task):
    if FAILURES["left"] > 0:
        FAILURES["left"] -= 1
        raise ConnectionError("provider down")
    return {"ok": True}


register_kind("test.remind", label="test reminder", handler=remind)
register_kind(
    "test.remind_1h", label="1 h reminder", handler=remind, late_cutoff=timedelta(minutes=30)
)
register_kind("test.flaky", label="flaky", handler=flaky, max_attempts=3)
register_kind("test.dotted", label="dotted", handler="dealership.tests.test_due.flaky")
register_kind(
    "test.call", label="care call", role=Role.CUSTOMER_CARE, late_cutoff=timedelta(days=2)
)


@pytest.fixture
def run_dispatch(eager, django_capture_on_commit_callbacks):
    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return due_tasks_dispatch(**kwargs)

    return run


@pytest.fixture
def vehicle():
    return VehicleFactory(owner=CustomerFactory(language="en"))


def schedule(vehicle, *, kind="test.remind", minutes=-1, slot="", **kwargs):
    return due_task_schedule(
        kind=kind,
        subject=vehicle,
        due_at=timezone.now() + timedelta(minutes=minutes),
        slot=slot,
        customer=vehicle.owner,
        **kwargs,
    )


# ---------------------------------------------------------------- scheduling


def test_scheduling_twice_keeps_one_task(vehicle):
    first = schedule(vehicle, minutes=60)
    again = due_task_schedule(
        kind="test.remind", subject=vehicle, due_at=first.due_at, customer=vehicle.owner
    )
    assert again.pk == first.pk
    assert DueTask.objects.count() == 1
    assert schedule(vehicle, minutes=60, slot="second").pk != first.pk


def test_rescheduling_moves_the_pending_reminder(vehicle):
    task = schedule(vehicle, minutes=60)
    later = timezone.now() + timedelta(days=2)
    moved = due_task_schedule(kind="test.remind", subject=vehicle, due_at=later)
    assert moved.pk == task.pk
    task.refresh_from_db()
    assert (task.due_at, task.run_after, task.state) == (later, later, State.PENDING)
    assert task.customer == vehicle.owner  # kept when not given again


def test_rescheduling_reopens_a_sent_reminder_for_the_new_time(vehicle, run_dispatch):
    task = schedule(vehicle)
    run_dispatch()
    task.refresh_from_db()
    assert task.state == State.DONE
    schedule(vehicle, minutes=-2)  # same subject, kind and slot at another time
    task.refresh_from_db()
    assert task.state == State.PENDING and task.attempts == 0
    run_dispatch()
    assert Message.objects.filter(due_task=task).count() == 2


def test_same_due_at_does_not_reopen_a_done_task(vehicle, run_dispatch):
    task = schedule(vehicle)
    run_dispatch()
    due_task_schedule(kind="test.remind", subject=vehicle, due_at=task.due_at)
    task.refresh_from_db()
    assert task.state == State.DONE


def test_cancelling_the_cause_cancels_its_pending_tasks_and_nothing_is_sent(vehicle, run_dispatch):
    schedule(vehicle, slot="72h")
    schedule(vehicle, slot="24h")
    other = schedule(VehicleFactory())
    assert due_tasks_cancel_for(vehicle) == 2
    run_dispatch()
    assert set(
        DueTask.objects.filter(object_id_filter(vehicle)).values_list("state", flat=True)
    ) == {State.CANCELLED}
    assert list(Message.objects.values_list("due_task", flat=True)) == [other.pk]


def object_id_filter(subject):
    from django.db.models import Q

    return Q(subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk)


def test_cancel_for_named_kinds_only(vehicle):
    reminder = schedule(vehicle, minutes=60)
    call = schedule(vehicle, kind="test.call", minutes=60)
    assert due_tasks_cancel_for(vehicle, kinds=["test.call"]) == 1
    reminder.refresh_from_db()
    call.refresh_from_db()
    assert (reminder.state, call.state) == (State.PENDING, State.CANCELLED)


def test_scheduling_a_cancelled_task_again_reopens_it(vehicle):
    task = schedule(vehicle, minutes=60)
    due_tasks_cancel_for(vehicle)
    due_task_schedule(kind="test.remind", subject=vehicle, due_at=task.due_at)
    task.refresh_from_db()
    assert task.state == State.PENDING


def test_unknown_kind_and_naive_time_are_refused(vehicle):
    with pytest.raises(LookupError):
        due_task_schedule(kind="no.such", subject=vehicle, due_at=timezone.now())
    with pytest.raises(ValueError):
        due_task_schedule(
            kind="test.remind", subject=vehicle, due_at=timezone.now().replace(tzinfo=None)
        )
    with pytest.raises(ValueError):
        register_kind("bad", label="bad")
    with pytest.raises(ValueError):
        register_kind("bad", label="bad", handler=remind, role=Role.ADVISOR)


# ---------------------------------------------------------------- dispatching


def test_a_due_reminder_is_sent_once_in_the_customers_language(vehicle, run_dispatch):
    task = schedule(vehicle)
    not_yet = schedule(vehicle, slot="later", minutes=30)
    assert run_dispatch() == 1
    assert run_dispatch() == 0
    task.refresh_from_db()
    not_yet.refresh_from_db()
    assert task.state == State.DONE and task.attempts == 1
    assert not_yet.state == State.PENDING
    message = Message.objects.get()
    assert task.result == {"message": message.pk}
    assert message.body.startswith(f"Dear {vehicle.owner.name}, a reminder from")
    assert message.due_task == task and message.idempotency_key == f"due:{task.pk}:reminder"
    assert TimelineEvent.objects.filter(kind="message.sent", customer=vehicle.owner).exists()


def test_a_second_delivery_of_the_same_task_does_nothing(vehicle, run_dispatch):
    task = schedule(vehicle)
    run_dispatch()
    assert due_task_perform(task_id=task.pk) == "skipped"
    assert Message.objects.count() == 1


@pytest.mark.parametrize("per_message", [1, 3])
def test_rows_travel_alone_or_several_to_a_message_and_each_is_performed_once(
    vehicle, run_dispatch, settings, per_message
):
    from dealership.tasks import due_tasks_run

    settings.DUE_TASK_MESSAGE_SIZE = per_message
    tasks = [schedule(vehicle, slot=str(n)) for n in range(7)]
    assert run_dispatch() == 7
    assert set(DueTask.objects.values_list("state", flat=True)) == {State.DONE}
    assert Message.objects.count() == 7
    # A redelivered message performs nothing again.
    assert due_tasks_run([task.pk for task in tasks]) == {"skipped": 7}


def test_a_task_cancelled_or_moved_after_its_claim_is_not_performed(vehicle):
    cancelled = schedule(vehicle, slot="a")
    moved = schedule(vehicle, slot="b")
    due_tasks_dispatch()  # claimed; the on-commit enqueue never runs inside the test transaction
    DueTask.objects.filter(pk=cancelled.pk).update(state=State.CANCELLED)
    schedule(vehicle, slot="b", minutes=120)
    assert due_task_perform(task_id=cancelled.pk) == "skipped"
    assert due_task_perform(task_id=moved.pk) == "skipped"
    assert Message.objects.count() == 0


def test_a_reminder_past_its_late_cutoff_is_marked_missed_not_sent(vehicle, run_dispatch):
    late = schedule(vehicle, kind="test.remind_1h", minutes=-180)
    on_time = schedule(vehicle, kind="test.remind_1h", slot="b", minutes=-10)
    run_dispatch()
    late.refresh_from_db()
    on_time.refresh_from_db()
    assert late.state == State.MISSED and "too late" in late.last_error
    assert on_time.state == State.DONE
    assert list(Message.objects.values_list("due_task", flat=True)) == [on_time.pk]


def test_a_failing_task_retries_with_back_off_then_fails_visibly(vehicle, run_dispatch):
    FAILURES["left"] = 10
    task = schedule(vehicle, kind="test.flaky")
    now = timezone.now()
    run_dispatch(now=now)
    task.refresh_from_db()
    assert task.state == State.PENDING and task.attempts == 1
    assert "provider down" in task.last_error
    assert timedelta(seconds=50) < task.run_after - now < timedelta(seconds=70)
    assert run_dispatch(now=now + timedelta(seconds=30)) == 0  # backing off
    run_dispatch(now=now + timedelta(seconds=61))
    task.refresh_from_db()
    assert task.attempts == 2
    assert timedelta(seconds=110) < task.run_after - timezone.now() <= timedelta(seconds=120)
    run_dispatch(now=now + timedelta(hours=1))
    task.refresh_from_db()
    assert task.state == State.FAILED and task.attempts == 3
    assert run_dispatch(now=now + timedelta(hours=2)) == 0
    summary = due.due_ops_summary()
    assert summary.totals["failed"] == 1 and summary.failed == [task]


def test_a_flaky_task_succeeds_on_a_later_attempt(vehicle, run_dispatch):
    FAILURES["left"] = 1
    task = schedule(vehicle, kind="test.dotted")
    now = timezone.now()
    run_dispatch(now=now)
    run_dispatch(now=now + timedelta(minutes=5))
    task.refresh_from_db()
    assert (task.state, task.attempts, task.result, task.last_error) == (
        State.DONE,
        2,
        {"ok": True},
        "",
    )


def test_a_claim_whose_worker_died_is_taken_back_and_counted(vehicle, run_dispatch):
    task = schedule(vehicle)
    now = timezone.now()
    due_tasks_dispatch(now=now)  # claimed, but its worker never reports back
    task.refresh_from_db()
    assert task.state == State.CLAIMED
    assert run_dispatch(now=now + timedelta(minutes=5)) == 0  # still within the reclaim window
    run_dispatch(now=now + timedelta(minutes=11))
    task.refresh_from_db()
    assert (task.state, task.attempts) == (State.DONE, 2)
    assert Message.objects.filter(due_task=task).count() == 1


def test_a_claim_lost_too_often_fails(vehicle):
    task = schedule(vehicle, kind="test.flaky")  # max_attempts=3
    now = timezone.now()
    for round_ in range(4):
        due_tasks_dispatch(now=now + timedelta(minutes=11 * round_))
    task.refresh_from_db()
    assert task.state == State.FAILED and "worker lost" in task.last_error


@pytest.mark.django_db(transaction=True)
def test_when_the_broker_refuses_the_claimed_tasks_stay_due(vehicle, monkeypatch):
    from dealership.tasks import due_task_run, due_tasks_run

    def refuse(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(due_task_run, "apply_async", refuse)
    monkeypatch.setattr(due_tasks_run, "apply_async", refuse)
    tasks = [schedule(vehicle, slot=str(n)) for n in range(5)]
    assert due_tasks_dispatch(batch_size=2) == 0  # stops at the first refusal
    assert {(t.state, t.attempts) for t in DueTask.objects.all()} == {(State.PENDING, 0)}
    assert len(tasks) == 5


def test_the_dispatcher_runs_every_minute_from_beat():
    task = PeriodicTask.objects.get(task="dealership.dispatch_due_tasks")
    assert task.enabled and (task.interval.every, task.interval.period) == (1, "minutes")


# ---------------------------------------------------------------- people's tasks


def test_calls_are_not_dispatched_and_are_completed_once(vehicle, run_dispatch, make_staff):
    care = make_staff(Role.CUSTOMER_CARE)
    call = schedule(vehicle, kind="test.call")
    assert run_dispatch() == 0
    done = due_task_complete(task=call, actor=care, outcome="reached", result={"note": "happy"})
    assert (done.state, done.outcome, done.completed_by) == (State.DONE, "reached", care)
    assert TimelineEvent.objects.filter(kind="due.completed", customer=vehicle.owner).exists()
    with pytest.raises(DomainError, match="Already recorded|已由"):
        due_task_complete(task=call, actor=care, outcome="not_reached")
    with pytest.raises(DomainError):
        due_task_complete(
            task=schedule(vehicle, kind="test.call", slot="x"), actor=care, outcome="?"
        )


def test_a_call_not_made_by_its_cutoff_is_missed(vehicle, run_dispatch):
    call = schedule(vehicle, kind="test.call", minutes=-3 * 24 * 60)
    fresh = schedule(vehicle, kind="test.call", slot="b", minutes=-60)
    run_dispatch()
    call.refresh_from_db()
    fresh.refresh_from_db()
    assert (call.state, fresh.state) == (State.MISSED, State.PENDING)


def test_the_queue_lists_todays_calls_for_the_users_roles_overdue_first(vehicle, make_staff):
    care = make_staff(Role.CUSTOMER_CARE)
    advisor = make_staff(Role.ADVISOR)
    later_today = schedule(vehicle, kind="test.call", slot="b", minutes=1)
    overdue = schedule(vehicle, kind="test.call", slot="a", minutes=-300)
    schedule(vehicle, kind="test.call", slot="c", minutes=3 * 24 * 60)  # not today
    personal = schedule(vehicle, kind="test.call", slot="d", minutes=-10, assigned_to=advisor)
    now = timezone.now()
    queue = list(due.due_queue(user=care, now=now))
    if timezone.localtime(later_today.due_at).date() == timezone.localtime(now).date():
        assert queue == [overdue, later_today]
    else:
        assert queue == [overdue]
    assert list(due.due_queue(user=advisor, now=now)) == [personal]
