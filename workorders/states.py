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


# ---------------------------------------------------------------- warranty claims (issue 16.3)


class ClaimStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted to the manufacturer")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


CLAIM_ALLOWED: dict[str, frozenset[str]] = {
    # The clerk submits the claim under the manufacturer's claim number.
    ClaimStatus.DRAFT: frozenset({ClaimStatus.SUBMITTED}),
    # The manufacturer answers once: approved (with an amount) or rejected (with a reason).
    ClaimStatus.SUBMITTED: frozenset({ClaimStatus.APPROVED, ClaimStatus.REJECTED}),
    ClaimStatus.APPROVED: frozenset(),
    ClaimStatus.REJECTED: frozenset(),
}

CLAIM_STATES = StateTable(
    name="warranty_claim",
    model="workorders.WarrantyClaim",
    statuses=ClaimStatus,
    allowed=CLAIM_ALLOWED,
    stamps={
        ClaimStatus.SUBMITTED: "submitted_at",
        ClaimStatus.APPROVED: "decided_at",
        ClaimStatus.REJECTED: "decided_at",
    },
    refusal=gettext_noop("A claim that is “%(current)s” cannot become “%(target)s”."),
)
