"""Outbound webhooks (issue 18.4) against a real HTTP receiver running in a thread.

The due-task engine is driven explicitly (`due_tasks_dispatch(now=...)`, Celery eager), so
retries and back-off are reached by moving `now` forward, never by sleeping.
"""

import hashlib
import hmac
import json
import ssl
import subprocess
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from dealership.due import due_task_perform, due_tasks_dispatch
from dealership.errors import DomainError
from dealership.events import Event, publish
from dealership.models import DueTask, WebhookDelivery, WebhookSubscription
from dealership.states import DueTaskState
from dealership.webhooks import (
    DELIVER,
    delivery_replay,
    subscription_create,
    subscription_rotate_secret,
    subscription_update,
)

pytestmark = pytest.mark.django_db


class Receiver:
    """A local webhook receiver: records every request; answers by a script per event id.

    `script[event_type]` is a list of answers used one per request ("500", "200", "hang",
    "429:600" for a 429 with `Retry-After: 600`);
    when it runs out the answer is 200. "hang" holds the answer until `release` is set,
    so the sender's timeout is what ends that attempt.
    """

    def __init__(self):
        self.requests: list[dict] = []
        self.script: dict[str, list[str]] = {}
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                event_type = self.headers["X-Webhook-Event"]
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                answers = receiver.script.get(event_type) or ["200"]
                answer = answers.pop(0) if answers else "200"
                if answer == "hang":
                    receiver.release.wait(timeout=10)
                    answer = "200"
                status, _colon, retry_after = answer.partition(":")
                try:
                    self.send_response(int(status))
                    if retry_after:
                        self.send_header("Retry-After", retry_after)
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    return  # the sender gave up waiting: a lost answer, as on a real network

            def log_message(self, *args):
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def events(self) -> list[tuple[str, str]]:
        """(event type, event id) of every request received, in arrival order."""
        return [
            (r["headers"]["X-Webhook-Event"], r["headers"]["X-Webhook-Id"]) for r in self.requests
        ]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = True
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.release.set()
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def manager(make_staff):
    return make_staff("service_manager")


@pytest.fixture
def subscribed(receiver, manager):
    subscription, secret = subscription_create(
        url=receiver.url, events=list(Event.values), actor=manager
    )
    return subscription, secret


