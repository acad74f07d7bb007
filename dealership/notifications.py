"""Messages to customers: one interface, backends chosen by settings, every message kept.

    notify(customer=c, template="appointment_reminder", context={...}, subject=appointment)

renders `notifications/<template>.txt` in the customer's language, sends it
through the backend of the channel, stores a `Message` and a timeline line.

Settings: `NOTIFICATION_BACKENDS` maps a channel ("sms", "email") to a backend
class. `LogBackend` (the default) only logs that a message went out (masked address,
length: never the text);
`EmailBackend` sends through Django's email backend; `SmsBackend` hands the
text to the provider named by `NOTIFICATION_SMS_PROVIDER`: `HttpSmsProvider`
(a JSON POST to `NOTIFICATION_SMS_URL`) or `RecordingSmsProvider`, the test
double that keeps messages in `sms_outbox`.
"""

import json
import logging
import urllib.request
from functools import cache

from django.conf import settings
from django.core.mail import send_mail
from django.db import models, transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .due import running_task
from .models import ContactChannel, Customer, Message, MessageStatus, Vehicle
from .pii import mask_personal_data
from .rules import rule
from .services import timeline_record

logger = logging.getLogger(__name__)

SMS = "sms"
EMAIL = "email"
CHANNEL_LABELS = {SMS: _("SMS"), EMAIL: _("Email")}


class DeliveryFailed(Exception):
    """The backend could not send; inside a due task this makes the task retry."""


# ---------------------------------------------------------------- backends


class LogBackend:
    """Writes the message to the log instead of sending it (the default)."""

    def __init__(self, channel: str):
        self.channel = channel

    def address(self, customer: Customer) -> str:
        return customer.email if self.channel == EMAIL else customer.mobile

    def send(self, *, to: str, body: str, title: str, key: str) -> str:
        # The text stays out of the log (it names the customer, the car, the link); the
        # stored Message keeps it for those allowed to see it.
        logger.info(
            "message [%s] to %s (%s): %d characters",
            self.channel,
            mask_personal_data(to),
            key or "-",
            len(body),
        )
        return ""


class EmailBackend(LogBackend):
    """Sends through Django's email backend (`EMAIL_BACKEND`)."""

    def send(self, *, to: str, body: str, title: str, key: str) -> str:
        send_mail(title, body, settings.DEFAULT_FROM_EMAIL, [to], fail_silently=False)
        return ""


class SmsProvider:
    """What an SMS provider adapter does: send one text, return the provider's id.

    `key` is stable for one duty; a provider that honours it drops a resend
    after a worker crash.
    """

    def send(self, *, to: str, text: str, key: str) -> str:
        raise NotImplementedError


class HttpSmsProvider(SmsProvider):
    """A JSON POST to `NOTIFICATION_SMS_URL` with a bearer token; answers {"id": ...}."""

    def send(self, *, to: str, text: str, key: str) -> str:
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

    def send(self, *, to: str, text: str, key: str) -> str:
        sms_outbox.append({"to": to, "text": text, "key": key})
        return f"test-{len(sms_outbox)}"


class SmsBackend(LogBackend):
    def send(self, *, to: str, body: str, title: str, key: str) -> str:
        provider = import_string(settings.NOTIFICATION_SMS_PROVIDER)()
        return provider.send(to=to, text=body, key=key)


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


def channel_for(customer: Customer) -> str:
    """The customer's preferred channel, mapped to one the store can send on."""
    wanted = EMAIL if customer.preferred_channel == ContactChannel.EMAIL else SMS
    if wanted == EMAIL and not customer.email:
        wanted = SMS
    channels = available_channels()
    return wanted if wanted in channels else channels[0]


# ---------------------------------------------------------------- the interface


def notify(
    *,
    customer: Customer,
    template: str,
    context: dict,
    channel: str | None = None,
    subject: models.Model | None = None,
    vehicle: Vehicle | None = None,
) -> Message:
    """Send `notifications/<template>.txt` to the customer and keep it on the timeline.

    The text is rendered in the customer's language. A send that fails is
    stored with status failed; inside a due task it also raises
    `DeliveryFailed`, so the task retries and the failure shows on it.
    """
    channel = channel or channel_for(customer)
    backend = backend_for(channel)
    due_task = running_task()
    key = f"due:{due_task.pk}:{template}" if due_task else ""
    body, title = _render(customer, template, {"vehicle": vehicle, **context})
    to = backend.address(customer)
    error = ref = ""
    try:
        if not to:
            raise DeliveryFailed(gettext("The customer has no address for this channel."))
        ref = backend.send(to=to, body=body, title=title, key=key)
    except Exception as exc:
        error = str(exc) or exc.__class__.__name__
        logger.warning(
            "message to %s on %s failed: %s",
            mask_personal_data(to) if to else customer.pk,
            channel,
            mask_personal_data(error),
        )
        if due_task is not None:
            raise DeliveryFailed(error) from exc
    # Inside a due task this joins its transaction; a savepoint here would only cost time.
    with transaction.atomic(savepoint=False):
        message = Message.objects.create(
            to=to,
            channel=channel,
            template=template,
            language=customer.language,
            body=body,
            status=MessageStatus.FAILED if error else MessageStatus.SENT,
            error=error,
            provider_ref=ref[:100],
            idempotency_key=key,
            sent_at=timezone.now(),
            customer=customer,
            vehicle=vehicle,
            subject=subject,
            due_task=due_task,
        )
        _timeline(message, subject=subject)
    return message


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


def _timeline(message: Message, *, subject: models.Model | None) -> None:
    """The message on the customer's timeline: the text as sent, or why it was not."""
    label = CHANNEL_LABELS.get(message.channel, message.channel)
    not_sent = gettext("not sent")
    error, body = message.error, message.body
    timeline_record(
        kind="message.failed" if error else "message.sent",
        summary=f"{label} → {message.to}: {f'{not_sent} ({error})' if error else body}",
        customer=message.customer,
        vehicle=message.vehicle,
        subject=subject,
        data={"message": message.pk, "channel": message.channel, "template": message.template},
    )
