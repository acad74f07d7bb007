"""WeChat Official Account (issue 19.1): template messages and the customer's openid, against
a local fake of WeChat's HTTP API (dealership/tests/wechat_fake.py)."""

import threading
import urllib.parse
import uuid

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from dealership import wechat
from dealership.models import Customer, TimelineEvent
from dealership.notifications import DeliveryFailed, notify
from dealership.tests.factories import CustomerFactory
from dealership.tests.wechat_fake import FakeWeChat
from dealership.wechat import (
    OAuthRefused,
    WeChatBackend,
    WeChatPermanent,
    access_token,
    oauth_state_check,
    oauth_state_issue,
    openid_bind,
)

pytestmark = pytest.mark.django_db

APP_ID, SECRET = "wx5a1b2c3d4e5f6a7b", "app-secret-for-tests"
OPENID = "oQ7x_5AbCdEfGhIjKlMnOpQrStUv"
OTHER_OPENID = "oQ7x_5ZyXwVuTsRqPoNmLkJiHgFe"
TEMPLATES = {
    "reminder": {"template_id": "TPL-REMINDER", "fields": {"thing1": "name", "time2": "when"}},
}


@pytest.fixture
def fake(settings):
    server = FakeWeChat(
        appid=APP_ID, secret=SECRET, templates={"TPL-REMINDER", "TPL-DEFAULT"}
    ).start()
    server.followers.update({OPENID, OTHER_OPENID})
    settings.WECHAT_APP_ID, settings.WECHAT_APP_SECRET = APP_ID, SECRET
    settings.WECHAT_API_BASE = server.base
    settings.WECHAT_OAUTH_BASE = "https://open.weixin.qq.com"
    settings.WECHAT_TEMPLATES = dict(TEMPLATES)
    settings.WECHAT_TIMEOUT_SECONDS = 5
    cache.delete_many([wechat.TOKEN_KEY, wechat.TOKEN_LOCK_KEY])
    yield server
    server.stop()
    cache.delete_many([wechat.TOKEN_KEY, wechat.TOKEN_LOCK_KEY])


def _send(key: str = "", openid: str = OPENID, template: str = "reminder", **extra) -> str:
    return WeChatBackend("wechat").send(
        to=openid,
        body="李雷您好，明天9点保养",
        title="来自4S店的消息",
        key=key,
        template=template,
        params={"name": "李雷", "when": "2026-12-05 09:00"},
        **extra,
    )


def _key() -> str:
    return f"due:{uuid.uuid4().hex[:12]}:reminder"


# ------------------------------------------------------------------ access token


def test_the_token_is_fetched_once_and_reused_from_the_cache(fake):
    first, second = _send(), _send()
    assert fake.token_calls == 1
    assert len(fake.delivered) == 2 and first != second
    assert cache.get(wechat.TOKEN_KEY) == fake.current_token


@pytest.mark.skipif(
    not settings.REDIS_URL,
    reason="needs Redis (set REDIS_URL): the file cache's add is not atomic across threads",
)
def test_concurrent_senders_fetch_one_token(fake):
    fake.token_gate = threading.Event()  # the first fetch is held until the others are racing
    senders = 6
    barrier = threading.Barrier(senders)
    tokens, errors = [], []

    def sender():
        barrier.wait()
        try:
            tokens.append(access_token())
        except Exception as exc:  # noqa: BLE001 - shown by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    assert fake.token_requested.wait(10)
    fake.token_gate.set()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert tokens == [fake.current_token] * senders
    assert fake.token_calls == 1


def test_a_lock_left_by_a_crashed_worker_does_not_stop_the_sends(fake, monkeypatch):
    cache.set(wechat.TOKEN_LOCK_KEY, "a worker that died", timeout=60)
    monkeypatch.setattr(wechat, "TOKEN_LOCK_SECONDS", 0)  # its lock outlived the wait
    assert _send(key=_key())
    assert fake.token_calls == 1 and len(fake.delivered) == 1
    assert cache.get(wechat.TOKEN_LOCK_KEY) == "a worker that died"  # not ours to delete


