"""The bill's life: a settlement is paid when made, and may be voided before the car leaves.

A refund gives money back on a paid bill without changing its status (its
`Refund` rows say how much). The table is checked by
`delivery.services.settlement_void`; `tests/test_state_tables.py` walks it.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

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
