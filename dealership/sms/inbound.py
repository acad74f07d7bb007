"""What the SMS providers tell us: delivery receipts and the customers' replies.

A receipt moves a sent `Message` to delivered or not delivered (once: a second receipt for
the same message changes nothing). A reply is kept as an `InboundSms`; a reply that means
"unsubscribe" (TD, T, 退订, N; case and spaces ignored) marks every customer with that
mobile `sms_unsubscribed_at`, after which `notify` sends them by SMS only messages about
something they have open with the store. `sms_reply_received` lets other parts (consent)
act on a reply in the same transaction.
"""

import logging
import re
from datetime import datetime

from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext_noop

from ..models import Customer, InboundSms, Message, MessageStatus
from ..pii import mask_personal_data
from ..services import timeline_record
from ..states import MESSAGE_STATES
from ..stored_text import StoredMessage
from ..transitions import move
from ..validators import normalize_phone

logger = logging.getLogger(__name__)

# sender=InboundSms; mobile, text, provider, unsubscribe (bool), customers (list).
sms_reply_received = Signal()

UNSUBSCRIBE_WORDS = frozenset({"TD", "T", "退订", "N"})
TEXT_MAX_LENGTH = InboundSms._meta.get_field("text").max_length


def is_unsubscribe(text: str) -> bool:
    return re.sub(r"\s+", "", text or "").upper() in UNSUBSCRIBE_WORDS


def sms_receipt_apply(
    *, provider: str, provider_ref: str, delivered: bool, code: str = "", detail: str = ""
) -> str:
    """Record one delivery receipt; returns "updated", "duplicate" or "unknown"."""
    if not provider_ref:
        return "unknown"
    with transaction.atomic():
        message = (
            Message.objects.select_for_update()
            .filter(channel="sms", provider_ref=provider_ref[:100])
            .order_by("-id")
            .first()
        )
        if message is None:
            logger.info("sms receipt from %s for unknown id %s: ignored", provider, provider_ref)
            return "unknown"
        if message.status != MessageStatus.SENT:
            return "duplicate"
        if delivered:
            move(MESSAGE_STATES, message, MessageStatus.DELIVERED)
            return "updated"
        reason = f"{code} {detail}".strip()[:500]
        move(MESSAGE_STATES, message, MessageStatus.UNDELIVERED, changes={"error": reason})
        timeline_record(
            kind="message.undelivered",
            summary=StoredMessage(
                gettext_noop("SMS to %(to)s not delivered: %(reason)s"),
                to=message.to,
                reason=reason,
            ),
            customer=message.customer,
            vehicle=message.vehicle,
            data={"message": message.pk, "channel": message.channel},
        )
        return "updated"


def sms_reply_receive(
    *, provider: str, mobile: str, text: str, received_at: datetime | None = None
) -> InboundSms:
    """Keep a customer's reply; an unsubscribe reply stops their non-service SMS."""
    mobile = normalize_phone(str(mobile))[:20]
    text = str(text or "").strip()[:TEXT_MAX_LENGTH]
    unsubscribe = is_unsubscribe(text)
    now = timezone.now()
    with transaction.atomic():
        customers = list(Customer.objects.select_for_update().filter(mobile=mobile).order_by("id"))
        inbound = InboundSms.objects.create(
            provider=provider,
            mobile=mobile,
            text=text,
            unsubscribe=unsubscribe,
            received_at=received_at or now,
            customer=customers[0] if customers else None,
        )
        for customer in customers:
            if unsubscribe and customer.sms_unsubscribed_at is None:
                customer.sms_unsubscribed_at = now
                customer.save(update_fields=["sms_unsubscribed_at"])
            timeline_record(
                kind="sms.unsubscribed" if unsubscribe else "sms.reply",
                summary=StoredMessage(
                    gettext_noop(
                        "Replied “%(text)s” by SMS: unsubscribed from SMS except about "
                        "open bookings and visits"
                    )
                    if unsubscribe
                    else gettext_noop("Replied by SMS: %(text)s"),
                    text=text[:200],
                ),
                customer=customer,
                data={"inbound_sms": inbound.pk},
            )
        logger.info(
            "sms reply from %s via %s (%s customers), unsubscribe=%s",
            mask_personal_data(mobile),
            provider,
            len(customers),
            unsubscribe,
        )
        sms_reply_received.send(
            sender=InboundSms,
            mobile=mobile,
            text=text,
            provider=provider,
            unsubscribe=unsubscribe,
            customers=customers,
        )
    return inbound
