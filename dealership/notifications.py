"""Messages to customers: one interface, backends chosen by settings, every message kept.

    notify(customer=c, template="appointment_reminder", context={...}, subject=appointment)

renders `notifications/<template>.txt` in the customer's language, sends it
through the backend of the customer's channel, stores a `Message` and a timeline line.
`notify_many([Notice(...), ...])` sends many the same way and stores them all in one INSERT
each (a batch of due reminders; `notify_due_tasks` gives a batch handler's answers).

Settings: `NOTIFICATION_BACKENDS` maps a channel ("sms", "email", "wechat") to a backend
class. `LogBackend` (the default) only logs that a message went out (masked address,
length: never the text);
`EmailBackend` sends through Django's email backend; `SmsBackend` hands the
message to the provider named by `NOTIFICATION_SMS_PROVIDER`: the Alibaba Cloud and
Tencent Cloud adapters (`dealership.sms`), `HttpSmsProvider` (a JSON POST to
`NOTIFICATION_SMS_URL`) or `RecordingSmsProvider`, the test double that keeps messages
in `sms_outbox`.

Channel choice: the customer's preferred channel first, then the store's rule
`notifications.fallback_order`. A channel that cannot reach the customer is passed over;
a send refused for good (`DeliveryRejected`: illegal number, no template code) is kept
as a failed `Message` and the next channel is tried. A passing failure (provider down,
rate limit, time-out) inside a due task raises `DeliveryFailed` so the task retries, and
falls back only on the task's last attempt: a retry reaches the customer on the channel
they chose, a late fallback still reaches them.
"""

import inspect
import json
import logging
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from django.conf import settings
from django.core.cache import cache as django_cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import models, transaction
from django.db.models import Count, Q
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import due
from .due import running_task
from .models import (
    ContactChannel,
    Customer,
    DueTask,
    Message,
    MessageStatus,
    TimelineEvent,
    Vehicle,
)
from .pii import mask_openid, mask_personal_data
from .rules import register, rule
from .services import timeline_event, timeline_record_many
from .text import text_fields_check

logger = logging.getLogger(__name__)

SMS = "sms"
EMAIL = "email"
WECHAT = "wechat"
CHANNEL_LABELS = {SMS: _("SMS"), EMAIL: _("Email"), WECHAT: _("WeChat")}
KNOWN_CHANNELS = (WECHAT, SMS, EMAIL)

# Messages about something the customer has open with the store (a booking, a car in the
# workshop): they still go out by SMS after the customer replied 退订/TD.
SERVICE_TEMPLATES = frozenset(
    {
        "appointment_booked",
        "appointment_rescheduled",
        "appointment_cancelled",
        "appointment_reminder",
        "workshop_addition_link",
        "workshop_addition_promise",
        "workshop_promise_moved",
        "delivery_ready",
    }
)


def _fallback_order_check(value) -> None:
    names = [part.strip() for part in str(value).split(",")]
    unknown = [name for name in names if name not in KNOWN_CHANNELS]
    if not value or unknown or len(set(names)) != len(names):
        raise ValidationError(
            gettext("List channels once each, separated by commas, from: %(known)s.")
            % {"known": ", ".join(KNOWN_CHANNELS)}
        )


register(
    "notifications.fallback_order",
    ",".join(KNOWN_CHANNELS),
    _("Channels to try when the customer's own channel fails, in order (wechat, sms, email)"),
    check=_fallback_order_check,
)


class DeliveryFailed(Exception):
    """The backend could not send now; inside a due task this makes the task retry."""


class DeliveryRejected(DeliveryFailed):
    """The message was refused for good (illegal number, no template): a retry cannot help."""


# ---------------------------------------------------------------- backends


class LogBackend:
    """Writes the message to the log instead of sending it (the default)."""

    def __init__(self, channel: str):
        self.channel = channel

    def address(self, customer: Customer) -> str:
        """Where this channel reaches the customer; "" when it cannot."""
        if self.channel == EMAIL:
            return customer.email
        if self.channel == WECHAT:
            return getattr(customer, "wechat_openid", "") or ""
        return customer.mobile

    def send(
        self,
        *,
        to: str,
        body: str,
        title: str,
        key: str,
        template: str = "",
        params: dict | None = None,
        url: str = "",
    ) -> str:
        # The text stays out of the log (it names the customer, the car, the link); the
        # stored Message keeps it for those allowed to see it.
        logger.info(
            "message [%s] to %s (%s): %d characters",
            self.channel,
            mask_openid(to) if self.channel == WECHAT else mask_personal_data(to),
            key or "-",
            len(body),
        )
        return ""


