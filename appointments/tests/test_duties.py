from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from appointments import duties, services
from appointments.models import Appointment, Status
from dealership.due import due_task_perform, due_tasks_perform
from dealership.errors import DomainError
from dealership.models import ConsentRecord, DueTask, DueTaskState, Message

from .factories import days_ahead, local, make_vehicle

pytestmark = pytest.mark.django_db


def book(workshop, advisor, start, **kwargs):
    vehicle = kwargs.pop("vehicle", None) or make_vehicle()
    return services.appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=start,
        operations=[workshop["oil"]],
        advisor=advisor,
        actor=advisor,
        **kwargs,
    )


def tasks_of(appointment, state=DueTaskState.PENDING):
    return dict(
        DueTask.objects.filter(
            subject_type=ContentType.objects.get_for_model(Appointment),
            subject_id=appointment.pk,
            state=state,
        )
        .exclude(kind=duties.NOTICE)  # messages about the booking: tested on their own
        .values_list("kind", "due_at")
    )


def run(kind, appointment, *, now):
    """Claim and perform one due task the way the worker does."""
    task = DueTask.objects.get(
        kind=kind,
        subject_type=ContentType.objects.get_for_model(appointment),
        subject_id=appointment.pk,
    )
    DueTask.objects.filter(pk=task.pk).update(state=DueTaskState.CLAIMED, attempts=1)
    return due_task_perform(task_id=task.pk, now=now)


def test_booking_schedules_reminders_the_confirmation_call_and_the_no_show_check(workshop, advisor):
    start = local(days_ahead(5), 9)
    appointment = book(workshop, advisor, start)
    tasks = tasks_of(appointment)
    assert tasks == {
        "appointments.reminder_first": start - timedelta(hours=72),
        "appointments.reminder_second": start - timedelta(hours=24),
        "appointments.reminder_last": start - timedelta(hours=1),
        duties.CONFIRM_CALL: start - timedelta(days=3),
        duties.NO_SHOW_CHECK: start + timedelta(minutes=30 + 30),
    }
    call = DueTask.objects.get(kind=duties.CONFIRM_CALL)
    assert call.for_person and call.role == "advisor" and call.assigned_to == advisor


def test_a_booking_for_tomorrow_skips_duties_already_past(workshop, advisor):
    start = timezone.localtime() + timedelta(hours=30)
    start = start.replace(hour=10, minute=0, second=0, microsecond=0)
    appointment = book(workshop, advisor, start)
    assert duties.CONFIRM_CALL not in tasks_of(appointment)
    assert "appointments.reminder_first" not in tasks_of(appointment)
    assert "appointments.reminder_last" in tasks_of(appointment)


def test_rescheduling_moves_the_reminders_and_cancelling_cancels_them(workshop, advisor):
    appointment = book(workshop, advisor, local(days_ahead(5), 9))
    new_start = local(days_ahead(8), 14)
    services.appointment_reschedule(appointment=appointment, start=new_start, actor=advisor)
    tasks = tasks_of(appointment)
    assert tasks["appointments.reminder_second"] == new_start - timedelta(hours=24)
    assert tasks[duties.CONFIRM_CALL] == new_start - timedelta(days=3)
    assert DueTask.objects.filter(kind__startswith="appointments.reminder").count() == 3  # moved
    assert len(tasks_of(appointment)) == 5
    services.appointment_cancel(appointment=appointment, actor=advisor, reason="出差")
    assert tasks_of(appointment) == {}
    still_open = DueTask.objects.exclude(state=DueTaskState.CANCELLED)
    assert [task.payload["template"] for task in still_open] == ["appointment_cancelled"]


def test_the_reminder_is_sent_in_the_customers_language_with_the_time(workshop, advisor):
    start = local(days_ahead(5), 9)
    appointment = book(workshop, advisor, start)
    outcome = run("appointments.reminder_second", appointment, now=start - timedelta(hours=24))
    assert outcome == "done"
    message = Message.objects.get(template="appointment_reminder")
    assert message.customer == appointment.customer
    assert start.strftime("%H:%M") in message.body
    assert "预约" in message.body


def test_a_one_hour_reminder_three_hours_late_is_not_sent(workshop, advisor):
    start = local(days_ahead(5), 9)
    appointment = book(workshop, advisor, start)
    outcome = run(
        "appointments.reminder_last",
        appointment,
        now=start - timedelta(hours=1) + timedelta(hours=3),
    )
    assert outcome == "missed"
    assert not Message.objects.filter(template="appointment_reminder").exists()


def test_no_reminder_for_a_cancelled_appointment_even_if_its_task_runs(workshop, advisor):
    start = local(days_ahead(5), 9)
    appointment = book(workshop, advisor, start)
    Appointment.objects.filter(pk=appointment.pk).update(status=Status.CANCELLED)
    run("appointments.reminder_second", appointment, now=start - timedelta(hours=24))
    assert not Message.objects.filter(template="appointment_reminder").exists()


