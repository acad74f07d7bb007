"""Warranty lines and their manufacturer's claims (issue 16 item 3).

* A warranty line on a car outside or of unknown warranty (`workorders.warranty`) is billed
  as warranty only with the claims clerk's (or service manager's) go-ahead on the line
  (`warranty_line_approve`); signing an order without it is refused by the line.
* Signing an order opens a draft claim for each warranty line; a later revision's line
  takes over its earlier line's claim (lines keep their position across revisions).
* The clerk submits the claim under the manufacturer's claim number, then records the
  answer: approved (an amount up to the line's) or rejected (a reason, and who pays the
  line instead: the customer or the store). Before the bill is settled the rejected line
  is billed to that payer; after it, the rejection is recorded and shown, and the money
  already taken is not re-opened.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dealership.errors import DomainError
from dealership.models import User
from dealership.money import to_money, yuan
from dealership.roles import Role, has_role
from dealership.services import timeline_record
from dealership.stored_text import StoredMessage
from dealership.transitions import lock_row, move
from dealership.warranty import visit_warranty
from reception.states import VisitStatus

from .models import (
    REJECTED_CLAIM_PAYERS,
    JobType,
    Payer,
    WarrantyClaim,
    WorkOrder,
    WorkOrderLine,
)
from .states import CLAIM_STATES, ClaimStatus, OrderStatus

CLAIM_ROLES = (Role.CLAIMS_CLERK, Role.SERVICE_MANAGER)
CLAIM_NUMBER_MAX = 40
REASON_MAX = 200
# The visit's bill is settled: a rejection no longer changes who pays.
SETTLED_STATUSES = frozenset({VisitStatus.SETTLED, VisitStatus.DELIVERED, VisitStatus.CLOSED})


def _refuse_unless_claims_role(actor: User) -> None:
    if not has_role(actor, CLAIM_ROLES):
        raise DomainError(
            _("Only the claims clerk or the service manager may do this."), code="claims_role"
        )


def is_billed_as_warranty(line: WorkOrderLine) -> bool:
    return line.job_type == JobType.WARRANTY and line.payer == Payer.MANUFACTURER


# ------------------------------------------------------------------ the line's go-ahead


def warranty_lines_unapproved(order: WorkOrder) -> list[WorkOrderLine]:
    """The order's warranty lines that need the clerk's go-ahead and do not have it."""
    if visit_warranty(order.visit).is_within:
        return []
    return [
        line
        for line in order.lines.all()
        if is_billed_as_warranty(line) and line.warranty_approved_at is None
    ]


def warranty_refuse_unapproved(order: WorkOrder) -> None:
    """Refuse to sign an order with a warranty line the clerk has not approved."""
    missing = warranty_lines_unapproved(order)
    if missing:
        status = visit_warranty(order.visit)
        raise DomainError(
            _(
                "Line %(position)s “%(name)s” is warranty work but the car's warranty is "
                "“%(coverage)s”: the claims clerk must approve it as warranty, or change its "
                "work type."
            )
            % {
                "position": missing[0].position,
                "name": missing[0].name,
                "coverage": status.label,
            },
            field=f"line-{missing[0].pk}",
            code="warranty_unapproved",
        )


def warranty_line_approve(*, line: WorkOrderLine, actor: User) -> WorkOrderLine:
    """The claims clerk (or manager) lets a warranty line of a draft go as warranty."""
    _refuse_unless_claims_role(actor)
    with transaction.atomic():
        order = lock_row(line.order, related=("visit", "visit__vehicle"))
        line = WorkOrderLine.objects.select_for_update().get(pk=line.pk)
        if order.status != OrderStatus.DRAFT:
            raise DomainError(
                _("The order is signed already; its lines cannot be approved any more."),
                code="order_signed",
            )
        if not is_billed_as_warranty(line):
            raise DomainError(_("This line is not warranty work."), code="not_warranty")
        if line.warranty_approved_at is not None:
            raise DomainError(_("This line is approved already."), code="already_approved")
        line.warranty_approved_by = actor
        line.warranty_approved_at = timezone.now()
        line._change_reason = "warranty approved"
        line.save(update_fields=["warranty_approved_by", "warranty_approved_at"])
        visit = order.visit
        timeline_record(
            kind="warranty.line_approved",
            summary=StoredMessage(
                gettext_noop("Warranty line “%(line)s” of order %(number)s approved as warranty"),
                line=line.name_zh,
                number=order.number,
            ),
            customer=visit.customer,
            vehicle=visit.vehicle,
            subject=line,
            actor=actor,
        )
    return line


# ------------------------------------------------------------------ claims opened at signing


def claims_follow_signing(order: WorkOrder) -> list[WarrantyClaim]:
    """Called inside the signing transaction: every warranty line of `order` gets its claim.

    A line carried over from an earlier revision takes that line's claim (same position)
    and, when the claim was rejected, its payer; a new warranty line gets a draft claim.
    """
    claims = []
    earlier = {
        claim.line.position: claim
        for claim in WarrantyClaim.objects.select_for_update(of=("self",))
        .select_related("line")
        .filter(line__order__visit_id=order.visit_id, line__order__revision__lt=order.revision)
        .order_by("line__order__revision")
    }
    for line in order.lines.filter(job_type=JobType.WARRANTY):
        if hasattr(line, "claim"):
            claims.append(line.claim)
            continue
        claim = earlier.get(line.position)
        if claim is None:
            claims.append(WarrantyClaim.objects.create(line=line))
            continue
        claim.line = line
        claim.save(update_fields=["line"])
        if claim.rejected_payer and not claim.rejected_after_settlement:
            line.payer_override = claim.rejected_payer
            line.save(update_fields=["payer_override"])
        claims.append(claim)
    return claims


# ------------------------------------------------------------------ the claim's moves


def _lock_claim(claim: WarrantyClaim, expected_version) -> WarrantyClaim:
    return lock_row(
        claim,
        related=("line", "line__order", "line__order__visit"),
        expected_version=expected_version,
    )


def _record(claim: WarrantyClaim, actor: User, kind: str, summary: StoredMessage) -> None:
    visit = claim.line.order.visit
    timeline_record(
        kind=kind,
        summary=summary,
        customer=visit.customer,
        vehicle=visit.vehicle,
        subject=claim,
        actor=actor,
    )


def claim_submit(
    *, claim: WarrantyClaim, actor: User, number: str, expected_version=None
) -> WarrantyClaim:
    """The clerk sends the claim to the manufacturer under its claim number."""
    _refuse_unless_claims_role(actor)
    number = (number or "").strip()
    if not number:
        raise DomainError(_("Enter the manufacturer's claim number."), field="number")
    if len(number) > CLAIM_NUMBER_MAX:
        raise DomainError(
            _("At most %(max)s characters.") % {"max": CLAIM_NUMBER_MAX}, field="number"
        )
    with transaction.atomic():
        locked = _lock_claim(claim, expected_version)
        move(
            CLAIM_STATES,
            locked,
            ClaimStatus.SUBMITTED,
            changes={"number": number, "submitted_by": actor},
        )
        _record(
            locked,
            actor,
            "warranty.claim_submitted",
            StoredMessage(gettext_noop("Warranty claim %(number)s submitted"), number=number),
        )
    return locked


def claim_approve(
    *, claim: WarrantyClaim, actor: User, amount, expected_version=None
) -> WarrantyClaim:
    """The manufacturer approved the claim for `amount` (more than zero, at most the line's)."""
    _refuse_unless_claims_role(actor)
    amount = to_money(amount, field="approved_amount")
    if amount <= 0:
        raise DomainError(_("The approved amount must be more than zero."), field="approved_amount")
    with transaction.atomic():
        locked = _lock_claim(claim, expected_version)
        CLAIM_STATES.check(locked, ClaimStatus.APPROVED)
        line_amount = locked.line.amount
        if amount > line_amount:
            raise DomainError(
                _("The approved amount cannot be more than the line's %(amount)s.")
                % {"amount": yuan(line_amount)},
                field="approved_amount",
                code="above_line",
            )
        move(
            CLAIM_STATES,
            locked,
            ClaimStatus.APPROVED,
            changes={"approved_amount": amount, "decided_by": actor},
        )
        _record(
            locked,
            actor,
            "warranty.claim_approved",
            StoredMessage(
                gettext_noop("Warranty claim %(number)s approved: %(amount)s"),
                number=locked.number,
                amount=yuan(amount),
            ),
        )
    return locked


def _move_line_to_payer(line: WorkOrderLine, payer: str) -> None:
    """The rejected line, in the order in force and any later draft, is billed to `payer`."""
    WorkOrderLine.objects.filter(
        order__visit_id=line.order.visit_id,
        order__revision__gte=line.order.revision,
        order__status__in=[OrderStatus.SIGNED, OrderStatus.DRAFT],
        position=line.position,
        job_type=JobType.WARRANTY,
    ).update(payer_override=payer)


def claim_reject(
    *, claim: WarrantyClaim, actor: User, reason: str, payer: str, expected_version=None
) -> WarrantyClaim:
    """The manufacturer rejected the claim: the line goes to the customer's or the store's
    account, with who recorded it, when and why. A visit already settled keeps its bill:
    the rejection is recorded (`rejected_after_settlement`) and no money is re-opened."""
    _refuse_unless_claims_role(actor)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the manufacturer's reason."), field="rejection_reason")
    if len(reason) > REASON_MAX:
        raise DomainError(
            _("At most %(max)s characters.") % {"max": REASON_MAX}, field="rejection_reason"
        )
    if payer not in REJECTED_CLAIM_PAYERS:
        raise DomainError(
            _("Choose who pays the line instead: the customer or the store."),
            field="rejected_payer",
        )
    with transaction.atomic():
        locked = _lock_claim(claim, expected_version)
        CLAIM_STATES.check(locked, ClaimStatus.REJECTED)
        visit = locked.line.order.visit
        settled = visit.status in SETTLED_STATUSES
        move(
            CLAIM_STATES,
            locked,
            ClaimStatus.REJECTED,
            reason=f"rejected: {reason}",
            changes={
                "rejection_reason": reason,
                "rejected_payer": payer,
                "rejected_after_settlement": settled,
                "decided_by": actor,
            },
        )
        if not settled:
            _move_line_to_payer(locked.line, payer)
        _record(
            locked,
            actor,
            "warranty.claim_rejected",
            StoredMessage(
                gettext_noop("Warranty claim %(number)s rejected: %(reason)s"),
                number=locked.number,
                reason=reason,
            ),
        )
    return locked


# ------------------------------------------------------------------ reads for the clerk's pages


def claims_listed(status: str = ""):
    """The claims of the orders in force, newest first, shaped for the list."""
    claims = WarrantyClaim.objects.filter(line__order__status=OrderStatus.SIGNED).select_related(
        "line__order__visit__vehicle", "line__order__visit__customer"
    )
    if status:
        claims = claims.filter(status=status)
    return claims


def warranty_lines_waiting(limit: int = 100) -> list[tuple[WorkOrderLine, object]]:
    """Warranty lines of open drafts that wait for the clerk's go-ahead, with the car's warranty."""
    lines = (
        WorkOrderLine.objects.filter(
            order__status=OrderStatus.DRAFT,
            job_type=JobType.WARRANTY,
            payer_override="",
            warranty_approved_at__isnull=True,
        )
        .exclude(order__visit__status=VisitStatus.CANCELLED)
        .select_related("order__visit__vehicle")
        .order_by("order__visit__checked_in_at", "position")[:limit]
    )
    waiting = []
    for line in lines:
        status = visit_warranty(line.order.visit)
        if status.needs_approval:
            waiting.append((line, status))
    return waiting


def claim_for_page(pk: int) -> WarrantyClaim:
    return WarrantyClaim.objects.select_related(
        "line__order__visit__vehicle",
        "line__order__visit__customer",
        "submitted_by",
        "decided_by",
    ).get(pk=pk)
