"""Writes of step 8: follow-up calls, surveys, complaints, opt-outs, the daily scan.

Calls are person due tasks (`dealership.due`); recording an outcome either
finishes the task or, when nobody answered, moves it later until the attempts
run out. Complaints move only through the services here (`ALLOWED`), each
writing an action line, a history entry and a timeline event.
"""

import calendar
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Max, Q
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from dealership.due import (
    OPEN_STATES,
    State,
    due_task_complete,
    due_task_schedule,
    due_tasks_cancel_for,
    kind_get,
)
from dealership.errors import DomainError
from dealership.models import Customer, DueTask, User, Vehicle
from dealership.roles import Role, has_role
from dealership.rules import rule
from dealership.services import customer_update, timeline_record
from dealership.stored_text import StoredCode, StoredMessage
from dealership.text import COMPLAINT_MAX_LENGTH, clean_text
from dealership.transitions import lock_row, move, save_versioned

from . import kinds as K
from .models import (
    SCORE_MAX,
    SCORE_MIN,
    ActionKind,
    Complaint,
    ComplaintAction,
    ComplaintCategory,
    ComplaintSeverity,
    ComplaintSource,
    DailyScan,
    Survey,
    ThirdParty,
)
from .rules import lost_months
from .states import COMPLAINT_STATES, ComplaintStatus

CS = ComplaintStatus
# What a complaint's services read of it besides its own fields.
LOCK_RELATED = ("customer", "vehicle")
# Staff who may own a complaint.
OWNER_ROLES = (Role.CUSTOMER_CARE, Role.ADVISOR, Role.SERVICE_MANAGER)
# The survey question a low answer points to, for the complaint's category.
SURVEY_CATEGORY = {
    "overall": ComplaintCategory.OTHER,
    "explanation": ComplaintCategory.ATTITUDE,
    "on_time": ComplaintCategory.TIME,
    "car_clean": ComplaintCategory.QUALITY,
    "would_recommend": ComplaintCategory.OTHER,
}
# A new car handed over longer ago than N+15 plus this is not called any more.
NEW_CAR_CALL_GRACE_DAYS = 30