def test_reminders_of_one_message_go_out_together_each_checked_at_send_time(workshop, advisor):
    start = local(days_ahead(5), 9)
    sent, cancelled, withdrawn = (
        book(workshop, advisor, start + timedelta(hours=n)) for n in range(3)
    )
    Appointment.objects.filter(pk=cancelled.pk).update(status=Status.CANCELLED)
    tasks = [
        DueTask.objects.get(kind="appointments.reminder_second", subject_id=appointment.pk)
        for appointment in (sent, cancelled, withdrawn)
    ]
    DueTask.objects.filter(pk__in=[task.pk for task in tasks]).update(
        state=DueTaskState.CLAIMED, attempts=1
    )
    # Withdrawn while its reminder was already on its way to the worker.
    ConsentRecord.objects.create(
        customer=withdrawn.customer, purpose="service", granted=False, source="phone"
    )

    outcomes = due_tasks_perform(
        task_ids=[task.pk for task in tasks], now=start - timedelta(hours=24)
    )

    assert outcomes == ({"done": 3}, [])
    message = Message.objects.get(template="appointment_reminder")
    assert (message.customer, message.vehicle, message.subject) == (
        sent.customer,
        sent.vehicle,
        sent,
    )
    assert [DueTask.objects.get(pk=task.pk).result for task in tasks] == [
        {"message": message.pk},
        {"skipped": Status.CANCELLED},
        {"skipped": "no_consent"},
    ]


def test_arrival_cancels_pending_reminders(workshop, advisor):
    appointment = book(workshop, advisor, local(days_ahead(5), 9))
    services.appointment_mark_arrived(appointment=appointment, actor=advisor)
    assert tasks_of(appointment) == {}
    with pytest.raises(DomainError):
        services.appointment_mark_arrived(appointment=appointment, actor=advisor)


def test_a_car_not_checked_in_by_slot_end_plus_grace_becomes_a_no_show_to_call(workshop, advisor):
    start = local(days_ahead(5), 9)
    appointment = book(workshop, advisor, start)
    assert run(duties.NO_SHOW_CHECK, appointment, now=start + timedelta(hours=1)) == "done"
    appointment.refresh_from_db()
    assert appointment.status == Status.NO_SHOW
    call = DueTask.objects.get(kind=duties.REBOOK_CALL)
    assert call.for_person and call.assigned_to == advisor and call.state == DueTaskState.PENDING
    # Rebooking the no-show records the call.
    new = services.appointment_rebook(
        appointment=appointment, start=local(days_ahead(7), 10), actor=advisor
    )
    call.refresh_from_db()
    assert call.state == DueTaskState.DONE and call.outcome == "rebooked"
    assert new.rebooked_from == appointment
    assert new.lines.count() == appointment.lines.count()


def test_an_arrived_car_is_not_marked_no_show(workshop, advisor):
    start = local(days_ahead(5), 9)
    appointment = book(workshop, advisor, start)
    services.appointment_mark_arrived(appointment=appointment, actor=advisor)
    DueTask.objects.filter(kind=duties.NO_SHOW_CHECK).update(state=DueTaskState.PENDING)
    run(duties.NO_SHOW_CHECK, appointment, now=start + timedelta(hours=1))
    appointment.refresh_from_db()
    assert appointment.status == Status.ARRIVED


def test_parts_on_order_the_day_before_put_an_alert_on_the_advisors_list(workshop, advisor):
    start = local(days_ahead(5), 9)
    appointment = book(workshop, advisor, start, parts=[(workshop["windscreen"], 1)])
    assert duties.PARTS_CHECK in tasks_of(appointment)
    run(duties.PARTS_CHECK, appointment, now=start - timedelta(days=1))
    alert = DueTask.objects.get(kind=duties.PARTS_ALERT)
    assert alert.assigned_to == advisor and alert.payload == {"missing": 1}
    services.call_record(task=alert, outcome="arrived", actor=advisor)
    assert appointment.lines.get(part__isnull=False).stock_status == "received"


def test_the_confirmation_call_outcome_confirms_or_cancels(workshop, advisor):
    first = book(workshop, advisor, local(days_ahead(5), 9))
    second = book(workshop, advisor, local(days_ahead(5), 10))
    calls = {t.subject_id: t for t in DueTask.objects.filter(kind=duties.CONFIRM_CALL)}
    services.call_record(task=calls[first.pk], outcome="confirmed", actor=advisor)
    services.call_record(task=calls[second.pk], outcome="cancelled", actor=advisor, note="改期再约")
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == Status.CONFIRMED
    assert second.status == Status.CANCELLED and second.cancel_reason == "改期再约"
    with pytest.raises(DomainError):
        services.call_record(task=calls[first.pk], outcome="confirmed", actor=advisor)


def test_rescheduling_on_the_confirmation_call_records_it(workshop, advisor):
    appointment = book(workshop, advisor, local(days_ahead(5), 9))
    DueTask.objects.filter(kind=duties.CONFIRM_CALL).update(due_at=timezone.now())
    services.appointment_reschedule(
        appointment=appointment, start=local(days_ahead(6), 9), actor=advisor
    )
    calls = DueTask.objects.filter(kind=duties.CONFIRM_CALL).order_by("id")
    assert [(c.state, c.outcome) for c in calls] == [
        (DueTaskState.DONE, "rescheduled"),  # the call made is kept
        (DueTaskState.PENDING, ""),  # the new date gets its own confirmation call
    ]


