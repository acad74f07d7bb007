"""Outbound webhooks (issue 18.4): subscriptions, and one signed delivery per event.

An event (`dealership.events.publish`) makes one `WebhookDelivery` per active
subscription that wants it, with the JSON body fixed at that moment. Sending is a
due task (kind `webhook.deliver`, subject the delivery), so the due-task engine's
guarantees hold: claimed once, re-read under a lock, retried with back-off (kept
in the row) on a 5xx, a refused connection or a timeout, and failed for good (a
dead letter on the ops page) after `WEBHOOK_MAX_ATTEMPTS` tries. A 2xx answer is
the acknowledgement: the delivery is never sent again by itself after it.

Each request carries::

    X-Webhook-Id: <event id>            X-Webhook-Event: visit.checked_in
    X-Webhook-Timestamp: <unix seconds> X-Webhook-Signature: sha256=<hex>

where the signature is HMAC-SHA256, keyed with the subscription's secret, over
"<timestamp>.<body>" (see `signature`); a receiver checks it and the timestamp's
age, and drops an event id it has seen (a timed-out attempt may have arrived).
For `WEBHOOK_SECRET_GRACE_HOURS` after the manager rotates the secret, the header
carries two signatures, the new secret's first: `sha256=<new>, sha256=<old>`; a
receiver accepts the request when any one of them verifies.

A receiver's 4xx answer (but 408 and 429) is final: the delivery is a dead letter at
once, without retries. 408, 429 (waiting for its `Retry-After`), 5xx, a refused
connection and a timeout are retried.

No request goes to a private, loopback, link-local, multicast, reserved or
unspecified address (server-side request forgery into the store's own network):
such a destination is refused when saved and, since a name can resolve elsewhere
later, again when sending, to the very address then connected to.

Events of one visit reach a subscription in order: a delivery is released (its
due task scheduled) only when every earlier delivery of its key is acknowledged,
dead or skipped.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import time
from datetime import datetime, timedelta
from urllib.parse import SplitResult, urlsplit

import certifi
import urllib3
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from .due import TaskGivenUp, TaskRetryAfter, due_task_schedule
from .errors import DomainError
from .events import Event, Published
from .models import DueTask, User, WebhookDelivery, WebhookSubscription
from .states import DueTaskState

logger = logging.getLogger(__name__)

DELIVER = "webhook.deliver"
SECRET_BYTES = 32  # 64 hex characters
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


class WebhookRefused(Exception):
    """The receiver did not acknowledge: the due-task engine retries or gives up."""


class WebhookRejected(TaskGivenUp):
    """The receiver refused the request for good (a 4xx), or it may not be sent at all."""


class WebhookBusy(TaskRetryAfter):
    """The receiver asked us to come back later (429 with `Retry-After`)."""


def signature(secret: str, timestamp: str, body: str) -> str:
    """HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret, as the header carries it."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def signatures(
    subscription: WebhookSubscription, timestamp: str, body: str, *, now: datetime
) -> str:
    """The signature header: the current secret's, then the previous one's during its grace."""
    signed = [signature(subscription.secret, timestamp, body)]
    until = subscription.previous_secret_until
    if subscription.previous_secret and until is not None and now < until:
        signed.append(signature(subscription.previous_secret, timestamp, body))
    return ", ".join(signed)


# ---------------------------------------------------------------- destinations


def _allow_local() -> bool:
    return getattr(settings, "WEBHOOK_ALLOW_LOCAL_HTTP", settings.DEBUG)


def _non_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Private, loopback, link-local, multicast, reserved or unspecified (or ::ffff: of one)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is not None:
        address = mapped
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global  # e.g. the carrier-grade NAT range 100.64.0.0/10
    )


def _port(parts: SplitResult) -> int:
    return parts.port or (443 if parts.scheme == "https" else 80)


def _resolve(parts: SplitResult) -> list:
    """Every address the host resolves to, in the resolver's order (a literal IP is itself,
    an IPv6 zone such as `%eth0` left out)."""
    try:
        return [ipaddress.ip_address(parts.hostname.split("%")[0])]
    except ValueError:
        pass  # a name
    infos = socket.getaddrinfo(parts.hostname, _port(parts), type=socket.SOCK_STREAM)
    addresses = []
    for _family, _type, _proto, _name, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _first_non_public(addresses: list):
    return next((address for address in addresses if _non_public(address)), None)


# ---------------------------------------------------------------- subscriptions


