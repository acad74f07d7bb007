"""Writes of additional work (增项): the proposal, the customer's answer and its link.

Locks are taken in the order addition → work order → visit → jobs (see
`workshop.services`). Callers import these services from `workshop.services`.
"""

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dealership.due import due_task_complete, due_task_schedule, due_tasks_cancel_for
from dealership.errors import DomainError
from dealership.events import Event, publish
from dealership.links import LinkInvalid, customer_link_create, customer_link_resolve
from dealership.models import DueTask, DueTaskState, LabourOperation, Part, User
from dealership.rules import rule
from dealership.stored_text import StoredMessage
from dealership.transitions import lock_row, move
from reception.models import DeclinedWork, Visit
from reception.services import visit_promise_update
from workorders.models import LineKind, WorkOrder
from workorders.selectors import order_in_force
from workorders.services import work_order_revise

from . import duties
from .job_moves import job_move, visit_follow_jobs, workshop_record, workshop_visit_lock
from .models import Addition, AdditionLine, Finding, Job
from .states import ADDITION_STATES, WORKING_VISIT, AdditionStatus, AnswerChannel, JobStatus
from .texts import plate_of, short_time

ADDITION_PURPOSE = "workshop_addition"
# The most extra time an addition may ask the customer for: a week of the workshop.
MAX_EXTRA_MINUTES = 7 * 24 * 60

J = JobStatus

# ---------------------------------------------------------------------------- proposal


def _refuse_incomplete_proposal(
    *,
    visit: Visit,
    title: str,
    operations: list[LabourOperation],
    parts: list[Part],
    extra_minutes: int | None,
    finding: Finding | None,
) -> None:
    if not title:
        raise DomainError(_("Name the work you propose."), field="title")
    if not operations and not parts:
        raise DomainError(_("Choose at least one operation or part."), field="operations")
    if extra_minutes is not None and extra_minutes < 0:
        raise DomainError(_("The extra time cannot be negative."), field="extra_minutes")
    if extra_minutes is not None and extra_minutes > MAX_EXTRA_MINUTES:
        raise DomainError(
            _("The extra time can be at most %(max)s minutes (a week).")
            % {"max": MAX_EXTRA_MINUTES},
            field="extra_minutes",
        )
    if finding is not None and finding.visit_id != visit.pk:
        raise DomainError(_("This finding belongs to another visit."), field="finding")


def _proposed_lines(
    addition: Addition, operations: list[LabourOperation], parts: list[Part]
) -> list[AdditionLine]:
    """The proposal's lines at today's catalogue prices, saved."""
    lines = [
        AdditionLine(
            addition=addition,
            operation=op,
            code=op.code,
            name_zh=op.name_zh,
            name_en=op.name_en,
            hours=Decimal(str(op.standard_hours)),
            unit_price=Decimal(str(op.price)),
        )
        for op in operations
    ] + [
        AdditionLine(
            addition=addition,
            part=part,
            code=part.part_number,
            name_zh=part.name_zh,
            name_en=part.name_en,
            unit_price=Decimal(str(part.price)),
        )
        for part in parts
    ]
    AdditionLine.objects.bulk_create(lines)
    return lines


def _proposed_jobs(addition: Addition, visit: Visit, operations: list[LabourOperation]) -> None:
    """One job per operation, waiting for the customer's approval."""
    Job.objects.bulk_create(
        [
            Job(
                visit=visit,
                addition=addition,
                code=op.code,
                name_zh=op.name_zh,
                name_en=op.name_en,
                hours=Decimal(str(op.standard_hours)),
                work_type=op.work_type,
                status=J.PROPOSED,
            )
            for op in operations
        ]
    )


def _new_link(addition: Addition, customer, actor: User | None) -> str:
    return customer_link_create(
        obj=addition,
        purpose=ADDITION_PURPOSE,
        customer=customer,
        max_age=timedelta(days=rule("workshop.addition_link_days")),
        actor=actor,
    )


def _schedule_addition_call(addition: Addition, visit: Visit) -> None:
    """A call on the advisor's list to get the customer's answer."""
    due_task_schedule(
        kind=duties.ADDITION_CALL,
        subject=addition,
        due_at=timezone.now(),
        customer=visit.customer,
        assigned_to=visit.advisor,
        payload={
            "note_code": duties.ADDITION_NOTE,
            "note_params": {
                "plate": plate_of(visit),
                "title": addition.title,
                "price": str(addition.price),
                "minutes": addition.extra_minutes,
                "safety": bool(addition.safety_related),
            },
        },
    )


def _event_data(addition: Addition) -> dict:
    """What an outside system is told of additional work (`dealership.events`)."""
    return {
        "addition": addition.pk,
        "status": addition.status,
        "price": str(addition.price),
        "extra_minutes": addition.extra_minutes,
    }


