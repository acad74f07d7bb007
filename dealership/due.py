"""Timed duties: one table of due tasks, scheduled by the apps, performed once.

Apps register their kinds at AppConfig.ready() time and schedule rows inside
the transaction of the event that causes them::

    register_kind("appointment.remind_24h", label=_("24 h reminder"), handler=send_reminder,
                  late_cutoff=timedelta(hours=6))
    register_kind("followup.care_call_24h", label=_("24 h care call"), role=Role.CUSTOMER_CARE)

    due_task_schedule(kind="appointment.remind_24h", subject=appointment,
                      due_at=appointment.starts_at - timedelta(hours=24), customer=customer)
    due_tasks_cancel_for(appointment)

Machine tasks (a handler) are claimed by the beat dispatcher every minute with
`select_for_update(skip_locked=True)` and performed by a Celery task that
re-reads the row under a lock, so two workers, a crashed worker or a broker
outage never perform a task twice and never lose one. A kind with a batch handler
(reminders) performs the rows of one message together: one read and one write for all,
a failing row failing alone. Person tasks (a role, no handler) are calls on a work queue,
finished with `due_task_complete`.

Each claim counts as one attempt; a worker that dies mid-task leaves the row
claimed and the dispatcher takes it back after `DUE_TASK_RECLAIM_AFTER_SECONDS`.

A task's states and the moves between them are one table,
`dealership.states.DUE_TASK_STATES`: a row moves with `transitions.move`, the
dispatcher's set-based claims and clean-ups with `transitions.move_all`, which
checks the table once for the pair it applies.
"""

import json
import logging
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.contenttypes.prefetch import GenericPrefetch
from django.db import connection, models, transaction
from django.db.models import Count, Expression, F, Q, prefetch_related_objects
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.module_loading import import_string
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_celery_beat.models import PeriodicTask

from .errors import DomainError
from .models import Customer, DueTask, User
from .roles import user_roles
from .rules import rules_pinned
from .selectors import sees_every_call
from .services import timeline_record
from .states import DUE_TASK_STATES, OPEN_STATES, DueTaskState
from .stored_text import stored_text
from .transitions import lock_row, move, move_all, save_versioned

logger = logging.getLogger(__name__)

State = DueTaskState

# The Celery tasks that perform claimed rows, one row or several to a message. They live in
# dealership.tasks, which imports this module, so they are handed in from there.
RUNNERS: dict[str, Any] = {}


def register_runners(*, one, many) -> None:
    """Called by dealership.tasks: the tasks `_enqueue` sends the claimed rows to."""
    RUNNERS.update(one=one, many=many)


DEFAULT_OUTCOMES = (
    ("reached", _("Reached the customer")),
    ("not_reached", _("Could not reach the customer")),
    ("not_needed", _("Not needed any more")),
)


# A batch handler performs many claimed tasks of its kind at once (set-based): given the
# tasks and `until` (a time.monotonic() deadline, or None), it answers each task's result or the
# exception that fails that task alone; a task it leaves out (no time left) is handed back.
BatchHandler = Callable[..., dict[int, dict | Exception]]


@dataclass(frozen=True)
class DueKind:
    key: str
    label: str | Promise
    handler: Callable[[DueTask], dict | None] | str | None = None
    role: str | None = None
    late_cutoff: timedelta | None = None
    max_attempts: int = 5
    outcomes: Sequence[tuple[str, str | Promise]] = field(default=DEFAULT_OUTCOMES)
    # The kind's own service that records an outcome and does what it means
    # (task=, actor=, outcome=, note=); the generic queue goes through it.
    recorder: Callable[..., object] | str | None = None
    # Called with the task, in the same transaction, when a machine task fails for good.
    on_failed: Callable[[DueTask], None] | str | None = None
    batch_handler: BatchHandler | str | None = None

    @property
    def for_person(self) -> bool:
        return self.handler is None and self.batch_handler is None

    def perform(self, task: DueTask) -> dict | None:
        if self.batch_handler is not None:
            answer = self.perform_many([task])[task.pk]
            if isinstance(answer, Exception):
                raise answer
            return answer
        handler = import_string(self.handler) if isinstance(self.handler, str) else self.handler
        return handler(task)

    def perform_many(
        self, tasks: list[DueTask], *, until: float | None = None
    ) -> dict[int, dict | Exception]:
        handler = self.batch_handler
        return (import_string(handler) if isinstance(handler, str) else handler)(tasks, until=until)

    def outcome_label(self, outcome: str):
        return dict(self.outcomes).get(outcome, outcome)


KINDS: dict[str, DueKind] = {}


