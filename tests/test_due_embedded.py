"""The embedded default of the README's `make run`: no REDIS_URL, no broker server.

Celery then uses kombu's filesystem transport in folders under VAR_DIR; the
worker and beat started the way `scripts/run-stack.sh` starts them still send
every due reminder once. Needs PostgreSQL so the worker process can see the
test database (an in-memory SQLite test database is private to pytest).
"""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db.models import Count
from django.utils import timezone

from dealership.models import Customer, DueTask, Message
from tests.due_workers import process_env, start_beat, start_worker, wait_until

pytestmark = [pytest.mark.drill, pytest.mark.timeout(120)]


def test_without_redis_the_worker_and_beat_send_due_reminders_through_the_filesystem_broker(
    transactional_db, require_postgres, tmp_path
):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    every_2s, _ = IntervalSchedule.objects.get_or_create(every=2, period="seconds")
    PeriodicTask.objects.update_or_create(  # the migration's row, gone with the flush
        name="Dispatch due tasks every minute",
        defaults={"task": "dealership.dispatch_due_tasks", "interval": every_2s, "enabled": True},
    )
    customer = Customer.objects.create(name="Embedded", mobile="13800000001", language="en")
    due_at = timezone.now() - timedelta(minutes=1)
    tasks = DueTask.objects.bulk_create(
        DueTask(
            kind="customer.reminder",
            subject_type=ContentType.objects.get_for_model(Customer),
            subject_id=customer.pk,
            slot=str(n),
            due_at=due_at,
            run_after=due_at,
            customer=customer,
            payload={"note": f"embedded {n}"},
        )
        for n in range(20)
    )
    pks = [task.pk for task in tasks]
    open_tasks = DueTask.objects.filter(pk__in=pks, state__in=["pending", "claimed"])
    var = tmp_path / "var"
    env = process_env(broker_url="", VAR_DIR=str(var))  # REDIS_URL empty: the embedded default
    worker = start_worker("embedded-worker", env=env, log_dir=tmp_path, concurrency=2)
    beat = start_beat(env=env, log_dir=tmp_path)
    try:
        wait_until(
            lambda: not open_tasks.exists(),
            timeout=60,
            what="the reminders to go out without Redis",
            every=0.5,
        )
    finally:
        beat.stop()
        worker.stop()

    assert "filesystem://" in worker.output()
    assert (var / "broker" / "out").is_dir()  # the queue lives in VAR_DIR
    per_task = dict(
        Message.objects.filter(due_task__in=pks)
        .values_list("due_task")
        .annotate(n=Count("id"))
        .values_list("due_task", "n")
    )
    assert len(per_task) == 20 and set(per_task.values()) == {1}
    assert set(DueTask.objects.filter(pk__in=pks).values_list("state", flat=True)) == {"done"}
