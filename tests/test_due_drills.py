"""Fault drills for the due tasks with real processes: PostgreSQL, Redis, Celery workers and beat.

- two workers dispatching the same 1 000 due tasks at once: each performed exactly once;
- a worker killed in the middle of a task: the task is performed later, once;
- Redis stopped while events happen: the web keeps working, nothing is lost, and the
  due tasks go out when Redis is back (a throwaway redis-server on a free port, never
  the shared one).

Needs PostgreSQL (`DATABASE_URL`) and Redis (`REDIS_URL`); skipped without them.
"""

import os
import shutil
import time
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from dealership.due import due_task_schedule, due_tasks_dispatch
from dealership.models import Customer, DueTask, Message
from dealership.roles import Role
from tests.due_workers import (
    free_port,
    process_env,
    start_beat,
    start_redis,
    start_worker,
    wait_until,
)

REDIS_URL = settings.REDIS_URL  # this test worker's own (settings: pytest-xdist)

pytestmark = [
    pytest.mark.drill,
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis (set REDIS_URL)"),
    pytest.mark.timeout(120),
]
State = DueTask.State
N = "dealership.notifications."


class SlowSmsProvider:
    """SMS provider for the kill drill: says it started, then takes DRILL_SMS_SECONDS."""

    def send(self, *, to: str, text: str, key: str) -> str:
        marker = os.environ.get("DRILL_MARKER")
        if marker:
            with open(marker, "a") as out:
                out.write(f"{key}\n")
        time.sleep(float(os.environ.get("DRILL_SMS_SECONDS", "0")))
        return "slow-ok"


@pytest.fixture
def drill(transactional_db, tmp_path, require_postgres):
    """Processes started by a drill; all stopped before the test database is flushed."""
    started = []

    class Drill:
        dir = tmp_path

        def track(self, proc):
            started.append(proc)
            return proc

    yield Drill()
    for proc in reversed(started):
        proc.stop()


def _purge(url: str) -> redis.Redis:
    client = redis.Redis.from_url(url)
    client.delete("celery", "unacked", "unacked_index", "unacked_mutex")
    return client


def _due_reminders(count: int, *, language="en", channel="sms") -> list[int]:
    customer = Customer.objects.create(
        name="Drill", mobile="13800000000", language=language, preferred_channel=channel
    )
    due_at = timezone.now() - timedelta(minutes=1)
    ct = ContentType.objects.get_for_model(Customer)
    rows = DueTask.objects.bulk_create(
        DueTask(
            kind="customer.reminder",
            subject_type=ct,
            subject_id=customer.pk,
            slot=str(n),
            due_at=due_at,
            run_after=due_at,
            customer=customer,
            payload={"note": f"drill {n}"},
        )
        for n in range(count)
    )
    return [row.pk for row in rows]


def _open_count(pks) -> int:
    return DueTask.objects.filter(pk__in=pks, state__in=[State.PENDING, State.CLAIMED]).count()


def _messages_per_task(pks) -> dict[int, int]:
    return dict(
        Message.objects.filter(due_task__in=pks)
        .values_list("due_task")
        .annotate(n=Count("id"))
        .values_list("due_task", "n")
    )


def test_two_workers_dispatching_the_same_1000_tasks_perform_each_exactly_once(drill):
    from dealership.tasks import dispatch_due_tasks, due_task_run

    broker = _purge(REDIS_URL)
    pks = _due_reminders(1000)
    env = process_env(broker_url=REDIS_URL, DUE_TASK_BATCH_SIZE="50")
    workers = [
        drill.track(start_worker(name, env=env, log_dir=drill.dir, concurrency=4))
        for name in ("drill-w1", "drill-w2")
    ]
    started = time.monotonic()
    # Both workers run the dispatcher on the same rows at the same time, several times over,
    for _ in range(6):
        dispatch_due_tasks.delay()
    # and every task is delivered a second time, as a broker redelivery would do.
    for pk in pks:
        due_task_run.delay(pk)
    wait_until(lambda: _open_count(pks) == 0, timeout=90, what="all 1 000 tasks done")
    wait_until(lambda: broker.llen("celery") == 0, timeout=60, what="the queue to drain")
    time.sleep(1)  # the last duplicates in the workers' hands
    elapsed = time.monotonic() - started

    per_task = _messages_per_task(pks)
    assert len(per_task) == 1000, "a task was lost"
    assert set(per_task.values()) == {1}, "a task was performed twice"
    assert set(DueTask.objects.filter(pk__in=pks).values_list("state", "attempts")) == {
        (State.DONE, 1)
    }
    for worker in workers:  # both took part in dispatching and performing
        log = worker.output()
        assert "dealership.dispatch_due_tasks" in log and "succeeded" in log, log[-2000:]
        assert "'done'" in log, f"{worker.name} performed nothing"
    print(f"\n1 000 tasks, 2 workers, 6 dispatchers, 1 000 duplicates: {elapsed:.1f}s")