def _clean_url(url: str) -> str:
    """https only, to a public address; plain http and private addresses only where the
    setting allows (tests, development)."""
    url = (url or "").strip()
    if len(url) > 500:
        raise DomainError(
            gettext("Keep the address under 500 characters."), field="url", code="too_long"
        )
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port out of range
    except ValueError:
        parts = None
    if parts is None or not parts.hostname:
        raise DomainError(gettext("Enter a valid address."), field="url", code="invalid")
    local_http = parts.scheme == "http" and parts.hostname in LOCAL_HOSTS and _allow_local()
    if parts.scheme != "https" and not local_http:
        raise DomainError(
            gettext("The address must start with https://."), field="url", code="not_https"
        )
    if parts.username or parts.password:
        raise DomainError(
            gettext("Put no user name or password in the address."),
            field="url",
            code="credentials_in_url",
        )
    if not _allow_local():
        try:
            addresses = _resolve(parts)
        except (OSError, UnicodeError, ValueError):
            # Not resolvable now (a name still being set up): the send-time check guards it.
            addresses = []
        private = _first_non_public(addresses)
        if private is not None:
            raise DomainError(
                gettext(
                    "This address leads into a private network (%(address)s): "
                    "events go only to public addresses."
                )
                % {"address": private},
                field="url",
                code="private_address",
            )
    return url


def _clean_events(events) -> list[str]:
    chosen = [event for event in Event.values if event in set(events or ())]
    if not chosen or len(chosen) != len(set(events)):
        raise DomainError(
            gettext("Choose at least one event from the list."), field="events", code="events"
        )
    return chosen


def subscription_create(
    *, url: str, events: list[str], active: bool = True, actor: User
) -> tuple[WebhookSubscription, str]:
    """A new subscription and its secret; the secret is shown to the manager this once."""
    secret = secrets.token_hex(SECRET_BYTES)
    with transaction.atomic():
        subscription = WebhookSubscription.objects.create(
            url=_clean_url(url),
            events=_clean_events(events),
            active=active,
            secret=secret,
            created_by=actor,
        )
    return subscription, secret


def subscription_update(
    *, subscription: WebhookSubscription, url: str, events: list[str], active: bool, actor: User
) -> WebhookSubscription:
    """Change the address, the events or the active flag; the secret stays."""
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.url = _clean_url(url)
        subscription.events = _clean_events(events)
        subscription.active = active
        subscription._change_reason = f"edited by {actor}"
        subscription.save(update_fields=["url", "events", "active"])
    return subscription


def subscription_rotate_secret(
    *, subscription: WebhookSubscription, actor: User, now: datetime | None = None
) -> tuple[WebhookSubscription, str]:
    """A new secret, shown to the manager this once; the old one keeps signing too for
    `WEBHOOK_SECRET_GRACE_HOURS`, so the receiver can switch without dropping events.

    Rotating again within the grace period drops the oldest secret: only the last two sign.
    """
    now = now or timezone.now()
    secret = secrets.token_hex(SECRET_BYTES)
    grace = timedelta(hours=getattr(settings, "WEBHOOK_SECRET_GRACE_HOURS", 24))
    with transaction.atomic():
        subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_until = now + grace
        subscription.secret = secret
        subscription._change_reason = f"secret rotated by {actor}"
        subscription.save(update_fields=["previous_secret", "previous_secret_until", "secret"])
    logger.info("webhook subscription %s: secret rotated by user %s", subscription.pk, actor.pk)
    return subscription, secret


# ---------------------------------------------------------------- publishing


def on_event(event: Published) -> int:
    """The events listener: one delivery per active subscription that wants the event."""
    body = json.dumps(event.envelope(), cls=DjangoJSONEncoder, ensure_ascii=False)
    made = 0
    with transaction.atomic():
        for subscription in WebhookSubscription.objects.filter(active=True).order_by("id"):
            if event.type not in subscription.events:
                continue
            delivery = WebhookDelivery.objects.create(
                subscription=subscription,
                event_id=event.id,
                event_type=event.type,
                body=body,
                order_key=event.order_key,
            )
            _release_next(delivery)
            made += 1
    return made