@pytest.fixture
def emit(django_capture_on_commit_callbacks):
    """Publish an event as a service does, and let its transaction commit."""

    def run(event, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return publish(event, **kwargs)

    return run


@pytest.fixture
def dispatch(eager, django_capture_on_commit_callbacks):
    """One beat of the due-task engine, `minutes` from now (retries wait their back-off)."""

    def run(minutes=0):
        with django_capture_on_commit_callbacks(execute=True):
            return due_tasks_dispatch(now=timezone.now() + timedelta(minutes=minutes))

    return run


def _task(delivery: WebhookDelivery) -> DueTask:
    return DueTask.objects.get(
        kind=DELIVER,
        subject_type=ContentType.objects.get_for_model(WebhookDelivery),
        subject_id=delivery.pk,
    )


def test_the_receiver_can_verify_the_signature(receiver, subscribed, emit, dispatch):
    subscription, secret = subscribed
    event = emit(Event.VISIT_CHECKED_IN, visit_id=41, data={"number": "RO260101-001"})
    dispatch()
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    expected = hmac.new(
        secret.encode(), f"{headers['X-Webhook-Timestamp']}.{body}".encode(), hashlib.sha256
    ).hexdigest()
    assert headers["X-Webhook-Signature"] == f"sha256={expected}"
    assert abs(int(headers["X-Webhook-Timestamp"]) - timezone.now().timestamp()) < 60
    assert headers["X-Webhook-Id"] == str(event.id)
    assert headers["X-Webhook-Event"] == "visit.checked_in"
    assert json.loads(body) == {
        "id": str(event.id),
        "type": "visit.checked_in",
        "occurred_at": event.occurred_at.isoformat(),
        "data": {"number": "RO260101-001", "visit": 41},
    }
    # A wrong secret does not verify: the signature is the secret's, not the body's hash.
    forged = hmac.new(b"guess", f"{headers['X-Webhook-Timestamp']}.{body}".encode(), "sha256")
    assert headers["X-Webhook-Signature"] != f"sha256={forged.hexdigest()}"
    delivery = WebhookDelivery.objects.get(subscription=subscription)
    assert delivery.acknowledged_at is not None and delivery.response_status == 200


def test_a_500_is_retried_after_the_back_off_and_then_acknowledged(
    receiver, subscribed, emit, dispatch
):
    receiver.script["order.signed"] = ["500"]
    emit(Event.ORDER_SIGNED, visit_id=7, data={"order": 3})
    dispatch()
    delivery = WebhookDelivery.objects.get()
    task = _task(delivery)
    assert (task.state, task.attempts) == (DueTaskState.PENDING, 1)
    assert "HTTP 500" in task.last_error
    assert delivery.acknowledged_at is None
    dispatch()  # the back-off (60 s after the first try) has not passed: nothing is sent
    assert len(receiver.requests) == 1
    dispatch(minutes=2)
    task.refresh_from_db()
    delivery.refresh_from_db()
    assert (task.state, task.attempts) == (DueTaskState.DONE, 2)
    assert delivery.response_status == 200
    first, second = receiver.requests
    assert first["body"] == second["body"]  # the same bytes and event id, signed afresh
    assert first["headers"]["X-Webhook-Id"] == second["headers"]["X-Webhook-Id"]


def test_no_duplicate_after_a_timeout_once_acknowledged(receiver, subscribed, emit, dispatch):
    receiver.script["visit.ready"] = ["hang"]
    emit(Event.VISIT_READY, visit_id=9, data={})
    dispatch()  # no answer within 0.5 s: the attempt counts as failed
    receiver.release.set()
    delivery = WebhookDelivery.objects.get()
    task = _task(delivery)
    assert task.state == DueTaskState.PENDING and "no answer in time" in task.last_error
    dispatch(minutes=2)  # the retry is answered 200: acknowledged
    delivery.refresh_from_db()
    assert delivery.acknowledged_at is not None
    for hours in (2, 5, 30):
        dispatch(minutes=60 * hours)
    # The message of the acknowledged attempt delivered again to a worker sends nothing.
    assert due_task_perform(task_id=task.pk) == "skipped"
    task.refresh_from_db()
    assert (task.state, task.attempts) == (DueTaskState.DONE, 2)
    assert len(receiver.requests) == 2  # the timed-out attempt and the acknowledged one


def test_events_of_one_visit_keep_their_order(receiver, subscribed, emit, dispatch):
    receiver.script["visit.checked_in"] = ["500"]
    checked_in = emit(Event.VISIT_CHECKED_IN, visit_id=1, data={})
    signed = emit(Event.ORDER_SIGNED, visit_id=1, data={})
    other = emit(Event.VISIT_CHECKED_IN, visit_id=2, data={})
    dispatch()
    # Visit 1's check-in failed; its order signing waits; visit 2 is not held up by it.
    assert receiver.events() == [
        ("visit.checked_in", str(checked_in.id)),
        ("visit.checked_in", str(other.id)),
    ]
    waiting = WebhookDelivery.objects.get(event_id=signed.id)
    assert waiting.released_at is None
    assert not DueTask.objects.filter(kind=DELIVER, subject_id=waiting.pk).exists()
    dispatch(minutes=2)  # the check-in is acknowledged: the signing is released
    dispatch(minutes=3)
    visit_1 = [event_id for _type, event_id in receiver.events() if event_id != str(other.id)]
    assert visit_1 == [str(checked_in.id), str(checked_in.id), str(signed.id)]
    assert WebhookDelivery.objects.filter(acknowledged_at__isnull=True).count() == 0


def test_a_dead_letter_lets_the_next_event_go_shows_on_ops_and_is_replayed(
    receiver, subscribed, emit, dispatch, settings, client, manager
):
    receiver.script["addition.proposed"] = ["500"] * 8  # WEBHOOK_MAX_ATTEMPTS tries
    proposed = emit(Event.ADDITION_PROPOSED, visit_id=5, data={"addition": 1})
    answered = emit(Event.ADDITION_ANSWERED, visit_id=5, data={"addition": 1})
    for attempt in range(8):
        dispatch(minutes=120 * attempt)  # back-off is at most an hour
        assert str(answered.id) not in {event_id for _t, event_id in receiver.events()}
    dead = WebhookDelivery.objects.get(event_id=proposed.id)
    assert _task(dead).state == DueTaskState.FAILED
    dispatch(minutes=120 * 8)  # the dead letter no longer holds the visit's next event
    assert receiver.events()[-1] == ("addition.answered", str(answered.id))

    client.force_login(manager)
    ops = client.get(reverse("due_ops"))
    assert f'id="failed-{_task(dead).pk}"' in ops.content.decode()
    page = client.get(reverse("webhooks"))
    assert f'action="{reverse("webhook_replay", args=[dead.pk])}"' in page.content.decode()

    response = client.post(reverse("webhook_replay", args=[dead.pk]))
    assert response.status_code == 302
    dispatch(minutes=120 * 9)
    dead.refresh_from_db()
    assert dead.acknowledged_at is not None and dead.replays == 1
    assert receiver.events()[-1] == ("addition.proposed", str(proposed.id))


def test_replay_of_an_acknowledged_event_sends_it_once_more(
    receiver, subscribed, emit, dispatch, manager
):
    event = emit(Event.VISIT_DELIVERED, visit_id=3, data={})
    dispatch()
    delivery = WebhookDelivery.objects.get()
    delivery_replay(delivery=delivery, actor=manager)
    dispatch()
    dispatch(minutes=120)
    assert receiver.events() == [("visit.delivered", str(event.id))] * 2


def test_replay_of_an_event_still_on_its_way_is_refused(receiver, subscribed, emit, manager):
    emit(Event.VISIT_SETTLED, visit_id=3, data={})
    delivery = WebhookDelivery.objects.get()
    with pytest.raises(DomainError) as refused:
        delivery_replay(delivery=delivery, actor=manager)
    assert refused.value.code == "not_finished"
    assert WebhookDelivery.objects.get().replays == 0


def test_only_subscribed_events_of_active_subscriptions_are_delivered(
    receiver, manager, emit, dispatch
):
    wanted, _secret = subscription_create(
        url=receiver.url, events=["complaint.opened"], actor=manager
    )
    paused, _secret = subscription_create(
        url=receiver.url, events=["complaint.opened"], active=False, actor=manager
    )
    emit(Event.COMPLAINT_OPENED, order_key="complaint:1", data={})
    emit(Event.COMPLAINT_ESCALATED, order_key="complaint:1", data={})
    dispatch()
    assert [d.subscription_id for d in WebhookDelivery.objects.all()] == [wanted.pk]
    assert [t for t, _id in receiver.events()] == ["complaint.opened"]
    assert not paused.deliveries.exists()


def test_a_rolled_back_event_is_never_published(receiver, subscribed, dispatch):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        publish(Event.VISIT_READY, visit_id=4, data={})
        raise RuntimeError("the service refused after publishing")
    dispatch()
    assert not WebhookDelivery.objects.exists()
    assert receiver.requests == []


# ---------------------------------------------------------------- the page


def test_the_manager_adds_a_subscription_and_sees_its_secret_once(client, manager, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    client.force_login(manager)
    url = reverse("webhooks")
    response = client.post(
        url, {"url": "https://dms.example.com/hook", "events": ["visit.ready"], "active": "on"}
    )
    subscription = WebhookSubscription.objects.get()
    assert response.status_code == 200
    assert subscription.secret in response.content.decode()
    assert len(subscription.secret) == 64  # 32 random bytes in hex
    assert subscription.events == ["visit.ready"] and subscription.active
    again = client.get(url).content.decode()
    assert "https://dms.example.com/hook" in again and subscription.secret not in again


def test_a_plain_http_address_is_refused_by_the_field(client, manager, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    client.force_login(manager)
    response = client.post(
        reverse("webhooks"), {"url": "http://dms.example.com/hook", "events": ["visit.ready"]}
    )
    assert response.status_code == 400
    assert 'class="field field-error" id="field-url"' in response.content.decode()
    assert "https://" in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_an_unknown_event_is_refused(client, manager):
    client.force_login(manager)
    response = client.post(
        reverse("webhooks"), {"url": "https://dms.example.com/hook", "events": ["visit.stolen"]}
    )
    assert response.status_code == 400
    assert 'id="field-events"' in response.content.decode()
    assert not WebhookSubscription.objects.exists()


def test_the_manager_pauses_a_subscription(client, manager):
    subscription, _secret = subscription_create(
        url="https://dms.example.com/hook", events=["visit.ready"], actor=manager
    )
    client.force_login(manager)
    prefix = f"s{subscription.pk}"
    response = client.post(
        reverse("webhook_edit", args=[subscription.pk]),
        {f"{prefix}-url": subscription.url, f"{prefix}-events": ["visit.ready", "visit.settled"]},
    )
    assert response.status_code == 302
    subscription.refresh_from_db()
    assert not subscription.active
    assert subscription.events == ["visit.ready", "visit.settled"]


@pytest.mark.parametrize("role", ["advisor", "cashier", "customer_care", "technician"])
def test_other_roles_may_not_see_or_change_webhooks(client, make_staff, manager, role):
    subscription, _secret = subscription_create(
        url="https://dms.example.com/hook", events=["visit.ready"], actor=manager
    )
    client.force_login(make_staff(role))
    assert client.get(reverse("webhooks")).status_code == 403
    edit = client.post(reverse("webhook_edit", args=[subscription.pk]), {})
    assert edit.status_code == 403
    subscription.refresh_from_db()
    assert subscription.active


# ---------------------------------------------------------------- hardening


def _verifies(secret: str, request: dict) -> bool:
    """A receiver's check: any one of the header's signatures made with `secret`."""
    headers = request["headers"]
    expected = hmac.new(
        secret.encode(),
        f"{headers['X-Webhook-Timestamp']}.{request['body']}".encode(),
        hashlib.sha256,
    ).hexdigest()
    offered = [part.strip() for part in headers["X-Webhook-Signature"].split(",")]
    return any(hmac.compare_digest(part, f"sha256={expected}") for part in offered)


@pytest.mark.parametrize("status", [400, 401, 404, 410, 422])
def test_a_4xx_is_a_dead_letter_at_once_without_retries(
    receiver, subscribed, emit, dispatch, client, manager, status
):
    receiver.script["visit.ready"] = [str(status)]
    emit(Event.VISIT_READY, visit_id=12, data={})
    after = emit(Event.VISIT_SETTLED, visit_id=12, data={})
    dispatch()
    delivery = WebhookDelivery.objects.get(event_type="visit.ready")
    task = _task(delivery)
    assert (task.state, task.attempts) == (DueTaskState.FAILED, 1)
    assert f"HTTP {status}" in task.last_error and "not retried" in task.last_error
    assert delivery.response_status == status and delivery.acknowledged_at is None
    for hours in (1, 3, 10):
        dispatch(minutes=60 * hours)
    # Sent once; the visit's next event was not held up by the refused one.
    assert receiver.events()[0][0] == "visit.ready"
    assert [t for t, _id in receiver.events()].count("visit.ready") == 1
    assert receiver.events()[-1] == ("visit.settled", str(after.id))
    client.force_login(manager)
    ops = client.get(reverse("due_ops")).content.decode()
    assert f'id="failed-{task.pk}"' in ops and f"HTTP {status}" in ops
    page = client.get(reverse("webhooks")).content.decode()
    assert f"(HTTP {status})" in page


@pytest.mark.parametrize("answer", ["408", "503"])
def test_a_408_or_a_5xx_is_retried(receiver, subscribed, emit, dispatch, answer):
    receiver.script["visit.ready"] = [answer]
    emit(Event.VISIT_READY, visit_id=13, data={})
    dispatch()
    task = _task(WebhookDelivery.objects.get())
    assert (task.state, task.attempts) == (DueTaskState.PENDING, 1)
    dispatch(minutes=2)
    task.refresh_from_db()
    assert task.state == DueTaskState.DONE and len(receiver.requests) == 2


def test_a_429_waits_for_its_retry_after(receiver, subscribed, emit, dispatch):
    receiver.script["visit.ready"] = ["429:600"]
    emit(Event.VISIT_READY, visit_id=14, data={})
    before = timezone.now()
    dispatch()
    task = _task(WebhookDelivery.objects.get())
    assert task.state == DueTaskState.PENDING
    # The usual first back-off is 60 s; the receiver asked for 10 minutes.
    assert task.run_after >= before + timedelta(seconds=600)
    dispatch(minutes=5)
    assert len(receiver.requests) == 1
    dispatch(minutes=11)
    task.refresh_from_db()
    assert task.state == DueTaskState.DONE and len(receiver.requests) == 2


def test_during_the_grace_both_secrets_sign_and_after_it_only_the_new(
    receiver, subscribed, emit, dispatch, manager
):
    subscription, old = subscribed
    subscription, new = subscription_rotate_secret(subscription=subscription, actor=manager)
    assert new != old and len(new) == 64
    emit(Event.VISIT_READY, visit_id=15, data={})
    dispatch()
    during = receiver.requests[-1]
    assert _verifies(new, during) and _verifies(old, during)
    assert during["headers"]["X-Webhook-Signature"].count("sha256=") == 2
    assert not _verifies("0" * 64, during)

    # The grace (24 h by default) has passed: a rotation made 25 hours ago.
    subscription, newest = subscription_rotate_secret(
        subscription=subscription, actor=manager, now=timezone.now() - timedelta(hours=25)
    )
    emit(Event.VISIT_SETTLED, visit_id=15, data={})
    dispatch(minutes=1)
    after = receiver.requests[-1]
    assert after["headers"]["X-Webhook-Event"] == "visit.settled"
    assert _verifies(newest, after)
    assert not _verifies(new, after) and not _verifies(old, after)
    assert after["headers"]["X-Webhook-Signature"].count("sha256=") == 1


def test_the_manager_rotates_the_secret_on_the_page_and_sees_it_once(client, manager):
    subscription, old = subscription_create(
        url="https://93.184.215.14/hook", events=["visit.ready"], actor=manager
    )
    client.force_login(manager)
    response = client.post(reverse("webhook_rotate", args=[subscription.pk]))
    subscription.refresh_from_db()
    html = response.content.decode()
    assert response.status_code == 200
    assert subscription.secret != old and subscription.secret in html
    assert subscription.previous_secret == old
    assert subscription.previous_secret_until > timezone.now() + timedelta(hours=23)
    assert subscription.secret not in client.get(reverse("webhooks")).content.decode()
    assert "sha256=&lt;new&gt;, sha256=&lt;old&gt;" in html


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://10.1.2.3/hook",
        "https://192.168.1.20:8443/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://[fe80::1%25eth0]/hook",
        "https://0x7f000001/hook",
        "https://100.64.0.1/hook",
        "https://0.0.0.0/hook",
        "https://224.0.0.1/hook",
        "https://localhost/hook",
    ],
)
def test_a_private_address_is_refused_at_save(settings, manager, url):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    with pytest.raises(DomainError) as refused:
        subscription_create(url=url, events=["visit.ready"], actor=manager)
    [error] = refused.value.error_dict["url"]
    assert error.code == "private_address"
    assert not WebhookSubscription.objects.exists()


def test_the_page_shows_the_private_address_refusal_by_the_field(client, manager, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    public, _secret = subscription_create(
        url="https://93.184.215.14/hook", events=["visit.ready"], actor=manager
    )
    client.force_login(manager)
    response = client.post(
        reverse("webhooks"), {"url": "https://localhost/hook", "events": ["visit.ready"]}
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert 'class="field field-error" id="field-url"' in html and "127.0.0.1" in html
    prefix = f"s{public.pk}"
    edit = client.post(
        reverse("webhook_edit", args=[public.pk]),
        {f"{prefix}-url": "https://10.0.0.8/hook", f"{prefix}-events": ["visit.ready"]},
    )
    assert edit.status_code == 400
    public.refresh_from_db()
    assert public.url == "https://93.184.215.14/hook"
    assert WebhookSubscription.objects.count() == 1


def test_a_destination_that_became_private_is_not_sent_and_dead_at_once(
    receiver, subscribed, emit, dispatch, settings
):
    # Saved while local receivers were allowed; at send time they are not (as a name that
    # resolves to 127.0.0.1 by then would be): nothing is sent, the reason is on the task.
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    emit(Event.VISIT_READY, visit_id=16, data={})
    dispatch()
    task = _task(WebhookDelivery.objects.get())
    assert (task.state, task.attempts) == (DueTaskState.FAILED, 1)
    assert "non-public address 127.0.0.1" in task.last_error
    assert receiver.requests == []


def test_the_request_goes_to_the_checked_address_naming_the_host(receiver, manager, emit, dispatch):
    port = receiver.server.server_address[1]
    subscription_create(
        url=f"http://localhost:{port}/hook?store=1", events=["visit.ready"], actor=manager
    )
    emit(Event.VISIT_READY, visit_id=17, data={})
    dispatch()
    [request] = receiver.requests
    assert request["headers"]["Host"] == f"localhost:{port}"
    assert WebhookDelivery.objects.get().response_status == 200


def test_editing_keeps_the_secret_and_refuses_a_private_address(manager, settings):
    settings.WEBHOOK_ALLOW_LOCAL_HTTP = False
    subscription, secret = subscription_create(
        url="https://93.184.215.14/hook", events=["visit.ready"], actor=manager
    )
    with pytest.raises(DomainError):
        subscription_update(
            subscription=subscription,
            url="https://127.0.0.1/hook",
            events=["visit.ready"],
            active=True,
            actor=manager,
        )
    subscription.refresh_from_db()
    assert subscription.url == "https://93.184.215.14/hook" and subscription.secret == secret


@pytest.fixture
def tls_receiver(receiver, tmp_path):
    """The receiver speaking https with a certificate for "localhost" (self-signed), and the
    names the client asked for in its TLS hello (SNI)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    receiver.sni = []
    context.sni_callback = lambda sock, name, ctx: receiver.sni.append(name)
    receiver.server.socket = context.wrap_socket(receiver.server.socket, server_side=True)
    receiver.cert = cert
    return receiver


def test_https_goes_to_the_checked_address_with_the_names_certificate(
    tls_receiver, manager, emit, dispatch, settings
):
    port = tls_receiver.server.server_address[1]
    subscription_create(url=f"https://localhost:{port}/hook", events=["visit.ready"], actor=manager)
    # A certificate no trusted authority signed: refused, retried, nothing delivered.
    emit(Event.VISIT_READY, visit_id=18, data={})
    dispatch()
    delivery = WebhookDelivery.objects.get()
    task = _task(delivery)
    assert task.state == DueTaskState.PENDING and "CERTIFICATE_VERIFY_FAILED" in task.last_error
    assert tls_receiver.requests == [] and tls_receiver.sni == ["localhost"]
    # Trusted (the store's own CA file): the connection to 127.0.0.1 checks the certificate
    # against the name in the address, and the request names the host.
    settings.WEBHOOK_CA_BUNDLE = str(tls_receiver.cert)
    dispatch(minutes=2)
    delivery.refresh_from_db()
    assert delivery.response_status == 200
    [request] = tls_receiver.requests
    assert request["headers"]["Host"] == f"localhost:{port}"
    assert tls_receiver.sni == ["localhost", "localhost"]
