"""The visit's life (DESIGN.md "The visit"): its statuses and the one table of allowed moves.

Every app that moves a visit calls `reception.services.visit_transition`, which
moves it through `VISIT_STATES`; nothing else writes `Visit.status`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from dealership.transitions import StateTable


class VisitStatus(models.TextChoices):
    CHECKED_IN = "checked_in", _("Checked in")
    ORDER_SIGNED = "order_signed", _("Order signed")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    ON_HOLD = "on_hold", _("On hold")
    WORK_DONE = "work_done", _("Work done")
    QC_PASSED = "qc_passed", _("QC passed")
    QC_FAILED = "qc_failed", _("QC failed")
    REWORK = "rework", _("Rework")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pick-up")
    SETTLED = "settled", _("Settled")
    DELIVERED = "delivered", _("Delivered")
    CLOSED = "closed", _("Closed")
    CANCELLED = "cancelled", _("Cancelled")


class HoldReason(models.TextChoices):
    AWAITING_PARTS = "awaiting_parts", _("Awaiting parts")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting the customer's approval")


S = VisitStatus

# "Open": work may still change or be cancelled. Settled and later are past the point of no return.
OPEN_STATUSES = frozenset(set(S) - {S.SETTLED, S.DELIVERED, S.CLOSED, S.CANCELLED})
# The car (and its key) is at the store: key tags must be unique among these.
ON_SITE_STATUSES = frozenset(set(S) - {S.DELIVERED, S.CLOSED, S.CANCELLED})

ALLOWED: dict[str, frozenset[str]] = {
    S.CHECKED_IN: frozenset({S.ORDER_SIGNED}),
    # A car not repaired (customer declined, or diagnosis only) goes to the cashier with its
    # diagnosis fee, without workshop work or QC: only `delivery.not_repaired` makes this move.
    S.ORDER_SIGNED: frozenset({S.DISPATCHED, S.READY_FOR_PICKUP}),
    S.DISPATCHED: frozenset({S.IN_PROGRESS}),
    S.IN_PROGRESS: frozenset({S.ON_HOLD, S.WORK_DONE}),
    S.ON_HOLD: frozenset({S.IN_PROGRESS}),
    S.WORK_DONE: frozenset({S.QC_PASSED, S.QC_FAILED}),
    S.QC_FAILED: frozenset({S.REWORK}),
    S.REWORK: frozenset({S.IN_PROGRESS}),
    S.QC_PASSED: frozenset({S.READY_FOR_PICKUP}),
    S.READY_FOR_PICKUP: frozenset({S.SETTLED}),
    S.SETTLED: frozenset({S.DELIVERED}),
    S.DELIVERED: frozenset({S.CLOSED}),
    S.CLOSED: frozenset(),
    S.CANCELLED: frozenset(),
}
# Any open state may be cancelled (with a reason).
ALLOWED = {
    status: targets | ({S.CANCELLED} if status in OPEN_STATUSES else frozenset())
    for status, targets in ALLOWED.items()
}

# Moves only a visit with its not-repaired outcome recorded may make (reception.services
# refuses them otherwise, so no other path skips the workshop and QC).
NOT_REPAIRED_MOVES = frozenset({(S.ORDER_SIGNED, S.READY_FOR_PICKUP)})


# The visit as the customer reads it (progress page, progress messages, lounge display):
# (key, words, the statuses it covers), in the order the car goes through them.
CUSTOMER_STAGES = (
    ("received", _("Car received"), (S.CHECKED_IN, S.ORDER_SIGNED)),
    ("waiting", _("Waiting for a technician"), (S.DISPATCHED,)),
    ("repair", _("Being repaired"), (S.IN_PROGRESS, S.ON_HOLD, S.QC_FAILED, S.REWORK)),
    ("inspection", _("Quality check"), (S.WORK_DONE, S.QC_PASSED)),
    ("ready", _("Ready for pick-up"), (S.READY_FOR_PICKUP,)),
    ("done", _("Handed over"), (S.SETTLED, S.DELIVERED, S.CLOSED)),
)


def customer_stage(status: str) -> tuple[str, str]:
    """The stage's key and words (lazy) for a visit status; a cancelled visit reads as received."""
    for key, label, statuses in CUSTOMER_STAGES:
        if status in statuses:
            return key, label
    return CUSTOMER_STAGES[0][0], CUSTOMER_STAGES[0][1]


class NotRepairedReason(models.TextChoices):
    DECLINED = "declined", _("Customer declined the estimate")
    DIAGNOSIS_ONLY = "diagnosis_only", _("Came for a diagnosis only")


# The timestamp field each status writes when entered.
TIMESTAMP_FIELD: dict[str, str] = {
    S.ORDER_SIGNED: "order_signed_at",
    S.DISPATCHED: "dispatched_at",
    S.IN_PROGRESS: "work_started_at",
    S.ON_HOLD: "on_hold_since",
    S.WORK_DONE: "work_done_at",
    S.QC_PASSED: "qc_passed_at",
    S.QC_FAILED: "qc_failed_at",
    S.READY_FOR_PICKUP: "ready_at",
    S.SETTLED: "settled_at",
    S.DELIVERED: "delivered_at",
    S.CLOSED: "closed_at",
    S.CANCELLED: "cancelled_at",
}
# Written only the first time (the work started once, however often it paused).
FIRST_TIME_ONLY = frozenset({"work_started_at"})

# Extra datetime fields a caller may set in the same move (`visit_transition(..., name=value)`).
EXTRA_TIMESTAMP_FIELDS = frozenset({"promised_at", "handed_over_at"})


VISIT_STATES = StateTable(
    name="visit",
    model="reception.Visit",
    statuses=VisitStatus,
    allowed=ALLOWED,
    stamps=TIMESTAMP_FIELD,
    first_time_only=FIRST_TIME_ONLY,
    subject_field="number",
    refusal=gettext_noop("Visit %(subject)s is “%(current)s”; it cannot move to “%(target)s”."),
)