def addition_propose(
    *,
    visit: Visit,
    actor: User,
    title: str,
    operations: Iterable[LabourOperation] = (),
    parts: Iterable[Part] = (),
    explanation: str = "",
    extra_minutes: int | None = None,
    safety_related: bool = False,
    finding: Finding | None = None,
) -> Addition:
    """Propose additional work (增项) from a finding: operations, parts, price, extra time.

    Its jobs exist at once but cannot start before the customer approves. The
    visit's advisor gets a call on their list; the customer's link is made
    (the advisor sends it, or calls).
    """
    title = (title or "").strip()
    operations, parts = list(operations or ()), list(parts or ())
    _refuse_incomplete_proposal(
        visit=visit,
        title=title,
        operations=operations,
        parts=parts,
        extra_minutes=extra_minutes,
        finding=finding,
    )
    with transaction.atomic():
        locked = workshop_visit_lock(visit.pk)
        if locked.status not in WORKING_VISIT:
            raise DomainError(
                _("Additional work is proposed while the car is in the workshop (now: %(s)s).")
                % {"s": locked.get_status_display()},
                code="visit_not_working",
            )
        addition = Addition.objects.create(
            visit=locked,
            finding=finding,
            found_on=finding.job if finding else None,
            title=title,
            explanation=(explanation or "").strip(),
            safety_related=bool(safety_related),
            proposed_by=actor,
        )
        lines = _proposed_lines(addition, operations, parts)
        addition.hours = sum((line.hours for line in lines), Decimal("0"))
        addition.price = sum((line.amount for line in lines), Decimal("0"))
        addition.extra_minutes = (
            extra_minutes if extra_minutes is not None else math.ceil(addition.hours * 60)
        )
        _proposed_jobs(addition, locked, operations)
        addition.link_token = _new_link(addition, locked.customer, actor)
        addition.save(update_fields=["hours", "price", "extra_minutes", "link_token"])
        _schedule_addition_call(addition, locked)
        summary = _("additional work proposed: %(title)s, ¥%(price)s, +%(min)s min") % {
            "title": title,
            "price": addition.price,
            "min": addition.extra_minutes,
        }
        visit_follow_jobs(locked, actor=actor, reason=summary)
        workshop_record(locked, kind="workshop.addition_proposed", summary=summary, actor=actor)
        publish(Event.ADDITION_PROPOSED, visit_id=locked.pk, data=_event_data(addition))
    return addition


# ---------------------------------------------------------------------------- the answer


def _lock_open_addition(addition: Addition) -> Addition:
    """The addition under its row lock, refused when it is no longer waiting for an answer."""
    locked = lock_row(addition, related=("visit__customer", "visit__vehicle", "recorded_by"))
    if locked.status == AdditionStatus.WITHDRAWN:
        raise DomainError(_("This proposal was withdrawn."), code="withdrawn")
    if locked.status != AdditionStatus.PROPOSED:
        raise DomainError(
            _("The customer already answered: %(answer)s (%(channel)s, %(who)s, %(when)s).")
            % {
                "answer": locked.get_status_display(),
                "channel": locked.get_answer_channel_display(),
                "who": locked.answered_by,
                "when": short_time(locked.answered_at),
            },
            code="already_answered",
        )
    return locked


def _close_addition_call(addition: Addition, actor: User | None, outcome: str) -> None:
    task = DueTask.objects.filter(
        kind=duties.ADDITION_CALL,
        subject_type=ContentType.objects.get_for_model(Addition),
        subject_id=addition.pk,
        state=DueTaskState.PENDING,
    ).first()
    if task is not None:
        due_task_complete(task=task, actor=actor, outcome=outcome)
    # The link stays valid: opened again, it shows the customer the answer on record.
    due_tasks_cancel_for(addition, kinds=[duties.ADDITION_LINK])


def _answer_record(
    addition: Addition,
    to: str,
    *,
    actor: User | None,
    outcome: str = "answered",
    now: datetime | None = None,
    **changes,
) -> None:
    """Move the (locked) addition to its answer and close the advisor's call about it."""
    move(ADDITION_STATES, addition, to, now=now, changes={"recorded_by": actor, **changes})
    _close_addition_call(addition, actor, outcome)


def _check_channel(channel: str, answered_by: str, visit_customer_name: str) -> str:
    if channel not in AnswerChannel.values:
        raise DomainError(_("Say how the customer answered."), field="channel")
    return (answered_by or "").strip() or visit_customer_name


def _answer_words(words: str, channel: str, *, field: str, missing: str, by_link: str) -> str:
    """What the customer said: the advisor must write it down on the phone; a link needs none."""
    words = (words or "").strip()
    if channel == AnswerChannel.PHONE and not words:
        raise DomainError(missing, field=field)
    return words or by_link