def register_kind(
    key: str,
    *,
    label,
    handler: Callable[[DueTask], dict | None] | str | None = None,
    batch_handler: BatchHandler | str | None = None,
    role: str | None = None,
    late_cutoff: timedelta | None = None,
    max_attempts: int = 5,
    outcomes: Sequence[tuple[str, str | Promise]] | None = None,
    recorder: Callable[..., object] | str | None = None,
    on_failed: Callable[[DueTask], None] | str | None = None,
) -> DueKind:
    """Declare a kind of due task: a machine task (`handler` or `batch_handler`) or a call for
    a `role`.

    A handler performs the duty (usually `notify(...)`) and returns a result
    dict; raising makes the task retry with back-off, up to `max_attempts`. A batch handler
    (`BatchHandler`) performs a message's tasks of the kind at once, set-based (one read for
    all, one write for all), and alone the task that runs on its own.
    Performed later than `due_at + late_cutoff`, a task is not performed but
    marked missed (a 1 h reminder 3 h late helps nobody). A call whose outcome
    does something (cancels a booking, takes a survey) names its app's service as
    `recorder`: the generic queue records through it, never around it.
    """
    if sum(given is not None for given in (handler, batch_handler, role)) != 1:
        raise ValueError(
            f"due kind {key!r}: give one of a handler, a batch handler or a role, not several"
        )
    if max_attempts < 1:
        raise ValueError(f"due kind {key!r}: max_attempts must be at least 1")
    kind = DueKind(
        key=key,
        label=label,
        handler=handler,
        role=role,
        late_cutoff=late_cutoff,
        max_attempts=max_attempts,
        outcomes=tuple(outcomes) if outcomes else DEFAULT_OUTCOMES,
        recorder=recorder,
        on_failed=on_failed,
        batch_handler=batch_handler,
    )
    KINDS[key] = kind
    return kind


def kind_get(key: str) -> DueKind:
    try:
        return KINDS[key]
    except KeyError:
        raise LookupError(f"due task kind {key!r} is not registered") from None


def kind_label(key: str):
    kind = KINDS.get(key)
    return kind.label if kind else key


DUE_COMPLETED = "due.completed"


@stored_text(DUE_COMPLETED)
def _render_completed(params: dict) -> str:
    """A call's outcome on the timeline: "24 h care call: Reached the customer"."""
    kind = kind_get(params["kind"]) if params["kind"] in KINDS else None
    if kind is None:
        raise KeyError(params["kind"])
    return f"{kind.label}: {kind.outcome_label(params['outcome'])}"


# The task being performed in this thread, so `notify` can tie its message to it.
_running: ContextVar[DueTask | None] = ContextVar("running_due_task", default=None)


def running_task() -> DueTask | None:
    """The due task whose handler is running now, if any."""
    return _running.get()


def _setting(name: str, default):
    return getattr(settings, name, default)


# ---------------------------------------------------------------- scheduling API


def due_task_schedule(
    *,
    kind: str,
    subject: models.Model,
    due_at: datetime,
    slot: str = "",
    customer: Customer | None = None,
    assigned_to: User | None = None,
    payload: dict | None = None,
) -> DueTask:
    """Schedule a duty for `subject`; call it inside the transaction of the causing event.

    Idempotent on (subject, kind, slot): calling again with the same `due_at`
    changes nothing but the details; another `due_at` moves the task and opens
    it again whatever its state (the appointment moved, so its reminder is due
    again); a cancelled task is re-opened.
    """
    spec = kind_get(kind)
    if timezone.is_naive(due_at):
        raise ValueError("due_at must be an aware datetime")
    subject_type = ContentType.objects.get_for_model(subject)
    with transaction.atomic():
        task, created = DueTask.objects.select_for_update().get_or_create(
            subject_type=subject_type,
            subject_id=subject.pk,
            kind=kind,
            slot=slot,
            defaults={
                "due_at": due_at,
                "run_after": due_at,
                "for_person": spec.for_person,
                "role": spec.role or "",
                "customer": customer,
                "assigned_to": assigned_to,
                "payload": payload or {},
            },
        )
        if created:
            return task
        details = {
            "customer": customer if customer is not None else task.customer,
            "assigned_to": assigned_to if assigned_to is not None else task.assigned_to,
            "payload": payload if payload is not None else task.payload,
        }
        if task.due_at != due_at or task.state == State.CANCELLED:
            move(DUE_TASK_STATES, task, State.PENDING, changes={**details, **_fresh(due_at)})
        else:
            for name, value in details.items():
                setattr(task, name, value)
            save_versioned(task, details)
    return task


def _fresh(due_at: datetime) -> dict:
    """A task scheduled again starts over: due then, no attempts, no outcome."""
    return {
        "due_at": due_at,
        "run_after": due_at,
        "attempts": 0,
        "last_error": "",
        "result": {},
        "outcome": "",
        "completed_by": None,
        "claimed_at": None,
        "finished_at": None,
    }


def due_tasks_cancel_for(subject: models.Model, kinds: Iterable[str] | None = None) -> int:
    """Cancel the subject's open tasks (all, or of `kinds`); returns how many.

    A task a worker is performing at this moment is locked; the update waits
    for it and then leaves it done.
    """
    tasks = DueTask.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject), subject_id=subject.pk
    )
    if kinds is not None:
        tasks = tasks.filter(kind__in=list(kinds))
    return move_all(
        DUE_TASK_STATES,
        tasks,
        State.CANCELLED,
        from_=(State.PENDING, State.CLAIMED, State.FAILED),
    )


