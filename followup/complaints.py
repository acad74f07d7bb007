"""Complaints (step 8): logged from a call, the desk, a phone call or a survey, then
answered, resolved and closed, each step an action line, a history entry and a
timeline event.

A complaint moves only through the services here, by its table
(`followup.states.COMPLAINT_STATES`). Its two deadlines (first response, closure)
are due tasks that escalate a missed one to the service manager; an important
complaint goes to the manager at once.
"""

import uuid
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from dealership.due import due_task_schedule, due_tasks_cancel_for
from dealership.errors import DomainError
from dealership.events import Event, publish
from dealership.models import Customer, DueTask, User, Vehicle
from dealership.roles import Role, has_role
from dealership.rules import rule
from dealership.services import timeline_record
from dealership.stored_text import StoredCode, StoredMessage
from dealership.text import COMPLAINT_MAX_LENGTH, clean_text
from dealership.transitions import lock_row, move, save_versioned

from . import duties as K
from .formatting import when_text
from .models import (
    ActionKind,
    Complaint,
    ComplaintAction,
    ComplaintCategory,
    ComplaintSeverity,
    ComplaintSource,
    Survey,
    ThirdParty,
)
from .selectors import service_manager
from .states import COMPLAINT_STATES, ComplaintStatus

CS = ComplaintStatus
# What a complaint's services read of it besides its own fields.
LOCK_RELATED = ("customer", "vehicle")
# Staff who may own a complaint.
OWNER_ROLES = (Role.CUSTOMER_CARE, Role.ADVISOR, Role.SERVICE_MANAGER)


def _severity(*, safety_related: bool, amount, third_parties) -> str:
    large = amount is not None and amount >= rule("followup.complaint_important_amount")
    important = safety_related or large or bool(third_parties)
    return ComplaintSeverity.IMPORTANT if important else ComplaintSeverity.NORMAL


def _clean_complaint_fields(data: dict, *, customer: Customer) -> dict:
    data = dict(data)
    if "description" in data:
        data["description"] = clean_text(
            data["description"], field="description", max_length=COMPLAINT_MAX_LENGTH
        )
        if not data["description"]:
            raise DomainError(
                _("Write down the complaint in the customer's own words."), field="description"
            )
    if "category" in data and data["category"] not in ComplaintCategory.values:
        raise DomainError(_("Choose a category."), field="category")
    if "third_parties" in data:
        parties = list(dict.fromkeys(data["third_parties"] or []))
        unknown = set(parties) - set(ThirdParty.values)
        if unknown:
            raise DomainError(_("Unknown outside party."), field="third_parties")
        data["third_parties"] = parties
    if data.get("amount") not in (None, ""):
        try:
            data["amount"] = Decimal(str(data["amount"]))
        except InvalidOperation:
            raise DomainError(_("Enter the amount in yuan."), field="amount") from None
        if data["amount"] < 0:
            raise DomainError(_("The amount cannot be negative."), field="amount")
    elif "amount" in data:
        data["amount"] = None
    visit = data.get("visit")
    if visit is not None and visit.customer_id != customer.pk:
        raise DomainError(_("This visit belongs to another customer."), field="visit")
    vehicle = data.get("vehicle")
    other_owner = vehicle is not None and vehicle.owner_id != customer.pk
    if other_owner and (visit is None or visit.vehicle_id != vehicle.pk):
        raise DomainError(_("This vehicle belongs to another customer."), field="vehicle")
    if visit is not None and vehicle is None and "vehicle" in data:
        data["vehicle"] = visit.vehicle
    return data


def _action(
    complaint: Complaint,
    kind: str,
    text: str,
    actor: User | None,
    *,
    code: str = "",
    params: dict | None = None,
) -> ComplaintAction:
    return ComplaintAction.objects.create(
        complaint=complaint, kind=kind, text=text, actor=actor, code=code, params=params or {}
    )


def _complaint_timeline(
    complaint: Complaint, kind: str, summary: StoredMessage, actor, **data
) -> None:
    timeline_record(
        kind=f"complaint.{kind}",
        summary=StoredMessage("%(number)s: %(text)s", number=complaint.number, text=summary),
        customer=complaint.customer,
        vehicle=complaint.vehicle,
        subject=complaint,
        actor=actor,
        data={"complaint": complaint.pk, **data},
    )


def _stale(complaint: Complaint) -> str:
    return _(
        "Someone else changed complaint %(number)s while you were editing. "
        "Reload the page to see their changes."
    ) % {"number": complaint.number}


def _event(complaint: Complaint, **data) -> dict:
    """`dealership.events.publish` arguments: a complaint about a visit keeps the visit's order."""
    data = {"complaint": complaint.pk, "number": complaint.number, **data}
    if complaint.visit_id:
        return {"visit_id": complaint.visit_id, "data": data}
    return {"order_key": f"complaint:{complaint.pk}", "data": data}


