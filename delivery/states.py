"""The bill's life: a settlement is paid when made, and may be voided before the car leaves.

A refund gives money back on a paid bill without changing its status (its
`Refund` rows say how much). The table is checked by
`delivery.services.settlement_void`; `tests/test_state_tables.py` walks it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from dealership.transitions import StateTable


class SettlementStatus(models.TextChoices):
    PAID = "paid", _("Paid")
    VOIDED = "voided", _("Voided")


SETTLEMENT_STATES = StateTable(
    name="settlement",
    model="delivery.Settlement",
    statuses=SettlementStatus,
    allowed={
        SettlementStatus.PAID: frozenset({SettlementStatus.VOIDED}),
        # The invoice number stays used; the visit is settled again with a new bill.
        SettlementStatus.VOIDED: frozenset(),
    },
    stamps={SettlementStatus.VOIDED: "voided_at"},
)


# ---------------------------------------------------------------------------- the day close


class DayCloseStatus(models.TextChoices):
    CLOSED = "closed", pgettext_lazy("day close", "Closed")
    REOPENED = "reopened", _("Reopened")


# A day is closed by the cashier once (nothing paid, refunded, voided or invoiced on it after);
# the service manager may reopen it with a reason, and it is closed again with new counts.
DAY_CLOSE_STATES = StateTable(
    name="day_close",
    model="delivery.DayClose",
    statuses=DayCloseStatus,
    allowed={
        DayCloseStatus.CLOSED: frozenset({DayCloseStatus.REOPENED}),
        DayCloseStatus.REOPENED: frozenset({DayCloseStatus.CLOSED}),
    },
    stamps={DayCloseStatus.CLOSED: "closed_at", DayCloseStatus.REOPENED: "reopened_at"},
    subject_field="day",
    refusal=gettext_noop(
        "The day close of %(subject)s is %(current)s; it cannot become %(target)s."
    ),
)
