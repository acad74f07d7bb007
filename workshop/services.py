"""Writes of steps 4-5: dispatch, clocking, findings, promise, QC and rework.

Every move of a job goes through `job_moves.job_move` (the table
`states.JOB_STATES`) under a row lock; the visit follows its jobs through
`reception.services.visit_transition` (the only writer of `Visit.status`).
Locks are always taken in the order technician → addition → work order →
visit → jobs, so two people acting at once queue up instead of deadlocking;
the second is told what the first did.

The additional-work services live in `workshop.additions`.
"""

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from dealership import compiled
from dealership.due import due_task_complete, due_task_schedule
from dealership.errors import DomainError
from dealership.images import photo_reencode
from dealership.models import Bay, DueTask, DueTaskState, Technician, User, WorkType
from dealership.rules import rule
from dealership.transitions import lock_row
from reception.models import Visit
from reception.services import visit_hand_over, visit_promise_update, visit_transition
from reception.states import VisitStatus
from workorders.models import LineKind, OrderStatus, WorkOrderLine

from . import duties
from .job_moves import (
    job_lock,
    job_move,
    technician_of,
    visit_follow_jobs,
    workshop_record,
    workshop_visit_lock,
)
from .models import ClockEntry, Finding, FindingPhoto, Job, QualityCheck
from .states import (
    BOARD_STATUSES,
    DISPATCHABLE_VISIT,
    QC_ITEMS,
    ROAD_TEST,
    SELF_CHECK_ITEMS,
    WORKING_VISIT,
    ClockFlag,
    JobStatus,
    PauseReason,
)
from .texts import job_state_message, plate_of, short_time

MAX_PHOTOS = 6

V = VisitStatus
J = JobStatus


# ---------------------------------------------------------------------------- jobs


def _lines_without_job():
    """Labour lines of signed orders of cars in the workshop that have no job yet (ids)."""
    return (
        WorkOrderLine.objects.filter(
            kind=LineKind.LABOUR,
            order__status=OrderStatus.SIGNED,
            order__visit__status__in=BOARD_STATUSES,
        )
        .exclude(
            Exists(
                Job.objects.filter(
                    visit_id=OuterRef("order__visit_id"), position=OuterRef("position")
                )
            )
        )
        .values_list("pk", flat=True)
    )


def jobs_materialise(*, visit_ids: Iterable[int] | None = None) -> int:
    """Make a job for every labour line of a signed order in force that has none yet.

    Idempotent: a job is tied to its line's position on the order, which later
    revisions keep, and two requests racing are settled by the unique
    (visit, position) constraint. Returns how many lines were missing.
    """
    # Every board view asks and nearly always finds none: the ids alone first (for the whole
    # workshop with SQL compiled once per process), whole rows (the line, its order, its
    # operation) only for lines that are missing a job.
    if visit_ids is None:
        missing = compiled.flat_values(_lines_without_job)
    else:
        missing = list(_lines_without_job().filter(order__visit_id__in=list(visit_ids)))
    if not missing:
        return 0
    lines = list(
        WorkOrderLine.objects.filter(pk__in=missing)
        .select_related("order", "operation")
        .order_by("pk")
    )
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
        locked = workshop_visit_lock(visit.pk)
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
                raise DomainError(job_state_message(job), field="jobs", code="already_dispatched")
        if locked.handed_over_at is None:
            visit_hand_over(visit=locked, actor=actor)
        now = timezone.now()
        changes = {"technician": technician, "bay": bay, "dispatched_by": actor, "pause_reason": ""}
        for job in jobs:
            job_move(job, J.DISPATCHED, now=now, changes=changes)
        reason = _("dispatched to %(tech)s") % {"tech": technician}
        if locked.status == V.ORDER_SIGNED:
            visit_transition(visit=locked, to=V.DISPATCHED, actor=actor, reason=reason)
            duties.watch_schedule(visit=locked, now=now)
        else:
            visit_follow_jobs(locked, actor=actor, reason=reason)
        workshop_record(
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
    technician = technician_of(actor)
    with transaction.atomic():
        # Serialises this technician's clock: two taps on two jobs cannot both win.
        lock_row(technician)
        visit = workshop_visit_lock(job.visit_id)
        job = job_lock(job)
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
                    "plate": plate_of(running.job.visit),
                    "when": short_time(running.started_at),
                },
                code="busy",
            )
        if visit.status not in WORKING_VISIT:
            raise DomainError(
                _("Visit %(number)s is “%(status)s”: work on it cannot start now.")
                % {"number": visit.number, "status": visit.get_status_display()},
                code="visit_not_working",
            )
        now = timezone.now()
        job_move(
            job,
            J.IN_PROGRESS,
            now=now,
            changes={"clocked_on_at": now, "pause_reason": "", "pause_note": ""},
        )
        try:
            with transaction.atomic():
                ClockEntry.objects.create(job=job, technician=technician, started_at=now)
        except IntegrityError as exc:  # the database's own one-open-clock rule
            raise DomainError(_("You are clocked on another job."), code="busy") from exc
        visit_follow_jobs(
            visit,
            actor=actor,
            reason=_("%(tech)s clocked on %(job)s") % {"tech": technician, "job": job},
        )
        workshop_record(
            visit,
            kind="workshop.clock_on",
            summary=_("%(tech)s clocked on %(job)s") % {"tech": technician, "job": job},
            actor=actor,
        )
    return job


