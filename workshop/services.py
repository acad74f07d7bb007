"""Writes of steps 4-5: dispatch, clocking, findings, additional work, promise, QC and rework.

Every move of a job checks `states.JOB_ALLOWED` under a row lock; the visit
follows its jobs through `reception.services.visit_transition` (the only
writer of `Visit.status`). Locks are always taken in the order technician →
addition → work order → visit → jobs, so two people acting at once queue up
instead of deadlocking; the second is told what the first did.
"""

import math
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, pgettext

from dealership.due import due_task_complete, due_task_schedule, due_tasks_cancel_for
from dealership.errors import DomainError
from dealership.images import photo_reencode
from dealership.links import (
    LinkInvalid,
    customer_link_create,
    customer_link_resolve,
)
from dealership.models import (
    Bay,
    DueTask,
    DueTaskState,
    LabourOperation,
    Part,
    Technician,
    User,
    WorkType,
)
from dealership.rules import rule
from dealership.services import timeline_record
from dealership.stored_text import StoredMessage
from reception.models import DeclinedWork, Visit
from reception.services import visit_hand_over, visit_promise_update, visit_transition
from reception.states import HoldReason, VisitStatus
from workorders.models import LineKind, OrderStatus, WorkOrderLine
from workorders.selectors import order_in_force
from workorders.services import work_order_revise

from . import duties
from .models import Addition, AdditionLine, ClockEntry, Finding, FindingPhoto, Job, QualityCheck
from .states import (
    ADDITION_ALLOWED,
    HOLD_PAUSES,
    JOB_ALLOWED,
    QC_ITEMS,
    ROAD_TEST,
    SELF_CHECK_ITEMS,
    AdditionStatus,
    AnswerChannel,
    ClockFlag,
    JobStatus,
    PauseReason,
)

ADDITION_PURPOSE = "workshop_addition"
MAX_PHOTOS = 6
# The most extra time an addition may ask the customer for: a week of the workshop.
MAX_EXTRA_MINUTES = 7 * 24 * 60

V = VisitStatus
J = JobStatus
# Visits whose jobs are on the board (the signed order in force makes the jobs).
BOARD_STATUSES = (
    V.ORDER_SIGNED,
    V.DISPATCHED,
    V.IN_PROGRESS,
    V.ON_HOLD,
    V.WORK_DONE,
    V.QC_FAILED,
    V.REWORK,
    V.QC_PASSED,
    V.READY_FOR_PICKUP,
)
DISPATCHABLE_VISIT = frozenset({V.ORDER_SIGNED, V.DISPATCHED, V.IN_PROGRESS, V.ON_HOLD, V.REWORK})
WORKING_VISIT = frozenset({V.DISPATCHED, V.IN_PROGRESS, V.ON_HOLD, V.REWORK})


# ---------------------------------------------------------------------------- helpers


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    fmt = "H:i" if local.date() == timezone.localdate() else "m-d H:i"
    return formats.date_format(local, fmt)


def _plate(visit: Visit) -> str:
    return visit.vehicle.plate or visit.vehicle.vin


def _lock_visit(visit_id: int) -> Visit:
    return (
        Visit.objects.select_for_update(of=("self",))
        .select_related("customer", "vehicle", "advisor")
        .get(pk=visit_id)
    )


def _lock_job(job_id: int) -> Job:
    return (
        Job.objects.select_for_update(of=("self",))
        .select_related("technician", "dispatched_by", "bay", "addition")
        .get(pk=job_id)
    )


def _technician_of(actor: User) -> Technician:
    technician = Technician.objects.filter(user=actor, active=True).first()
    if technician is None:
        raise DomainError(
            _("Your log-in is not linked to an active technician. Ask the service manager."),
            code="not_a_technician",
        )
    return technician


def _job_state_message(job: Job) -> str:
    """Why a job cannot be taken as the caller expected: who did what to it, when."""
    if job.status == J.PROPOSED:
        return _("Job %(job)s is additional work still waiting for the customer's approval.") % {
            "job": job
        }
    if job.status == J.CANCELLED:
        return _("Job %(job)s was cancelled.") % {"job": job}
    if job.status == J.DONE:
        return _("Job %(job)s is done (%(tech)s, %(when)s).") % {
            "job": job,
            "tech": job.technician or "—",
            "when": _when(job.finished_at),
        }
    if job.status == J.IN_PROGRESS:
        return _("%(tech)s is working on job %(job)s since %(when)s.") % {
            "job": job,
            "tech": job.technician,
            "when": _when(job.clocked_on_at),
        }
    if job.technician_id:
        return _(
            "Job %(job)s was already dispatched by %(who)s to %(tech)s at %(when)s. "
            "The board now shows it."
        ) % {
            "job": job,
            "who": job.dispatched_by or _("the system"),
            "tech": job.technician,
            "when": _when(job.dispatched_at),
        }
    return _("Job %(job)s is waiting for dispatch.") % {"job": job}