def _revise_order(
    *,
    addition: Addition,
    order: WorkOrder,
    added: list[AdditionLine],
    actor: User | None,
    channel: str,
    note: str,
    promised_at: datetime | None,
    promise_reason: StoredMessage,
):
    """The signed revision of the order that adds the approved lines."""
    return work_order_revise(
        order=order,
        actor=actor,
        reason=_("Additional work: %(title)s") % {"title": addition.title},
        add_lines=[
            {
                "kind": LineKind.LABOUR if line.is_labour else LineKind.PART,
                "operation": line.operation,
                "part": line.part,
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                **({"hours": line.hours} if line.is_labour else {}),
            }
            for line in added
        ],
        signed_via=channel,
        approval_note=note,
        # The revision the customer agreed to carries the promise it moves to.
        promised_at=promised_at,
        promised_reason=str(promise_reason),
    )


def _promised_after(addition: Addition, before: datetime | None, *, now: datetime):
    """The promise the approval moves to: the extra time added from now or the old promise."""
    if not addition.extra_minutes:
        return before
    return max(before or now, now) + timedelta(minutes=addition.extra_minutes)


def _approved_jobs_take_their_lines(
    addition: Addition, revision: WorkOrder, *, added: int, actor: User | None, now: datetime
) -> None:
    """The addition's jobs take the revision's new labour lines (the last `added` lines),
    and go to the technician who found the work, or wait for dispatch."""
    new_lines = list(revision.lines.order_by("-position")[:added])[::-1]
    labour_lines = [line for line in new_lines if line.kind == LineKind.LABOUR]
    jobs = sorted(
        Job.objects.select_for_update(of=("self",)).filter(addition=addition),
        key=lambda job: job.pk,
    )
    finder = Job.objects.select_related("technician", "bay").filter(pk=addition.found_on_id).first()
    for job, line in zip(jobs, labour_lines, strict=True):
        changes = {"order_line": line, "position": line.position}
        if finder is not None and finder.technician and finder.technician.active:
            changes.update(technician=finder.technician, bay=finder.bay, dispatched_by=actor)
            job_move(job, J.DISPATCHED, now=now, changes=changes)
        else:
            job_move(job, J.WAITING, now=now, changes=changes)


def _promise_moves(
    visit: Visit,
    *,
    addition: Addition,
    before: datetime | None,
    after: datetime,
    actor: User | None,
    reason: StoredMessage,
    now: datetime,
) -> Visit:
    """The visit's new promise, and one message to the customer with it."""
    visit = visit_promise_update(visit=visit, actor=actor, promised_at=after, reason=reason)
    # Sent by the due-task worker.
    due_task_schedule(
        kind=duties.PROMISE_NOTICE,
        subject=visit,
        slot=str(int(after.timestamp())),
        due_at=now,
        customer=visit.customer,
        payload={
            "promised_at": after.isoformat(),
            "previous": before.isoformat() if before else None,
            "addition": addition.pk,
        },
    )
    return visit


def _order_to_revise(visit: Visit):
    order = order_in_force(visit)
    if order is None:
        raise DomainError(_("This visit has no signed order to add the work to."))
    return order


def addition_approve(
    *,
    addition: Addition,
    actor: User | None,
    channel: str,
    answered_by: str = "",
    note: str = "",
) -> Addition:
    """The customer approved: the order gets a signed revision and the promise moves.

    By phone, the advisor records who answered and what they said; through
    the link, the customer answered themselves (`actor` None). The addition's
    jobs go to the technician who found the work (or wait for dispatch).
    """
    note = _answer_words(
        note,
        channel,
        field="note",
        missing=_("Record what the customer said on the phone."),
        by_link=_("Approved by the customer through the link."),
    )
    with transaction.atomic():
        locked = _lock_open_addition(addition)
        answered_by = _check_channel(channel, answered_by, locked.visit.customer.name)
        order = _order_to_revise(locked.visit)
        added = list(locked.lines.select_related("operation", "part"))
        now = timezone.now()
        before = locked.visit.promised_at
        after = _promised_after(locked, before, now=now)
        promise_reason = StoredMessage(
            gettext_noop("additional work approved: %(title)s"), title=locked.title
        )
        revision = _revise_order(
            addition=locked,
            order=order,
            added=added,
            actor=actor,
            channel=channel,
            note=note,
            promised_at=after if after != before else None,
            promise_reason=promise_reason,
        )
        visit = workshop_visit_lock(locked.visit_id)
        _approved_jobs_take_their_lines(locked, revision, added=len(added), actor=actor, now=now)
        if after != before:
            visit = _promise_moves(
                visit,
                addition=locked,
                before=before,
                after=after,
                actor=actor,
                reason=promise_reason,
                now=now,
            )
        _answer_record(
            locked,
            AdditionStatus.APPROVED,
            actor=actor,
            now=now,
            answer_channel=channel,
            answered_by=answered_by,
            answer_note=note,
            revision=revision,
            promised_before=before,
            promised_after=after,
        )
        summary = _("%(who)s approved %(title)s (%(channel)s); promised time now %(when)s") % {
            "who": answered_by,
            "title": locked.title,
            "channel": locked.get_answer_channel_display(),
            "when": short_time(after),
        }
        visit_follow_jobs(visit, actor=actor, reason=summary)
        if visit.dispatched_at:
            duties.watch_schedule(visit=visit, now=now)
        workshop_record(
            visit, kind="workshop.addition_approved", summary=summary, actor=actor, subject=locked
        )
        publish(Event.ADDITION_ANSWERED, visit_id=visit.pk, data=_event_data(locked))
    return locked