@pytest.mark.parametrize("how", ["expired", "replaced"])
def test_a_refused_token_is_renewed_and_the_message_sent_once(fake, how):
    _send()
    old = fake.current_token
    if how == "expired":
        fake.expire_token()  # WeChat answers 42001
    else:
        fake.current_token = "TOKEN-issued-elsewhere"  # ours is unknown now: 40001
    msgid = _send(key=_key())
    assert msgid and fake.token_calls == 2
    assert len(fake.delivered) == 2
    assert cache.get(wechat.TOKEN_KEY) == fake.current_token != old


def test_a_wrong_secret_is_refused_without_sending(fake, settings):
    settings.WECHAT_APP_SECRET = "not-the-secret"
    with pytest.raises(WeChatPermanent, match="40125"):
        _send(key=_key())
    assert fake.delivered == [] and fake.send_calls == 0
    assert cache.get(wechat.TOKEN_KEY) is None


# ------------------------------------------------------------------ permanent and transient


@pytest.mark.parametrize(
    ("openid", "errcode"),
    [("oQ7x_5NotFollowingAnyMore000", 43004), ("oQ7x_5NeverSeenByWeChat00000", 40003)],
)
def test_a_customer_wechat_cannot_reach_is_a_permanent_failure(fake, openid, errcode):
    if errcode == 43004:
        fake.unfollowed.add(openid)
    key = _key()
    with pytest.raises(WeChatPermanent, match=str(errcode)) as failure:
        _send(key=key, openid=openid)
    assert isinstance(failure.value, DeliveryFailed)  # a fallback catches both
    assert fake.delivered == []
    assert cache.get(wechat._sent_key(key)) is None


@pytest.mark.parametrize(("kind", "value"), [("errcode", 45009), ("errcode", -1), ("http", 502)])
def test_rate_limits_and_server_errors_are_retried_and_sent_once(fake, kind, value):
    key = _key()
    fake.answer_next_send(kind, value)
    with pytest.raises(DeliveryFailed) as failure:
        _send(key=key)
    assert not isinstance(failure.value, WeChatPermanent)
    assert fake.delivered == []
    retried = _send(key=key)
    again = _send(key=key)
    assert retried == again and len(fake.delivered) == 1


def test_a_hanging_wechat_times_out_and_the_retry_does_not_double_the_message(fake, settings):
    settings.WECHAT_TIMEOUT_SECONDS = 0.5
    key = _key()
    access_token()
    fake.answer_next_send("hang")
    with pytest.raises(DeliveryFailed, match="did not answer"):
        _send(key=key)
    fake.release.set()  # WeChat delivers after all, after we gave up
    assert fake.hang_done.wait(10)
    assert len(fake.delivered) == 1
    settings.WECHAT_TIMEOUT_SECONDS = 5
    msgid = _send(key=key)  # the due task's retry: the same client_msg_id
    assert len(fake.delivered) == 1 and fake.delivered[0]["client_msg_id"] == key
    assert msgid == str(fake.client_msg_ids[(OPENID, key)])


def test_the_same_key_is_not_sent_twice(fake):
    key = _key()
    first = _send(key=key)
    fake.client_msg_ids.clear()  # past WeChat's ten minutes: only our record stops it
    second = _send(key=key)
    assert first == second
    assert len(fake.delivered) == 1 and fake.send_calls == 1


def test_the_message_carries_the_mapped_fields_and_the_portal_link(fake):
    _send(key=_key(), url="https://desk.example.cn/portal/?t=abc")
    sent = fake.delivered[0]
    assert sent["touser"] == OPENID and sent["template_id"] == "TPL-REMINDER"
    assert sent["url"] == "https://desk.example.cn/portal/?t=abc"
    assert sent["data"] == {"thing1": {"value": "李雷"}, "time2": {"value": "2026-12-05 09:00"}}