def _escalate(
    complaint: Complaint,
    *,
    reason: str,
    text: str,
    actor: User | None,
    code: str = "",
    params: dict | None = None,
) -> DueTask:
    """Put the complaint on the service manager's queue (a person task) and log it.

    The store's messages go to customers only, so the manager is told by the
    escalation call on the manager's work queue, the actions log and the timeline.
    """
    now = timezone.now()
    if complaint.escalated_at is None:
        complaint.escalated_at = now
        save_versioned(complaint, ["escalated_at"])
    manager = service_manager()
    _action(complaint, ActionKind.ESCALATED, text, actor, code=code, params=params)
    publish(Event.COMPLAINT_ESCALATED, **_event(complaint, reason=reason))
    payload = {"reason": reason, "note": text, "number": complaint.number}
    if code:
        payload.update(note_code=code, note_params=params or {})
    task = due_task_schedule(
        kind=K.ESCALATION,
        subject=complaint,
        slot=reason,
        due_at=now,
        customer=complaint.customer,
        payload=payload,
    )
    _complaint_timeline(
        complaint,
        "escalated",
        StoredMessage(
            N_("escalated to the service manager%(name)s: %(text)s"),
            name=f" ({manager})" if manager else "",
            text=StoredCode(code, params, text) if code else text,
        ),
        actor,
        reason=reason,
    )
    return task


def _schedule_deadlines(complaint: Complaint) -> None:
    if complaint.responded_at is None:
        due_task_schedule(
            kind=K.RESPONSE_DEADLINE,
            subject=complaint,
            due_at=complaint.respond_by,
            customer=complaint.customer,
        )
    due_task_schedule(
        kind=K.CLOSE_DEADLINE,
        subject=complaint,
        due_at=complaint.close_by,
        customer=complaint.customer,
    )


def complaint_open(
    *,
    customer: Customer,
    actor: User | None,
    source: str,
    category: str,
    description: str,
    vehicle: Vehicle | None = None,
    visit=None,
    safety_related: bool = False,
    amount=None,
    third_parties=(),
    owner: User | None = None,
    survey: Survey | None = None,
    call: DueTask | None = None,
    note: str = "",
) -> Complaint:
    """Log a complaint (from a call, the desk, a phone call or a survey).

    Severity is important when it is safety-related, about an amount at or
    above `followup.complaint_important_amount`, or an outside party (media,
    lawyer, police, consumer association, government) is involved; an
    important complaint goes to the service manager at once. The first
    response (`followup.complaint_response_hours`) and closure
    (`followup.complaint_close_hours`) deadlines are watched by due tasks that
    escalate a missed one to the service manager.
    """
    if source not in ComplaintSource.values:
        raise DomainError(_("Say how the complaint was received."), field="source")
    data = _clean_complaint_fields(
        {
            "description": description,
            "category": category,
            "third_parties": third_parties,
            "amount": amount,
            "visit": visit,
            "vehicle": vehicle,
        },
        customer=customer,
    )
    severity = _severity(
        safety_related=safety_related, amount=data["amount"], third_parties=data["third_parties"]
    )
    owner = _first_owner(owner, severity=severity, actor=actor)
    with transaction.atomic():
        complaint = _complaint_create(
            customer=customer,
            source=source,
            severity=severity,
            safety_related=safety_related,
            owner=owner,
            survey=survey,
            call=call,
            opened_by=actor,
            **data,
        )
        _complaint_opened(complaint, note=note, actor=actor)
    return complaint


def _complaint_opened(complaint: Complaint, *, note: str, actor: User | None) -> None:
    """Log the new complaint, watch its deadlines, send an important one to the manager."""
    opened_text = note or _("%(source)s, %(category)s, %(severity)s, owner %(owner)s") % {
        "source": complaint.get_source_display(),
        "category": complaint.get_category_display(),
        "severity": complaint.get_severity_display(),
        "owner": complaint.owner or "—",
    }
    _action(complaint, ActionKind.OPENED, opened_text, actor)
    _complaint_timeline(
        complaint,
        "opened",
        StoredMessage(
            N_("complaint logged (%(category)s, %(severity)s): %(text)s"),
            category=ComplaintCategory(complaint.category).label,
            severity=ComplaintSeverity(complaint.severity).label,
            text=complaint.description,
        ),
        actor,
        severity=complaint.severity,
    )
    publish(Event.COMPLAINT_OPENED, **_event(complaint, severity=complaint.severity))
    _schedule_deadlines(complaint)
    if complaint.is_important:
        _escalate(
            complaint,
            reason="important",
            text=_("Important complaint: %(why)s") % {"why": _important_why(complaint)},
            actor=actor,
        )