@dataclass(frozen=True)
class NewDueTask:
    """One row for `due_tasks_schedule_new`: what differs from one task of a kind to the next."""

    subject_id: int
    due_at: datetime
    slot: str = ""
    customer_id: int | None = None
    payload: dict = field(default_factory=dict)


def due_tasks_schedule_new(
    *,
    kind: str,
    subject_model: type[models.Model],
    tasks: Iterable[NewDueTask],
    batch_size: int = 1000,
) -> int:
    """Schedule many duties of `kind` at once (a scan's finds); returns how many were added.

    The set-based path of `due_task_schedule` for subjects without a task of (subject,
    kind, slot) yet: ON CONFLICT DO NOTHING on the table's unique key. A task that exists
    already (scheduled meanwhile by someone else) is left exactly as it is, never moved or
    re-opened, and not counted. The columns every row shares are prepared once, not per row:
    a scan adds tens of thousands. On PostgreSQL the rows go in as one JSON document per
    INSERT (`_insert_from_json`), elsewhere `batch_size` rows to an INSERT … VALUES.
    """
    rows = list(tasks)
    if any(timezone.is_naive(task.due_at) for task in rows):
        raise ValueError("due_at must be an aware datetime")
    if not rows:
        return 0
    spec = kind_get(kind)
    shared = DueTask(
        kind=kind,
        subject_type=ContentType.objects.get_for_model(subject_model),
        for_person=spec.for_person,
        role=spec.role or "",
        created_at=timezone.now(),
    )
    opts = DueTask._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    fixed = {
        f.attname: f.get_db_prep_save(getattr(shared, f.attname), connection)
        for f in fields
        if f.attname not in PER_TASK_COLUMNS
    }
    quote = connection.ops.quote_name
    insert = f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)})"
    if connection.vendor == "postgresql":
        return _insert_from_json(insert, fields, fixed, rows)
    due_at_field, payload_field = opts.get_field("due_at"), opts.get_field("payload")

    def values(task: NewDueTask) -> list:
        due_at = due_at_field.get_db_prep_save(task.due_at, connection)
        row = {
            **fixed,
            "subject_id": task.subject_id,
            "slot": task.slot,
            "due_at": due_at,
            "run_after": due_at,
            "customer_id": task.customer_id,
            "payload": payload_field.get_db_prep_save(task.payload, connection),
        }
        return [row[f.attname] for f in fields]

    placeholders = f"({', '.join(['%s'] * len(fields))})"
    added = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            sql = f"{insert} VALUES {', '.join([placeholders] * len(chunk))} ON CONFLICT DO NOTHING"
            cursor.execute(sql, [value for task in chunk for value in values(task)])  # noqa: S608 - the model's own names, values as parameters
            added += cursor.rowcount
    return added


# The columns of `due_tasks_schedule_new` that differ from row to row (run_after is due_at),
# with their types in `_insert_from_json`'s document.
PER_TASK_COLUMNS = {
    "subject_id": "bigint",
    "slot": "text",
    "due_at": "timestamptz",
    "run_after": None,
    "customer_id": "bigint",
    "payload": "jsonb",
}
# Rows to one JSON document: a few MB, which PostgreSQL reads without spilling to disk.
JSON_ROWS_PER_INSERT = 10_000


def _insert_from_json(insert: str, fields: list, fixed: dict, rows: list[NewDueTask]) -> int:
    """PostgreSQL: the rows of `due_tasks_schedule_new` as INSERT … SELECT from one JSON
    parameter per ten thousand rows.

    An INSERT … VALUES of tens of thousands of parameters costs far more to quote, send,
    parse and plan than to insert (more than half of a scan's first run went there);
    one document of the columns that differ costs little of each. The shared columns are
    parameters cast to their column's type; the rows go in in the order given.
    """
    typed = {name: db_type for name, db_type in PER_TASK_COLUMNS.items() if db_type}
    columns = [
        f"r.{'due_at' if f.attname == 'run_after' else f.attname}"
        if f.attname in PER_TASK_COLUMNS
        else f"%s::{f.db_type(connection).split('(')[0]}"
        for f in fields
    ]
    record = ", ".join(f"{name} {db_type}" for name, db_type in typed.items())
    rows_from = (
        f"ROWS FROM (jsonb_to_recordset(%s::jsonb) AS ({record})) "
        f"WITH ORDINALITY AS r({', '.join(typed)}, position)"
    )
    sql = (
        f"{insert} SELECT {', '.join(columns)} FROM {rows_from} "  # noqa: S608 - the model's own names
        "ORDER BY r.position ON CONFLICT DO NOTHING"
    )
    shared = [fixed[f.attname] for f in fields if f.attname in fixed]
    encoder = DueTask._meta.get_field("payload").encoder
    added = 0
    with connection.cursor() as cursor:
        for start in range(0, len(rows), JSON_ROWS_PER_INSERT):
            document = json.dumps(
                [
                    {
                        "subject_id": task.subject_id,
                        "slot": task.slot,
                        "due_at": task.due_at.isoformat(),
                        "customer_id": task.customer_id,
                        "payload": task.payload,
                    }
                    for task in rows[start : start + JSON_ROWS_PER_INSERT]
                ],
                cls=encoder,
            )
            cursor.execute(sql, [*shared, document])
            added += cursor.rowcount
    return added


