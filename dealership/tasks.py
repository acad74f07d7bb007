"""Celery tasks of the store: the due-task dispatcher (beat, every minute) and its worker tasks.

Each task only loads rows and calls `dealership.due`; the rules live there. The dispatcher
sends the claimed rows to the tasks registered at the end of this module (imported by
DealershipConfig.ready(), and by the Celery worker's autodiscovery).
"""

import time

from celery import shared_task

from . import due

# A message of several due tasks stops taking new ones after this long and hands the
# rest on in a new message, well inside its time limit.
BATCH_BUDGET_SECONDS = 200


@shared_task(name="dealership.dispatch_due_tasks", ignore_result=True)
def dispatch_due_tasks() -> int:
    """Beat job: claim every due machine task and enqueue them for the workers."""
    return due.due_tasks_dispatch()


@shared_task(
    name="dealership.due_task_run",
    ignore_result=True,
    acks_late=True,
    time_limit=120,
    soft_time_limit=90,
)
def due_task_run(task_id: int) -> str:
    """Perform one claimed due task. Safe to deliver twice: the row is re-read under a lock.

    Retries are scheduled in the row itself (`run_after`, with back-off), not as
    broker countdowns, so a broker restart cannot lose or repeat them.
    """
    return due.due_task_perform(task_id=task_id)


@shared_task(
    name="dealership.due_tasks_run",
    ignore_result=True,
    acks_late=True,
    time_limit=300,
    soft_time_limit=270,
)
def due_tasks_run(task_ids: list[int]) -> dict[str, int]:
    """Perform several claimed due tasks, each at most once, as `due_task_run` does.

    One message per few rows instead of one per row: the broker's cost per
    message is larger than a reminder's. The rows are locked and read together and
    committed together (`due.due_tasks_perform`), each handler in a savepoint of its own,
    so a redelivered or half-done message performs nothing twice, and rows it never
    reached are taken back by the dispatcher.
    """
    started = time.monotonic()
    outcomes: dict[str, int] = {}
    remaining = list(task_ids)
    while remaining:
        if time.monotonic() - started > BATCH_BUDGET_SECONDS:
            due_tasks_run.delay(remaining)
            break
        performed, remaining = due.due_tasks_perform(task_ids=remaining)
        for outcome, count in performed.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    return outcomes


due.register_runners(one=due_task_run, many=due_tasks_run)
