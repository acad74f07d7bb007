"""Timed duties the store itself registers (see `DealershipConfig.ready`): their handlers."""

from .models import DueTask
from .notifications import notify


def send_reminder(task: DueTask) -> dict:
    """`customer.reminder`: send the payload's note to the task's customer."""
    message = notify(
        customer=task.customer,
        template="reminder",
        context={"note": task.payload.get("note", "")},
        subject=task.subject_ref(),
    )
    return {"message": message.pk}
