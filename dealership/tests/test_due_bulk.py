"""Due tasks in bulk: a scan's many new tasks, cancelling many, a message's rows performed
together (one lock, a savepoint each, one commit), the rules read once for a batch."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dealership import rules
from dealership.due import (
    NewDueTask,
    due_task_schedule,
    due_tasks_cancel_for_many,
    due_tasks_dispatch,
    due_tasks_perform,
    due_tasks_schedule_new,
    register_kind,
)
from dealership.models import DueTask, Message, TimelineEvent, Vehicle
from dealership.roles import Role
from dealership.rules import rule, rule_set, rules_pinned
from dealership.services import timeline_record
from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

State = DueTask.State


def remind(task):
    from dealership.notifications import notify

    message = notify(customer=task.customer, template="reminder", context={"note": "bulk"})
    return {"message": message.pk}


def half_done_then_fails(task):
    timeline_record(kind="test.half_done", summary="written before the failure", customer=None)
    raise ConnectionError("provider down")


register_kind("test.bulk_remind", label="bulk reminder", handler=remind)
register_kind("test.bulk_fails", label="fails", handler=half_done_then_fails, max_attempts=3)
register_kind("test.bulk_call", label="bulk call", role=Role.CUSTOMER_CARE)


@pytest.fixture
def vehicle():
    return VehicleFactory(owner=CustomerFactory(language="en"))


def schedule(vehicle, *, kind="test.bulk_remind", slot="", minutes=-1):
    return due_task_schedule(
        kind=kind,
        subject=vehicle,
        due_at=timezone.now() + timedelta(minutes=minutes),
        slot=slot,
        customer=vehicle.owner,
    )


# ---------------------------------------------------------------- scheduling many


def test_scheduling_many_adds_only_the_new_ones_and_leaves_a_taken_slot_alone(vehicle):
    other = VehicleFactory()
    taken = schedule(vehicle, kind="test.bulk_call", slot="a", minutes=-60)
    DueTask.objects.filter(pk=taken.pk).update(state=State.DONE)
    when = timezone.now() + timedelta(days=1)
    tasks = [
        NewDueTask(subject_id=vehicle.pk, slot="a", due_at=when, payload={"again": True}),
        NewDueTask(
            subject_id=vehicle.pk,
            slot="b",
            due_at=when,
            customer_id=vehicle.owner_id,
            payload={"note": "b"},
        ),
        NewDueTask(subject_id=other.pk, due_at=when),
    ]

    assert due_tasks_schedule_new(kind="test.bulk_call", subject_model=Vehicle, tasks=tasks) == 2
    assert due_tasks_schedule_new(kind="test.bulk_call", subject_model=Vehicle, tasks=tasks) == 0

    taken_after = DueTask.objects.get(pk=taken.pk)
    assert (taken_after.state, taken_after.due_at, taken_after.payload) == (
        State.DONE,
        taken.due_at,
        taken.payload,
    )
    new = DueTask.objects.get(subject_id=vehicle.pk, slot="b")
    assert (
        new.kind,
        new.state,
        new.due_at,
        new.run_after,
        new.for_person,
        new.role,
        new.customer,
        new.payload,
        new.attempts,
        new.subject,
    ) == (
        "test.bulk_call",
        State.PENDING,
        when,
        when,
        True,
        Role.CUSTOMER_CARE,
        vehicle.owner,
        {"note": "b"},
        0,
        vehicle,
    )
    assert DueTask.objects.get(subject_id=other.pk).customer is None


def test_cancelling_for_many_subjects_cancels_only_their_open_tasks_of_the_kinds(vehicle):
    other, untouched = VehicleFactory(), VehicleFactory()
    mine, others = schedule(vehicle), schedule(other)
    not_listed = schedule(untouched)
    other_kind = schedule(vehicle, kind="test.bulk_call")
    done = schedule(other, slot="done")
    DueTask.objects.filter(pk=done.pk).update(state=State.DONE)

    cancelled = due_tasks_cancel_for_many(
        subject_model=Vehicle, subject_ids={vehicle.pk, other.pk}, kinds=["test.bulk_remind"]
    )

    assert cancelled == 2
    states = dict(DueTask.objects.values_list("pk", "state"))
    assert states[mine.pk] == states[others.pk] == State.CANCELLED
    assert states[not_listed.pk] == states[other_kind.pk] == State.PENDING
    assert states[done.pk] == State.DONE


# ---------------------------------------------------------------- a message's rows together


def test_a_message_of_rows_is_performed_together_and_a_failing_row_alone_is_rolled_back(
    vehicle,
):
    good = [schedule(vehicle, slot=str(n)) for n in range(3)]
    bad = schedule(vehicle, kind="test.bulk_fails")
    due_tasks_dispatch()  # claimed; the on-commit enqueue never runs inside the test transaction
    ids = [good[0].pk, bad.pk, good[1].pk, good[2].pk]

    assert due_tasks_perform(task_ids=ids) == ({"done": 3, "retry": 1}, [])

    assert sorted(Message.objects.values_list("due_task", flat=True)) == [t.pk for t in good]
    assert not TimelineEvent.objects.filter(kind="test.half_done").exists()
    bad.refresh_from_db()
    assert (bad.state, bad.attempts) == (State.PENDING, 1) and "provider down" in bad.last_error
    for task in good:
        task.refresh_from_db()
        message = Message.objects.get(due_task=task)
        assert (task.state, task.result) == (State.DONE, {"message": message.pk})
        assert task.finished_at is not None and task.last_error == ""
    # The same message delivered again performs nothing.
    assert due_tasks_perform(task_ids=ids) == ({"skipped": 4}, [])
    assert Message.objects.count() == 3


def test_rows_not_reached_within_the_hold_are_handed_back_and_performed_next(vehicle, settings):
    from dealership.tasks import due_tasks_run

    settings.DUE_TASK_HOLD_SECONDS = 0
    tasks = [schedule(vehicle, slot=str(n)) for n in range(3)]
    due_tasks_dispatch()
    ids = sorted(task.pk for task in tasks)

    assert due_tasks_perform(task_ids=ids) == ({"done": 1}, ids[1:])
    assert set(DueTask.objects.filter(pk__in=ids[1:]).values_list("state", flat=True)) == {
        State.CLAIMED
    }
    assert due_tasks_run(ids[1:]) == {"done": 2}
    assert Message.objects.count() == 3


def test_rules_read_once_for_a_batch_apply_from_the_next_batch():
    rule_set("store.name", "Before")
    with rules_pinned():
        assert rule("store.name") == "Before"
        rule_set("store.name", "After")
        assert rule("store.name") == "Before"
    assert rule("store.name") == "After"


def test_a_request_reads_the_store_rules_once(advisor_client, monkeypatch):
    """The appointment board uses four rules (opening hours, slot length, capacity…)."""
    reads = []

    class CountingCache:
        def __init__(self, real):
            self.real = real

        def get(self, key, *args):
            reads.append(key)
            return self.real.get(key, *args)

        def __getattr__(self, name):
            return getattr(self.real, name)

    monkeypatch.setattr(rules, "cache", CountingCache(rules.cache))
    assert advisor_client.get("/appointments/").status_code == 200
    assert reads == [rules._CACHE_KEY]
