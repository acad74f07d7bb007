"""What the workshop services share: whose job it is, moving a job, the visit following.

Used by `workshop.services` (jobs, QC) and `workshop.additions`; a
job's status moves only through `job_move`, the visit's only through
`reception.services.visit_transition`.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from dealership.errors import DomainError
from dealership.models import Technician, User
from dealership.services import timeline_record
from dealership.transitions import lock_row, move
from reception.models import Visit
from reception.services import visit_lock, visit_transition
from reception.states import HoldReason, VisitStatus

from . import duties
from .models import Job
from .states import HOLD_PAUSES, JOB_STATES, JobStatus, PauseReason
from .texts import job_state_message

V = VisitStatus
J = JobStatus


def technician_of(actor: User) -> Technician:
    """The active technician `actor` logs in as; refused for anyone else."""
    technician = Technician.objects.filter(user=actor, active=True).first()
    if technician is None:
        raise DomainError(
            _("Your log-in is not linked to an active technician. Ask the service manager."),
            code="not_a_technician",
        )
    return technician


def workshop_visit_lock(visit_id: int) -> Visit:
    """The visit under its row lock, with what the workshop's messages name."""
    return visit_lock(Visit(pk=visit_id), related=("customer", "vehicle", "advisor"))


def job_lock(job: Job) -> Job:
    return lock_row(job, related=("technician", "dispatched_by", "bay", "addition"))


def job_move(
    job: Job, to: str, *, now: datetime | None = None, changes: Mapping[str, Any] | None = None
) -> None:
    """Move a locked job along `JOB_STATES` and save it with `changes`.

    A move the table refuses says what happened to the job (who took it, when).
    """
    if not JOB_STATES.allows(job.status, to):
        raise DomainError(job_state_message(job), code="job_transition_not_allowed")
    move(JOB_STATES, job, to, now=now, changes=changes)


def waiting_jobs_withdraw(*, visit: Visit, reason: str) -> int:
    """Cancel the visit's jobs still waiting for dispatch (inside the caller's transaction,
    the visit locked): nobody took them, and the customer declined the work."""
    withdrawn = 0
    for job in Job.objects.select_for_update().filter(visit=visit, status=JobStatus.WAITING):
        move(JOB_STATES, job, JobStatus.CANCELLED, reason=reason)
        withdrawn += 1
    return withdrawn


def _target_of(jobs: list[Job]) -> tuple[str | None, str]:
    """The visit status its jobs imply (None: none in particular), and the hold's reason."""
    open_jobs = [j for j in jobs if j.status not in (J.DONE, J.CANCELLED)]
    if any(j.status == J.IN_PROGRESS for j in jobs):
        return V.IN_PROGRESS, ""
    if not open_jobs and any(j.status == J.DONE for j in jobs):
        return V.WORK_DONE, ""
    if open_jobs and all(
        j.status == J.PROPOSED or (j.status == J.PAUSED and j.pause_reason in HOLD_PAUSES)
        for j in open_jobs
    ):
        waits_for_customer = any(
            j.status == J.PROPOSED or j.pause_reason == PauseReason.AWAITING_APPROVAL
            for j in open_jobs
        )
        hold = HoldReason.AWAITING_APPROVAL if waits_for_customer else HoldReason.AWAITING_PARTS
        return V.ON_HOLD, hold
    return None, ""


def _path_to(visit: Visit, target: str | None, hold: str) -> list[str]:
    """The visit's moves from where it is to `target` (a hold changes reason by resuming)."""
    current = visit.status
    if target is None:
        return [V.IN_PROGRESS] if current == V.ON_HOLD else []
    if target == V.IN_PROGRESS:
        return [V.IN_PROGRESS] if current in (V.DISPATCHED, V.ON_HOLD, V.REWORK) else []
    if target == V.WORK_DONE:
        return {V.ON_HOLD: [V.IN_PROGRESS, V.WORK_DONE], V.IN_PROGRESS: [V.WORK_DONE]}.get(
            current, []
        )
    if current == V.IN_PROGRESS:
        return [V.ON_HOLD]
    if current == V.ON_HOLD and visit.hold_reason != hold:
        return [V.IN_PROGRESS, V.ON_HOLD]
    return []


def visit_follow_jobs(visit: Visit, *, actor: User | None, reason: str) -> None:
    """Move the (locked) visit to the status its jobs imply.

    Someone clocked on → in progress. Every job done → work done. Nothing being
    worked on and every open job waits for approval or parts → on hold for that.
    """
    jobs = list(Job.objects.filter(visit=visit).only("status", "pause_reason"))
    target, hold = _target_of(jobs)
    path = _path_to(visit, target, hold)
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


def workshop_record(
    visit: Visit, *, kind: str, summary: str, actor: User | None, subject=None, data=None
) -> None:
    """A timeline event of the visit, its summary led by the visit's number."""
    timeline_record(
        kind=kind,
        summary=f"{visit.number}: {summary}",
        customer=visit.customer,
        vehicle=visit.vehicle,
        subject=subject or visit,
        actor=actor,
        data=data,
    )