def test_a_message_without_a_template_mapping_is_never_sent(fake):
    with pytest.raises(WeChatPermanent, match="no WeChat template"):
        _send(key=_key(), template="invoice_ready")
    assert fake.token_calls == 0 and fake.send_calls == 0


def test_notify_sends_on_the_wechat_channel_and_keeps_the_message(fake, settings):
    settings.NOTIFICATION_BACKENDS = {
        "sms": "dealership.notifications.LogBackend",
        "wechat": "dealership.wechat.WeChatBackend",
    }
    settings.WECHAT_TEMPLATES = {
        "default": {"template_id": "TPL-DEFAULT", "fields": {"first": "title", "remark": "body"}}
    }
    customer = CustomerFactory(name="李雷", language="zh-hans", wechat_openid=OPENID)
    message = notify(
        customer=customer, template="reminder", context={"note": "明天9点保养"}, channel="wechat"
    )
    assert message.status == "sent" and message.channel == "wechat"
    assert message.provider_ref == "200163801"
    assert fake.delivered[0]["data"]["remark"]["value"] == message.body
    assert "明天9点保养" in message.body


def test_the_log_names_the_customer_wechat_only_masked(fake, caplog):
    fake.unfollowed.add(OTHER_OPENID)
    fake.followers.discard(OTHER_OPENID)
    caplog.set_level("INFO", logger="dealership.wechat")
    _send(key=_key())
    with pytest.raises(WeChatPermanent):
        _send(key=_key(), openid=OTHER_OPENID)
    assert "oQ7x…StUv" in caplog.text and "oQ7x…HgFe" in caplog.text
    assert OPENID not in caplog.text and OTHER_OPENID not in caplog.text


def test_address_is_the_bound_openid():
    backend = WeChatBackend("wechat")
    assert backend.address(CustomerFactory.build(wechat_openid=OPENID)) == OPENID
    assert backend.address(CustomerFactory.build()) == ""


# ------------------------------------------------------------------ web authorisation


def _start(client, next_url: str = "/portal/") -> str:
    response = client.get(reverse("wechat_oauth_start"), {"next": next_url})
    assert response.status_code == 302
    return response["Location"]


def _state(location: str) -> str:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
    return query["state"][0]


def test_start_sends_the_customer_to_wechat_with_a_signed_state(client, fake, settings):
    location = _start(client)
    parts = urllib.parse.urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == (
        "https://open.weixin.qq.com/connect/oauth2/authorize"
    )
    assert parts.fragment == "wechat_redirect"
    query = urllib.parse.parse_qs(parts.query)
    assert query["appid"] == [APP_ID] and query["scope"] == ["snsapi_base"]
    assert query["response_type"] == ["code"]
    assert query["redirect_uri"] == [settings.SITE_URL + reverse("wechat_oauth_callback")]
    assert len(query["state"][0]) <= 128 and query["state"][0].isalnum()
    assert list(urllib.parse.parse_qs(parts.query)) == [
        "appid",
        "redirect_uri",
        "response_type",
        "scope",
        "state",
    ]


def test_callback_signs_the_bound_customer_into_the_portal(client, fake):
    customer = CustomerFactory(wechat_openid=OPENID)
    state = _state(_start(client, "/portal/visits/"))
    response = client.get(
        reverse("wechat_oauth_callback"), {"code": fake.issue_code(OPENID), "state": state}
    )
    assert response.status_code == 302 and response["Location"] == "/portal/visits/"
    session = client.session
    assert session["wechat_openid"] == OPENID
    assert session["portal_customer"] == customer.pk
    assert session["portal_signed_in_at"]


def test_callback_for_an_unbound_wechat_keeps_the_openid_only(client, fake):
    state = _state(_start(client))
    client.get(reverse("wechat_oauth_callback"), {"code": fake.issue_code(OPENID), "state": state})
    assert client.session["wechat_openid"] == OPENID
    assert "portal_customer" not in client.session


