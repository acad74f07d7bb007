"""SMS through Alibaba Cloud and Tencent Cloud against local fakes of their HTTP contracts:
signing, error codes, rate limits, time-outs, once-only sending, receipts and replies."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dealership import notifications
from dealership.due import due_task_perform_now, due_task_schedule, register_kind
from dealership.models import DueTask, InboundSms, Message, TimelineEvent
from dealership.notifications import message_params, notify
from dealership.sms.inbound import is_unsubscribe, sms_reply_received
from dealership.tests.factories import CustomerFactory
from dealership.tests.fakes_sms import FakeAliyunSms, FakeTencentSms

pytestmark = pytest.mark.django_db

N = "dealership.notifications."
SECRET = "cb-7f3a9c2e"
TEMPLATES = {
    "reminder": "SMS_480001",
    "workshop_promise_moved": "SMS_480002",
}
TENCENT_TEMPLATES = {"reminder": "1480001", "workshop_promise_moved": "1480002"}


def _sms_settings(settings):
    settings.NOTIFICATION_BACKENDS = {"sms": N + "SmsBackend", "email": N + "EmailBackend"}
    settings.SMS_TIMEOUT_SECONDS = 0.5
    settings.SMS_CALLBACK_SECRET = SECRET


@pytest.fixture
def aliyun(settings):
    fake = FakeAliyunSms(
        access_key_id="LTAI5tTestKey",
        access_key_secret="ali-secret",
        sign_name="星辰汽车",
        templates=TEMPLATES.values(),
    )
    _sms_settings(settings)
    settings.NOTIFICATION_SMS_PROVIDER = "dealership.sms.aliyun.AliyunSmsProvider"
    settings.SMS_ALIYUN_ENDPOINT = fake.url
    settings.SMS_ALIYUN_ACCESS_KEY_ID = "LTAI5tTestKey"
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "ali-secret"
    settings.SMS_ALIYUN_SIGN_NAME = "星辰汽车"
    settings.SMS_ALIYUN_TEMPLATES = dict(TEMPLATES)
    yield fake
    fake.close()


@pytest.fixture
def tencent(settings):
    fake = FakeTencentSms(
        secret_id="AKIDtest",
        secret_key="tc-secret",
        sdk_app_id="1400000001",
        sign_name="星辰汽车",
        templates=TENCENT_TEMPLATES.values(),
    )
    _sms_settings(settings)
    settings.NOTIFICATION_SMS_PROVIDER = "dealership.sms.tencent.TencentSmsProvider"
    settings.SMS_TENCENT_ENDPOINT = fake.url
    settings.SMS_TENCENT_SECRET_ID = "AKIDtest"
    settings.SMS_TENCENT_SECRET_KEY = "tc-secret"
    settings.SMS_TENCENT_SDK_APP_ID = "1400000001"
    settings.SMS_TENCENT_SIGN_NAME = "星辰汽车"
    settings.SMS_TENCENT_TEMPLATES = dict(TENCENT_TEMPLATES)
    yield fake
    fake.close()


def _reminder(customer, note="下周二保养"):
    """A `customer.reminder` due task, due a minute ago."""
    return due_task_schedule(
        kind="customer.reminder",
        subject=customer,
        due_at=timezone.now() - timedelta(minutes=1),
        customer=customer,
        payload={"note": note},
    )


# ------------------------------------------------------------------ Alibaba Cloud


def test_aliyun_sends_the_template_with_short_params_and_our_key(aliyun):
    customer = CustomerFactory(name="李雷", mobile="13812345678")
    task = _reminder(customer, note="请在下周二上午九点前来店做两万公里保养并检查刹车片")
    assert due_task_perform_now(task.pk) == "done"
    (sent,) = aliyun.delivered
    assert sent["to"] == "13812345678" and sent["template"] == "SMS_480001"
    assert sent["params"] == {"name": "李雷", "note": "请在下周二上午九点前来店做两万公里保养并"}
    assert sent["out_id"] == f"due:{task.pk}:reminder"
    message = Message.objects.get(due_task=task)
    assert (message.status, message.provider_ref) == ("sent", sent["id"])


def test_aliyun_wrong_signature_is_refused_by_the_provider_and_shown(aliyun, settings):
    settings.SMS_ALIYUN_ACCESS_KEY_SECRET = "not-the-secret"
    message = notify(customer=CustomerFactory(), template="reminder", context={"note": "x"})
    assert message.status == "failed" and "SignatureDoesNotMatch" in message.error
    assert aliyun.delivered == [] and aliyun.requests == []


def test_an_illegal_number_fails_for_good_without_retry(aliyun):
    customer = CustomerFactory()
    type(customer).objects.filter(pk=customer.pk).update(mobile="12012345678")
    customer.refresh_from_db()
    task = _reminder(customer)
    assert due_task_perform_now(task.pk) == "done"
    task.refresh_from_db()
    assert task.state == "done" and task.attempts == 1
    message = Message.objects.get(due_task=task)
    assert message.status == "failed" and "isv.MOBILE_NUMBER_ILLEGAL" in message.error
    assert TimelineEvent.objects.filter(kind="message.failed", customer=customer).exists()
    assert aliyun.delivered == []


def test_a_rate_limited_message_stays_due_and_goes_out_once_later(aliyun):
    customer = CustomerFactory()
    aliyun.rate_limit = 0
    task = _reminder(customer)
    assert due_task_perform_now(task.pk) == "retry"
    task.refresh_from_db()
    assert task.state == "pending" and "isv.BUSINESS_LIMIT_CONTROL" in task.last_error
    assert not Message.objects.filter(due_task=task).exists()
    aliyun.rate_limit = 5
    assert due_task_perform_now(task.pk) == "done"
    assert len(aliyun.delivered) == 1
    assert Message.objects.get(due_task=task).status == "sent"


def test_a_lost_answer_retries_and_the_provider_drops_the_duplicate(aliyun):
    customer = CustomerFactory()
    aliyun.mode = "accept_then_500"  # the provider took it, its answer was lost
    task = _reminder(customer)
    assert due_task_perform_now(task.pk) == "retry"
    aliyun.mode = "ok"
    assert due_task_perform_now(task.pk) == "done"
    assert len(aliyun.requests) == 2 and len(aliyun.delivered) == 1
    assert Message.objects.get(due_task=task).provider_ref == aliyun.delivered[0]["id"]


def test_a_provider_that_hangs_times_out_and_the_task_retries(aliyun):
    customer = CustomerFactory()
    aliyun.mode = "hang"
    task = _reminder(customer)
    assert due_task_perform_now(task.pk) == "retry"
    assert aliyun.hanging.is_set()
    task.refresh_from_db()
    assert "did not answer in time" in task.last_error
    aliyun.mode = "ok"
    aliyun.release.set()
    assert due_task_perform_now(task.pk) == "done"
    # The hung request may still have gone out; with the same OutId it is only once.
    assert len(aliyun.delivered) == 1


_crash_once = {"left": 1}


def _send_then_crash(task: DueTask) -> dict:
    message = notify(customer=task.customer, template="reminder", context={"note": "保养"})
    if _crash_once["left"]:
        _crash_once["left"] -= 1
        raise RuntimeError("the worker died after the provider took the message")
    return {"message": message.pk}


register_kind("test.sms_then_crash", label="test", handler=_send_then_crash)


def test_a_message_the_provider_accepted_is_not_sent_again_after_a_rollback(aliyun):
    _crash_once["left"] = 1
    customer = CustomerFactory()
    task = due_task_schedule(
        kind="test.sms_then_crash",
        subject=customer,
        due_at=timezone.now() - timedelta(minutes=1),
        customer=customer,
    )
    assert due_task_perform_now(task.pk) == "retry"
    assert not Message.objects.filter(due_task=task).exists()  # rolled back
    assert due_task_perform_now(task.pk) == "done"
    # Our side knew the provider had it: one request, one message, the provider's id kept.
    assert len(aliyun.requests) == 1 and len(aliyun.delivered) == 1
    assert Message.objects.get(due_task=task).provider_ref == aliyun.delivered[0]["id"]


def test_a_kind_without_a_template_code_is_not_sent_and_says_why(aliyun):
    from django.utils import translation

    with translation.override("en"):
        message = notify(
            customer=CustomerFactory(),
            template="workshop_addition_promise",
            context={"plate": "苏E12345", "when": "18:00", "title": "刹车片"},
        )
    assert message.status == "failed"
    assert "workshop_addition_promise" in message.error and "template" in message.error
    assert aliyun.requests == []


def test_message_params_are_at_most_twenty_characters_except_the_link():
    customer = CustomerFactory.build(name="欧阳" * 15)
    link = "https://desk.example.cn/a/" + "x" * 60
    params = message_params(
        "appointment_booked",
        {"when": "2026-12-08 09:30", "plate": "苏E12345", "link": link},
        customer,
    )
    assert list(params) == ["name", "time", "plate", "link"]
    assert params["link"] == link and params["plate"] == "苏E12345"
    assert all(len(value) <= 20 for name, value in params.items() if name != "link")


# ------------------------------------------------------------------ Tencent Cloud


def test_tencent_sends_a_signed_request_with_the_session_context(tencent):
    customer = CustomerFactory(name="韩梅梅", mobile="13900001111")
    task = _reminder(customer, note="换机油")
    assert due_task_perform_now(task.pk) == "done"
    (sent,) = tencent.delivered
    assert sent["to"] == "+8613900001111" and sent["template"] == "1480001"
    assert sent["params"] == ["韩梅梅", "换机油"]  # TemplateParamSet, in the template's order
    assert sent["session"] == f"due:{task.pk}:reminder"
    assert Message.objects.get(due_task=task).provider_ref == sent["id"]


def test_tencent_wrong_signature_is_refused(tencent, settings):
    settings.SMS_TENCENT_SECRET_KEY = "wrong"
    message = notify(customer=CustomerFactory(), template="reminder", context={"note": "x"})
    assert message.status == "failed" and "AuthFailure.SignatureFailure" in message.error
    assert tencent.requests == []


def test_tencent_daily_limit_retries_and_illegal_number_does_not(tencent):
    tencent.rate_limit = 0
    task = _reminder(CustomerFactory())
    assert due_task_perform_now(task.pk) == "retry"
    task.refresh_from_db()
    assert "LimitExceeded.PhoneNumberDailyLimit" in task.last_error
    tencent.rate_limit = 5
    assert due_task_perform_now(task.pk) == "done"
    assert len(tencent.delivered) == 1

    bad = CustomerFactory()
    type(bad).objects.filter(pk=bad.pk).update(mobile="1201234567")
    bad.refresh_from_db()
    task = _reminder(bad)
    assert due_task_perform_now(task.pk) == "done"
    message = Message.objects.get(due_task=task)
    assert message.status == "failed"
    assert "InvalidParameterValue.IncorrectPhoneNumber" in message.error


def test_tencent_time_out_then_once(tencent):
    tencent.mode = "hang"
    task = _reminder(CustomerFactory())
    assert due_task_perform_now(task.pk) == "retry"
    tencent.mode = "ok"
    tencent.release.set()
    assert due_task_perform_now(task.pk) == "done"
    assert len(tencent.delivered) == 1


# ------------------------------------------------------------------ receipts


def _post(client, name, payload, token=SECRET):
    return client.post(
        reverse(name, args=[token]), data=json.dumps(payload), content_type="application/json"
    )


def test_aliyun_receipt_marks_delivered_once_and_answers_as_aliyun_expects(aliyun, client):
    message = notify(customer=CustomerFactory(), template="reminder", context={"note": "x"})
    receipt = aliyun.receipt(message.provider_ref)
    response = _post(client, "sms_aliyun_report", receipt)
    assert response.status_code == 200 and response.json() == {"code": 0, "msg": "成功"}
    message.refresh_from_db()
    assert message.status == "delivered" and message.receipt_at is not None
    first_receipt_at = message.receipt_at
    # The provider pushes again (or a late failure report): ignored.
    late = aliyun.receipt(message.provider_ref, success=False, err_code="MK:0001")
    assert _post(client, "sms_aliyun_report", late).json() == {"code": 0, "msg": "成功"}
    message.refresh_from_db()
    assert message.status == "delivered" and message.receipt_at == first_receipt_at


def test_a_forged_receipt_is_refused_and_changes_nothing(aliyun, client, settings):
    message = notify(customer=CustomerFactory(), template="reminder", context={"note": "x"})
    receipt = aliyun.receipt(message.provider_ref, success=False, err_code="UNDELIV")
    assert _post(client, "sms_aliyun_report", receipt, token="guessed").status_code == 403
    assert _post(client, "sms_tencent_report", [], token="guessed").status_code == 403
    settings.SMS_CALLBACK_SECRET = ""  # not configured: nothing is accepted
    assert _post(client, "sms_aliyun_report", receipt, token=SECRET).status_code == 403
    message.refresh_from_db()
    assert message.status == "sent" and message.receipt_at is None


def test_a_receipt_for_an_unknown_id_is_answered_and_ignored(aliyun, client):
    unknown = [{"biz_id": "nope", "success": True, "err_code": "DELIVERED"}]
    assert _post(client, "sms_aliyun_report", unknown).json() == {"code": 0, "msg": "成功"}
    assert _post(client, "sms_aliyun_report", {"not": "a list"}).status_code == 400
    assert client.get(reverse("sms_aliyun_report", args=[SECRET])).status_code == 405


def test_tencent_receipt_failure_marks_undelivered_with_the_reason(tencent, client):
    customer = CustomerFactory()
    message = notify(customer=customer, template="reminder", context={"note": "x"})
    receipt = tencent.receipt(message.provider_ref, success=False, errmsg="MI:0013")
    response = _post(client, "sms_tencent_report", receipt)
    assert response.json() == {"result": 0, "errmsg": "OK"}
    message.refresh_from_db()
    assert message.status == "undelivered" and "MI:0013" in message.error
    assert TimelineEvent.objects.filter(kind="message.undelivered", customer=customer).exists()
    assert _post(client, "sms_tencent_report", receipt).json() == {"result": 0, "errmsg": "OK"}
    assert Message.objects.get(pk=message.pk).status == "undelivered"


# ------------------------------------------------------------------ replies (MO)


@pytest.mark.parametrize("text", ["TD", " td ", "T", "退订", "退 订", "n"])
def test_the_unsubscribe_words(text):
    assert is_unsubscribe(text)


@pytest.mark.parametrize("text", ["好的", "TDD", "no", "明天来", ""])
def test_other_replies_are_not_unsubscribes(text):
    assert not is_unsubscribe(text)


def test_an_unsubscribe_reply_stops_reminders_by_sms_but_not_service_messages(aliyun, client):
    from django.core import mail

    from dealership.consent import consent_allows, consent_record

    customer = CustomerFactory(mobile="13766665555", email="lilei@example.cn")
    for purpose in ("reminders", "marketing"):
        consent_record(customer=customer, purpose=purpose, granted=True, source="desk")
    heard = []

    def receiver(sender, **kwargs):
        heard.append(kwargs)

    sms_reply_received.connect(receiver)
    try:
        response = _post(client, "sms_aliyun_reply", aliyun.reply("13766665555", " td "))
    finally:
        sms_reply_received.disconnect(receiver)
    assert response.json() == {"code": 0, "msg": "成功"}
    inbound = InboundSms.objects.get()
    assert (inbound.provider, inbound.text, inbound.unsubscribe) == ("aliyun", "td", True)
    assert inbound.customer == customer
    assert heard[0]["unsubscribe"] is True and heard[0]["mobile"] == "13766665555"
    customer.refresh_from_db()
    assert customer.sms_unsubscribed_at is not None
    assert TimelineEvent.objects.filter(kind="sms.unsubscribed", customer=customer).exists()
    # The reply is also the customer's word on consent (PIPL): reminders and marketing end,
    # service messages stay.
    assert not consent_allows(customer, "reminders")
    assert not consent_allows(customer, "marketing")
    assert consent_allows(customer, "service")

    reminder = notify(customer=customer, template="reminder", context={"note": "保养"})
    assert reminder.channel == "email" and reminder.status == "sent"
    assert len(mail.outbox) == 1 and aliyun.requests == []
    service = notify(
        customer=customer,
        template="workshop_promise_moved",
        context={"plate": "苏E12345", "when": "18:00", "reason": "等配件"},
    )
    assert service.channel == "sms" and service.status == "sent"
    assert len(aliyun.delivered) == 1


def test_tencent_reply_is_kept_and_a_plain_answer_does_not_unsubscribe(tencent, client):
    customer = CustomerFactory(mobile="13711112222")
    response = _post(client, "sms_tencent_reply", tencent.reply("13711112222", "好的，谢谢"))
    assert response.json() == {"result": 0, "errmsg": "OK"}
    customer.refresh_from_db()
    assert customer.sms_unsubscribed_at is None
    assert InboundSms.objects.get().unsubscribe is False
    assert TimelineEvent.objects.filter(kind="sms.reply", customer=customer).exists()
    _post(client, "sms_tencent_reply", tencent.reply("13711112222", "退订"))
    customer.refresh_from_db()
    assert customer.sms_unsubscribed_at is not None
    notifications.sms_outbox.clear()


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_a_receipt_at_once_move_the_message_once(require_postgres):
    # Two threads on the in-memory SQLite test database share one cache of tables and
    # refuse each other ("database table is locked") instead of waiting for the row lock.
    import threading

    from django.db import connection

    from dealership.sms.inbound import sms_receipt_apply

    customer = CustomerFactory()
    message = Message.objects.create(
        to=customer.mobile,
        channel="sms",
        template="reminder",
        language="zh-hans",
        body="…",
        status="sent",
        provider_ref="BIZ-race-1",
        customer=customer,
    )
    barrier = threading.Barrier(2)
    results = []

    def push(delivered):
        try:
            barrier.wait(timeout=10)
            results.append(
                sms_receipt_apply(provider="aliyun", provider_ref="BIZ-race-1", delivered=delivered)
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=push, args=(flag,)) for flag in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(results) == ["duplicate", "updated"]
    message.refresh_from_db()
    assert message.status in ("delivered", "undelivered") and message.receipt_at is not None
    undelivered_lines = TimelineEvent.objects.filter(kind="message.undelivered").count()
    assert undelivered_lines == (1 if message.status == "undelivered" else 0)