def _first_owner(owner: User | None, *, severity: str, actor: User | None) -> User | None:
    """Who handles a new complaint: the one named, the service manager for an important
    one, else whoever logged it when their role may own complaints."""
    if owner is not None and not has_role(owner, OWNER_ROLES):
        raise DomainError(
            _("The owner must be customer care, an advisor or a manager."), field="owner"
        )
    if owner is None:
        if severity == ComplaintSeverity.IMPORTANT:
            owner = service_manager() or actor
        elif actor is not None and has_role(actor, OWNER_ROLES):
            owner = actor
    return owner


def _complaint_create(**fields) -> Complaint:
    """The complaint row with its deadlines and its number, TS<yymmdd>-<id> (history too)."""
    now = timezone.now()
    complaint = Complaint.objects.create(
        number=uuid.uuid4().hex[:20],
        opened_at=now,
        respond_by=now + timedelta(hours=rule("followup.complaint_response_hours")),
        close_by=now + timedelta(hours=rule("followup.complaint_close_hours")),
        **fields,
    )
    complaint.number = f"TS{timezone.localtime(now):%y%m%d}-{complaint.pk:05d}"
    Complaint.objects.filter(pk=complaint.pk).update(number=complaint.number)
    complaint.history.update(number=complaint.number)
    return complaint


def _important_why(complaint: Complaint) -> str:
    reasons = []
    if complaint.safety_related:
        reasons.append(_("safety-related"))
    if complaint.amount is not None and complaint.amount >= rule(
        "followup.complaint_important_amount"
    ):
        reasons.append(_("amount %(amount)s yuan") % {"amount": complaint.amount})
    reasons.extend(complaint.third_party_labels())
    return ", ".join(str(reason) for reason in reasons)


def complaint_update(
    *, complaint: Complaint, actor: User | None, expected_version: int | None = None, **data
) -> Complaint:
    """Correct the complaint's details; becoming important sends it to the service manager."""
    editable = {
        "category",
        "description",
        "safety_related",
        "amount",
        "third_parties",
        "visit",
        "vehicle",
    }
    unknown = set(data) - editable
    if unknown:
        raise TypeError(f"complaint_update() got fields it may not change: {sorted(unknown)}")
    with transaction.atomic():
        complaint = lock_row(
            complaint, related=LOCK_RELATED, expected_version=expected_version, stale=_stale
        )
        if not complaint.is_open:
            raise DomainError(_("This complaint is closed; reopen it to change it."))
        data = _clean_complaint_fields(data, customer=complaint.customer)
        changed = [name for name, value in data.items() if getattr(complaint, name) != value]
        if not changed:
            return complaint
        was_important = complaint.is_important
        for name in changed:
            setattr(complaint, name, data[name])
        complaint.severity = _severity(
            safety_related=complaint.safety_related,
            amount=complaint.amount,
            third_parties=complaint.third_parties,
        )
        save_versioned(complaint, [*changed, "severity"])
        labels = ", ".join(str(Complaint._meta.get_field(name).verbose_name) for name in changed)
        _action(complaint, ActionKind.CHANGED, labels, actor)
        if complaint.is_important and not was_important:
            _escalate(
                complaint,
                reason="important",
                text=_("Important complaint: %(why)s") % {"why": _important_why(complaint)},
                actor=actor,
            )
    return complaint


def complaint_assign(*, complaint: Complaint, owner: User, actor: User | None) -> Complaint:
    """Give the complaint to another member of staff."""
    if not has_role(owner, OWNER_ROLES):
        raise DomainError(
            _("The owner must be customer care, an advisor or a manager."), field="owner"
        )
    with transaction.atomic():
        complaint = lock_row(complaint, related=LOCK_RELATED)
        if not complaint.is_open:
            raise DomainError(_("This complaint is closed; reopen it to change it."))
        if complaint.owner_id == owner.pk:
            return complaint
        complaint.owner = owner
        save_versioned(complaint, ["owner"])
        _action(complaint, ActionKind.ASSIGNED, str(owner), actor)
        _complaint_timeline(
            complaint, "assigned", StoredMessage(N_("now handled by %(owner)s"), owner=owner), actor
        )
    return complaint


CONTACT_ACTIONS = (ActionKind.RESPONSE, ActionKind.CALL)