def _release_next(delivery: WebhookDelivery, *, finished: int | None = None) -> None:
    """Schedule the first waiting delivery of `delivery`'s key when nothing before it is open.

    Open: released and its task still pending or in progress (`finished`, the one whose
    task is finishing now, is not). Deliveries without a key go at once. The subscription
    row is locked, so two events of one visit committing together release one at a time.
    """
    if not delivery.order_key:
        if delivery.released_at is None:
            _release(delivery)
        return
    WebhookSubscription.objects.select_for_update().filter(pk=delivery.subscription_id).first()
    chain = list(
        WebhookDelivery.objects.filter(
            subscription_id=delivery.subscription_id,
            order_key=delivery.order_key,
            acknowledged_at__isnull=True,
        )
        .exclude(pk=finished)
        .order_by("id")
    )
    states = dict(
        DueTask.objects.filter(
            kind=DELIVER,
            subject_type=ContentType.objects.get_for_model(WebhookDelivery),
            subject_id__in=[row.pk for row in chain],
        ).values_list("subject_id", "state")
    )
    for row in chain:
        if row.released_at is None:
            _release(row)
            return
        if states.get(row.pk) in (DueTaskState.PENDING, DueTaskState.CLAIMED):
            return  # an earlier event of this key is still on its way


def _release(delivery: WebhookDelivery) -> None:
    now = timezone.now()
    delivery.released_at = now
    delivery.save(update_fields=["released_at"])
    due_task_schedule(kind=DELIVER, subject=delivery, due_at=now)


# ---------------------------------------------------------------- sending (the due task)


def deliver(task: DueTask) -> dict:
    """`webhook.deliver`: post the delivery's body, signed; a 2xx acknowledges it.

    Runs inside the engine's transaction with the task locked; raising rolls back what this
    wrote and lets the engine retry with back-off, or give up (`delivery_dead`).
    """
    delivery = (
        WebhookDelivery.objects.select_for_update()
        .select_related("subscription")
        .get(pk=task.subject_id)
    )
    if delivery.acknowledged_at is not None:
        return {"skipped": "already acknowledged"}
    subscription = delivery.subscription
    if not subscription.active:
        _release_next(delivery, finished=delivery.pk)
        return {"skipped": "subscription not active"}
    parts = urlsplit(subscription.url)
    address = _destination(parts)
    timestamp = str(int(time.time()))
    headers = {
        "Host": parts.netloc,
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "service-desk-webhooks/1",
        "X-Webhook-Id": str(delivery.event_id),
        "X-Webhook-Event": delivery.event_type,
        "X-Webhook-Timestamp": timestamp,
        "X-Webhook-Signature": signatures(
            subscription, timestamp, delivery.body, now=timezone.now()
        ),
    }
    status, retry_after = _post(parts, address, delivery.body.encode(), headers)
    if status in (408, 429) and retry_after is not None:
        raise WebhookBusy(f"answered HTTP {status}, retry after {retry_after}", delay=retry_after)
    if 400 <= status < 500 and status not in (408, 429):
        raise WebhookRejected(
            f"answered HTTP {status}: refused for good, not retried", result={"status": status}
        )
    if not 200 <= status < 300:
        raise WebhookRefused(f"answered HTTP {status}")
    delivery.acknowledged_at = timezone.now()
    delivery.response_status = status
    delivery.save(update_fields=["acknowledged_at", "response_status"])
    _release_next(delivery, finished=delivery.pk)
    return {"status": status}


def _destination(parts: SplitResult):
    """The address to connect to, checked now, right before connecting.

    The request then goes to this very address (the name only in `Host` and for TLS), so a
    name that resolves to a public address here and to 10.0.0.1 a moment later (DNS
    rebinding) cannot turn the request inward. A name not resolving is retried (DNS may be
    down); a non-public address is final.
    """
    try:
        addresses = _resolve(parts)
    except (OSError, UnicodeError, ValueError) as exc:
        raise WebhookRefused(f"host {parts.hostname} not found: {exc}") from exc
    if not addresses:
        raise WebhookRefused(f"host {parts.hostname} not found")
    if not _allow_local():
        private = _first_non_public(addresses)
        if private is not None:
            raise WebhookRejected(
                f"not sent: {parts.hostname} resolves to the non-public address {private}",
                result={"blocked_address": str(private)},
            )
    return addresses[0]


def _post(parts: SplitResult, address, body: bytes, headers: dict) -> tuple[int, timedelta | None]:
    """POST the body to `address`, speaking to the host the URL names; (status, Retry-After)."""
    seconds = getattr(settings, "WEBHOOK_TIMEOUT_SECONDS", 10)
    options = {"timeout": urllib3.Timeout(connect=seconds, read=seconds), "retries": False}
    if parts.scheme == "https":
        # TLS names the host and checks its certificate against it, not against the address.
        pool = urllib3.HTTPSConnectionPool(
            str(address),
            _port(parts),
            server_hostname=parts.hostname,
            assert_hostname=parts.hostname,
            cert_reqs="CERT_REQUIRED",
            ca_certs=getattr(settings, "WEBHOOK_CA_BUNDLE", "") or certifi.where(),
            **options,
        )
    else:
        pool = urllib3.HTTPConnectionPool(str(address), _port(parts), **options)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        with pool:
            response = pool.urlopen(
                "POST", target, body=body, headers=headers, redirect=False, retries=False
            )
    except urllib3.exceptions.NewConnectionError as exc:
        raise WebhookRefused(f"not reached: {exc}") from exc
    except urllib3.exceptions.TimeoutError as exc:
        raise WebhookRefused(f"no answer in time: {exc}") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise WebhookRefused(f"not reached: {exc}") from exc
    return response.status, _retry_after(response.headers.get("Retry-After", ""))