def due_tasks_cancel_for_many(
    *, subject_model: type[models.Model], subject_ids: Iterable[int], kinds: Iterable[str]
) -> int:
    """`due_tasks_cancel_for` for many subjects of one model at once; returns how many.

    One UPDATE per thousand subjects (a scan's worth), the same moves as for one subject.
    """
    subject_type = ContentType.objects.get_for_model(subject_model)
    ordered, kinds = sorted(subject_ids), list(kinds)
    cancelled = 0
    for start in range(0, len(ordered), 1000):
        cancelled += move_all(
            DUE_TASK_STATES,
            DueTask.objects.filter(
                subject_type=subject_type,
                subject_id__in=ordered[start : start + 1000],
                kind__in=kinds,
            ),
            State.CANCELLED,
            from_=(State.PENDING, State.CLAIMED, State.FAILED),
        )
    return cancelled


def due_task_complete(
    *, task: DueTask, actor: User, outcome: str, result: dict | None = None
) -> DueTask:
    """Record the outcome of a call (a person task). A second completion is refused."""
    spec = kind_get(task.kind)
    with transaction.atomic():
        task = lock_row(task)
        if not task.for_person:
            raise DomainError(gettext("This duty is done by the system, not by a person."))
        if task.state == State.DONE:
            raise DomainError(
                gettext("Already recorded by %(user)s at %(at)s.")
                % {
                    "user": task.completed_by or gettext("system"),
                    "at": timezone.localtime(task.finished_at).strftime("%Y-%m-%d %H:%M"),
                },
                field="outcome",
                code="already_done",
            )
        if task.state == State.CANCELLED:
            raise DomainError(
                gettext("This call was cancelled; nothing to record."),
                field="outcome",
                code="cancelled",
            )
        if outcome not in dict(spec.outcomes):
            raise DomainError(gettext("Choose an outcome."), field="outcome", code="outcome")
        move(
            DUE_TASK_STATES,
            task,
            State.DONE,
            changes={"outcome": outcome, "result": result or {}, "completed_by": actor},
        )
        timeline_record(
            kind="due.completed",
            summary=f"{spec.label}: {spec.outcome_label(outcome)}",
            summary_code=DUE_COMPLETED,
            summary_params={"kind": task.kind, "outcome": outcome},
            customer=task.customer,
            subject=task.subject,
            actor=actor,
            data={"due_task": task.pk, "kind": task.kind, "outcome": outcome},
        )
    return task


def due_task_record(*, task: DueTask, actor: User, outcome: str, note: str = "") -> DueTask:
    """Record a call's outcome from the generic queue: through the kind's own service
    when it has one (so the outcome does what it means there), else `due_task_complete`."""
    spec = kind_get(task.kind)
    if spec.recorder is None:
        return due_task_complete(
            task=task, actor=actor, outcome=outcome, result={"note": note} if note else {}
        )
    recorder = import_string(spec.recorder) if isinstance(spec.recorder, str) else spec.recorder
    recorder(task=task, actor=actor, outcome=outcome, note=note)
    return DueTask.objects.get(pk=task.pk)


def due_task_retry(*, task: DueTask, actor: User) -> DueTask:
    """Give a failed machine task a fresh set of attempts from now."""
    with transaction.atomic():
        task = lock_row(task)
        if task.state != State.FAILED:
            raise DomainError(gettext("Only a failed task can be retried."), code="not_failed")
        move(
            DUE_TASK_STATES,
            task,
            State.PENDING,
            changes={"attempts": 0, "run_after": timezone.now(), "finished_at": None},
        )
    logger.info("due task %s retried by %s", task.pk, actor)
    return task


# ---------------------------------------------------------------- handler outcomes


class TaskGivenUp(Exception):
    """A handler's failure that no retry can mend (a receiver refusing the request for good):
    the task fails at once, without its remaining attempts, keeping `result` on the row."""

    def __init__(self, message: str, *, result: dict | None = None):
        super().__init__(message)
        self.result = result or {}


class TaskRetryAfter(Exception):
    """A handler's failure with the other side's wish for the next attempt (`Retry-After`):
    the retry waits at least `delay` (at most `MAX_RETRY_AFTER`), or the back-off if longer."""

    def __init__(self, message: str, *, delay: timedelta):
        super().__init__(message)
        self.delay = delay


MAX_RETRY_AFTER = timedelta(hours=6)


# ---------------------------------------------------------------- dispatcher


