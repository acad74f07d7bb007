"""Notifications: channel choice, backends (log, email, SMS via HTTP or the test double),
the customer's language, every message stored and on the timeline."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.utils import timezone

from dealership import notifications
from dealership.models import Message, TimelineEvent
from dealership.notifications import channel_for, notify
from dealership.tests.factories import CustomerFactory, VehicleFactory

pytestmark = pytest.mark.django_db

N = "dealership.notifications."


@pytest.fixture
def sms_double(settings):
    settings.NOTIFICATION_BACKENDS = {"sms": N + "SmsBackend", "email": N + "EmailBackend"}
    settings.NOTIFICATION_SMS_PROVIDER = N + "RecordingSmsProvider"
    notifications.sms_outbox.clear()
    yield notifications.sms_outbox
    notifications.sms_outbox.clear()


def test_channel_follows_the_customers_preference_where_the_store_can_send(settings):
    assert channel_for(CustomerFactory.build(preferred_channel="phone")) == "sms"
    assert channel_for(CustomerFactory.build(preferred_channel="wechat")) == "sms"
    assert channel_for(CustomerFactory.build(preferred_channel="email", email="a@b.cn")) == "email"
    assert channel_for(CustomerFactory.build(preferred_channel="email", email="")) == "sms"
    settings.NOTIFICATION_BACKENDS = {"email": N + "LogBackend"}
    assert channel_for(CustomerFactory.build(preferred_channel="sms")) == "email"


def test_a_message_is_sent_in_the_customers_language_stored_and_on_the_timeline(sms_double):
    vehicle = VehicleFactory(owner=CustomerFactory(name="李雷", language="zh-hans"))
    english = CustomerFactory(name="Tom", language="en")
    chinese = notify(
        customer=vehicle.owner,
        template="reminder",
        context={"note": "明天9点保养"},
        subject=vehicle,
        vehicle=vehicle,
    )
    notify(customer=english, template="reminder", context={"note": "service at 9"})
    assert [m["text"] for m in sms_double] == [chinese.body, Message.objects.first().body]
    assert chinese.body.startswith("李雷您好") and "明天9点保养" in chinese.body
    assert sms_double[1]["text"].startswith("Dear Tom, a reminder from")
    assert (chinese.to, chinese.channel, chinese.status) == (vehicle.owner.mobile, "sms", "sent")
    assert chinese.sent_at and chinese.provider_ref == "test-1"
    assert (chinese.subject, chinese.vehicle, chinese.language) == (vehicle, vehicle, "zh-hans")
    event = TimelineEvent.objects.get(kind="message.sent", vehicle=vehicle)
    assert event.customer == vehicle.owner and "明天9点保养" in event.summary
    assert event.subject == vehicle


def test_email_goes_through_djangos_email_backend(sms_double):
    customer = CustomerFactory(preferred_channel="email", email="tom@example.com", language="en")
    message = notify(customer=customer, template="reminder", context={"note": "tyres"})
    assert message.channel == "email" and message.to == "tom@example.com"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["tom@example.com"] and "tyres" in mail.outbox[0].body
    assert sms_double == []


def test_a_failed_send_is_stored_as_failed_and_shown(settings):
    settings.NOTIFICATION_BACKENDS = {"sms": N + "SmsBackend"}
    settings.NOTIFICATION_SMS_PROVIDER = N + "HttpSmsProvider"
    settings.NOTIFICATION_SMS_URL = ""
    message = notify(customer=CustomerFactory(), template="reminder", context={"note": "x"})
    assert message.status == "failed" and "NOTIFICATION_SMS_URL" in message.error
    assert TimelineEvent.objects.filter(kind="message.failed", customer=message.customer).exists()


class _Provider(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's naming
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Provider.received.append((self.headers["Authorization"], body))
        answer = json.dumps({"id": f"prov-{len(_Provider.received)}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_the_http_sms_provider_posts_the_text_with_a_stable_key(
    settings, django_capture_on_commit_callbacks
):
    from dealership.celery import app
    from dealership.due import due_task_schedule, due_tasks_dispatch

    server = HTTPServer(("127.0.0.1", 0), _Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Provider.received.clear()
    settings.NOTIFICATION_BACKENDS = {"sms": N + "SmsBackend"}
    settings.NOTIFICATION_SMS_PROVIDER = N + "HttpSmsProvider"
    settings.NOTIFICATION_SMS_URL = f"http://127.0.0.1:{server.server_port}/send"
    settings.NOTIFICATION_SMS_TOKEN = "secret-token"
    customer = CustomerFactory(language="en")
    task = due_task_schedule(
        kind="customer.reminder",
        subject=customer,
        due_at=timezone.now() - timedelta(minutes=1),
        customer=customer,
        payload={"note": "brake check"},
    )
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            due_tasks_dispatch()
    finally:
        app.conf.task_always_eager = False
        server.shutdown()
    ((auth, body),) = _Provider.received
    assert auth == "Bearer secret-token"
    assert body["to"] == customer.mobile and "brake check" in body["text"]
    assert body["client_ref"] == f"due:{task.pk}:reminder"
    message = Message.objects.get(due_task=task)
    assert message.provider_ref == "prov-1" and message.status == "sent"


def test_the_visit_page_shows_the_messages_of_this_visit_only(sms_double, client, make_staff):
    from django.urls import reverse

    from reception.services import visit_check_in

    advisor = make_staff("advisor")
    vehicle = VehicleFactory(owner=CustomerFactory(name="韩梅梅", language="zh-hans"))
    earlier = notify(
        customer=vehicle.owner, template="reminder", context={"note": "上次的提醒"}, vehicle=vehicle
    )
    Message.objects.filter(pk=earlier.pk).update(sent_at=timezone.now() - timedelta(days=90))
    visit = visit_check_in(vehicle=vehicle, actor=advisor)
    note = {"note": "车已修好"}
    notify(customer=vehicle.owner, template="reminder", context=note, vehicle=vehicle)
    notify(
        customer=vehicle.owner,
        template="reminder",
        context={"note": "发不出去"},
        vehicle=vehicle,
        channel="email",  # the customer has no e-mail address: stored as failed
    )
    client.force_login(advisor)
    page = client.get(reverse("reception:visit", args=[visit.pk])).content.decode()
    panel = page[page.index('id="messages-sent"') :]
    assert "车已修好" in panel and vehicle.owner.mobile in panel
    assert "发不出去" in panel and "未发送" in panel
    assert "上次的提醒" not in panel  # before this visit
    assert "<details" not in page[: page.index("<body")]  # nothing of the page in <head>
