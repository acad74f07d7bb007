"""Celery tasks of step 8, and the handlers of its due tasks (kinds in `followup.duties`).

Each loads its row and calls a service.
"""

from celery import shared_task

from . import complaints, services
from .models import Complaint, DailyScan


@shared_task(name="followup.ensure_daily_scan", ignore_result=True)
def ensure_daily_scan() -> int:
    """Hourly (beat): make sure today's follow-up scan is scheduled; it runs once a day."""
    return services.followup_daily_scan_ensure().pk


def _complaint(task) -> Complaint:
    return Complaint.objects.select_related("customer", "vehicle").get(pk=task.subject_id)


def check_response_deadline(task) -> dict:
    return complaints.complaint_deadline_check(complaint=_complaint(task), deadline="response")


def check_close_deadline(task) -> dict:
    return complaints.complaint_deadline_check(complaint=_complaint(task), deadline="close")


def run_daily_scan(task) -> dict:
    return services.followup_daily_scan(scan=DailyScan.objects.get(pk=task.subject_id))