def _move_job(job: Job, to: str) -> None:
    if to not in JOB_ALLOWED[job.status]:
        raise DomainError(_job_state_message(job), code="job_transition_not_allowed")
    job.status = to


def _save_job(job: Job, fields: list[str]) -> None:
    job.version += 1
    job.save(update_fields=[*fields, "status", "version"])


def _visit_follow_jobs(visit: Visit, *, actor: User | None, reason: str) -> None:
    """Move the (locked) visit to the status its jobs imply.

    Someone clocked on → in progress. Every job done → work done. Nothing being
    worked on and every open job waits for approval or parts → on hold for that.
    """
    jobs = list(Job.objects.filter(visit=visit).only("status", "pause_reason"))
    open_jobs = [j for j in jobs if j.status not in (J.DONE, J.CANCELLED)]
    hold = ""
    if any(j.status == J.IN_PROGRESS for j in jobs):
        target = V.IN_PROGRESS
    elif not open_jobs and any(j.status == J.DONE for j in jobs):
        target = V.WORK_DONE
    elif open_jobs and all(
        j.status == J.PROPOSED or (j.status == J.PAUSED and j.pause_reason in HOLD_PAUSES)
        for j in open_jobs
    ):
        target = V.ON_HOLD
        waits_for_customer = any(
            j.status == J.PROPOSED or j.pause_reason == PauseReason.AWAITING_APPROVAL
            for j in open_jobs
        )
        hold = HoldReason.AWAITING_APPROVAL if waits_for_customer else HoldReason.AWAITING_PARTS
    else:
        target = None

    current = visit.status
    path: list[str] = []
    if target is None:
        path = [V.IN_PROGRESS] if current == V.ON_HOLD else []
    elif target == V.IN_PROGRESS:
        path = [V.IN_PROGRESS] if current in (V.DISPATCHED, V.ON_HOLD, V.REWORK) else []
    elif target == V.WORK_DONE:
        path = {V.ON_HOLD: [V.IN_PROGRESS, V.WORK_DONE], V.IN_PROGRESS: [V.WORK_DONE]}.get(
            current, []
        )
    elif target == V.ON_HOLD:
        if current == V.IN_PROGRESS:
            path = [V.ON_HOLD]
        elif current == V.ON_HOLD and visit.hold_reason != hold:
            path = [V.IN_PROGRESS, V.ON_HOLD]
    for step in path:
        visit_transition(
            visit=visit,
            to=step,
            actor=actor,
            reason=reason,
            hold_reason=hold if step == V.ON_HOLD else "",
        )
    if path and path[-1] == V.WORK_DONE:
        duties.watch_work_done(visit=visit)


def _record(visit: Visit, *, kind: str, summary: str, actor: User | None, subject=None, data=None):
    timeline_record(
        kind=kind,
        summary=f"{visit.number}: {summary}",
        customer=visit.customer,
        vehicle=visit.vehicle,
        subject=subject or visit,
        actor=actor,
        data=data,
    )


# ---------------------------------------------------------------------------- jobs


def jobs_materialise(*, visit_ids: Iterable[int] | None = None) -> int:
    """Make a job for every labour line of a signed order in force that has none yet.

    Idempotent: a job is tied to its line's position on the order, which later
    revisions keep, and two requests racing are settled by the unique
    (visit, position) constraint. Returns how many lines were missing.
    """
    lines = WorkOrderLine.objects.filter(
        kind=LineKind.LABOUR,
        order__status=OrderStatus.SIGNED,
        order__visit__status__in=BOARD_STATUSES,
    ).exclude(
        Exists(
            Job.objects.filter(visit_id=OuterRef("order__visit_id"), position=OuterRef("position"))
        )
    )
    if visit_ids is not None:
        lines = lines.filter(order__visit_id__in=list(visit_ids))
    lines = list(lines.select_related("order", "operation"))
    if not lines:
        return 0
    Job.objects.bulk_create(
        [
            Job(
                visit_id=line.order.visit_id,
                order_line=line,
                position=line.position,
                code=line.code,
                name_zh=line.name_zh,
                name_en=line.name_en,
                hours=(line.hours * line.quantity).quantize(Decimal("0.01")),
                work_type=line.operation.work_type if line.operation else WorkType.REPAIR,
            )
            for line in lines
        ],
        ignore_conflicts=True,
    )
    return len(lines)