def _retry_delay(attempts: int) -> timedelta:
    base = _setting("DUE_TASK_RETRY_BASE_SECONDS", 60)
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def _reclaim_lost(*, now: datetime, reclaim_after: timedelta) -> int:
    """Claimed rows nobody holds a lock on for too long: their worker or message was lost."""
    with transaction.atomic():
        lost = list(
            DueTask.objects.select_for_update(skip_locked=True)
            .filter(state=State.CLAIMED, for_person=False, claimed_at__lt=now - reclaim_after)
            .values_list("pk", "kind", "attempts")
        )
        if not lost:
            return 0
        exhausted = [
            pk
            for pk, kind, attempts in lost
            if attempts >= (KINDS[kind].max_attempts if kind in KINDS else 1)
        ]
        note = "worker lost or message not delivered"
        move_all(
            DUE_TASK_STATES,
            DueTask.objects.filter(pk__in=exhausted),
            State.FAILED,
            from_=(State.CLAIMED,),
            changes={"last_error": note},
            now=now,
        )
        for task in DueTask.objects.filter(pk__in=exhausted):
            spec = KINDS.get(task.kind)
            if spec is not None and spec.on_failed is not None:
                hook = spec.on_failed
                (import_string(hook) if isinstance(hook, str) else hook)(task)
        move_all(
            DUE_TASK_STATES,
            DueTask.objects.filter(pk__in=[row[0] for row in lost]).exclude(pk__in=exhausted),
            State.PENDING,
            from_=(State.CLAIMED,),
            changes={"last_error": note, "run_after": now},
        )
    logger.warning("due tasks: took back %s lost claims, %s failed", len(lost), len(exhausted))
    return len(lost)


def _mark_missed_calls(now: datetime) -> int:
    missed = 0
    for kind in KINDS.values():
        if kind.for_person and kind.late_cutoff is not None:
            missed += move_all(
                DUE_TASK_STATES,
                DueTask.objects.filter(kind=kind.key, due_at__lt=now - kind.late_cutoff),
                State.MISSED,
                from_=(State.PENDING,),
                now=now,
            )
    return missed


def _enqueue(pks: list[int]) -> list[int]:
    """Hand claimed rows to the workers; rows the broker refused go back to pending.

    Rows travel `DUE_TASK_MESSAGE_SIZE` to a message (`due_tasks_run`), or one
    per message (`due_task_run`) when that is 1. Returns the refused rows.
    """
    due_task_run, due_tasks_run = RUNNERS["one"], RUNNERS["many"]
    size = max(1, _setting("DUE_TASK_MESSAGE_SIZE", 50))
    chunks = [pks[start : start + size] for start in range(0, len(pks), size)]
    sent = 0

    def send(chunk, producer=None):
        if len(chunk) == 1:
            due_task_run.apply_async((chunk[0],), producer=producer)
        else:
            due_tasks_run.apply_async((chunk,), producer=producer)

    try:
        if due_tasks_run.app.conf.task_always_eager:
            for chunk in chunks:
                send(chunk)
                sent += len(chunk)
            return []
        with due_tasks_run.app.producer_or_acquire() as producer:
            for chunk in chunks:
                send(chunk, producer)
                sent += len(chunk)
    except Exception:
        logger.exception("due tasks: broker refused %s tasks; they stay due", len(pks) - sent)
        move_all(
            DUE_TASK_STATES,
            DueTask.objects.filter(pk__in=pks[sent:]),
            State.PENDING,
            from_=(State.CLAIMED,),
            changes={"attempts": F("attempts") - 1, "claimed_at": None},
        )
        return pks[sent:]
    return []


def due_tasks_dispatch(
    *,
    now: datetime | None = None,
    batch_size: int | None = None,
    reclaim_after: timedelta | None = None,
) -> int:
    """Claim every due machine task in batches and enqueue them for the Celery workers.

    Runs every minute from beat. Each batch is claimed with
    `select_for_update(skip_locked=True)`, so dispatchers running at once
    split the rows between them; the enqueue happens after the claim commits.
    Returns the number of rows claimed.
    """
    now = now or timezone.now()
    batch_size = batch_size or _setting("DUE_TASK_BATCH_SIZE", 500)
    if reclaim_after is None:
        reclaim_after = timedelta(seconds=_setting("DUE_TASK_RECLAIM_AFTER_SECONDS", 600))
    _reclaim_lost(now=now, reclaim_after=reclaim_after)
    _mark_missed_calls(now)
    claimed = 0
    refused: list[int] = []
    while not refused:  # with the broker down, stop rather than claim the same rows again
        with transaction.atomic():
            pks = list(
                DueTask.objects.select_for_update(skip_locked=True)
                .filter(state=State.PENDING, for_person=False, run_after__lte=now)
                .order_by("run_after")
                .values_list("pk", flat=True)[:batch_size]
            )
            if not pks:
                break
            move_all(
                DUE_TASK_STATES,
                DueTask.objects.filter(pk__in=pks),
                State.CLAIMED,
                from_=(State.PENDING,),
                changes={"attempts": F("attempts") + 1},
                now=now,
            )
            transaction.on_commit(lambda pks=pks: refused.extend(_enqueue(pks)))
        claimed += len(pks)
        if len(pks) < batch_size:
            break
    claimed -= len(refused)
    if claimed:
        logger.info("due tasks: dispatched %s", claimed)
    return claimed