def _clock_stop(job: Job, *, now: datetime, reason: str, note: str) -> dict:
    """Close the job's running clock; the job's fields that change with it."""
    entry = ClockEntry.objects.select_for_update().get(job=job, ended_at__isnull=True)
    entry.ended_at, entry.end_reason, entry.note = now, reason, note[:200]
    entry.save(update_fields=["ended_at", "end_reason", "note"])
    return {"actual_hours": job.actual_hours + entry.hours, "clocked_on_at": None}


def _lock_own_running_job(job: Job, actor: User) -> tuple[Technician, Visit, Job]:
    technician = technician_of(actor)
    lock_row(technician)
    visit = workshop_visit_lock(job.visit_id)
    job = job_lock(job)
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
        stopped = _clock_stop(job, now=timezone.now(), reason=reason, note=note)
        job_move(
            job, J.PAUSED, changes={**stopped, "pause_reason": reason, "pause_note": note[:200]}
        )
        label = PauseReason(reason).label
        summary = _("%(tech)s paused %(job)s: %(reason)s") % {
            "tech": technician,
            "job": job,
            "reason": f"{label} {note}".strip(),
        }
        visit_follow_jobs(visit, actor=actor, reason=summary)
        workshop_record(visit, kind="workshop.paused", summary=summary, actor=actor)
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
        now = timezone.now()
        stopped = _clock_stop(job, now=now, reason="finished", note=note or "")
        seconds = sum(
            (e.ended_at - e.started_at).total_seconds()
            for e in ClockEntry.objects.filter(job=job, ended_at__isnull=False).only(
                "started_at", "ended_at"
            )
        )
        job_move(
            job,
            J.DONE,
            now=now,
            changes={
                **stopped,
                "self_check": [key for key, _label in SELF_CHECK_ITEMS],
                "self_checked_at": now,
                "clock_flag": clock_flag_of(job, seconds=seconds),
            },
        )
        summary = _("%(tech)s finished %(job)s in %(hours)s h (standard %(std)s h)") % {
            "tech": technician,
            "job": job,
            "hours": job.actual_hours,
            "std": job.hours,
        }
        visit_follow_jobs(visit, actor=actor, reason=summary)
        workshop_record(visit, kind="workshop.clocked_off", summary=summary, actor=actor)
        if job.clock_flag:
            workshop_record(
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
    technician = technician_of(actor)
    with transaction.atomic():
        visit = workshop_visit_lock(job.visit_id)
        job = job_lock(job)
        _refuse_not_yours(job, technician)
        if job.status not in (J.DISPATCHED, J.IN_PROGRESS, J.PAUSED):
            raise DomainError(job_state_message(job), code="job_closed")
        finding = Finding.objects.create(visit=visit, job=job, note=note, reported_by=actor)
        for photo in clean_photos:
            FindingPhoto.objects.create(finding=finding, image=photo)
        workshop_record(
            visit,
            kind="workshop.finding",
            summary=_("%(tech)s found: %(note)s") % {"tech": technician, "note": note},
            actor=actor,
            subject=finding,
        )
    return finding


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
    locked = workshop_visit_lock(visit.pk)
    if locked.status != V.WORK_DONE:
        last = locked.quality_checks.select_related("inspector").order_by("-at").first()
        if last is not None and last.at >= (locked.work_done_at or last.at):
            raise DomainError(
                _("%(who)s already recorded this check at %(when)s (%(result)s).")
                % {
                    "who": last.inspector or "—",
                    "when": short_time(last.at),
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
            job_move(
                job,
                J.DISPATCHED,
                now=now,
                changes={
                    "rework_count": job.rework_count + 1,
                    "finished_at": None,
                    "self_check": [],
                    "self_checked_at": None,
                    "dispatched_by": actor,
                },
            )
        workshop_record(
            locked,
            kind="workshop.rework",
            summary=_("QC failed, rework of %(jobs)s: %(reason)s")
            % {"jobs": ", ".join(str(job) for job in rework), "reason": reason},
            actor=actor,
            subject=check,
        )
    return check