def _retry_after(value: str) -> timedelta | None:
    """`Retry-After` in seconds (the HTTP-date form is left to the usual back-off)."""
    value = value.strip()
    if value.isdigit() and len(value) <= 6:
        return timedelta(seconds=int(value))
    return None


def delivery_dead(task: DueTask) -> None:
    """The engine gave up on a delivery (a dead letter): the next event of its visit goes.

    A receiver's final refusal keeps its status on the delivery, for the pages.
    """
    delivery = WebhookDelivery.objects.filter(pk=task.subject_id).first()
    if delivery is None:
        return
    status = (task.result or {}).get("status")
    if status is not None:
        delivery.response_status = status
        delivery.save(update_fields=["response_status"])
    _release_next(delivery, finished=delivery.pk)


def delivery_replay(*, delivery: WebhookDelivery, actor: User) -> WebhookDelivery:
    """Send a delivery again, same event id and body, with fresh attempts from now.

    For an acknowledged one the receiver asked for again, or a dead letter once the
    receiver is fixed. One still waiting or on its way is refused: it will go by itself.
    """
    with transaction.atomic():
        # The task before the delivery, the order a worker sending it locks them in.
        task = (
            DueTask.objects.select_for_update()
            .filter(
                kind=DELIVER,
                subject_type=ContentType.objects.get_for_model(WebhookDelivery),
                subject_id=delivery.pk,
            )
            .first()
        )
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        on_its_way = task is not None and task.state in (
            DueTaskState.PENDING,
            DueTaskState.CLAIMED,
        )
        if delivery.released_at is None or on_its_way:
            raise DomainError(
                gettext("This event is still on its way; it will be sent without a replay."),
                code="not_finished",
            )
        now = timezone.now()
        delivery.acknowledged_at = None
        delivery.response_status = None
        delivery.released_at = now
        delivery.replays += 1
        delivery.save(
            update_fields=["acknowledged_at", "response_status", "released_at", "replays"]
        )
        due_task_schedule(kind=DELIVER, subject=delivery, due_at=now)
    logger.info("webhook delivery %s replayed by %s", delivery.pk, actor)
    return delivery


# ---------------------------------------------------------------- reads for the page


def deliveries_with_status(rows) -> list[WebhookDelivery]:
    """The deliveries with their task (`task`), `status` and event `label`, in one query
    more: what the page and the API show of each."""
    rows = list(rows)
    tasks = {
        task.subject_id: task
        for task in DueTask.objects.filter(
            kind=DELIVER,
            subject_type=ContentType.objects.get_for_model(WebhookDelivery),
            subject_id__in=[row.pk for row in rows],
        )
    }
    labels = dict(Event.choices)
    for row in rows:
        row.task = tasks.get(row.pk)
        row.status = _status(row)
        row.label = labels.get(row.event_type, row.event_type)
    return rows


def subscriptions_with_deliveries(*, limit: int = 20) -> list[WebhookSubscription]:
    """Every subscription with its latest deliveries and their task, in three queries."""
    subscriptions = list(WebhookSubscription.objects.order_by("id"))
    ids = [subscription.pk for subscription in subscriptions]
    recent = deliveries_with_status(
        WebhookDelivery.objects.filter(subscription_id__in=ids).order_by("-id")[: limit * 10]
    )
    by_subscription: dict[int, list] = {pk: [] for pk in ids}
    for row in recent:
        if len(by_subscription[row.subscription_id]) < limit:
            by_subscription[row.subscription_id].append(row)
    for subscription in subscriptions:
        subscription.recent = by_subscription[subscription.pk]
    return subscriptions


def _status(delivery: WebhookDelivery) -> str:
    if delivery.acknowledged_at is not None:
        return "acknowledged"
    if delivery.released_at is None:
        return "waiting"
    state = delivery.task.state if delivery.task else ""
    if state == DueTaskState.FAILED:
        return "dead"
    if state in (DueTaskState.DONE, DueTaskState.CANCELLED):
        return "skipped"
    return "sending"
