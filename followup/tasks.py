"""Celery tasks of step 8. The calls and deadlines run as due tasks (`followup.kinds`)."""

from celery import shared_task

from . import services


@shared_task(name="followup.ensure_daily_scan", ignore_result=True)
def ensure_daily_scan() -> int:
    """Hourly (beat): make sure today's follow-up scan is scheduled; it runs once a day."""
    return services.followup_daily_scan_ensure().pk
