"""Writes of step 8: follow-up calls and surveys, opt-outs, the daily scan.

Calls are person due tasks (`dealership.due`); recording an outcome either
finishes the task or, when nobody answered, moves it later until the attempts
run out. A problem found on a call or a low survey answer opens a complaint
(`followup.complaints`, where complaints live).
"""

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from appointments.services import call_record as appointment_call_record
from dealership.advisors import customer_wrong_number_flag
from dealership.consent import Purpose, consent_allows, consent_filter
from dealership.daterange import add_months
from dealership.due import (
    OPEN_STATES,
    NewDueTask,
    State,
    due_task_complete,
    due_task_schedule,
    due_tasks_cancel_for,
    due_tasks_cancel_for_many,
    due_tasks_schedule_new,
    kind_get,
)
from dealership.errors import DomainError
from dealership.models import Customer, DueTask, User, Vehicle
from dealership.rules import rule
from dealership.services import customer_update, timeline_record
from dealership.stored_text import StoredMessage
from dealership.text import COMPLAINT_MAX_LENGTH, clean_text
from dealership.transitions import lock_row
from reception.models import Visit
from reception.services import visit_transition
from reception.states import VisitStatus
from workorders.selectors import current_order

from . import duties as K
from .complaints import (
    complaint_open,
)
from .contact_time import at_preferred_time
from .formatting import when_text
from .models import (
    SCORE_MAX,
    SCORE_MIN,
    Complaint,
    ComplaintCategory,
    ComplaintSource,
    DailyScan,
    Survey,
)
from .rules import lost_months

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


def _at_local(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, 0)))


# --------------------------------------------------------------------- after delivery


def followup_schedule_after_delivery(*, visit, actor: User | None) -> list[DueTask]:
    """Plan the 24 h care call (customer care) and the 7-day call (the visit's advisor).

    The care call goes to the time of day the customer chose on the work order
    (`followup.contact_time`); both calls carry the chosen channel.

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
    if not consent_allows(customer, Purpose.SATISFACTION):
        timeline_record(
            kind="followup.not_called",
            summary=StoredMessage(
                gettext_noop(
                    "No follow-up calls after %(number)s: the customer withdrew consent to "
                    "satisfaction calls."
                ),
                number=visit.number,
            ),
            customer=customer,
            vehicle=visit.vehicle,
            subject=visit,
            actor=actor,
        )
        return []
    delivered = visit.delivered_at or timezone.now()
    payload = {"visit": visit.pk, "vehicle": visit.vehicle_id, "number": visit.number}
    order = current_order(visit)
    preferred_time = (order.followup_time if order else "") or customer.preferred_contact_time
    if order:
        payload["channel"] = order.followup_channel
    if preferred_time:
        payload["preferred_time"] = preferred_time
    care = due_task_schedule(
        kind=K.CARE_CALL,
        subject=visit,
        due_at=at_preferred_time(
            delivered + timedelta(hours=rule("followup.care_call_hours")), preferred_time
        ),
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
    "Wrong number" flags the customer record for the desk until the mobile is corrected.
    """
    spec = kind_get(task.kind)
    if K.list_of_kind(task.kind) is None:
        raise DomainError(_("This task is not a follow-up call."), code="not_a_call")
    note = (note or "").strip()
    now = timezone.now()
    with transaction.atomic():
        task = _call_lock(task, attempts_seen=attempts_seen)
        if outcome not in dict(spec.outcomes):
            raise DomainError(_("Choose an outcome."), field="outcome", code="outcome")
        vehicle, visit = _subject_parts(task)
        attempts = list(task.payload.get("attempts", []))
        if outcome in K.NOT_REACHED_OUTCOMES:
            attempts.append(_attempt(actor=actor, at=now, note=note))
            limit = max(int(rule("followup.call_attempts")), 1)
            if len(attempts) < limit:
                return _call_try_later(
                    task, actor=actor, attempts=attempts, limit=limit, vehicle=vehicle, now=now
                )
        answers = _call_answers(task, outcome=outcome, survey=survey, note=note)
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
        if outcome == K.WRONG_NUMBER and task.customer_id:
            customer_wrong_number_flag(customer=task.customer, actor=actor)
        if task.kind in K.VISIT_CALLS and visit is not None:
            _visit_close_if_followed_up(
                visit_id=visit.pk, actor=actor, reason=_("follow-up calls done")
            )
    return call


