"""A work order revision's life: a draft is signed, and a later signed revision replaces it.

The services in `workorders.services` move an order through `ORDER_STATES`; a
new revision starts as a draft.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from dealership.transitions import StateTable


class OrderStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SIGNED = "signed", _("Signed")
    SUPERSEDED = "superseded", _("Replaced by a later revision")


ALLOWED: dict[str, frozenset[str]] = {
    # The customer signs a draft (on the tablet, or by approving a revision by phone or link).
    OrderStatus.DRAFT: frozenset({OrderStatus.SIGNED}),
    # A later revision signed: it replaces this one.
    OrderStatus.SIGNED: frozenset({OrderStatus.SUPERSEDED}),
    OrderStatus.SUPERSEDED: frozenset(),
}

ORDER_STATES = StateTable(
    name="work_order",
    model="workorders.WorkOrder",
    statuses=OrderStatus,
    allowed=ALLOWED,
    stamps={OrderStatus.SIGNED: "signed_at"},
    refusal=gettext_noop("A work order that is “%(current)s” cannot become “%(target)s”."),
)