def jobs_dispatch(
    *,
    visit: Visit,
    job_ids: Iterable[int],
    technician: Technician | None,
    bay: Bay | None,
    actor: User,
    expected: dict[int, int | None] | None = None,
) -> list[Job]:
    """Dispatch one job, several, or the whole order of a visit to a technician and a bay.

    `expected` maps each job to the technician the caller saw on it (None:
    not dispatched). When anyone dispatched or started one of the jobs since,
    nothing is dispatched and the refusal says who did what. The first
    dispatch signs for the car (hand-over) if nobody has yet and starts the
    promise watch.
    """
    ids = sorted({int(pk) for pk in job_ids})
    if not ids:
        raise DomainError(_("Tick the jobs to dispatch."), field="jobs")
    if technician is None or not technician.active:
        raise DomainError(_("Choose an active technician."), field="technician")
    if bay is not None and not bay.active:
        raise DomainError(_("This bay is not in use."), field="bay")
    expected = expected or {}
    jobs_materialise(visit_ids=[visit.pk])
    with transaction.atomic():
        locked = _lock_visit(visit.pk)
        if locked.status not in DISPATCHABLE_VISIT:
            raise DomainError(
                _("Visit %(number)s is “%(status)s”: its jobs cannot be dispatched now.")
                % {"number": locked.number, "status": locked.get_status_display()},
                code="visit_not_dispatchable",
            )
        jobs = list(
            Job.objects.select_for_update(of=("self",))
            .select_related("technician", "dispatched_by")
            .filter(visit=locked, pk__in=ids)
            .order_by("position", "pk")
        )
        if len(jobs) != len(ids):
            raise DomainError(
                _("A job is no longer on this order. Reload the board."), field="jobs"
            )
        for job in jobs:
            movable = job.status in (J.WAITING, J.DISPATCHED, J.PAUSED)
            if not movable or job.technician_id != expected.get(job.pk):
                raise DomainError(_job_state_message(job), field="jobs", code="already_dispatched")
        if locked.handed_over_at is None:
            visit_hand_over(visit=locked, actor=actor)
        now = timezone.now()
        for job in jobs:
            _move_job(job, J.DISPATCHED)
            job.technician, job.bay = technician, bay
            job.dispatched_by, job.dispatched_at = actor, now
            job.pause_reason = ""
            _save_job(job, ["technician", "bay", "dispatched_by", "dispatched_at", "pause_reason"])
        reason = _("dispatched to %(tech)s") % {"tech": technician}
        if locked.status == V.ORDER_SIGNED:
            visit_transition(visit=locked, to=V.DISPATCHED, actor=actor, reason=reason)
            duties.watch_schedule(visit=locked, now=now)
        else:
            _visit_follow_jobs(locked, actor=actor, reason=reason)
        _record(
            locked,
            kind="workshop.dispatched",
            summary=_("%(jobs)s dispatched to %(tech)s, bay %(bay)s")
            % {
                "jobs": ", ".join(str(job) for job in jobs),
                "tech": technician,
                "bay": bay.code if bay else "—",
            },
            actor=actor,
            data={"jobs": ids, "technician": technician.pk, "bay": bay.pk if bay else None},
        )
    return jobs


def job_dispatch(*, job: Job, technician: Technician, bay: Bay | None, actor: User) -> Job:
    """Dispatch one job that the caller saw waiting (see `jobs_dispatch`)."""
    return jobs_dispatch(
        visit=job.visit,
        job_ids=[job.pk],
        technician=technician,
        bay=bay,
        actor=actor,
        expected={job.pk: job.technician_id},
    )[0]


def _refuse_not_yours(job: Job, technician: Technician) -> None:
    if job.status == J.PROPOSED:
        raise DomainError(
            _(
                "This additional work waits for the customer's approval; "
                "it cannot start before they agree."
            ),
            code="not_approved",
        )
    if job.technician_id != technician.pk:
        if job.technician_id:
            message = _("Job %(job)s is dispatched to %(tech)s, not to you.") % {
                "job": job,
                "tech": job.technician,
            }
        else:
            message = _("Job %(job)s has not been dispatched to you.") % {"job": job}
        raise DomainError(message, code="not_yours")