def test_a_worker_killed_mid_task_leaves_the_task_to_be_performed_later_once(drill):
    _purge(REDIS_URL)
    (pk,) = _due_reminders(1)
    marker = drill.dir / "sms-started"
    sms = {"NOTIFICATION_SMS_BACKEND": N + "SmsBackend"}
    sms["NOTIFICATION_SMS_PROVIDER"] = "tests.test_due_drills.SlowSmsProvider"
    slow = process_env(
        broker_url=REDIS_URL, DRILL_MARKER=str(marker), DRILL_SMS_SECONDS="60", **sms
    )
    doomed = drill.track(
        start_worker("drill-doomed", env=slow, log_dir=drill.dir, concurrency=1, pool="prefork")
    )
    with transaction.atomic():
        assert due_tasks_dispatch() == 1  # enqueued on commit
    wait_until(marker.exists, timeout=30, what="the worker to start sending")
    doomed.kill()  # SIGKILL, worker and pool child, while the send is in progress

    task = DueTask.objects.get(pk=pk)
    assert (task.state, task.attempts) == (State.CLAIMED, 1)
    assert not Message.objects.filter(due_task=pk).exists()

    fast = process_env(broker_url=REDIS_URL, DRILL_MARKER=str(marker), **sms)
    drill.track(start_worker("drill-rescue", env=fast, log_dir=drill.dir, concurrency=1))

    def taken_back():
        # The killed worker's database session may need a moment to be cleaned up;
        # until then its row lock hides the row from the dispatcher.
        with transaction.atomic():
            return due_tasks_dispatch(reclaim_after=timedelta(0)) == 1

    wait_until(taken_back, timeout=30, what="the lost claim to be taken back", every=0.5)
    wait_until(lambda: _open_count([pk]) == 0, timeout=30, what="the task to be performed")
    task.refresh_from_db()
    assert (task.state, task.attempts) == (State.DONE, 2)
    assert _messages_per_task([pk]) == {pk: 1}
    assert marker.read_text().splitlines() == [f"due:{pk}:reminder"] * 2  # started twice
    assert Message.objects.get(due_task=pk).provider_ref == "slow-ok"  # finished once


@pytest.mark.skipif(not shutil.which("redis-server"), reason="needs the redis-server program")
def test_redis_outage_loses_nothing_and_the_tasks_go_out_when_it_is_back(
    drill, client, make_staff, settings
):
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_server = drill.track(start_redis(port, drill.dir))
    # The web's cache lives on the same (throwaway) Redis during the drill.
    settings.CACHES = {
        "default": {"BACKEND": "dealership.cache.ResilientRedisCache", "LOCATION": url}
    }
    every_2s, _ = IntervalSchedule.objects.get_or_create(every=2, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Dispatch due tasks every minute",
        defaults={"task": "dealership.dispatch_due_tasks", "interval": every_2s, "enabled": True},
    )
    env = process_env(broker_url=url, DUE_TASK_RECLAIM_AFTER_SECONDS="5")
    drill.track(start_worker("drill-outage", env=env, log_dir=drill.dir, concurrency=2))
    drill.track(start_beat(env=env, log_dir=drill.dir))

    before = _due_reminders(10)
    wait_until(lambda: _open_count(before) == 0, timeout=30, what="reminders before the outage")

    redis_server.stop()
    Group.objects.get_or_create(name=Role.CUSTOMER_CARE)  # an earlier drill's flush removed it
    care = make_staff(Role.CUSTOMER_CARE)
    client.force_login(care)
    customer = Customer.objects.get()
    during = []
    for n in range(30):  # bookings keep coming in: each schedules its reminder
        with transaction.atomic():
            task = due_task_schedule(
                kind="customer.reminder",
                subject=customer,
                slot=f"outage-{n}",
                due_at=timezone.now(),
                customer=customer,
                payload={"note": f"outage {n}"},
            )
        during.append(task.pk)
    assert client.get(reverse("due_queue")).status_code == 200
    assert client.get(reverse("customer_detail", args=[customer.pk])).status_code == 200
    time.sleep(3)  # beat and worker run into the outage
    assert _open_count(during) == 30 and not Message.objects.filter(due_task__in=during).exists()

    drill.track(start_redis(port, drill.dir))  # back, empty: whatever was queued is gone
    wait_until(lambda: _open_count(during) == 0, timeout=60, what="reminders after the outage")
    per_task = _messages_per_task(before + during)
    assert len(per_task) == 40 and set(per_task.values()) == {1}
    assert connection.vendor == "postgresql"
