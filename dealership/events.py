"""The store's business events, published for the systems around it (issue 18.4).

Upper apps call `publish` from the service where the event happens, inside its
transaction; nothing leaves before that transaction commits, and a rolled-back
event is never published::

    publish(Event.VISIT_CHECKED_IN, visit_id=visit.pk, data={"visit": visit.pk})

Listeners (the webhooks, `dealership.webhooks`) register in `AppConfig.ready()`.
The data is ids and numbers, never a customer's personal details: the receiver
reads what it may see through the API.
"""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)


class Event(models.TextChoices):
    APPOINTMENT_BOOKED = "appointment.booked", _("Appointment booked")
    APPOINTMENT_CANCELLED = "appointment.cancelled", _("Appointment cancelled")
    VISIT_CHECKED_IN = "visit.checked_in", _("Visit checked in")
    ORDER_SIGNED = "order.signed", _("Work order signed")
    ADDITION_PROPOSED = "addition.proposed", _("Additional work proposed")
    ADDITION_ANSWERED = "addition.answered", _("Additional work answered")
    VISIT_READY = "visit.ready", _("Car ready for pick-up")
    VISIT_SETTLED = "visit.settled", _("Visit settled")
    VISIT_DELIVERED = "visit.delivered", _("Car delivered")
    COMPLAINT_OPENED = "complaint.opened", _("Complaint opened")
    COMPLAINT_ESCALATED = "complaint.escalated", _("Complaint escalated")


@dataclass(frozen=True)
class Published:
    """One event as it happened: the same id and time for every listener."""

    id: uuid.UUID
    type: str
    occurred_at: datetime
    data: dict
    # Events of one key (one visit) reach a listener in the order they happened.
    order_key: str = ""

    def envelope(self) -> dict:
        return {
            "id": str(self.id),
            "type": self.type,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


LISTENERS: list[Callable[[Published], None]] = []


def listen(listener: Callable[[Published], None]) -> None:
    if listener not in LISTENERS:
        LISTENERS.append(listener)


def publish(
    event: str,
    *,
    data: dict,
    visit_id: int | None = None,
    order_key: str = "",
) -> Published:
    """Publish `event` when the current transaction commits (at once outside one).

    `visit_id` (or another `order_key`) keeps the events of one visit in order per listener.
    A listener's failure is logged and never undoes the committed business change.
    """
    if event not in Event.values:
        raise ValueError(f"unknown event {event!r}")
    published = Published(
        id=uuid.uuid4(),
        type=event,
        occurred_at=timezone.now(),
        data={**data, **({"visit": visit_id} if visit_id else {})},
        order_key=f"visit:{visit_id}" if visit_id else order_key,
    )

    def deliver():
        for listener in LISTENERS:
            try:
                listener(published)
            except Exception:
                logger.exception("event %s %s: listener %r failed", event, published.id, listener)

    transaction.on_commit(deliver)
    return published
