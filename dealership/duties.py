"""Timed duties the store itself registers (see `DealershipConfig.ready`): their handlers."""

from .consent import Purpose, consent_allows_many
from .models import DueTask
from .notifications import Notice, notify_due_tasks


def send_reminders(tasks: list[DueTask], *, until: float | None = None) -> dict:
    """`customer.reminder` (a batch handler): send each task's note to the task's customer.

    The payload's `purpose` (default `service`) must be allowed by the customer's consent
    when the reminder goes out (read for the whole batch at once, after the rows were locked);
    a maintenance reminder says `"purpose": "reminders"`.
    """
    purposes = {task.pk: task.payload.get("purpose", Purpose.SERVICE) for task in tasks}
    allowed = consent_allows_many((task.customer_id, purposes[task.pk]) for task in tasks)
    notices = {
        task.pk: Notice(
            customer=task.customer,
            template="reminder",
            context={"note": task.payload.get("note", "")},
            subject=task.subject_ref(),
            due_task=task,
        )
        for task in tasks
        if (task.customer_id, purposes[task.pk]) in allowed
    }
    skipped = {task.pk: {"skipped": "no_consent"} for task in tasks if task.pk not in notices}
    return skipped | notify_due_tasks(notices, until=until)
