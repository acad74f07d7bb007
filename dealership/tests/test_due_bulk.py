"""Due tasks in bulk: a scan's many new tasks, cancelling many, a message's rows performed
together (one lock, a savepoint each, one commit), the rules read once for a batch."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dealership import due, notifications, rules
from dealership.consent import consent_record
from dealership.due import (
    NewDueTask,
    due_task_schedule,
    due_tasks_cancel_for_many,
    due_tasks_dispatch,
    due_tasks_perform,
    due_tasks_schedule_new,
    register_kind,
)
from dealership.models import Customer, DueTask, Message, TimelineEvent, Vehicle
from dealership.notifications import DeliveryFailed, RecordingSmsProvider
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


class DownForOneNumber(RecordingSmsProvider):
    """The test double of `notifications`, down (a passing failure) for one number."""

    number = ""

    def send(self, *, to, text, key, template="", params=None) -> str:
        if to == self.number:
            raise DeliveryFailed("provider down for this number")
        return super().send(to=to, text=text, key=key, template=template, params=params)


@pytest.fixture
def outbox(settings):
    """Every text the provider took; `DownForOneNumber.number` makes one number fail."""
    # SQLite hands a rolled-back test's task ids out again: no earlier accepted-mark may count.
    cache.clear()
    settings.NOTIFICATION_BACKENDS = {"sms": "dealership.notifications.SmsBackend"}
    settings.NOTIFICATION_SMS_PROVIDER = f"{__name__}.DownForOneNumber"
    notifications.sms_outbox.clear()
    DownForOneNumber.number = ""
    yield notifications.sms_outbox
    notifications.sms_outbox.clear()


def reminders(count: int, **payload) -> list[DueTask]:
    """`customer.reminder` tasks due a minute ago, each to a customer of its own, claimed."""
    tasks = []
    for n in range(count):
        customer = CustomerFactory(language="en", mobile=f"1390000{n:04d}")
        tasks.append(
            due_task_schedule(
                kind="customer.reminder",
                subject=customer,
                due_at=timezone.now() - timedelta(minutes=1),
                customer=customer,
                payload={"note": f"oil change {n}", **payload},
            )
        )
    due_tasks_dispatch()  # claimed; the on-commit enqueue never runs inside the test transaction
    return tasks


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


def test_a_task_scheduled_in_bulk_is_the_row_one_scheduled_alone_would_be(vehicle):
    """Every column but the id and the creation time, whichever way the rows go in (one
    JSON document on PostgreSQL, VALUES elsewhere): a due time in another zone to the
    microsecond, a payload with nested values and Chinese text, an empty customer."""
    other = VehicleFactory()
    when = datetime(2026, 3, 9, 10, 0, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai"))
    payload = {"vehicle": vehicle.pk, "reason": "not_seen", "months": 3, "note": "回访 “3m”"}
    nested = {"list": [1, 2.5, None, True], "inner": {"a": "b"}}
    alone = [
        due_task_schedule(
            kind="test.bulk_call",
            subject=vehicle,
            slot="3m:2025-12-01",
            due_at=when,
            customer=vehicle.owner,
            payload=payload,
        ),
        due_task_schedule(
            kind="test.bulk_call", subject=vehicle, slot="nested", due_at=when, payload=nested
        ),
    ]
    tasks = [
        NewDueTask(
            subject_id=other.pk,
            slot="3m:2025-12-01",
            due_at=when,
            customer_id=vehicle.owner_id,
            payload=payload,
        ),
        NewDueTask(subject_id=other.pk, slot="nested", due_at=when, payload=nested),
    ]

    assert due_tasks_schedule_new(kind="test.bulk_call", subject_model=Vehicle, tasks=tasks) == 2

    def columns(task):
        return {
            f.attname: getattr(task, f.attname)
            for f in DueTask._meta.concrete_fields
            if f.attname not in ("id", "subject_id", "created_at")
        }

    for single, slot in zip(alone, ["3m:2025-12-01", "nested"], strict=True):
        bulk = DueTask.objects.get(subject_id=other.pk, slot=slot)
        assert columns(bulk) == columns(DueTask.objects.get(pk=single.pk))
    assert DueTask.objects.get(subject_id=other.pk, slot="3m:2025-12-01").due_at == when


def test_more_tasks_than_one_insert_takes_are_all_added_in_order_and_counted_once(
    vehicle, monkeypatch
):
    monkeypatch.setattr(due, "JSON_ROWS_PER_INSERT", 2)
    when = timezone.now() + timedelta(days=1)
    tasks = [NewDueTask(subject_id=vehicle.pk, slot=str(n), due_at=when) for n in range(5)]
    # The same slot twice in one call: the first is added, the second left out.
    tasks.append(NewDueTask(subject_id=vehicle.pk, slot="0", due_at=when, payload={"x": 1}))

    added = due_tasks_schedule_new(
        kind="test.bulk_call", subject_model=Vehicle, tasks=tasks, batch_size=2
    )

    assert added == 5
    rows = list(DueTask.objects.filter(subject_id=vehicle.pk).order_by("pk"))
    assert [(task.slot, task.payload) for task in rows] == [(str(n), {}) for n in range(5)]
    assert due_tasks_schedule_new(kind="test.bulk_call", subject_model=Vehicle, tasks=tasks) == 0


def test_scheduling_in_bulk_refuses_a_naive_due_time_and_adds_nothing(vehicle):
    tasks = [
        NewDueTask(subject_id=vehicle.pk, slot="a", due_at=timezone.now()),
        NewDueTask(subject_id=vehicle.pk, slot="b", due_at=datetime(2026, 3, 9, 10, 0)),
    ]

    with pytest.raises(ValueError, match="aware"):
        due_tasks_schedule_new(kind="test.bulk_call", subject_model=Vehicle, tasks=tasks)

    assert not DueTask.objects.filter(subject_id=vehicle.pk).exists()
    assert due_tasks_schedule_new(kind="test.bulk_call", subject_model=Vehicle, tasks=[]) == 0


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
    assert reads == [rules._cache_key()]


# ---------------------------------------------------------------- reminders performed together


def test_reminders_of_a_message_go_out_together_and_a_failing_one_fails_alone(outbox):
    sent, silent, failing, other = reminders(4, purpose="reminders")
    for task in (sent, failing, other):
        consent_record(customer=task.customer, purpose="reminders", granted=True, source="desk")
    DownForOneNumber.number = failing.customer.mobile
    ids = [task.pk for task in (sent, silent, failing, other)]

    assert due_tasks_perform(task_ids=ids) == ({"done": 3, "retry": 1}, [])

    assert sorted(text["to"] for text in outbox) == [sent.customer.mobile, other.customer.mobile]
    for task in (sent, other):
        task.refresh_from_db()
        message = Message.objects.get(due_task=task)
        assert (task.state, task.result, task.last_error) == (
            State.DONE,
            {"message": message.pk},
            "",
        )
        assert (message.to, message.status, message.customer) == (
            task.customer.mobile,
            "sent",
            task.customer,
        )
        assert message.body.startswith(f"Dear {task.customer.name}, a reminder from")
        assert message.body.endswith(task.payload["note"])
        line = TimelineEvent.objects.get(customer=task.customer, kind="message.sent")
        assert line.data["message"] == message.pk
        assert line.subject == task.customer
    silent.refresh_from_db()
    assert (silent.state, silent.result) == (State.DONE, {"skipped": "no_consent"})
    failing.refresh_from_db()
    assert (failing.state, failing.attempts) == (State.PENDING, 1)
    assert "provider down" in failing.last_error
    assert not Message.objects.filter(customer__in=[silent.customer, failing.customer]).exists()
    # The same message delivered again performs nothing; the failed one goes out on its retry.
    assert due_tasks_perform(task_ids=ids) == ({"skipped": 4}, [])
    DownForOneNumber.number = ""
    due_tasks_dispatch(now=failing.run_after)
    assert due_tasks_perform(task_ids=[failing.pk]) == ({"done": 1}, [])
    assert len(outbox) == 3 and Message.objects.count() == 3


def test_reminders_performed_together_cost_the_same_queries_for_two_or_eight(outbox):
    def statements(count: int) -> list[str]:
        ids = [task.pk for task in reminders(count)]
        with CaptureQueriesContext(connection) as captured:
            assert due_tasks_perform(task_ids=ids) == ({"done": count}, [])
        sql = [query["sql"] for query in captured.captured_queries]
        return [text.split('"')[1] for text in sql if "SAVEPOINT" not in text]

    statements(1)  # the store's rules are read once, then from the cache
    # Lock and read, consent, messages, timeline lines, done marks: one each, whatever the count.
    assert (
        statements(2)
        == statements(8)
        == [
            "dealership_duetask",
            "dealership_consentrecord",
            "dealership_message",
            "dealership_timelineevent",
            "dealership_duetask",
        ]
    )


def test_a_batch_whose_writes_fail_as_a_whole_goes_row_by_row_and_sends_nothing_twice(
    outbox, monkeypatch
):
    tasks = reminders(3)
    add_lines = notifications.timeline_record_many
    refusals = {"left": 1}

    def refused_once(events):
        if refusals["left"]:
            refusals["left"] -= 1
            raise ValueError("the timeline refused the batch")
        add_lines(events)

    monkeypatch.setattr(notifications, "timeline_record_many", refused_once)

    assert due_tasks_perform(task_ids=[task.pk for task in tasks]) == ({"done": 3}, [])

    assert sorted(text["to"] for text in outbox) == sorted(t.customer.mobile for t in tasks)
    assert Message.objects.count() == TimelineEvent.objects.filter(kind="message.sent").count() == 3
    assert set(DueTask.objects.values_list("state", flat=True)) == {State.DONE}


def test_reminders_not_reached_within_the_hold_are_handed_back_unsent(outbox, settings):
    settings.DUE_TASK_HOLD_SECONDS = 0
    ids = [task.pk for task in reminders(3)]

    assert due_tasks_perform(task_ids=ids) == ({"done": 1}, ids[1:])

    assert len(outbox) == 1
    assert list(DueTask.objects.filter(pk__in=ids[1:]).values_list("state", flat=True)) == [
        State.CLAIMED,
        State.CLAIMED,
    ]
    assert due_tasks_perform(task_ids=ids[1:]) == ({"done": 1}, ids[2:])
    assert Customer.objects.filter(messages__isnull=False).count() == 2


def test_a_reminder_past_its_late_cutoff_is_missed_while_the_others_of_its_message_go_out(
    outbox,
):
    late, on_time = reminders(2)
    DueTask.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=13))

    assert due_tasks_perform(task_ids=[late.pk, on_time.pk]) == ({"missed": 1, "done": 1}, [])

    late.refresh_from_db()
    assert late.state == State.MISSED and "too late" in late.last_error
    assert [text["to"] for text in outbox] == [on_time.customer.mobile]
