"""Celery: hourly (beat) make sure the day's report deliveries are scheduled as due tasks."""

from celery import shared_task


@shared_task(name="reports.ensure_deliveries", ignore_result=True)
def ensure_deliveries() -> int:
    from .services import report_deliveries_ensure

    return len(report_deliveries_ensure())