def job_clock_on(*, job: Job, actor: User) -> Job:
    """The technician starts (or resumes) work on a job dispatched to them.

    One job at a time: a technician clocked on elsewhere is refused. Additional
    work cannot start before the customer approved it.
    """
    technician = _technician_of(actor)
    with transaction.atomic():
        # Serialises this technician's clock: two taps on two jobs cannot both win.
        Technician.objects.select_for_update().get(pk=technician.pk)
        visit = _lock_visit(job.visit_id)
        job = _lock_job(job.pk)
        _refuse_not_yours(job, technician)
        if job.status == J.IN_PROGRESS:
            raise DomainError(_("You are already clocked on this job."), code="already_on")
        running = (
            ClockEntry.objects.filter(technician=technician, ended_at__isnull=True)
            .select_related("job__visit__vehicle")
            .first()
        )
        if running is not None:
            raise DomainError(
                _(
                    "You are clocked on %(job)s (%(plate)s) since %(when)s. "
                    "Pause or clock off that job first."
                )
                % {
                    "job": running.job,
                    "plate": _plate(running.job.visit),
                    "when": _when(running.started_at),
                },
                code="busy",
            )
        if visit.status not in WORKING_VISIT:
            raise DomainError(
                _("Visit %(number)s is “%(status)s”: work on it cannot start now.")
                % {"number": visit.number, "status": visit.get_status_display()},
                code="visit_not_working",
            )
        _move_job(job, J.IN_PROGRESS)
        now = timezone.now()
        try:
            with transaction.atomic():
                ClockEntry.objects.create(job=job, technician=technician, started_at=now)
        except IntegrityError as exc:  # the database's own one-open-clock rule
            raise DomainError(_("You are clocked on another job."), code="busy") from exc
        job.started_at = job.started_at or now
        job.clocked_on_at = now
        job.pause_reason, job.pause_note = "", ""
        _save_job(job, ["started_at", "clocked_on_at", "pause_reason", "pause_note"])
        _visit_follow_jobs(
            visit,
            actor=actor,
            reason=_("%(tech)s clocked on %(job)s") % {"tech": technician, "job": job},
        )
        _record(
            visit,
            kind="workshop.clock_on",
            summary=_("%(tech)s clocked on %(job)s") % {"tech": technician, "job": job},
            actor=actor,
        )
    return job


def _clock_stop(job: Job, technician: Technician, *, now: datetime, reason: str, note: str):
    entry = ClockEntry.objects.select_for_update().get(job=job, ended_at__isnull=True)
    entry.ended_at, entry.end_reason, entry.note = now, reason, note[:200]
    entry.save(update_fields=["ended_at", "end_reason", "note"])
    job.actual_hours += entry.hours
    job.clocked_on_at = None


def _lock_own_running_job(job: Job, actor: User) -> tuple[Technician, Visit, Job]:
    technician = _technician_of(actor)
    Technician.objects.select_for_update().get(pk=technician.pk)
    visit = _lock_visit(job.visit_id)
    job = _lock_job(job.pk)
    _refuse_not_yours(job, technician)
    if job.status != J.IN_PROGRESS:
        raise DomainError(
            _("You are not clocked on job %(job)s.") % {"job": job}, code="not_clocked_on"
        )
    return technician, visit, job


def job_pause(*, job: Job, actor: User, reason: str, note: str = "") -> Job:
    """Stop the clock on a job for a reason (parts, approval, break, end of shift, ...).

    Paused for parts or approval with nothing else being worked on puts the car on hold.
    """
    note = (note or "").strip()
    if reason not in PauseReason.values:
        raise DomainError(_("Say why the work stops."), field="reason")
    if reason == PauseReason.OTHER and not note:
        raise DomainError(_("Write the reason for the pause."), field="note")
    with transaction.atomic():
        technician, visit, job = _lock_own_running_job(job, actor)
        _move_job(job, J.PAUSED)
        _clock_stop(job, technician, now=timezone.now(), reason=reason, note=note)
        job.pause_reason, job.pause_note = reason, note[:200]
        _save_job(job, ["actual_hours", "clocked_on_at", "pause_reason", "pause_note"])
        label = PauseReason(reason).label
        summary = _("%(tech)s paused %(job)s: %(reason)s") % {
            "tech": technician,
            "job": job,
            "reason": f"{label} {note}".strip(),
        }
        _visit_follow_jobs(visit, actor=actor, reason=summary)
        _record(visit, kind="workshop.paused", summary=summary, actor=actor)
    return job


def clock_flag_of(job: Job, *, seconds: float) -> str:
    """Whether `seconds` clocked on `job` is implausible against its standard hours."""
    if seconds < rule("workshop.clock_min_minutes") * 60:
        return ClockFlag.UNDER_A_MINUTE
    if job.hours:
        percent = Decimal(str(seconds)) / 36 / job.hours
        if percent < rule("workshop.clock_low_percent"):
            return ClockFlag.TOO_SHORT
        if percent > rule("workshop.clock_high_percent"):
            return ClockFlag.TOO_LONG
    return ""