@pytest.mark.parametrize(
    "next_url",
    [
        "https://evil.example/steal",
        "//evil.example/",
        "/portal/\r\nSet-Cookie: x=1",
        "/p" + "x" * 600,
    ],
)
def test_a_next_address_elsewhere_or_broken_is_ignored(client, fake, next_url):
    state = _state(_start(client, next_url))
    response = client.get(
        reverse("wechat_oauth_callback"), {"code": fake.issue_code(OPENID), "state": state}
    )
    assert response.status_code == 302 and response["Location"] == "/"


@pytest.mark.parametrize("forgery", ["altered", "made_up", "missing"])
def test_a_forged_state_is_refused_and_the_code_not_spent(client, fake, forgery):
    CustomerFactory(wechat_openid=OPENID)
    state = _state(_start(client))
    forged = {
        "altered": state[:-1] + ("0" if state[-1] != "0" else "1"),
        "made_up": "0" * 80,
        "missing": "",
    }[forgery]
    code = fake.issue_code(OPENID)
    response = client.get(reverse("wechat_oauth_callback"), {"code": code, "state": forged})
    assert response.status_code == 400
    assert "portal_customer" not in client.session and "wechat_openid" not in client.session
    assert code in fake.codes  # WeChat was never asked


def test_a_state_from_another_browser_is_refused(client, fake):
    CustomerFactory(wechat_openid=OPENID)
    attacker = Client()
    state = _state(_start(attacker))
    _start(client)  # the victim has a sign-in of their own under way
    response = client.get(
        reverse("wechat_oauth_callback"), {"code": fake.issue_code(OPENID), "state": state}
    )
    assert response.status_code == 400 and "portal_customer" not in client.session


def test_an_old_state_is_refused():
    state = oauth_state_issue("a" * 32, now=1_800_000_000)
    oauth_state_check(state, "a" * 32, now=1_800_000_000 + 600)
    with translation.override("en"), pytest.raises(OAuthRefused, match="too long"):
        oauth_state_check(state, "a" * 32, now=1_800_000_000 + 601)


def test_a_replayed_code_is_refused(client, fake):
    CustomerFactory(wechat_openid=OPENID)
    code = fake.issue_code(OPENID)
    state = _state(_start(client))
    first = client.get(reverse("wechat_oauth_callback"), {"code": code, "state": state})
    assert first.status_code == 302 and client.session["wechat_openid"] == OPENID
    other = Client()
    state = _state(_start(other))
    response = other.get(reverse("wechat_oauth_callback"), {"code": code, "state": state})
    assert response.status_code == 400
    assert "portal_customer" not in other.session and "wechat_openid" not in other.session


def test_a_made_up_code_is_refused(client, fake):
    state = _state(_start(client))
    response = client.get(reverse("wechat_oauth_callback"), {"code": "guess", "state": state})
    assert response.status_code == 400 and "wechat_openid" not in client.session


def test_oauth_pages_do_not_exist_without_an_app_id(client, settings):
    settings.WECHAT_APP_ID = ""
    assert client.get(reverse("wechat_oauth_start")).status_code == 404


# ------------------------------------------------------------------ binding


def test_binding_an_openid_shows_on_the_timeline():
    customer = CustomerFactory()
    openid_bind(customer=customer, openid=OPENID)
    customer.refresh_from_db()
    assert customer.wechat_openid == OPENID
    event = TimelineEvent.objects.get(kind="customer.wechat_bound", customer=customer)
    assert OPENID not in event.summary


def test_an_openid_bound_to_another_customer_is_not_moved():
    holder = CustomerFactory(wechat_openid=OPENID)
    other = CustomerFactory()
    with translation.override("en"), pytest.raises(ValidationError, match="another customer"):
        openid_bind(customer=other, openid=OPENID)
    assert Customer.objects.get(pk=holder.pk).wechat_openid == OPENID
    assert Customer.objects.get(pk=other.pk).wechat_openid == ""
    with pytest.raises(ValidationError):
        openid_bind(customer=other, openid="not an openid!")