def due_task_perform(*, task_id: int, now: datetime | None = None) -> str:
    """Perform one claimed machine task, at most once. Returns what happened.

    The row stays locked while the handler runs, so a second delivery of the
    same task waits and then finds it done. Anything not claimed (done,
    cancelled, moved to later) is skipped. The handler's writes and the
    "done" mark commit together or not at all.
    """
    try:
        with transaction.atomic():
            try:
                task = (
                    DueTask.objects.select_for_update(of=("self",))
                    .select_related("customer")
                    .get(pk=task_id, state=State.CLAIMED)
                )
            except DueTask.DoesNotExist:
                return "skipped"
            return _perform_locked(task, now=now or timezone.now())
    except Exception as exc:
        # Everything the handler wrote is rolled back; the failure is recorded on its own.
        return _record_failure(task_id, exc)


def due_tasks_perform(
    *, task_ids: Sequence[int], now: datetime | None = None
) -> tuple[dict[str, int], list[int]]:
    """Perform several claimed machine tasks (one message of the dispatcher's), each at most once.

    Row by row the same as `due_task_perform`, in fewer round trips: the rows are locked
    and read in one query and one commit ends them. A kind with a batch handler performs its
    rows together (`_perform_together`: one read, one write, one done mark for all); any other
    row runs its handler in a savepoint of its own (its writes and its "done" mark stand or fall
    together). A failure rolls back only its row, recorded after the commit as for one row.
    The rows stay locked until the commit, so a second delivery of the message waits and
    finds them done; to keep a person who cancels one of them from waiting long, the commit
    comes at the latest after `DUE_TASK_HOLD_SECONDS` (and the row being sent), and the rows
    not reached are returned to be performed next.
    Returns the outcomes counted ("done", "skipped", ...) and the rows not reached.
    """
    until = time.monotonic() + _setting("DUE_TASK_HOLD_SECONDS", 1.0)
    outcomes: dict[str, int] = {}
    failures: list[tuple[int, Exception]] = []
    not_reached: list[int] = []

    def count(outcome: str) -> None:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1

    with rules_pinned(), transaction.atomic():
        tasks = list(
            DueTask.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(pk__in=task_ids, state=State.CLAIMED)
            .order_by("pk")
        )
        for _skipped in range(len(set(task_ids)) - len(tasks)):
            count("skipped")
        now = now or timezone.now()
        groups = _groups(tasks)
        for position, group in enumerate(groups):
            if position and time.monotonic() > until:
                not_reached += [task.pk for rest in groups[position:] for task in rest]
                break
            spec = KINDS.get(group[0].kind)
            if spec is not None and spec.batch_handler is not None:
                answers, left = _perform_together(spec, group, now=now, until=until)
                not_reached += left
            else:
                answers = {group[0].pk: _perform_alone(group[0], now=now)}
            for task_id, answer in answers.items():
                if isinstance(answer, Exception):
                    failures.append((task_id, answer))
                else:
                    count(answer)
    for task_id, exc in failures:
        count(_record_failure(task_id, exc))
    return outcomes, not_reached


def _groups(tasks: list[DueTask]) -> list[list[DueTask]]:
    """The rows in the order performed: those of a kind with a batch handler together,
    any other alone."""
    together: dict[str, list[DueTask]] = {}
    groups: list[list[DueTask]] = []
    for task in tasks:
        spec = KINDS.get(task.kind)
        if spec is None or spec.batch_handler is None:
            groups.append([task])
        elif task.kind in together:
            together[task.kind].append(task)
        else:
            together[task.kind] = [task]
            groups.append(together[task.kind])
    return groups


def _perform_alone(task: DueTask, *, now: datetime) -> str | Exception:
    """`_perform_locked` in a savepoint: its outcome, or the exception that rolled it back."""
    try:
        with transaction.atomic():
            return _perform_locked(task, now=now)
    except Exception as exc:
        return exc


def _perform_together(
    spec: DueKind, tasks: list[DueTask], *, now: datetime, until: float
) -> tuple[dict[int, str | Exception], list[int]]:
    """Perform claimed rows of one kind with its batch handler; rows past the late cutoff are
    marked missed instead.

    The handler's writes and the rows' done marks (one UPDATE) stand or fall together, in one
    savepoint; a row the handler answers with an exception fails alone. Should the batch fail
    as a whole (a write refused), each row is performed alone, as any other kind's: a message
    the batch had already sent is not sent again (the accepted-marks of `notifications`).
    Returns each row's outcome or exception, and the rows left for lack of time.
    """
    answers: dict[int, str | Exception] = {}
    on_time = []
    for task in tasks:
        if _too_late(spec, task, now):
            answers[task.pk] = _perform_alone(task, now=now)
        else:
            on_time.append(task)
    if not on_time:
        return answers, []
    try:
        with transaction.atomic():
            locked = {task.pk for task in on_time}
            # Only rows this message holds locked are marked, whatever the handler answers.
            results = {
                pk: result
                for pk, result in spec.perform_many(on_time, until=until).items()
                if pk in locked
            }
            _mark_done(
                {pk: result for pk, result in results.items() if not isinstance(result, Exception)}
            )
    except Exception:
        logger.warning(
            "due tasks of %s: performed together failed; one by one now", spec.key, exc_info=True
        )
        for position, task in enumerate(on_time):
            if position and time.monotonic() > until:
                return answers, [task.pk for task in on_time[position:]]
            answers[task.pk] = _perform_alone(task, now=now)
        return answers, []
    for task_id, result in results.items():
        answers[task_id] = result if isinstance(result, Exception) else "done"
    return answers, [task.pk for task in on_time if task.pk not in results]