def job_clock_off(*, job: Job, actor: User, self_check: Iterable[str], note: str = "") -> Job:
    """The technician finishes a job after ticking every item of the self-check.

    The actual hours are the sum of the job's clocked stretches. The last job
    of a car done moves the car to "work done" (ready for the inspector).
    """
    ticked = set(self_check or ())
    missing = [label for key, label in SELF_CHECK_ITEMS if key not in ticked]
    if missing:
        raise DomainError(
            _("Self-check not complete: %(item)s.") % {"item": missing[0]},
            field="self_check",
            code="self_check_incomplete",
        )
    with transaction.atomic():
        technician, visit, job = _lock_own_running_job(job, actor)
        _move_job(job, J.DONE)
        now = timezone.now()
        _clock_stop(job, technician, now=now, reason="finished", note=note or "")
        job.finished_at = now
        job.self_check = [key for key, _label in SELF_CHECK_ITEMS]
        job.self_checked_at = now
        seconds = sum(
            (e.ended_at - e.started_at).total_seconds()
            for e in ClockEntry.objects.filter(job=job, ended_at__isnull=False).only(
                "started_at", "ended_at"
            )
        )
        job.clock_flag = clock_flag_of(job, seconds=seconds)
        _save_job(
            job,
            [
                "actual_hours",
                "clocked_on_at",
                "finished_at",
                "self_check",
                "self_checked_at",
                "clock_flag",
            ],
        )
        summary = _("%(tech)s finished %(job)s in %(hours)s h (standard %(std)s h)") % {
            "tech": technician,
            "job": job,
            "hours": job.actual_hours,
            "std": job.hours,
        }
        _visit_follow_jobs(visit, actor=actor, reason=summary)
        _record(visit, kind="workshop.clocked_off", summary=summary, actor=actor)
        if job.clock_flag:
            _record(
                visit,
                kind="workshop.clock_flagged",
                summary=_(
                    "Clocking of %(job)s to check: %(flag)s (%(hours)s h clocked, "
                    "standard %(std)s h)"
                )
                % {
                    "job": job,
                    "flag": ClockFlag(job.clock_flag).label,
                    "hours": job.actual_hours,
                    "std": job.hours,
                },
                actor=actor,
            )
    return job


# ---------------------------------------------------------------------------- findings


def finding_report(
    *, job: Job, actor: User, note: str, photos: Iterable[UploadedFile] = ()
) -> Finding:
    """The technician reports what they found on the car, with photos."""
    note = (note or "").strip()
    photos = list(photos or ())
    if not note:
        raise DomainError(_("Describe what you found."), field="note")
    if len(photos) > MAX_PHOTOS:
        raise DomainError(
            _("At most %(n)s photos per finding.") % {"n": MAX_PHOTOS}, field="photos"
        )
    clean_photos = [photo_reencode(photo, field="photos") for photo in photos]
    technician = _technician_of(actor)
    with transaction.atomic():
        visit = _lock_visit(job.visit_id)
        job = _lock_job(job.pk)
        _refuse_not_yours(job, technician)
        if job.status not in (J.DISPATCHED, J.IN_PROGRESS, J.PAUSED):
            raise DomainError(_job_state_message(job), code="job_closed")
        finding = Finding.objects.create(visit=visit, job=job, note=note, reported_by=actor)
        for photo in clean_photos:
            FindingPhoto.objects.create(finding=finding, image=photo)
        _record(
            visit,
            kind="workshop.finding",
            summary=_("%(tech)s found: %(note)s") % {"tech": technician, "note": note},
            actor=actor,
            subject=finding,
        )
    return finding