@pytest.mark.django_db(transaction=True)
def test_two_customers_binding_one_wechat_at_once_one_wins(require_postgres):
    customers = [CustomerFactory(), CustomerFactory()]
    barrier = threading.Barrier(len(customers))
    bound, refused, errors = [], [], []

    def bind(customer):
        try:
            barrier.wait(timeout=30)
            openid_bind(customer=customer, openid=OPENID)
            bound.append(customer.pk)
        except ValidationError:
            refused.append(customer.pk)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=bind, args=(c,)) for c in customers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == [] and len(bound) == 1 and len(refused) == 1
    assert list(Customer.objects.filter(wechat_openid=OPENID).values_list("pk", flat=True)) == bound
    assert TimelineEvent.objects.filter(kind="customer.wechat_bound").count() == 1


def test_the_customer_page_shows_wechat_masked_and_the_advisor_unbinds(advisor_client):
    customer = CustomerFactory(wechat_openid=OPENID)
    page = advisor_client.get(customer.get_absolute_url()).content.decode()
    assert "wechat-unbind" in page and OPENID not in page and "oQ7x…StUv" in page
    response = advisor_client.post(reverse("customer_wechat_unbind", args=[customer.pk]))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.wechat_openid == ""
    assert TimelineEvent.objects.filter(kind="customer.wechat_unbound", customer=customer).exists()


def test_a_cashier_may_not_unbind(client, make_staff):
    customer = CustomerFactory(wechat_openid=OPENID)
    client.force_login(make_staff("cashier"))
    assert "wechat-unbind" not in client.get(customer.get_absolute_url()).content.decode()
    response = client.post(reverse("customer_wechat_unbind", args=[customer.pk]))
    assert response.status_code == 403
    assert Customer.objects.get(pk=customer.pk).wechat_openid == OPENID


# ------------------------------------------------------------------ with the channel fallback


@pytest.fixture
def wechat_then_sms(fake, settings):
    from dealership import notifications

    settings.NOTIFICATION_BACKENDS = {
        "wechat": "dealership.wechat.WeChatBackend",
        "sms": "dealership.notifications.SmsBackend",
    }
    settings.NOTIFICATION_SMS_PROVIDER = "dealership.notifications.RecordingSmsProvider"
    settings.WECHAT_TEMPLATES = {
        "default": {"template_id": "TPL-DEFAULT", "fields": {"first": "title"}}
    }
    notifications.sms_outbox.clear()
    yield notifications.sms_outbox
    notifications.sms_outbox.clear()


def test_a_follower_gets_the_message_by_wechat_and_the_timeline_masks_the_openid(
    wechat_then_sms, fake
):
    from dealership.models import Message

    customer = CustomerFactory(preferred_channel="wechat", wechat_openid=OPENID)
    message = notify(customer=customer, template="reminder", context={"note": "tyres"})
    assert (message.channel, message.status) == ("wechat", "sent")
    assert [sent["touser"] for sent in fake.delivered] == [OPENID]
    assert wechat_then_sms == []
    line = TimelineEvent.objects.get(kind="message.sent", customer=customer)
    assert OPENID not in line.summary and "oQ7x…StUv" in line.summary
    assert Message.objects.filter(customer=customer).count() == 1


def test_an_unfollowed_account_falls_back_to_sms_through_the_real_backend(
    wechat_then_sms, fake, caplog
):
    from dealership.models import Message

    customer = CustomerFactory(preferred_channel="wechat", wechat_openid=OTHER_OPENID)
    fake.followers.discard(OTHER_OPENID)  # the customer unfollowed the store's account
    message = notify(customer=customer, template="reminder", context={"note": "tyres"})
    assert (message.channel, message.status) == ("sms", "sent")
    assert len(wechat_then_sms) == 1 and fake.delivered == []
    refused = Message.objects.get(customer=customer, channel="wechat")
    assert refused.status == "failed" and refused.error.startswith("WeChat errcode 4")
    assert OTHER_OPENID not in caplog.text  # the failure is logged with the openid masked