def _call_lock(task: DueTask, *, attempts_seen: int | None) -> DueTask:
    """The call re-read under a row lock; refused when it was recorded since the page showed it."""
    task = lock_row(task, related=("customer", "completed_by"))
    if task.state == State.DONE:
        raise _already_recorded(task)
    if task.state != State.PENDING:
        raise DomainError(
            _("This call is not on the list any more (%(state)s).")
            % {"state": task.get_state_display()},
            field="outcome",
            code="not_pending",
        )
    attempts = task.payload.get("attempts", [])
    # The page's hidden count comes back as text: anything but the count shown is stale.
    if attempts_seen is not None and str(attempts_seen) != str(len(attempts)):
        last = attempts[-1] if attempts else {}
        raise DomainError(
            _("Already recorded by %(user)s at %(at)s. Reload the list.")
            % {"user": last.get("by_name", "?"), "at": last.get("at_local", "")},
            field="outcome",
            code="already_done",
        )
    return task


def _attempt(*, actor: User, at: datetime, note: str) -> dict:
    """One try that did not reach the customer, as the call keeps it."""
    return {
        "at": at.isoformat(),
        "at_local": when_text(at),
        "by": actor.pk,
        "by_name": str(actor),
        "note": note,
    }


def _call_try_later(
    task: DueTask, *, actor: User, attempts: list[dict], limit: int, vehicle, now: datetime
) -> CallResult:
    """Not reached, tries left: the call comes back on the list after `followup.retry_hours`."""
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
            "call": kind_get(task.kind).label,
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


def _call_answers(task: DueTask, *, outcome: str, survey: dict | None, note: str) -> dict | None:
    """The survey's cleaned answers (a care call that took it), after the outcome's own checks."""
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
    return answers


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


def survey_answer_online(*, visit: Visit, answers: dict) -> CallResult:
    """The customer answers the care call's survey themselves (the customer portal).

    The survey goes on the visit's open 24 h care call, which is then done ("survey
    taken", by nobody, result channel "portal") and leaves the care list; a low answer
    opens a complaint as on the phone. One survey per visit: a second answer, also one
    sent twice at once, is refused (the visit's row is locked while it is taken).
    """
    answers = survey_clean(answers)
    with transaction.atomic():
        visit = lock_row(visit, related=("customer", "vehicle"))
        if Survey.objects.filter(visit=visit).exists():
            raise DomainError(
                _("This visit's survey is answered already. Thank you!"),
                code="already_answered",
            )
        task = (
            DueTask.objects.select_for_update()
            .filter(
                kind=K.CARE_CALL,
                subject_type=ContentType.objects.get_for_model(Visit),
                subject_id=visit.pk,
                state__in=OPEN_STATES,
            )
            .first()
        )
        if task is None:
            raise DomainError(_("There is no survey to answer for this visit."), code="no_survey")
        task = due_task_complete(
            task=task,
            actor=None,
            outcome="surveyed",
            result={"channel": "portal"},
        )
        survey, complaint = _survey_take(
            task=task, actor=None, answers=answers, vehicle=visit.vehicle, visit=visit
        )
        _visit_close_if_followed_up(visit_id=visit.pk, actor=None, reason=_("follow-up calls done"))
    return CallResult(task=task, survey=survey, complaint=complaint)


# --------------------------------------------------------------------- opt-out


