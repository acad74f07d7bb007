"""Celery: hourly (beat) make sure the day's report deliveries are scheduled as due tasks."""

from celery import shared_task

from .services import report_deliveries_ensure


@shared_task(name="reports.ensure_deliveries", ignore_result=True)
def ensure_deliveries() -> int:
    return len(report_deliveries_ensure())
