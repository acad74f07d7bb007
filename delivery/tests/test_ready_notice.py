"""Issue 15 item 5: a ready car is announced when the customer can act on it, and the page
says what was sent and when (from the Message rows), never a notice that will not come."""

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, OpeningHours
from dealership.due import due_task_perform, due_tasks_dispatch
from dealership.models import DueTask, Message
from delivery import services
from delivery.duties import READY_NOTICE
from delivery.tests.factories import handed_back, qc_passed_visit, settled_visit, staff
from reception.models import Visit

pytestmark = pytest.mark.django_db


def _open_around_the_clock():
    for weekday in range(7):
        OpeningHours.objects.update_or_create(
            weekday=weekday, defaults={"opens": time(0, 0), "closes": time(23, 59, 59)}
        )


def _closed_every_day():
    for weekday in range(7):
        OpeningHours.objects.update_or_create(
            weekday=weekday, defaults={"opens": time(8), "closes": time(17), "closed": True}
        )


def _make_waiting(visit):
    appointment = Appointment.objects.create(
        customer=visit.customer,
        vehicle=visit.vehicle,
        start=visit.checked_in_at,
        end=visit.checked_in_at + timedelta(hours=2),
        waiting=True,
    )
    Visit.objects.filter(pk=visit.pk).update(appointment=appointment, customer_waits=True)
    visit.refresh_from_db()


def _page(client, visit, language="en"):
    client.force_login(staff("advisor"))
    response = client.get(reverse("delivery:visit", args=[visit.pk]), HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 200
    return response.content.decode()


def _send_due_notices():
    """What the beat dispatcher and a worker do within the minute."""
    due_tasks_dispatch(now=timezone.now())
    for task in DueTask.objects.filter(kind=READY_NOTICE, state="claimed"):
        due_task_perform(task_id=task.pk)


def test_a_waiting_customer_is_told_at_once_and_the_page_shows_the_message(client):
    _open_around_the_clock()
    visit, _order = qc_passed_visit(promised_in=timedelta(hours=5))
    _make_waiting(visit)

    services.visit_mark_ready(visit=visit, actor=visit.advisor)
    _send_due_notices()

    message = Message.objects.get(template="delivery_ready", subject_id=visit.pk)
    assert message.status == "sent" and visit.vehicle.plate in message.body
    task = DueTask.objects.get(kind=READY_NOTICE, subject_id=visit.pk)
    assert task.state == "done"
    text = _page(client, visit)
    sent_at = timezone.localtime(message.sent_at).strftime("%m-%d %H:%M")
    assert f"Ready notice sent to {message.to} at {sent_at}" in text
    assert "they are told at" not in text


def test_a_notice_that_would_fall_outside_opening_hours_goes_now():
    _closed_every_day()
    visit, _order = qc_passed_visit(promised_in=timedelta(hours=5))
    before = timezone.now()

    services.visit_mark_ready(visit=visit, actor=visit.advisor)
    _send_due_notices()

    task = DueTask.objects.get(kind=READY_NOTICE, subject_id=visit.pk)
    assert before <= task.due_at <= timezone.now()
    assert task.state == "done"
    assert Message.objects.filter(due_task=task, template="delivery_ready").count() == 1


def test_a_notice_inside_opening_hours_waits_and_the_page_says_when(client):
    _open_around_the_clock()
    visit, _order = qc_passed_visit(promised_in=timedelta(hours=5))
    services.visit_mark_ready(visit=visit, actor=visit.advisor)

    task = DueTask.objects.get(kind=READY_NOTICE, subject_id=visit.pk)
    notice = timezone.localtime(task.due_at).strftime("%m-%d %H:%M")
    assert f"they are told at {notice}" in _page(client, visit)
    assert not Message.objects.filter(template="delivery_ready").exists()


def test_after_delivery_the_pending_notice_is_cancelled_and_no_longer_promised(client):
    _open_around_the_clock()
    visit, _order, _settlement = settled_visit(promised_in=timedelta(hours=5))
    handed_back(visit)

    task = DueTask.objects.get(kind=READY_NOTICE, subject_id=visit.pk)
    assert task.state == "cancelled"
    due_tasks_dispatch(now=task.due_at + timedelta(seconds=1))
    assert due_task_perform(task_id=task.pk) == "skipped"
    english = _page(client, visit)
    assert "they are told at" not in english
    assert "No ready notice was sent" in english
    chinese = _page(client, visit, "zh-hans")
    assert "通知客户。" not in chinese and "未发送完工通知" in chinese