def complaint_action_add(
    *, complaint: Complaint, actor: User, kind: str, text: str
) -> ComplaintAction:
    """Add a line to the actions log. Answering or calling the customer is the first response."""
    if kind not in (*CONTACT_ACTIONS, ActionKind.NOTE):
        raise DomainError(_("Choose what was done."), field="kind")
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write down what was done or said."), field="text")
    with transaction.atomic():
        complaint = lock_row(complaint, related=LOCK_RELATED)
        if not complaint.is_open:
            raise DomainError(_("This complaint is closed; reopen it to add to it."))
        action = _action(complaint, kind, text, actor)
        if kind in CONTACT_ACTIONS and complaint.responded_at is None:
            move(
                COMPLAINT_STATES,
                complaint,
                CS.IN_PROGRESS,
                changes={"responded_at": action.at},
            )
            due_tasks_cancel_for(complaint, kinds=[K.RESPONSE_DEADLINE])
            late = complaint.response_late()
            _complaint_timeline(
                complaint,
                "responded",
                StoredMessage(
                    N_("first response (late): %(text)s")
                    if late
                    else N_("first response: %(text)s"),
                    text=text,
                ),
                actor,
                late=late,
            )
    return action


def complaint_close(
    *,
    complaint: Complaint,
    actor: User,
    resolution: str,
    customer_satisfied: bool | None,
    expected_version: int | None = None,
) -> Complaint:
    """Close the complaint with its resolution and whether the customer was satisfied with it.

    An important complaint is closed by the service manager.
    """
    resolution = (resolution or "").strip()
    with transaction.atomic():
        complaint = lock_row(
            complaint, related=LOCK_RELATED, expected_version=expected_version, stale=_stale
        )
        if complaint.status == CS.CLOSED:
            raise DomainError(
                _("Complaint %(number)s was already closed at %(at)s.")
                % {"number": complaint.number, "at": when_text(complaint.closed_at)},
                code="already_closed",
            )
        if not resolution:
            raise DomainError(
                _("Write down how the complaint was resolved before closing it."),
                field="resolution",
                code="resolution_required",
            )
        if customer_satisfied is None:
            raise DomainError(
                _("Record whether the customer was satisfied with the resolution."),
                field="customer_satisfied",
                code="satisfaction_required",
            )
        if complaint.is_important and not has_role(actor, (Role.SERVICE_MANAGER,)):
            raise DomainError(
                _("An important complaint is closed by the service manager."), code="manager_only"
            )
        now = timezone.now()
        move(
            COMPLAINT_STATES,
            complaint,
            CS.CLOSED,
            now=now,
            changes={
                "responded_at": complaint.responded_at or now,
                "resolution": resolution,
                "customer_satisfied": customer_satisfied,
            },
        )
        satisfied = _("customer satisfied") if customer_satisfied else _("customer not satisfied")
        _action(complaint, ActionKind.CLOSED, f"{resolution} ({satisfied})", actor)
        due_tasks_cancel_for(complaint)
        _complaint_timeline(
            complaint,
            "closed",
            StoredMessage(
                N_("closed, %(satisfied)s: %(resolution)s"),
                satisfied=StoredMessage(
                    N_("customer satisfied") if customer_satisfied else N_("customer not satisfied")
                ),
                resolution=resolution,
            ),
            actor,
            satisfied=customer_satisfied,
            late=complaint.close_late(),
        )
    return complaint


def complaint_reopen(*, complaint: Complaint, actor: User, reason: str) -> Complaint:
    """The customer came back about it: reopen, with a fresh closure deadline."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the complaint is reopened."), field="reason")
    with transaction.atomic():
        complaint = lock_row(complaint, related=LOCK_RELATED)
        if complaint.status != CS.CLOSED:
            raise DomainError(
                _("Complaint %(number)s is not closed; only a closed complaint is reopened.")
                % {"number": complaint.number},
                code="not_closed",
            )
        move(
            COMPLAINT_STATES,
            complaint,
            CS.IN_PROGRESS,
            reason=reason,
            changes={
                "close_by": timezone.now()
                + timedelta(hours=rule("followup.complaint_close_hours")),
                "closed_at": None,
                "customer_satisfied": None,
            },
        )
        _action(complaint, ActionKind.REOPENED, reason, actor)
        _schedule_deadlines(complaint)
        _complaint_timeline(
            complaint, "reopened", StoredMessage(N_("reopened: %(reason)s"), reason=reason), actor
        )
    return complaint


def complaint_deadline_check(*, complaint: Complaint, deadline: str) -> dict:
    """Run at a complaint's deadline (a due task): escalate it when the deadline was missed."""
    with transaction.atomic():
        complaint = lock_row(complaint, related=LOCK_RELATED)
        if complaint.status == CS.CLOSED:
            return {"met": True}
        if deadline == "response":
            if complaint.responded_at is not None:
                return {"met": True}
            hours = round((complaint.respond_by - complaint.opened_at).total_seconds() / 3600)
            code = K.NO_FIRST_RESPONSE
        else:
            hours = round((complaint.close_by - complaint.opened_at).total_seconds() / 3600)
            code = K.NOT_CLOSED
        task = _escalate(
            complaint, reason=deadline, text="", actor=None, code=code, params={"hours": hours}
        )
    return {"escalated": deadline, "manager_task": task.pk}
