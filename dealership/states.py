"""The statuses of dealership's own rows and their tables of allowed moves.

A due task (`dealership.due`) is scheduled pending, claimed by the dispatcher
(machine tasks) and then done, failed, missed or cancelled; scheduling it again
at another time opens it again whatever its state. A message is kept as it was
sent or as it failed; a sent SMS moves once more when the provider's delivery
receipt arrives (delivered or not delivered).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from .transitions import StateTable


class DueTaskState(models.TextChoices):
    PENDING = "pending", _("Pending")
    CLAIMED = "claimed", pgettext_lazy("due task", "In progress")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    MISSED = "missed", _("Missed")


D = DueTaskState

DUE_TASK_STATES = StateTable(
    name="due_task",
    model="dealership.DueTask",
    statuses=DueTaskState,
    status_field="state",
    allowed={
        # Pending → pending: scheduled again at another time, with fresh attempts.
        D.PENDING: frozenset({D.PENDING, D.CLAIMED, D.DONE, D.MISSED, D.CANCELLED}),
        # A worker performs it (done, missed as too late) or fails (retry or give up).
        D.CLAIMED: frozenset({D.PENDING, D.DONE, D.FAILED, D.MISSED, D.CANCELLED}),
        D.FAILED: frozenset({D.PENDING, D.CANCELLED}),
        # A missed call can still be recorded.
        D.MISSED: frozenset({D.PENDING, D.DONE}),
        D.DONE: frozenset({D.PENDING}),
        D.CANCELLED: frozenset({D.PENDING}),
    },
    stamps={
        D.CLAIMED: "claimed_at",
        D.DONE: "finished_at",
        D.FAILED: "finished_at",
        D.MISSED: "finished_at",
        D.CANCELLED: "finished_at",
    },
    refusal=gettext_noop("This task is “%(current)s”; it cannot become “%(target)s”."),
)
# Still to be done: waiting for its time, or taken by a worker.
OPEN_STATES = (D.PENDING, D.CLAIMED)


class MessageStatus(models.TextChoices):
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    # The provider's delivery receipt (SMS): the phone got it, or the network gave up.
    DELIVERED = "delivered", pgettext_lazy("message", "Delivered")
    UNDELIVERED = "undelivered", _("Not delivered")


MESSAGE_STATES = StateTable(
    name="message",
    model="dealership.Message",
    statuses=MessageStatus,
    # Kept as sent: a failed message is not sent again, a new one is. A sent one learns
    # from the provider's receipt whether it arrived; a second receipt changes nothing.
    allowed={
        MessageStatus.SENT: frozenset({MessageStatus.DELIVERED, MessageStatus.UNDELIVERED}),
        MessageStatus.FAILED: frozenset(),
        MessageStatus.DELIVERED: frozenset(),
        MessageStatus.UNDELIVERED: frozenset(),
    },
    stamps={MessageStatus.DELIVERED: "receipt_at", MessageStatus.UNDELIVERED: "receipt_at"},
)
