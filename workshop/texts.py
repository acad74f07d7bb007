"""How the workshop's services word a time, a car and a job's state in their messages."""

from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext as _

from reception.models import Visit

from .models import Job
from .states import JobStatus

J = JobStatus


def short_time(moment: datetime | None) -> str:
    """The time of day for today, the date and time otherwise; "—" for none."""
    if moment is None:
        return "—"
    local = timezone.localtime(moment)
    fmt = "H:i" if local.date() == timezone.localdate() else "m-d H:i"
    return formats.date_format(local, fmt)


def plate_of(visit: Visit) -> str:
    """The car's plate, or its VIN before it has one."""
    return visit.vehicle.plate or visit.vehicle.vin


def job_state_message(job: Job) -> str:
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
            "when": short_time(job.finished_at),
        }
    if job.status == J.IN_PROGRESS:
        return _("%(tech)s is working on job %(job)s since %(when)s.") % {
            "job": job,
            "tech": job.technician,
            "when": short_time(job.clocked_on_at),
        }
    if job.technician_id:
        return _(
            "Job %(job)s was already dispatched by %(who)s to %(tech)s at %(when)s. "
            "The board now shows it."
        ) % {
            "job": job,
            "who": job.dispatched_by or _("the system"),
            "tech": job.technician,
            "when": short_time(job.dispatched_at),
        }
    return _("Job %(job)s is waiting for dispatch.") % {"job": job}