def _mark_done(results: dict[int, dict | None]) -> None:
    """The done marks of rows performed together: one UPDATE, each row with its own result."""
    if not results:
        return
    result_field = DueTask._meta.get_field("result")
    by_row = ValueByRow({pk: result or {} for pk, result in results.items()}, result_field)
    move_all(
        DUE_TASK_STATES,
        DueTask.objects.filter(pk__in=list(results)),
        State.DONE,
        from_=(State.CLAIMED,),
        # PostgreSQL reads a CASE of parameters as text: cast back to the column's type.
        changes={"result": Cast(by_row, output_field=result_field), "last_error": ""},
    )


class ValueByRow(Expression):
    """`CASE "id" WHEN <pk> THEN <value> … END`: in one UPDATE of many rows, each row's own
    value. `Case(When(pk=…))` builds a lookup per row; this only the parameters."""

    def __init__(self, values: dict[int, Any], output_field: models.Field):
        super().__init__(output_field=output_field)
        self.values = values

    def as_sql(self, compiler, connection):
        column = connection.ops.quote_name(self.output_field.model._meta.pk.column)
        whens = " ".join(["WHEN %s THEN %s"] * len(self.values))
        params = [
            param
            for pk, value in self.values.items()
            for param in (pk, self.output_field.get_db_prep_save(value, connection))
        ]
        return f"CASE {column} {whens} END", params


def _too_late(spec: DueKind, task: DueTask, now: datetime) -> bool:
    return spec.late_cutoff is not None and now > task.due_at + spec.late_cutoff


def _perform_locked(task: DueTask, *, now: datetime) -> str:
    """Perform a claimed task whose row the caller holds locked, or mark it missed if too late.

    What the handler raises propagates: the caller rolls back and records the failure.
    """
    spec = kind_get(task.kind)
    if _too_late(spec, task, now):
        late = f"too late: due {task.due_at.isoformat()}, late cutoff {spec.late_cutoff}"
        move(DUE_TASK_STATES, task, State.MISSED, now=now, changes={"last_error": late})
        return "missed"
    token = _running.set(task)
    try:
        result = spec.perform(task)
    finally:
        _running.reset(token)
    move(DUE_TASK_STATES, task, State.DONE, changes={"result": result or {}, "last_error": ""})
    return "done"


def due_task_perform_now(task_id: int) -> str:
    """Perform a pending machine task at once, e.g. right after the commit that scheduled it.

    Claims the row the way the dispatcher does (one attempt), so the two never both take it;
    a failure retries from the row as usual. Never raises: the caller's work is committed.
    """
    try:
        claimed = move_all(
            DUE_TASK_STATES,
            DueTask.objects.filter(pk=task_id, for_person=False),
            State.CLAIMED,
            from_=(State.PENDING,),
            changes={"attempts": F("attempts") + 1},
        )
        if not claimed:
            return "skipped"  # the dispatcher has it, or it was cancelled
        return due_task_perform(task_id=task_id)
    except Exception:
        logger.exception("due task %s: immediate run failed; the dispatcher will take it", task_id)
        return "deferred"


def _record_failure(task_id: int, exc: Exception) -> str:
    with transaction.atomic():
        task = DueTask.objects.select_for_update().filter(pk=task_id).first()
        if task is None or task.state != State.CLAIMED:
            return "skipped"  # another delivery finished it in the meantime
        spec = KINDS.get(task.kind)
        error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        given_up = isinstance(exc, TaskGivenUp)
        if given_up or task.attempts >= (spec.max_attempts if spec else 1):
            changes = {"last_error": error, **({"result": exc.result} if given_up else {})}
            move(DUE_TASK_STATES, task, State.FAILED, changes=changes)
            if spec is not None and spec.on_failed is not None:
                hook = spec.on_failed
                (import_string(hook) if isinstance(hook, str) else hook)(task)
            logger.error("due task %s failed for good: %s", task.pk, error)
            return State.FAILED
        delay = _retry_delay(task.attempts)
        if isinstance(exc, TaskRetryAfter):
            delay = max(delay, min(exc.delay, MAX_RETRY_AFTER))
        retry_at = timezone.now() + delay
        move(
            DUE_TASK_STATES,
            task,
            State.PENDING,
            changes={"last_error": error, "run_after": retry_at},
        )
        logger.warning("due task %s will retry: %s", task.pk, error)
        return "retry"


