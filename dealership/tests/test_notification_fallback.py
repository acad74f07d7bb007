"""Channel choice and fallback in `notify`: the customer's channel first, then the store's
order; each attempt its own Message, the fallback on the timeline; failures on the ops page."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone, translation

from dealership import notifications
from dealership.due import due_task_perform_now, due_task_schedule
from dealership.models import DueTask, Message, TimelineEvent
from dealership.notifications import DeliveryRejected, LogBackend, channel_order, notify
from dealership.rules import rule, rule_set
from dealership.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

N = "dealership.notifications."
HERE = "dealership.tests.test_notification_fallback."


class RefusingWechat(LogBackend):
    """A WeChat channel whose platform refuses for good (the customer unfollowed)."""

    def address(self, customer):
        return "oQ7x_openid_of_the_customer"

    def send(self, **message):
        raise DeliveryRejected("43004 require subscribe")


@pytest.fixture
def channels(settings):
    settings.NOTIFICATION_BACKENDS = {
        "sms": N + "SmsBackend",
        "email": N + "EmailBackend",
        "wechat": HERE + "RefusingWechat",
    }
    settings.NOTIFICATION_SMS_PROVIDER = N + "RecordingSmsProvider"
    notifications.sms_outbox.clear()
    yield notifications.sms_outbox
    notifications.sms_outbox.clear()


def test_wechat_refused_falls_back_to_sms_visibly(channels):
    customer = CustomerFactory(preferred_channel="wechat", language="en")
    with translation.override("en"):
        message = notify(customer=customer, template="reminder", context={"note": "tyres"})
    assert (message.channel, message.status) == ("sms", "sent")
    assert len(channels) == 1 and "tyres" in channels[0]["text"]
    wechat = Message.objects.get(channel="wechat")
    assert wechat.status == "failed" and "43004" in wechat.error
    line = TimelineEvent.objects.get(kind="message.sent", customer=customer)
    assert line.summary.startswith("WeChat not sent (43004 require subscribe) → SMS → ")
    assert line.data["fallback_from"] == ["wechat"]


def test_a_channel_that_cannot_reach_the_customer_is_passed_over(channels, settings):
    settings.NOTIFICATION_BACKENDS = {**settings.NOTIFICATION_BACKENDS, "wechat": N + "LogBackend"}
    customer = CustomerFactory(preferred_channel="wechat")  # no WeChat account bound
    message = notify(customer=customer, template="reminder", context={"note": "x"})
    assert message.channel == "sms" and Message.objects.count() == 1
    assert channel_order(customer) == ["wechat", "sms", "email"]


def test_the_stores_fallback_order_decides_the_next_channel(channels):
    rule_set("notifications.fallback_order", "email,sms")
    customer = CustomerFactory(preferred_channel="wechat", email="meimei@example.cn")
    message = notify(customer=customer, template="reminder", context={"note": "x"})
    assert message.channel == "email" and len(mail.outbox) == 1 and channels == []
    assert channel_order(customer) == ["wechat", "email", "sms"]


def test_a_passing_failure_retries_and_falls_back_only_on_the_last_attempt(settings):
    settings.NOTIFICATION_BACKENDS = {"sms": N + "SmsBackend", "email": N + "EmailBackend"}
    settings.NOTIFICATION_SMS_PROVIDER = N + "HttpSmsProvider"
    settings.NOTIFICATION_SMS_URL = "http://127.0.0.1:9/nobody-listens"
    customer = CustomerFactory(preferred_channel="sms", email="lei@example.cn")
    task = due_task_schedule(
        kind="customer.reminder",
        subject=customer,
        due_at=timezone.now() - timedelta(minutes=1),
        customer=customer,
        payload={"note": "brakes"},
    )
    assert due_task_perform_now(task.pk) == "retry"
    assert mail.outbox == [] and not Message.objects.exists()
    DueTask.objects.filter(pk=task.pk).update(attempts=4)  # the next run is the fifth, the last
    assert due_task_perform_now(task.pk) == "done"
    assert len(mail.outbox) == 1 and "brakes" in mail.outbox[0].body
    assert list(Message.objects.order_by("id").values_list("channel", "status")) == [
        ("sms", "failed"),
        ("email", "sent"),
    ]


def test_the_fallback_rule_refuses_unknown_channels(client, make_staff):
    client.force_login(make_staff("service_manager"))
    url = reverse("store_rules")
    refused = client.post(url, {"key": "notifications.fallback_order", "value": "sms,fax"})
    assert refused.status_code == 400
    assert rule("notifications.fallback_order") == "wechat,sms,email"
    client.post(url, {"key": "notifications.fallback_order", "value": "sms, email"})
    assert rule("notifications.fallback_order") == "sms, email"


def test_the_ops_page_shows_failed_and_undelivered_messages_masked(channels, client, make_staff):
    customer = CustomerFactory(name="王芳", mobile="13812345678")
    Message.objects.create(
        to="13812345678",
        channel="sms",
        template="appointment_reminder",
        language="zh-hans",
        body="…",
        status="failed",
        error="Alibaba Cloud SMS isv.MOBILE_NUMBER_ILLEGAL",
        customer=customer,
    )
    Message.objects.create(
        to="13812345678",
        channel="sms",
        template="delivery_ready",
        language="zh-hans",
        body="…",
        status="undelivered",
        error="MI:0013",
        customer=customer,
    )
    notify(customer=customer, template="reminder", context={"note": "x"})
    client.force_login(make_staff("service_manager"))
    page = client.get(reverse("due_ops")).content.decode()
    panel = page[
        page.index('id="message-counts"') : page.index(
            "</table>", page.index('id="message-failures"')
        )
    ]
    assert "13812345678" not in panel and "5678" in panel
    assert "isv.MOBILE_NUMBER_ILLEGAL" in panel and "MI:0013" in panel
    assert "appointment_reminder" in panel and "王芳" in panel
    counts = panel[panel.index('id="message-count-sms"') :]
    counts = counts[: counts.index("</tr>")]
    # Today on SMS: three messages, one sent, one not delivered, one failed.
    assert [cell.split("<")[0] for cell in counts.split("<td>")[2:4]] == ["3", "1"]
