"""Timed duties the store itself registers (see `DealershipConfig.ready`): their handlers."""

from .consent import Purpose, consent_allows
from .models import DueTask
from .notifications import notify


def send_reminder(task: DueTask) -> dict:
    """`customer.reminder`: send the payload's note to the task's customer.

    The payload's `purpose` (default `service`) must be allowed by the customer's consent
    when the reminder goes out; a maintenance reminder says `"purpose": "reminders"`.
    """
    if not consent_allows(task.customer, task.payload.get("purpose", Purpose.SERVICE)):
        return {"skipped": "no_consent"}
    message = notify(
        customer=task.customer,
        template="reminder",
        context={"note": task.payload.get("note", "")},
        subject=task.subject_ref(),
    )
    return {"message": message.pk}