def _cancel_jobs_of(addition: Addition) -> None:
    for job in Job.objects.select_for_update(of=("self",)).filter(addition=addition):
        job_move(job, J.CANCELLED)


def addition_decline(
    *,
    addition: Addition,
    actor: User | None,
    channel: str,
    reason: str = "",
    answered_by: str = "",
    note: str = "",
) -> Addition:
    """The customer declined: the work is kept on the vehicle as declined, with the reason,
    and shows again at the next check-in."""
    reason = _answer_words(
        reason,
        channel,
        field="reason",
        missing=_("Record the customer's reason for declining."),
        by_link=_("Declined by the customer through the link."),
    )
    with transaction.atomic():
        locked = _lock_open_addition(addition)
        answered_by = _check_channel(channel, answered_by, locked.visit.customer.name)
        visit = workshop_visit_lock(locked.visit_id)
        _cancel_jobs_of(locked)
        DeclinedWork.objects.create(
            vehicle=visit.vehicle,
            visit=visit,
            description=f"{locked.title}（{reason}）"[:200],
            estimated_amount=locked.price,
            recorded_by=actor,
        )
        _answer_record(
            locked,
            AdditionStatus.DECLINED,
            actor=actor,
            answer_channel=channel,
            answered_by=answered_by,
            decline_reason=reason[:200],
            answer_note=(note or "").strip(),
        )
        summary = _("%(who)s declined %(title)s (%(channel)s): %(reason)s") % {
            "who": answered_by,
            "title": locked.title,
            "channel": locked.get_answer_channel_display(),
            "reason": reason,
        }
        visit_follow_jobs(visit, actor=actor, reason=summary)
        workshop_record(visit, kind="workshop.addition_declined", summary=summary, actor=actor)
        publish(Event.ADDITION_ANSWERED, visit_id=visit.pk, data=_event_data(locked))
    return locked


def addition_withdraw(*, addition: Addition, actor: User, reason: str) -> Addition:
    """Take back a proposal made in error, before the customer answers."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the proposal is withdrawn."), field="reason")
    with transaction.atomic():
        locked = _lock_open_addition(addition)
        visit = workshop_visit_lock(locked.visit_id)
        _cancel_jobs_of(locked)
        _answer_record(
            locked,
            AdditionStatus.WITHDRAWN,
            actor=actor,
            outcome="not_needed",
            decline_reason=reason[:200],
        )
        summary = _("additional work withdrawn: %(title)s (%(reason)s)") % {
            "title": locked.title,
            "reason": reason,
        }
        visit_follow_jobs(visit, actor=actor, reason=summary)
        workshop_record(visit, kind="workshop.addition_withdrawn", summary=summary, actor=actor)
    return locked


# ---------------------------------------------------------------------------- the link


def addition_link_token(addition: Addition, *, actor: User | None) -> str:
    """The addition's customer link, renewed when it expired."""
    if addition.link_token:
        try:
            customer_link_resolve(addition.link_token, purpose=ADDITION_PURPOSE, touch=False)
        except LinkInvalid:
            pass
        else:
            return addition.link_token
    token = _new_link(addition, addition.visit.customer, actor)
    Addition.objects.filter(pk=addition.pk).update(link_token=token)
    addition.link_token = token
    return token


def addition_send_link(*, addition: Addition, actor: User, base_url: str = "") -> str:
    """Send the customer their approval link (SMS / e-mail by their preference); returns it."""
    with transaction.atomic():
        locked = _lock_open_addition(addition)
        url = duties.addition_link_url(addition_link_token(locked, actor=actor), base_url)
        now = timezone.now()
        due_task_schedule(
            kind=duties.ADDITION_LINK,
            subject=locked,
            slot=str(int(now.timestamp())),
            due_at=now,
            customer=locked.visit.customer,
            payload={"url": url},
        )
        locked.link_sent_at = now
        locked.save(update_fields=["link_sent_at"])
        workshop_record(
            locked.visit,
            kind="workshop.addition_link_sent",
            summary=_("approval link for %(title)s sent to the customer") % {"title": locked.title},
            actor=actor,
        )
    return url