def when_text(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")


def _at_local(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --------------------------------------------------------------------- after delivery


def followup_schedule_after_delivery(*, visit, actor: User | None) -> list[DueTask]:
    """Plan the 24 h care call (customer care) and the 7-day call (the visit's advisor).

    Called by delivery inside the transaction that delivers the visit. Both
    times count from the delivery (rules `followup.care_call_hours` and
    `followup.advisor_call_days`). A customer who asked not to be called gets
    no call; the timeline says so. Idempotent: delivering twice moves the calls.
    """
    customer = visit.customer
    if customer.do_not_call:
        timeline_record(
            kind="followup.not_called",
            summary=_("No follow-up calls after %(number)s: the customer asked not to be called.")
            % {"number": visit.number},
            customer=customer,
            vehicle=visit.vehicle,
            subject=visit,
            actor=actor,
        )
        return []
    delivered = visit.delivered_at or timezone.now()
    payload = {"visit": visit.pk, "vehicle": visit.vehicle_id, "number": visit.number}
    care = due_task_schedule(
        kind=K.CARE_CALL,
        subject=visit,
        due_at=delivered + timedelta(hours=rule("followup.care_call_hours")),
        customer=customer,
        payload=payload,
    )
    advisor = due_task_schedule(
        kind=K.ADVISOR_CALL,
        subject=visit,
        due_at=delivered + timedelta(days=rule("followup.advisor_call_days")),
        customer=customer,
        assigned_to=visit.advisor,
        payload=payload,
    )
    timeline_record(
        kind="followup.scheduled",
        summary=_(
            "Follow-up calls planned for %(number)s: care call by %(care)s, "
            "advisor's call by %(advisor)s"
        )
        % {
            "number": visit.number,
            "care": when_text(care.due_at),
            "advisor": when_text(advisor.due_at),
        },
        customer=customer,
        vehicle=visit.vehicle,
        subject=visit,
        actor=actor,
        data={"due_tasks": [care.pk, advisor.pk]},
    )
    return [care, advisor]


def _visit_close_if_followed_up(*, visit_id: int, actor: User | None, reason: str) -> bool:
    """Close a delivered visit once none of its follow-up calls is open any more."""
    from reception.models import Visit
    from reception.services import visit_transition
    from reception.visit_states import VisitStatus

    visit = Visit.objects.filter(pk=visit_id, status=VisitStatus.DELIVERED).first()
    if visit is None:
        return False
    still_open = DueTask.objects.filter(
        subject_type=ContentType.objects.get_for_model(Visit),
        subject_id=visit.pk,
        kind__in=K.VISIT_CALLS,
        state__in=OPEN_STATES,
    ).exists()
    if still_open:
        return False
    visit_transition(visit=visit, to=VisitStatus.CLOSED, actor=actor, reason=reason)
    return True


# --------------------------------------------------------------------- calls


@dataclass
class CallResult:
    task: DueTask
    retry_at: datetime | None = None
    survey: Survey | None = None
    complaint: Complaint | None = None

    @property
    def closed_unreachable(self) -> bool:
        return self.retry_at is None and self.task.outcome in K.NOT_REACHED_OUTCOMES


def _already_recorded(task: DueTask) -> DomainError:
    return DomainError(
        _("Already recorded by %(user)s at %(at)s. Reload the list.")
        % {
            "user": task.completed_by or _("system"),
            "at": when_text(task.finished_at or timezone.now()),
        },
        field="outcome",
        code="already_done",
    )


def survey_clean(answers: dict) -> dict:
    """The five scores as integers from 1 to 10, or DomainError naming the question."""
    cleaned = {}
    for name in Survey.QUESTIONS:
        value = answers.get(name)
        label = Survey._meta.get_field(name).verbose_name
        text = str(value).strip() if value is not None else ""
        # A few digits at most: int() of thousands of digits is refused by Python itself.
        digits = text.lstrip("-")
        score = int(text) if digits.isdigit() and len(digits) <= 3 else None
        if score is None or isinstance(value, bool):
            raise DomainError(
                _("“%(question)s”: answer with a score from %(min)s to %(max)s.")
                % {"question": label, "min": SCORE_MIN, "max": SCORE_MAX},
                field=name,
                code="score_missing",
            )
        if not SCORE_MIN <= score <= SCORE_MAX:
            raise DomainError(
                _("“%(question)s”: %(score)s is out of range; scores go from %(min)s to %(max)s.")
                % {"question": label, "score": score, "min": SCORE_MIN, "max": SCORE_MAX},
                field=name,
                code="score_range",
            )
        cleaned[name] = score
    cleaned["customer_words"] = clean_text(
        answers.get("customer_words"), field="customer_words", max_length=COMPLAINT_MAX_LENGTH
    )
    return cleaned


def _subject_parts(task: DueTask) -> tuple[Vehicle | None, object | None]:
    """The vehicle and visit a call is about, from its subject and payload."""
    from reception.models import Visit

    subject = task.subject
    visit = subject if isinstance(subject, Visit) else None
    if isinstance(subject, Vehicle):
        return subject, None
    vehicle_id = getattr(subject, "vehicle_id", None) or task.payload.get("vehicle")
    vehicle = Vehicle.objects.filter(pk=vehicle_id).first() if vehicle_id else None
    return vehicle, visit


def _finish(*, task: DueTask, actor: User, outcome: str, note: str, result: dict) -> DueTask:
    """Mark the call done; the appointments app's calls go through its own service."""
    if task.kind.startswith("appointments."):
        from appointments.services import call_record as appointment_call_record

        return appointment_call_record(task=task, outcome=outcome, actor=actor, note=note)
    return due_task_complete(task=task, actor=actor, outcome=outcome, result=result)


def call_record(
    *,
    task: DueTask,
    actor: User,
    outcome: str,
    note: str = "",
    attempts_seen: int | None = None,
    survey: dict | None = None,
    category: str = "",
) -> CallResult:
    """Record what came of a follow-up call.

    Not reached: the call comes back after `followup.retry_hours`, until
    `followup.call_attempts` tries, then it is closed as unreachable. A care
    call that reached the customer takes the survey; any answer at or below
    `followup.survey_complaint_score` opens a complaint. "Has a problem" opens
    a complaint with the note as the customer's words. A second recording of
    the same call (or the same attempt, `attempts_seen`) is refused.
    """
    spec = kind_get(task.kind)
    if K.list_of_kind(task.kind) is None:
        raise DomainError(_("This task is not a follow-up call."), code="not_a_call")
    note = (note or "").strip()
    now = timezone.now()
    with transaction.atomic():
        task = (
            DueTask.objects.select_for_update(of=("self",))
            .select_related("customer", "completed_by")
            .get(pk=task.pk)
        )
        if task.state == State.DONE:
            raise _already_recorded(task)
        if task.state != State.PENDING:
            raise DomainError(
                _("This call is not on the list any more (%(state)s).")
                % {"state": task.get_state_display()},
                field="outcome",
                code="not_pending",
            )
        attempts = list(task.payload.get("attempts", []))
        # The page's hidden count comes back as text: anything but the count shown is stale.
        if attempts_seen is not None and str(attempts_seen) != str(len(attempts)):
            last = attempts[-1] if attempts else {}
            raise DomainError(
                _("Already recorded by %(user)s at %(at)s. Reload the list.")
                % {"user": last.get("by_name", "?"), "at": last.get("at_local", "")},
                field="outcome",
                code="already_done",
            )
        if outcome not in dict(spec.outcomes):
            raise DomainError(_("Choose an outcome."), field="outcome", code="outcome")
        vehicle, visit = _subject_parts(task)
        label = spec.label

        if outcome in K.NOT_REACHED_OUTCOMES:
            attempts.append(
                {
                    "at": now.isoformat(),
                    "at_local": when_text(now),
                    "by": actor.pk,
                    "by_name": str(actor),
                    "note": note,
                }
            )
            limit = max(int(rule("followup.call_attempts")), 1)
            if len(attempts) < limit:
                retry_at = now + timedelta(hours=rule("followup.retry_hours"))
                task = due_task_schedule(
                    kind=task.kind,
                    subject=task.subject,
                    slot=task.slot,
                    due_at=retry_at,
                    customer=task.customer,
                    payload={**task.payload, "attempts": attempts},
                )
                timeline_record(
                    kind="followup.call_attempt",
                    summary=_("%(call)s: not reached (attempt %(n)s of %(max)s), next try %(when)s")
                    % {
                        "call": label,
                        "n": len(attempts),
                        "max": limit,
                        "when": when_text(retry_at),
                    },
                    customer=task.customer,
                    vehicle=vehicle,
                    subject=task.subject,
                    actor=actor,
                    data={"due_task": task.pk, "attempt": len(attempts)},
                )
                return CallResult(task=task, retry_at=retry_at)

        answers = None
        if task.kind == K.CARE_CALL and outcome == "surveyed":
            if not survey:
                raise DomainError(
                    _(
                        "“Survey taken” needs the customer's answers: record this call "
                        "on the care call page, with the survey."
                    ),
                    field="outcome",
                    code="survey_required",
                )
            answers = survey_clean(survey)
        if outcome == K.ISSUE and not note:
            raise DomainError(
                _("Write down the customer's problem in their own words."),
                field="note",
                code="note_required",
            )
        result = {key: value for key, value in (("note", note), ("attempts", attempts)) if value}
        task = _finish(task=task, actor=actor, outcome=outcome, note=note, result=result)
        call = CallResult(task=task)
        if answers is not None:
            call.survey, call.complaint = _survey_take(
                task=task, actor=actor, answers=answers, vehicle=vehicle, visit=visit
            )
        if outcome == K.ISSUE:
            call.complaint = complaint_open(
                customer=task.customer,
                actor=actor,
                source=ComplaintSource.CALL,
                category=category or ComplaintCategory.OTHER,
                description=note,
                vehicle=vehicle,
                visit=visit,
                call=task,
            )
        if task.kind in K.VISIT_CALLS and visit is not None:
            _visit_close_if_followed_up(
                visit_id=visit.pk, actor=actor, reason=_("follow-up calls done")
            )
    return call


def _survey_take(*, task, actor, answers, vehicle, visit) -> tuple[Survey, Complaint | None]:
    survey = Survey.objects.create(
        call=task,
        customer=task.customer,
        vehicle=vehicle,
        visit=visit,
        taken_by=actor,
        **answers,
    )
    threshold = int(rule("followup.survey_complaint_score"))
    scores = " · ".join(f"{label} {score}" for _name, label, score in survey.answers())
    timeline_record(
        kind="followup.survey",
        summary=_("Satisfaction survey: %(scores)s") % {"scores": scores},
        customer=task.customer,
        vehicle=vehicle,
        subject=visit or task.subject,
        actor=actor,
        data={"survey": survey.pk, **{name: getattr(survey, name) for name in Survey.QUESTIONS}},
    )
    low = [(name, label, score) for name, label, score in survey.answers() if score <= threshold]
    if not low:
        return survey, None
    worst = min(low, key=lambda item: item[2])
    low_text = "; ".join(f"{label}: {score}/10" for _name, label, score in low)
    complaint = complaint_open(
        customer=task.customer,
        actor=actor,
        source=ComplaintSource.SURVEY,
        category=SURVEY_CATEGORY[worst[0]],
        description=survey.customer_words
        or _("Low survey answers: %(answers)s") % {"answers": low_text},
        vehicle=vehicle,
        visit=visit,
        survey=survey,
        call=task,
        note=_("Opened by the survey (answers at or below %(score)s): %(answers)s")
        % {"score": threshold, "answers": low_text},
    )
    return survey, complaint


# --------------------------------------------------------------------- opt-out


def customer_calls_opt_out(
    *, customer: Customer, actor: User | None, do_not_call: bool, reason: str = ""
) -> Customer:
    """Record that the customer does (not) want calls; opting out cancels their open calls."""
    reason = (reason or "").strip()
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.do_not_call == do_not_call:
            return customer
        if reason:
            customer._change_reason = reason
        customer = customer_update(customer=customer, actor=actor, do_not_call=do_not_call)
        cancelled = 0
        if do_not_call:
            open_calls = DueTask.objects.filter(
                customer=customer,
                for_person=True,
                state=State.PENDING,
                kind__in=K.CUSTOMER_CALL_KINDS,
            ).prefetch_related("subject")
            for task in open_calls:
                if task.subject is not None:
                    cancelled += due_tasks_cancel_for(task.subject, kinds=[task.kind])
        summary = (
            _("Asked not to be called; %(count)s open calls cancelled.") % {"count": cancelled}
            if do_not_call
            else _("Agreed to be called again.")
        )
        timeline_record(
            kind="customer.opt_out" if do_not_call else "customer.opt_in",
            summary=f"{summary} {reason}".strip(),
            customer=customer,
            subject=customer,
            actor=actor,
            data={"do_not_call": do_not_call, "reason": reason},
        )
    return customer


# --------------------------------------------------------------------- complaints


def _severity(*, safety_related: bool, amount, third_parties) -> str:
    large = amount is not None and amount >= rule("followup.complaint_important_amount")
    important = safety_related or large or bool(third_parties)
    return ComplaintSeverity.IMPORTANT if important else ComplaintSeverity.NORMAL


def service_manager() -> User | None:
    """The service manager who receives important and escalated complaints."""
    return (
        User.objects.filter(groups__name=Role.SERVICE_MANAGER, is_active=True)
        .order_by("id")
        .first()
    )


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
    if owner is not None and not has_role(owner, OWNER_ROLES):
        raise DomainError(
            _("The owner must be customer care, an advisor or a manager."), field="owner"
        )
    if owner is None:
        if severity == ComplaintSeverity.IMPORTANT:
            owner = service_manager() or actor
        elif actor is not None and has_role(actor, OWNER_ROLES):
            owner = actor
    now = timezone.now()
    with transaction.atomic():
        complaint = Complaint.objects.create(
            number=uuid.uuid4().hex[:20],
            customer=customer,
            source=source,
            severity=severity,
            safety_related=safety_related,
            owner=owner,
            survey=survey,
            call=call,
            opened_at=now,
            opened_by=actor,
            respond_by=now + timedelta(hours=rule("followup.complaint_response_hours")),
            close_by=now + timedelta(hours=rule("followup.complaint_close_hours")),
            **data,
        )
        complaint.number = f"TS{timezone.localtime(now):%y%m%d}-{complaint.pk:05d}"
        Complaint.objects.filter(pk=complaint.pk).update(number=complaint.number)
        complaint.history.update(number=complaint.number)
        opened_text = note or _("%(source)s, %(category)s, %(severity)s, owner %(owner)s") % {
            "source": complaint.get_source_display(),
            "category": complaint.get_category_display(),
            "severity": complaint.get_severity_display(),
            "owner": owner or "—",
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
            severity=severity,
        )
        _schedule_deadlines(complaint)
        if complaint.is_important:
            _escalate(
                complaint,
                reason="important",
                text=_("Important complaint: %(why)s") % {"why": _important_why(complaint)},
                actor=actor,
            )
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


# --------------------------------------------------------------------- daily scan


def followup_daily_scan_ensure(*, now: datetime | None = None) -> DailyScan:
    """Make sure today's scan is scheduled (called hourly by beat; idempotent)."""
    now = now or timezone.now()
    with transaction.atomic():
        scan, created = DailyScan.objects.get_or_create(day=timezone.localdate(now))
        if created:
            due_task_schedule(kind=K.DAILY_SCAN, subject=scan, due_at=now)
    return scan


def followup_daily_scan(*, scan: DailyScan, now: datetime | None = None) -> dict:
    """Put new cars (N+15) and lost customers on the lists; close followed-up visits.

    Idempotent: a vehicle already called for the same reason is not added again.
    """
    now = now or timezone.now()
    today = timezone.localdate(now)
    counts = {
        "new_car_calls": new_car_calls_schedule(today=today),
        **lost_customer_calls_schedule(today=today, now=now),
        "visits_closed": delivered_visits_close(now=now),
    }
    scan.finished_at = timezone.now()
    scan.counts = counts
    scan.save(update_fields=["finished_at", "counts"])
    return counts


def _vehicle_type() -> ContentType:
    return ContentType.objects.get_for_model(Vehicle)


def new_car_calls_schedule(*, today: date) -> int:
    """Schedule the N+15 call of every new car handed over recently (not for opted-out owners)."""
    days = int(rule("followup.new_car_call_days"))
    vehicles = Vehicle.objects.filter(
        handover_date__gte=today - timedelta(days=days + NEW_CAR_CALL_GRACE_DAYS),
        handover_date__lte=today,
        owner__do_not_call=False,
    ).select_related("owner")
    called = set(
        DueTask.objects.filter(kind=K.NEW_CAR_CALL, subject_type=_vehicle_type()).values_list(
            "subject_id", flat=True
        )
    )
    count = 0
    for vehicle in vehicles:
        if vehicle.pk in called:
            continue
        due_task_schedule(
            kind=K.NEW_CAR_CALL,
            subject=vehicle,
            due_at=_at_local(vehicle.handover_date + timedelta(days=days), 10),
            customer=vehicle.owner,
            payload={"vehicle": vehicle.pk, "handover": vehicle.handover_date.isoformat()},
        )
        count += 1
    return count


def lost_customer_calls_schedule(*, today: date, now: datetime) -> dict:
    """Vehicles not seen for 3 / 6 / 12 months and new cars not back for their first service.

    One call per vehicle per step and last visit (the slot), so the scan can
    run any number of times; a vehicle that came back has its open call cancelled.
    """
    from reception.visit_states import VisitStatus

    vehicle_type = _vehicle_type()
    existing = set(
        DueTask.objects.filter(kind=K.LOST_CALL, subject_type=vehicle_type).values_list(
            "subject_id", "slot"
        )
    )
    counts = {"lost_calls": 0, "first_service_calls": 0, "lost_calls_cancelled": 0}

    called_before = {vehicle_id for vehicle_id, _slot in existing}

    def schedule(vehicle, slot, payload):
        if (vehicle.pk, slot) in existing:
            return False
        if vehicle.pk in called_before:  # an earlier step's call may still be open
            due_tasks_cancel_for(vehicle, kinds=[K.LOST_CALL])
        due_task_schedule(
            kind=K.LOST_CALL,
            subject=vehicle,
            slot=slot,
            due_at=now,
            customer=vehicle.owner,
            payload={"vehicle": vehicle.pk, **payload},
        )
        return True

    # Came back since the call was planned: nothing to ask any more.
    open_calls = list(
        DueTask.objects.filter(kind=K.LOST_CALL, state=State.PENDING).values_list(
            "subject_id", "created_at"
        )
    )
    if open_calls:
        last_seen = dict(
            Vehicle.objects.filter(pk__in=[pk for pk, _at in open_calls])
            .annotate(last=Max("visits__checked_in_at"))
            .values_list("pk", "last")
        )
        for vehicle_id, created_at in open_calls:
            if last_seen.get(vehicle_id) and last_seen[vehicle_id] >= created_at:
                counts["lost_calls_cancelled"] += due_tasks_cancel_for(
                    Vehicle(pk=vehicle_id), kinds=[K.LOST_CALL]
                )

    steps = lost_months()
    if steps:
        cutoff = _at_local(add_months(today, -steps[0]), 0)
        lost = (
            Vehicle.objects.filter(owner__do_not_call=False)
            .annotate(
                last=Max("visits__checked_in_at", filter=~Q(visits__status=VisitStatus.CANCELLED))
            )
            .filter(last__lt=cutoff)
            .select_related("owner")
        )
        for vehicle in lost:
            last_day = timezone.localdate(vehicle.last)
            months = max((m for m in steps if add_months(last_day, m) <= today), default=0)
            if not months:
                continue
            slot = f"{months}m:{last_day.isoformat()}"
            payload = {"reason": "not_seen", "months": months, "last_visit": last_day.isoformat()}
            counts["lost_calls"] += schedule(vehicle, slot, payload)

    first_months = int(rule("followup.first_service_months"))
    if first_months > 0:
        latest = add_months(today, -first_months)
        new_cars = Vehicle.objects.filter(
            owner__do_not_call=False,
            handover_date__lte=latest,
            handover_date__gt=add_months(latest, -12),
            visits__isnull=True,
        ).select_related("owner")
        for vehicle in new_cars:
            payload = {"reason": "first_service", "handover": vehicle.handover_date.isoformat()}
            counts["first_service_calls"] += schedule(vehicle, "first_service", payload)
    return counts


def delivered_visits_close(*, now: datetime, limit: int = 1000) -> int:
    """Close delivered visits past the follow-up period whose calls are all finished.

    Covers customers who asked not to be called (they get no calls) and calls
    cancelled or missed; visits with a call still open wait for it.
    """
    from reception.models import Visit
    from reception.visit_states import VisitStatus

    cutoff = now - timedelta(days=int(rule("followup.advisor_call_days")) + 1)
    waiting = DueTask.objects.filter(
        subject_type=ContentType.objects.get_for_model(Visit),
        kind__in=K.VISIT_CALLS,
        state__in=OPEN_STATES,
    ).values("subject_id")
    visits = (
        Visit.objects.filter(status=VisitStatus.DELIVERED, delivered_at__lt=cutoff)
        .exclude(pk__in=waiting)
        .values_list("pk", flat=True)[:limit]
    )
    closed = 0
    for visit_id in list(visits):
        closed += _visit_close_if_followed_up(
            visit_id=visit_id, actor=None, reason=_("follow-up period over")
        )
    return closed