# ---------------------------------------------------------------- reads for the pages


def _end_of_today(now: datetime) -> datetime:
    local = timezone.localtime(now)
    return local.replace(hour=23, minute=59, second=59, microsecond=999999)


def due_queue(*, user: User, role: str | None = None, now: datetime | None = None, limit=200):
    """Open calls due by the end of today for the user's roles (or one role), oldest first.

    Overdue calls come first because they are due earliest. A call assigned to
    one person shows only on that person's list (and the managers').
    """
    now = now or timezone.now()
    tasks = DueTask.objects.filter(
        for_person=True, state=State.PENDING, due_at__lte=_end_of_today(now)
    )
    if role:
        tasks = tasks.filter(role=role)
    if not sees_every_call(user):
        tasks = tasks.filter(
            Q(role__in=user_roles(user), assigned_to__isnull=True) | Q(assigned_to=user)
        )
    rows = list(
        tasks.select_related("customer", "assigned_to", "subject_type").order_by("due_at", "id")[
            :limit
        ]
    )
    _prefetch_subjects(rows)
    return rows


# What a subject's name shows (`Visit.__str__` is its number and the car's plate): loaded
# with the subject, in its one query.
SUBJECT_NAME_RELATIONS = (("vehicle", "vehicle"), ("visit", "visit__vehicle"))


def subjects_from_customers(tasks: list[DueTask]) -> None:
    """A call about the customer themself (a lost-customer call) has the customer loaded
    with the task (`select_related`) as its subject: it is not read a second time."""
    customer_type_id = ContentType.objects.get_for_model(Customer).pk
    subject, customer = DueTask._meta.get_field("subject"), DueTask._meta.get_field("customer")
    for task in tasks:
        if (
            task.subject_type_id == customer_type_id
            and task.subject_id == task.customer_id
            and customer.is_cached(task)
        ):
            subject.set_cached_value(task, task.customer)


def _prefetch_subjects(tasks: list[DueTask]) -> None:
    """Each task's subject and the car its name shows: one query per kind of subject."""
    subjects_from_customers(tasks)
    querysets = []
    for model in {task.subject_type.model_class() for task in tasks} - {None}:
        fields = {f.name for f in model._meta.concrete_fields if f.many_to_one or f.one_to_one}
        related = [lookup for name, lookup in SUBJECT_NAME_RELATIONS if name in fields]
        querysets.append(model._base_manager.select_related(*related))
    if querysets:
        prefetch_related_objects(tasks, GenericPrefetch("subject", querysets))


@dataclass
class OpsSummary:
    totals: dict
    by_kind: list[dict]
    failed: list[DueTask]
    overdue: list[DueTask]
    missed: list[DueTask]
    last_dispatch: datetime | None
    since: datetime


def due_ops_summary(*, now: datetime | None = None, days: int = 7, limit: int = 50) -> OpsSummary:
    """Counts per kind and state plus the rows a manager acts on; a fixed number of queries."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    recent = DueTask.objects.filter(
        Q(state__in=(State.PENDING, State.CLAIMED, State.FAILED)) | Q(finished_at__gte=since)
    )
    counters = {
        "upcoming": Count("id", filter=Q(state=State.PENDING, due_at__gte=now)),
        "overdue": Count("id", filter=Q(state__in=OPEN_STATES, due_at__lt=now)),
        "claimed": Count("id", filter=Q(state=State.CLAIMED)),
        "failed": Count("id", filter=Q(state=State.FAILED)),
        "missed": Count("id", filter=Q(state=State.MISSED)),
        "done": Count("id", filter=Q(state=State.DONE)),
        "cancelled": Count("id", filter=Q(state=State.CANCELLED)),
    }
    by_kind = list(recent.values("kind").annotate(**counters).order_by("kind"))
    for row in by_kind:
        row["label"] = kind_label(row["kind"])
        row["for_person"] = bool(KINDS.get(row["kind"]) and KINDS[row["kind"]].for_person)
    totals = {name: sum(row[name] for row in by_kind) for name in counters}

    def rows(queryset, order):
        return list(
            queryset.select_related("customer", "subject_type", "completed_by")
            .prefetch_related("subject")
            .order_by(*order)[:limit]
        )

    last_run = (
        PeriodicTask.objects.filter(task="dealership.dispatch_due_tasks")
        .values_list("last_run_at", flat=True)
        .first()
    )
    return OpsSummary(
        totals=totals,
        by_kind=by_kind,
        failed=rows(DueTask.objects.filter(state=State.FAILED), ["-finished_at", "-id"]),
        overdue=rows(
            DueTask.objects.filter(state__in=OPEN_STATES, due_at__lt=now), ["due_at", "id"]
        ),
        missed=rows(
            DueTask.objects.filter(state=State.MISSED, finished_at__gte=since),
            ["-due_at", "-id"],
        ),
        last_dispatch=last_run,
        since=since,
    )