def test_customers_who_asked_not_to_be_called_get_no_calls(workshop, advisor):
    vehicle = make_vehicle()
    vehicle.owner.do_not_call = True
    vehicle.owner.save()
    appointment = book(workshop, advisor, local(days_ahead(5), 9), vehicle=vehicle)
    assert duties.CONFIRM_CALL not in tasks_of(appointment)
    assert "appointments.reminder_second" in tasks_of(appointment)  # messages still go


def test_booking_sends_a_confirmation_with_a_link_after_commit(
    workshop, advisor, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(
            workshop, advisor, local(days_ahead(5), 9), base_url="https://desk.example"
        )
    message = Message.objects.get(template="appointment_booked")
    assert f"https://desk.example/appointments/my/{appointment.link_token}/" in message.body
    task = DueTask.objects.get(kind=duties.NOTICE, subject_id=appointment.pk)
    assert (task.state, task.attempts, message.due_task) == (DueTaskState.DONE, 1, task)


class _DownSmsProvider:
    def send(self, *, to, text, key):
        raise ConnectionError("provider down")


def test_a_confirmation_the_provider_refused_is_retried_by_the_dispatcher(
    workshop, advisor, settings, eager, django_capture_on_commit_callbacks
):
    from dealership.due import due_tasks_dispatch

    settings.NOTIFICATION_BACKENDS = {"sms": "dealership.notifications.SmsBackend"}
    settings.NOTIFICATION_SMS_PROVIDER = f"{__name__}._DownSmsProvider"
    with django_capture_on_commit_callbacks(execute=True):
        appointment = book(workshop, advisor, local(days_ahead(5), 9))
    assert appointment.status == Status.BOOKED  # the booking stands
    task = DueTask.objects.get(kind=duties.NOTICE, subject_id=appointment.pk)
    assert (task.state, task.attempts) == (DueTaskState.PENDING, 1)
    assert "provider down" in task.last_error and task.run_after > timezone.now()
    assert not Message.objects.filter(template="appointment_booked").exists()

    settings.NOTIFICATION_SMS_PROVIDER = "dealership.notifications.RecordingSmsProvider"
    with django_capture_on_commit_callbacks(execute=True):
        due_tasks_dispatch(now=task.run_after)
    task.refresh_from_db()
    assert (task.state, task.attempts) == (DueTaskState.DONE, 2)
    assert Message.objects.get(template="appointment_booked").due_task == task


ALLOWED_MOVES = [
    ("booked", "confirmed"),
    ("booked", "arrived"),
    ("booked", "no_show"),
    ("booked", "cancelled"),
    ("confirmed", "arrived"),
    ("confirmed", "no_show"),
    ("confirmed", "cancelled"),
]
MOVES = {
    "confirmed": lambda a, user: services.appointment_confirm(appointment=a, actor=user),
    "arrived": lambda a, user: services.appointment_mark_arrived(appointment=a, actor=user),
    "no_show": lambda a, user: services.appointment_mark_no_show(appointment=a, actor=user),
    "cancelled": lambda a, user: services.appointment_cancel(appointment=a, actor=user),
}


@pytest.mark.parametrize(
    ("source", "target"),
    [(s, t) for s in Status.values for t in MOVES],
)
def test_every_status_move_is_allowed_or_refused_by_the_table(workshop, advisor, source, target):
    appointment = book(workshop, advisor, local(days_ahead(5), 9))
    Appointment.objects.filter(pk=appointment.pk).update(status=source)
    if (source, target) in ALLOWED_MOVES:
        MOVES[target](appointment, advisor)
        appointment.refresh_from_db()
        assert appointment.status == target
    else:
        with pytest.raises(DomainError):
            MOVES[target](appointment, advisor)
        appointment.refresh_from_db()
        assert appointment.status == source


def test_the_cancel_line_reads_in_the_readers_language_with_the_given_reason(workshop, advisor):
    from django.utils import translation

    from dealership.models import TimelineEvent

    appointment = book(workshop, advisor, local(days_ahead(5), 9))
    with translation.override("zh-hans"):
        services.appointment_cancel(appointment=appointment, actor=advisor, reason="出差")
    line = TimelineEvent.objects.get(kind="appointment.cancelled")
    with translation.override("en"):
        assert line.summary_text.startswith("Appointment for ")
        assert line.summary_text.endswith("cancelled: 出差")
    with translation.override("zh-hans"):
        assert "Appointment" not in line.summary_text
        assert line.summary_text.endswith(": 出差")


def test_the_cancel_message_gives_the_stores_phone_number(
    workshop, advisor, django_capture_on_commit_callbacks
):
    from dealership.rules import rule

    appointment = book(workshop, advisor, local(days_ahead(5), 9))
    with django_capture_on_commit_callbacks(execute=True):
        services.appointment_cancel(appointment=appointment, actor=advisor, reason="出差")
    message = Message.objects.get(template="appointment_cancelled")
    assert rule("store.phone") in message.body
