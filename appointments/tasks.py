"""Celery tasks of step 1. Reminders, calls and no-shows run as due tasks (`duties`)."""

from celery import shared_task

from . import services


@shared_task(name="appointments.schedule_invitations", ignore_result=True)
def schedule_invitations() -> int:
    """Daily (beat): vehicles due for maintenance go on customer care's invitation list."""
    return services.invitations_schedule()