def customer_calls_opt_out(
    *, customer: Customer, actor: User | None, do_not_call: bool, reason: str = ""
) -> Customer:
    """Record that the customer does (not) want calls; opting out cancels their open calls."""
    reason = (reason or "").strip()
    with transaction.atomic():
        customer = lock_row(customer)
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
    with _without_jit():
        counts = {
            "new_car_calls": new_car_calls_schedule(today=today),
            **lost_customer_calls_schedule(today=today, now=now),
            "visits_closed": delivered_visits_close(now=now),
        }
    scan.finished_at = timezone.now()
    scan.counts = counts
    scan.save(update_fields=["finished_at", "counts"])
    return counts


@contextmanager
def _without_jit():
    """PostgreSQL compiles no query to machine code in here (the setting is put back after).

    The scan's finds test each vehicle's consent in a subquery, so the planner prices them
    far above its threshold for compiling (`jit_above_cost`): each paid 200–500 ms to
    compile for 50–200 ms of work, on every run. An error rolls the setting back with the
    savepoint.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('jit'), set_config('jit', 'off', true)")
        before = cursor.fetchone()[0]
        yield
        cursor.execute("SELECT set_config('jit', %s, true)", [before])


def _vehicle_type() -> ContentType:
    return ContentType.objects.get_for_model(Vehicle)


def new_car_calls_schedule(*, today: date) -> int:
    """Schedule the N+15 call of every new car handed over recently (not for opted-out owners).

    Set-based: one query finds the recent new cars, one the cars called already; the new
    calls go in in one INSERT. The two are compared in memory: as a NOT EXISTS, a second
    run in the transaction that added the calls (whose figures the planner has not seen)
    compared every car with every call, seconds at a busy store's scale.
    """
    days = int(rule("followup.new_car_call_days"))
    called = set(
        DueTask.objects.filter(kind=K.NEW_CAR_CALL, subject_type=_vehicle_type()).values_list(
            "subject_id", flat=True
        )
    )
    vehicles = consent_filter(
        Vehicle.objects.filter(
            handover_date__gte=today - timedelta(days=days + NEW_CAR_CALL_GRACE_DAYS),
            handover_date__lte=today,
            owner__do_not_call=False,
        ),
        Purpose.SATISFACTION,
        customer_field="owner",
    ).values_list("pk", "owner_id", "handover_date")
    return due_tasks_schedule_new(
        kind=K.NEW_CAR_CALL,
        subject_model=Vehicle,
        tasks=(
            NewDueTask(
                subject_id=vehicle_id,
                due_at=_at_local(handover + timedelta(days=days), 10),
                customer_id=owner_id,
                payload={"vehicle": vehicle_id, "handover": handover.isoformat()},
            )
            for vehicle_id, owner_id, handover in vehicles
            if vehicle_id not in called
        ),
    )


def lost_customer_calls_schedule(*, today: date, now: datetime) -> dict:
    """Vehicles not seen for 3 / 6 / 12 months and new cars not back for their first service.

    One call per vehicle per step and last visit (the slot), so the scan can
    run any number of times; a vehicle that came back has its open call cancelled.
    Set-based: the finds are compared in memory with the calls there are; a vehicle that
    reached a new step has its earlier open call cancelled, then the new calls are inserted.
    """
    existing = set(
        DueTask.objects.filter(kind=K.LOST_CALL, subject_type=_vehicle_type()).values_list(
            "subject_id", "slot"
        )
    )
    called_before = {vehicle_id for vehicle_id, _slot in existing}
    cancelled = _lost_calls_cancel_came_back()
    finds = {
        "lost_calls": _not_seen_vehicles(today, now=now),
        "first_service_calls": _first_service_missed(today, now=now),
    }
    new = {
        count: [task for task in tasks if (task.subject_id, task.slot) not in existing]
        for count, tasks in finds.items()
    }
    # An earlier step's call may still be open: the new step's call replaces it.
    due_tasks_cancel_for_many(
        subject_model=Vehicle,
        subject_ids={task.subject_id for tasks in new.values() for task in tasks} & called_before,
        kinds=[K.LOST_CALL],
    )
    counts = {
        count: due_tasks_schedule_new(kind=K.LOST_CALL, subject_model=Vehicle, tasks=tasks)
        for count, tasks in new.items()
    }
    return {**counts, "lost_calls_cancelled": cancelled}


def _lost_calls_cancel_came_back() -> int:
    """Cancel the open lost-customer calls of vehicles checked in since the call was planned."""
    visit_since = Visit.objects.filter(
        vehicle_id=OuterRef("subject_id"), checked_in_at__gte=OuterRef("created_at")
    )
    came_back = DueTask.objects.filter(
        kind=K.LOST_CALL, subject_type=_vehicle_type(), state=State.PENDING
    ).filter(Exists(visit_since))
    return due_tasks_cancel_for_many(
        subject_model=Vehicle,
        subject_ids=set(came_back.values_list("subject_id", flat=True)),
        kinds=[K.LOST_CALL],
    )


def _not_seen_vehicles(today: date, *, now: datetime) -> list[NewDueTask]:
    """The call of each vehicle whose last visit is a step of `followup.lost_months` ago,
    at the longest step it has reached."""
    steps = lost_months()
    if not steps:
        return []
    cutoff = _at_local(add_months(today, -steps[0]), 0)
    # A win-back call is marketing: only owners who granted it (dealership.consent).
    lost = (
        consent_filter(
            Vehicle.objects.filter(owner__do_not_call=False),
            Purpose.MARKETING,
            customer_field="owner",
        )
        .annotate(
            last=Max("visits__checked_in_at", filter=~Q(visits__status=VisitStatus.CANCELLED))
        )
        .filter(last__lt=cutoff)
        .values_list("pk", "owner_id", "last")
    )
    calls = []
    for vehicle_id, owner_id, last in lost:
        last_day = timezone.localdate(last)
        months = max((m for m in steps if add_months(last_day, m) <= today), default=0)
        if not months:
            continue
        calls.append(
            NewDueTask(
                subject_id=vehicle_id,
                slot=f"{months}m:{last_day.isoformat()}",
                due_at=now,
                customer_id=owner_id,
                payload={
                    "vehicle": vehicle_id,
                    "reason": "not_seen",
                    "months": months,
                    "last_visit": last_day.isoformat(),
                },
            )
        )
    return calls


def _first_service_missed(today: date, *, now: datetime) -> list[NewDueTask]:
    """The call of each new car handed over `followup.first_service_months` ago (within a
    year) and never seen since."""
    first_months = int(rule("followup.first_service_months"))
    if first_months <= 0:
        return []
    latest = add_months(today, -first_months)
    # NOT EXISTS, not a left join on visits: with a join the planner may scan every visit
    # for every new car.
    vehicles = consent_filter(
        Vehicle.objects.filter(
            owner__do_not_call=False,
            handover_date__lte=latest,
            handover_date__gt=add_months(latest, -12),
        ).exclude(Exists(Visit.objects.filter(vehicle_id=OuterRef("pk")))),
        Purpose.MARKETING,
        customer_field="owner",
    ).values_list("pk", "owner_id", "handover_date")
    return [
        NewDueTask(
            subject_id=vehicle_id,
            slot="first_service",
            due_at=now,
            customer_id=owner_id,
            payload={
                "vehicle": vehicle_id,
                "reason": "first_service",
                "handover": handover.isoformat(),
            },
        )
        for vehicle_id, owner_id, handover in vehicles
    ]


def delivered_visits_close(*, now: datetime, limit: int = 1000) -> int:
    """Close delivered visits past the follow-up period whose calls are all finished.

    Covers customers who asked not to be called (they get no calls) and calls
    cancelled or missed; visits with a call still open wait for it.
    """
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