# ---------------------------------------------------------------------------- additions


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
    with transaction.atomic():
        locked = _lock_visit(visit.pk)
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
        addition.hours = sum((line.hours for line in lines), Decimal("0"))
        addition.price = sum((line.amount for line in lines), Decimal("0"))
        addition.extra_minutes = (
            extra_minutes if extra_minutes is not None else math.ceil(addition.hours * 60)
        )
        Job.objects.bulk_create(
            [
                Job(
                    visit=locked,
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
        addition.link_token = customer_link_create(
            obj=addition,
            purpose=ADDITION_PURPOSE,
            customer=locked.customer,
            max_age=timedelta(days=rule("workshop.addition_link_days")),
            actor=actor,
        )
        addition.save(update_fields=["hours", "price", "extra_minutes", "link_token"])
        due_task_schedule(
            kind=duties.ADDITION_CALL,
            subject=addition,
            due_at=timezone.now(),
            customer=locked.customer,
            assigned_to=locked.advisor,
            payload={
                "note_code": duties.ADDITION_NOTE,
                "note_params": {
                    "plate": _plate(locked),
                    "title": title,
                    "price": str(addition.price),
                    "minutes": addition.extra_minutes,
                    "safety": bool(addition.safety_related),
                },
            },
        )
        summary = _("additional work proposed: %(title)s, ¥%(price)s, +%(min)s min") % {
            "title": title,
            "price": addition.price,
            "min": addition.extra_minutes,
        }
        _visit_follow_jobs(locked, actor=actor, reason=summary)
        _record(locked, kind="workshop.addition_proposed", summary=summary, actor=actor)
    return addition


def _lock_open_addition(addition: Addition) -> Addition:
    locked = (
        Addition.objects.select_for_update(of=("self",))
        .select_related("visit__customer", "visit__vehicle", "recorded_by")
        .get(pk=addition.pk)
    )
    if locked.status == AdditionStatus.WITHDRAWN:
        raise DomainError(_("This proposal was withdrawn."), code="withdrawn")
    if locked.status != AdditionStatus.PROPOSED:
        raise DomainError(
            _("The customer already answered: %(answer)s (%(channel)s, %(who)s, %(when)s).")
            % {
                "answer": locked.get_status_display(),
                "channel": locked.get_answer_channel_display(),
                "who": locked.answered_by,
                "when": _when(locked.answered_at),
            },
            code="already_answered",
        )
    return locked


def _move_addition(addition: Addition, to: str) -> None:
    if to not in ADDITION_ALLOWED[addition.status]:  # pragma: no cover - guarded by the lock
        raise DomainError(_("This additional work cannot change any more."))
    addition.status = to


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


def _check_channel(channel: str, answered_by: str, visit_customer_name: str) -> str:
    if channel not in AnswerChannel.values:
        raise DomainError(_("Say how the customer answered."), field="channel")
    return (answered_by or "").strip() or visit_customer_name


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
    note = (note or "").strip()
    if channel == AnswerChannel.PHONE and not note:
        raise DomainError(_("Record what the customer said on the phone."), field="note")
    note = note or _("Approved by the customer through the link.")
    with transaction.atomic():
        locked = _lock_open_addition(addition)
        visit = locked.visit
        answered_by = _check_channel(channel, answered_by, visit.customer.name)
        order = order_in_force(visit)
        if order is None:
            raise DomainError(_("This visit has no signed order to add the work to."))
        added = list(locked.lines.select_related("operation", "part"))
        now = timezone.now()
        before = visit.promised_at
        after = before
        promise_reason = StoredMessage(
            gettext_noop("additional work approved: %(title)s"), title=locked.title
        )
        if locked.extra_minutes:
            after = max(before or now, now) + timedelta(minutes=locked.extra_minutes)
        revision = work_order_revise(
            order=order,
            actor=actor,
            reason=_("Additional work: %(title)s") % {"title": locked.title},
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
            promised_at=after if after != before else None,
            promised_reason=str(promise_reason),
        )
        locked_visit = _lock_visit(visit.pk)
        new_lines = list(revision.lines.order_by("-position")[: len(added)])[::-1]
        labour_lines = [line for line in new_lines if line.kind == LineKind.LABOUR]
        jobs = list(Job.objects.select_for_update(of=("self",)).filter(addition=locked))
        jobs.sort(key=lambda job: job.pk)
        finder = (
            Job.objects.select_related("technician", "bay").filter(pk=locked.found_on_id).first()
        )
        for job, line in zip(jobs, labour_lines, strict=True):
            job.order_line, job.position = line, line.position
            if finder is not None and finder.technician and finder.technician.active:
                _move_job(job, J.DISPATCHED)
                job.technician, job.bay = finder.technician, finder.bay
                job.dispatched_by, job.dispatched_at = actor, now
            else:
                _move_job(job, J.WAITING)
            _save_job(
                job,
                ["order_line", "position", "technician", "bay", "dispatched_by", "dispatched_at"],
            )
        if after != before:
            locked_visit = visit_promise_update(
                visit=locked_visit, actor=actor, promised_at=after, reason=promise_reason
            )
            # One message to the customer with the new time (sent by the due-task worker).
            due_task_schedule(
                kind=duties.PROMISE_NOTICE,
                subject=locked_visit,
                slot=str(int(after.timestamp())),
                due_at=now,
                customer=locked_visit.customer,
                payload={
                    "promised_at": after.isoformat(),
                    "previous": before.isoformat() if before else None,
                    "addition": locked.pk,
                },
            )
        _move_addition(locked, AdditionStatus.APPROVED)
        locked.answered_at, locked.answer_channel = now, channel
        locked.answered_by, locked.recorded_by, locked.answer_note = answered_by, actor, note
        locked.revision, locked.promised_before, locked.promised_after = revision, before, after
        locked.save(
            update_fields=[
                "status",
                "answered_at",
                "answer_channel",
                "answered_by",
                "recorded_by",
                "answer_note",
                "revision",
                "promised_before",
                "promised_after",
            ]
        )
        _close_addition_call(locked, actor, "answered")
        summary = _("%(who)s approved %(title)s (%(channel)s); promised time now %(when)s") % {
            "who": answered_by,
            "title": locked.title,
            "channel": locked.get_answer_channel_display(),
            "when": _when(after),
        }
        _visit_follow_jobs(locked_visit, actor=actor, reason=summary)
        if locked_visit.dispatched_at:
            duties.watch_schedule(visit=locked_visit, now=now)
        _record(
            locked_visit,
            kind="workshop.addition_approved",
            summary=summary,
            actor=actor,
            subject=locked,
        )
    return locked


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
    reason = (reason or "").strip()
    if channel == AnswerChannel.PHONE and not reason:
        raise DomainError(_("Record the customer's reason for declining."), field="reason")
    reason = reason or _("Declined by the customer through the link.")
    with transaction.atomic():
        locked = _lock_open_addition(addition)
        answered_by = _check_channel(channel, answered_by, locked.visit.customer.name)
        visit = _lock_visit(locked.visit_id)
        for job in Job.objects.select_for_update(of=("self",)).filter(addition=locked):
            _move_job(job, J.CANCELLED)
            _save_job(job, [])
        DeclinedWork.objects.create(
            vehicle=visit.vehicle,
            visit=visit,
            description=f"{locked.title}（{reason}）"[:200],
            estimated_amount=locked.price,
            recorded_by=actor,
        )
        now = timezone.now()
        _move_addition(locked, AdditionStatus.DECLINED)
        locked.answered_at, locked.answer_channel, locked.answered_by = now, channel, answered_by
        locked.recorded_by, locked.decline_reason = actor, reason[:200]
        locked.answer_note = (note or "").strip()
        locked.save(
            update_fields=[
                "status",
                "answered_at",
                "answer_channel",
                "answered_by",
                "recorded_by",
                "decline_reason",
                "answer_note",
            ]
        )
        _close_addition_call(locked, actor, "answered")
        summary = _("%(who)s declined %(title)s (%(channel)s): %(reason)s") % {
            "who": answered_by,
            "title": locked.title,
            "channel": locked.get_answer_channel_display(),
            "reason": reason,
        }
        _visit_follow_jobs(visit, actor=actor, reason=summary)
        _record(visit, kind="workshop.addition_declined", summary=summary, actor=actor)
    return locked


def addition_withdraw(*, addition: Addition, actor: User, reason: str) -> Addition:
    """Take back a proposal made in error, before the customer answers."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the proposal is withdrawn."), field="reason")
    with transaction.atomic():
        locked = _lock_open_addition(addition)
        visit = _lock_visit(locked.visit_id)
        for job in Job.objects.select_for_update(of=("self",)).filter(addition=locked):
            _move_job(job, J.CANCELLED)
            _save_job(job, [])
        _move_addition(locked, AdditionStatus.WITHDRAWN)
        locked.decline_reason = reason[:200]
        locked.recorded_by = actor
        locked.save(update_fields=["status", "decline_reason", "recorded_by"])
        _close_addition_call(locked, actor, "not_needed")
        summary = _("additional work withdrawn: %(title)s (%(reason)s)") % {
            "title": locked.title,
            "reason": reason,
        }
        _visit_follow_jobs(visit, actor=actor, reason=summary)
        _record(visit, kind="workshop.addition_withdrawn", summary=summary, actor=actor)
    return locked


def addition_link_token(addition: Addition, *, actor: User | None) -> str:
    """The addition's customer link, renewed when it expired."""
    if addition.link_token:
        try:
            customer_link_resolve(addition.link_token, purpose=ADDITION_PURPOSE, touch=False)
        except LinkInvalid:
            pass
        else:
            return addition.link_token
    token = customer_link_create(
        obj=addition,
        purpose=ADDITION_PURPOSE,
        customer=addition.visit.customer,
        max_age=timedelta(days=rule("workshop.addition_link_days")),
        actor=actor,
    )
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
        _record(
            locked.visit,
            kind="workshop.addition_link_sent",
            summary=_("approval link for %(title)s sent to the customer") % {"title": locked.title},
            actor=actor,
        )
    return url


# ---------------------------------------------------------------------------- promise


def promise_move(*, visit: Visit, actor: User, promised_at: datetime, reason: str) -> Visit:
    """The advisor records the new promised time and the reason given to the customer.

    The customer gets a message with both; the promise checks move with it and
    the open promise alerts are marked done.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason you told the customer."), field="reason")
    now = timezone.now()
    if promised_at <= now:
        raise DomainError(_("The new time is in the past."), field="promised_at")
    with transaction.atomic():
        visit = visit_promise_update(
            visit=visit, actor=actor, promised_at=promised_at, reason=reason
        )
        if visit.dispatched_at:
            watch = duties.watch_schedule(visit=visit, now=now)
            for task in DueTask.objects.filter(
                kind=duties.PROMISE_ALERT,
                subject_type=ContentType.objects.get_for_model(watch),
                subject_id=watch.pk,
                state=DueTaskState.PENDING,
            ):
                due_task_complete(task=task, actor=actor, outcome="moved")
        due_task_schedule(
            kind=duties.PROMISE_NOTICE,
            subject=visit,
            slot=str(int(promised_at.timestamp())),
            due_at=now,
            customer=visit.customer,
            payload={"promised_at": promised_at.isoformat(), "reason": reason},
        )
    return visit


# ---------------------------------------------------------------------------- QC


def qc_road_test_needed(jobs: Iterable[Job]) -> bool:
    """Repairs (brakes, steering, body work) need a road test; plain maintenance does not."""
    return any(
        job.work_type != WorkType.MAINTENANCE
        for job in jobs
        if job.status not in (J.CANCELLED, J.PROPOSED)
    )


def _lock_for_qc(visit: Visit) -> tuple[Visit, list[Job]]:
    locked = _lock_visit(visit.pk)
    if locked.status != V.WORK_DONE:
        last = locked.quality_checks.select_related("inspector").order_by("-at").first()
        if last is not None and last.at >= (locked.work_done_at or last.at):
            raise DomainError(
                _("%(who)s already recorded this check at %(when)s (%(result)s).")
                % {
                    "who": last.inspector or "—",
                    "when": _when(last.at),
                    "result": _("passed") if last.passed else _("failed"),
                },
                code="already_checked",
            )
        raise DomainError(
            _("Visit %(number)s is “%(status)s”: only a car with its work done is inspected.")
            % {"number": locked.number, "status": locked.get_status_display()},
            code="not_work_done",
        )
    jobs = list(
        Job.objects.select_for_update(of=("self",))
        .filter(visit=locked)
        .exclude(status=J.CANCELLED)
        .order_by("position", "pk")
    )
    return locked, jobs


def qc_pass(*, visit: Visit, actor: User, checked: Iterable[str], note: str = "") -> QualityCheck:
    """The inspector's re-check passed: every checklist item ticked (road test where needed)."""
    with transaction.atomic():
        locked, jobs = _lock_for_qc(visit)
        unchecked = [job for job in jobs if job.status != J.DONE or not job.self_checked_at]
        if unchecked:
            raise DomainError(
                _("Job %(job)s is not done and self-checked.") % {"job": unchecked[0]},
                field="checklist",
                code="job_not_done",
            )
        road_test = qc_road_test_needed(jobs)
        ticked = set(checked or ())
        required = [(k, label) for k, label in QC_ITEMS if k != ROAD_TEST or road_test]
        missing = [label for key, label in required if key not in ticked]
        if missing:
            raise DomainError(
                _("Not checked: %(item)s. Check every item before passing, or fail the car.")
                % {"item": pgettext("list separator", ", ").join(str(label) for label in missing)},
                field="checklist",
                code="checklist_incomplete",
            )
        check = QualityCheck.objects.create(
            visit=locked,
            inspector=actor,
            passed=True,
            checklist={key: key in ticked for key, _label in QC_ITEMS},
            road_test_needed=road_test,
            reason=(note or "").strip(),
        )
        visit_transition(
            visit=locked, to=V.QC_PASSED, actor=actor, reason=(note or "").strip() or _("QC passed")
        )
        duties.watch_stop(visit=locked)
    return check


def qc_fail(
    *,
    visit: Visit,
    actor: User,
    reason: str,
    job_ids: Iterable[int] | None = None,
    checked: Iterable[str] = (),
) -> QualityCheck:
    """The re-check failed: the jobs to redo go back to their technicians, counted as rework."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say what must be redone."), field="reason")
    with transaction.atomic():
        locked, jobs = _lock_for_qc(visit)
        done = [job for job in jobs if job.status == J.DONE]
        wanted = {int(pk) for pk in job_ids} if job_ids else {job.pk for job in done}
        rework = [job for job in done if job.pk in wanted]
        if not rework or len(rework) != len(wanted):
            raise DomainError(_("Choose the jobs to redo."), field="jobs")
        ticked = set(checked or ())
        check = QualityCheck.objects.create(
            visit=locked,
            inspector=actor,
            passed=False,
            checklist={key: key in ticked for key, _label in QC_ITEMS},
            road_test_needed=qc_road_test_needed(jobs),
            reason=reason,
        )
        check.rework_jobs.set(rework)
        visit_transition(visit=locked, to=V.QC_FAILED, actor=actor, reason=reason)
        visit_transition(visit=locked, to=V.REWORK, actor=actor, reason=reason)
        now = timezone.now()
        for job in rework:
            _move_job(job, J.DISPATCHED)
            job.rework_count += 1
            job.finished_at, job.self_check, job.self_checked_at = None, [], None
            job.dispatched_by, job.dispatched_at = actor, now
            _save_job(
                job,
                [
                    "rework_count",
                    "finished_at",
                    "self_check",
                    "self_checked_at",
                    "dispatched_by",
                    "dispatched_at",
                ],
            )
        _record(
            locked,
            kind="workshop.rework",
            summary=_("QC failed, rework of %(jobs)s: %(reason)s")
            % {"jobs": ", ".join(str(job) for job in rework), "reason": reason},
            actor=actor,
            subject=check,
        )
    return check