class EmailBackend(LogBackend):
    """Sends through Django's email backend (`EMAIL_BACKEND`)."""

    def send(self, *, to, body, title, key, template="", params=None, url="") -> str:
        send_mail(title, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
        return ""


class SmsProvider:
    """What an SMS provider adapter does: send one message, return the provider's id.

    `key` is stable for one duty; the adapters hand it to the provider (OutId,
    SessionContext) so receipts and duplicates can be traced to it. `template` and
    `params` are the message kind and its short values for the provider's template.
    Raise `DeliveryRejected` for a permanent refusal, `DeliveryFailed` for a passing one.
    """

    def send(
        self, *, to: str, text: str, key: str, template: str = "", params: dict | None = None
    ) -> str:
        raise NotImplementedError


class HttpSmsProvider(SmsProvider):
    """A JSON POST to `NOTIFICATION_SMS_URL` with a bearer token; answers {"id": ...}."""

    def send(self, *, to, text, key, template="", params=None) -> str:
        url = settings.NOTIFICATION_SMS_URL
        if not url.startswith(("https://", "http://")):
            raise DeliveryFailed("NOTIFICATION_SMS_URL is not set to an http(s) address")
        request = urllib.request.Request(  # noqa: S310 - scheme checked above
            url,
            data=json.dumps({"to": to, "text": text, "client_ref": key}).encode(),
            headers={
                "Content-Type": "application/json",
                "Authorization": f"Bearer {settings.NOTIFICATION_SMS_TOKEN}",
            },
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            answer = json.loads(response.read() or b"{}")
        return str(answer.get("id", ""))


sms_outbox: list[dict] = []


class RecordingSmsProvider(SmsProvider):
    """Test double: keeps every text in `sms_outbox` (like Django's mail.outbox)."""

    def send(self, *, to, text, key, template="", params=None) -> str:
        sms_outbox.append(
            {"to": to, "text": text, "key": key, "template": template, "params": params or {}}
        )
        return f"test-{len(sms_outbox)}"


@cache
def _takes_template(provider_class) -> bool:
    """Whether a provider's `send` takes the template and its values (older ones: text only)."""
    parameters = inspect.signature(provider_class.send).parameters
    return "template" in parameters or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
    )


class SmsBackend(LogBackend):
    def send(self, *, to, body, title, key, template="", params=None, url="") -> str:
        provider_class = import_string(settings.NOTIFICATION_SMS_PROVIDER)
        extra = {"template": template, "params": params or {}}
        if not _takes_template(provider_class):
            extra = {}
        return provider_class().send(to=to, text=body, key=key, **extra)


@cache
def _backend_class(path: str):
    return import_string(path)


def available_channels() -> list[str]:
    return list(settings.NOTIFICATION_BACKENDS)


def backend_for(channel: str) -> LogBackend:
    try:
        path = settings.NOTIFICATION_BACKENDS[channel]
    except KeyError:
        raise DeliveryFailed(f"no backend for channel {channel!r}") from None
    return _backend_class(path)(channel)


_PREFERRED = {
    ContactChannel.PHONE: SMS,
    ContactChannel.SMS: SMS,
    ContactChannel.WECHAT: WECHAT,
    ContactChannel.EMAIL: EMAIL,
}


def channel_order(customer: Customer) -> list[str]:
    """The channels to try, in order: the customer's own, then the store's fallback order.

    Only channels the store has a backend for; at least one.
    """
    configured = available_channels()
    fallback = [part.strip() for part in str(rule("notifications.fallback_order")).split(",")]
    wanted = [_PREFERRED.get(customer.preferred_channel, SMS), *fallback]
    order = [name for name in dict.fromkeys(wanted) if name in configured]
    return order or configured[:1]


def channel_for(customer: Customer) -> str:
    """The first channel that can reach the customer (else the first one to try)."""
    order = channel_order(customer)
    for channel in order:
        if backend_for(channel).address(customer):
            return channel
    return order[0]


# ---------------------------------------------------------------- provider template values

# The values each message kind hands to a provider template, in the template's order
# (Tencent's TemplateParamSet is a list). Provider templates cap a variable at 20
# characters; a link is kept whole.
TEMPLATE_PARAMS: dict[str, tuple[str, ...]] = {
    "reminder": ("name", "note"),
    "appointment_booked": ("name", "time", "plate", "link"),
    "appointment_rescheduled": ("name", "time", "plate", "link"),
    "appointment_reminder": ("name", "time", "plate"),
    "appointment_cancelled": ("name", "time", "plate", "phone"),
    "delivery_ready": ("name", "plate", "time", "number"),
    "workshop_addition_link": ("name", "plate", "item", "price", "link"),
    "workshop_addition_promise": ("name", "plate", "item", "time"),
    "workshop_promise_moved": ("name", "plate", "time", "reason"),
    "reception_progress": ("name", "plate", "stage", "time", "link"),
    "portal_code": ("code", "minutes"),
    "portal_link": ("name", "link"),
}
PARAM_MAX_LENGTH = 20


def _short_time(value) -> str:
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%m-%d %H:%M")
    return str(value or "")


def _param_values(context: dict, customer: Customer) -> dict:
    """Each value a template may name, computed only when asked for (the store's rules)."""
    vehicle = context.get("vehicle")
    visit = context.get("visit")
    addition = context.get("addition")
    return {
        "name": lambda: customer.name,
        "plate": lambda: context.get("plate") or (vehicle and (vehicle.plate or vehicle.vin)),
        "time": lambda: _short_time(
            context.get("when") or context.get("pickup_at") or context.get("promised")
        ),
        "phone": lambda: rule("store.phone"),
        "store": lambda: rule("store.name"),
        "link": lambda: context.get("link"),
        "note": lambda: context.get("note"),
        "item": lambda: context.get("title") or (addition and addition.title),
        "price": lambda: addition.price if addition is not None else "",
        "number": lambda: getattr(visit, "number", ""),
        "reason": lambda: context.get("reason"),
        "stage": lambda: context.get("stage"),
        "code": lambda: context.get("code"),
        "minutes": lambda: context.get("minutes"),
    }


def message_params(template: str, context: dict, customer: Customer) -> dict[str, str]:
    """The flat, short values a provider template of `template` is filled with."""
    values = _param_values(context, customer)
    params = {}
    for name in TEMPLATE_PARAMS.get(template, ("name", "store")):
        value = str(values[name]() or "")
        params[name] = value if name == "link" else value[:PARAM_MAX_LENGTH]
    return params


# ---------------------------------------------------------------- the interface


@dataclass
class _Attempt:
    channel: str
    to: str
    error: str


@dataclass
class Notice:
    """One message for `notify_many`: what `notify` takes, and the due task that sends it."""

    customer: Customer
    template: str
    context: dict
    channel: str | None = None
    subject: models.Model | None = None
    vehicle: Vehicle | None = None
    hidden: tuple[str, ...] = ()
    due_task: DueTask | None = None


@dataclass
class _Kept:
    """A message to keep (not saved yet), with the channels that failed before it."""

    message: Message
    subject: models.Model | None
    before: list[_Attempt] = field(default_factory=list)


def notify(
    *,
    customer: Customer,
    template: str,
    context: dict,
    channel: str | None = None,
    subject: models.Model | None = None,
    vehicle: Vehicle | None = None,
    hidden: tuple[str, ...] = (),
) -> Message:
    """Send `notifications/<template>.txt` to the customer and keep it on the timeline.

    `hidden` names context values the customer gets but the store must not keep (a
    sign-in code): the stored copy and the timeline show them as dots.

    The text is rendered in the customer's language and tried on the customer's channel,
    then on the store's fallback channels (only on `channel` when one is given). Each
    attempt is its own `Message`; a message that reaches no channel is stored as failed.
    Inside a due task a passing failure raises `DeliveryFailed`, so the task retries
    (until its last attempt, which falls back instead).
    """
    notice = Notice(
        customer=customer,
        template=template,
        context=context,
        channel=channel,
        subject=subject,
        vehicle=vehicle,
        hidden=hidden,
        due_task=running_task(),
    )
    [sent] = notify_many([notice])
    if isinstance(sent, Exception):
        raise sent
    return sent


def notify_many(
    notices: Sequence[Notice], *, until: float | None = None
) -> list[Message | Exception | None]:
    """Send each notice as `notify` sends one, and keep all their messages and timeline lines
    in one INSERT each (a batch of due tasks' reminders, set-based).

    Answers in the notices' order: the notice's `Message`; or the exception that stopped it
    (`notify` would have raised it; nothing of that notice is kept); or None when `until`, a
    `time.monotonic()` deadline, passed before its turn (nothing sent). The first notice is
    always sent. The accepted-marks of the due tasks' messages are read in one round trip.
    """
    accepted = _accepted_marks(notices)
    answers: list[Message | Exception | None] = []
    kept: list[_Kept] = []
    for position, notice in enumerate(notices):
        if position and until is not None and time.monotonic() > until:
            answers.extend([None] * (len(notices) - position))
            break
        try:
            attempts = _deliver(notice, accepted)
        except Exception as exc:
            answers.append(exc)
            continue
        kept.extend(attempts)
        answers.append(attempts[-1].message)
    _keep(kept)
    return answers


def notify_due_tasks(
    notices: Mapping[int, Notice], *, until: float | None = None
) -> dict[int, dict | Exception]:
    """A batch handler's answers (`dealership.due`) for due tasks that each send one notice,
    by task pk: `{"message": pk}` or the exception that fails the task; a task whose notice
    `until` left unsent is left out (it is handed back)."""
    sent = notify_many(list(notices.values()), until=until)
    return {
        pk: answer if isinstance(answer, Exception) else {"message": answer.pk}
        for pk, answer in zip(notices, sent, strict=True)
        if answer is not None
    }


def _deliver(notice: Notice, accepted: dict[str, str]) -> list[_Kept]:
    """Send one notice: the customer's channel, then the fallbacks. Returns the messages to
    keep, the answer last; raises `DeliveryFailed` for a due task's passing failure."""
    customer, template, due_task = notice.customer, notice.template, notice.due_task
    key = f"due:{due_task.pk}:{template}" if due_task else ""
    context = {"vehicle": notice.vehicle, **notice.context}
    body, title = _render(customer, template, context)
    params = message_params(template, context, customer)
    url = str(context.get("link") or "")
    last_try = due_task is None or due_task.attempts >= _max_attempts(due_task)
    # What every attempt's Message keeps.
    kept = body
    if notice.hidden:
        masked = {**context, **dict.fromkeys(notice.hidden, "••••••")}
        kept, _title = _render(customer, template, masked)

    def message(channel: str, to: str, error: str = "", ref: str = "") -> Message:
        return _message(notice, body=kept, key=key, channel=channel, to=to, error=error, ref=ref)

    tried: list[_Attempt] = []
    failed: list[_Kept] = []
    channels = _channels(notice)
    for name in channels:
        backend = backend_for(name)
        to = backend.address(customer)
        refusal = _refusal(customer, name, template, to)
        if refusal:
            tried.append(_Attempt(name, to, refusal))
            continue
        try:
            ref = _send_once(
                backend,
                due_task=due_task,
                accepted=accepted,
                to=to,
                body=body,
                title=title,
                key=key,
                template=template,
                params=params,
                url=url,
            )
        except Exception as exc:
            error = str(exc) or exc.__class__.__name__
            logger.warning(
                "message to %s on %s failed: %s",
                mask_openid(to) if name == WECHAT else mask_personal_data(to),
                name,
                mask_personal_data(error),
            )
            if not isinstance(exc, DeliveryRejected) and not last_try:
                raise DeliveryFailed(error) from exc
            tried.append(_Attempt(name, to, error))
            failed.append(_Kept(message(name, to, error=error), notice.subject))
            continue
        return [*failed, _Kept(message(name, to, ref=ref), notice.subject, before=tried)]
    if failed:
        return failed
    # No channel could be used at all: keep why, on the first channel tried.
    first = tried[0] if tried else _Attempt(channels[0], "", "")
    return [_Kept(message(first.channel, first.to, error=first.error), notice.subject)]


def _channels(notice: Notice) -> list[str]:
    return [notice.channel] if notice.channel else channel_order(notice.customer)


def _max_attempts(task: DueTask) -> int:
    spec = due.KINDS.get(task.kind)
    return spec.max_attempts if spec else 1


def _refusal(customer: Customer, channel: str, template: str, to: str) -> str:
    """Why `channel` cannot carry this message to the customer ("" when it can)."""
    if not to:
        return gettext("The customer has no address for this channel.")
    if channel == SMS and customer.sms_unsubscribed_at and template not in SERVICE_TEMPLATES:
        return gettext("The customer unsubscribed from SMS.")
    return ""


def _accepted_marker(channel: str, key: str, task: DueTask) -> str:
    # Per scheduling of the task: a task moved to another time sends again.
    return f"notify-accepted:{channel}:{key}:{int(task.due_at.timestamp())}"


def _accepted_marks(notices: Sequence[Notice]) -> dict[str, str]:
    """The marks of the due tasks' messages already accepted, on any channel they may take:
    one read for all. Nobody else sends for these tasks meanwhile: their rows are locked."""
    markers = [
        _accepted_marker(channel, f"due:{notice.due_task.pk}:{notice.template}", notice.due_task)
        for notice in notices
        if notice.due_task
        for channel in _channels(notice)
    ]
    return django_cache.get_many(markers) if markers else {}


def _send_once(
    backend: LogBackend, *, due_task: DueTask | None, accepted: dict[str, str], **message
) -> str:
    """Send unless this duty's message was already accepted on this channel (`accepted`).

    The mark lives outside the database transaction, so a task whose transaction rolled
    back after the provider took the message does not send it a second time. It is written
    as soon as the provider took the message, before anything else is sent.
    """
    marker = _accepted_marker(backend.channel, message["key"], due_task) if due_task else ""
    if marker in accepted:
        logger.info("message %s already accepted (%s): not sent again", marker, accepted[marker])
        return "" if accepted[marker] == "-" else accepted[marker]
    ref = backend.send(**message)
    if marker:
        django_cache.set(marker, ref or "-", timeout=7 * 24 * 3600)
        accepted[marker] = ref or "-"
    return ref


def _message(
    notice: Notice, *, body: str, key: str, channel: str, to: str, error: str, ref: str
) -> Message:
    """One attempt as a `Message` to keep (not saved yet), checked as a save checks it."""
    message = Message(
        to=to,
        channel=channel,
        template=notice.template,
        language=notice.customer.language,
        body=body,
        status=MessageStatus.FAILED if error else MessageStatus.SENT,
        error=error,
        provider_ref=(ref or "")[:100],
        idempotency_key=key,
        sent_at=timezone.now(),
        customer=notice.customer,
        vehicle=notice.vehicle,
        subject=notice.subject,
        due_task=notice.due_task,
    )
    text_fields_check(message)
    return message


def _keep(kept: list[_Kept]) -> None:
    """Keep the attempts as `Message` rows and their timeline lines: one INSERT each."""
    if not kept:
        return
    # Inside a due task this joins its transaction; a savepoint here would only cost time.
    with transaction.atomic(savepoint=False):
        Message.objects.bulk_create([item.message for item in kept])
        timeline_record_many(
            [_timeline(item.message, subject=item.subject, before=item.before) for item in kept]
        )


def _render(customer: Customer, template: str, context: dict) -> tuple[str, str]:
    """The text and its title, in the customer's language, signed by the store."""
    with translation.override(customer.language):
        store_name = rule("store.name")
        body = render_to_string(
            f"notifications/{template}.txt",
            {
                "customer": customer,
                "store_name": store_name,
                "store_phone": rule("store.phone"),
                **context,
            },
        ).strip()
        title = gettext("Message from %(store)s") % {"store": store_name}
    return body, title


def _timeline(message: Message, *, subject: models.Model | None, before=()) -> TimelineEvent:
    """The message's line on the customer's timeline: the text as sent, or why it was not.

    A message sent after other channels failed names them first
    ("WeChat not sent (…) → SMS → …").
    """
    label = CHANNEL_LABELS.get(message.channel, message.channel)
    not_sent = gettext("not sent")
    error, body = message.error, message.body
    fallback = "".join(
        f"{CHANNEL_LABELS.get(attempt.channel, attempt.channel)} {not_sent} ({attempt.error}) → "
        for attempt in before
    )
    # An openid is an account identifier, not an address anyone reads: the timeline masks it.
    to = mask_openid(message.to) if message.channel == WECHAT else message.to
    return timeline_event(
        kind="message.failed" if error else "message.sent",
        summary=f"{fallback}{label} → {to}: {f'{not_sent} ({error})' if error else body}",
        customer=message.customer,
        vehicle=message.vehicle,
        subject=subject,
        data={
            "message": message.pk,
            "channel": message.channel,
            "template": message.template,
            "fallback_from": [attempt.channel for attempt in before],
        },
    )


# ---------------------------------------------------------------- the ops page


@dataclass
class MessageOps:
    failures: list[dict]
    by_channel: list[dict]


def message_ops_summary(*, now: datetime | None = None, limit: int = 20) -> MessageOps:
    """The last messages that failed or were not delivered, and today's counts per channel."""
    now = now or timezone.now()
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    failures = [
        {
            "message": message,
            "address": mask_personal_data(message.to) if message.to else "—",
            "channel": CHANNEL_LABELS.get(message.channel, message.channel),
        }
        for message in Message.objects.filter(
            status__in=(MessageStatus.FAILED, MessageStatus.UNDELIVERED)
        )
        .select_related("customer")
        .order_by("-sent_at", "-id")[:limit]
    ]
    counts = {status: Count("id", filter=Q(status=status)) for status in MessageStatus.values}
    by_channel = list(
        Message.objects.filter(sent_at__gte=start)
        .values("channel")
        .annotate(total=Count("id"), **counts)
        .order_by("channel")
    )
    for row in by_channel:
        row["label"] = CHANNEL_LABELS.get(row["channel"], row["channel"])
    return MessageOps(failures=failures, by_channel=by_channel)
