"""Progress messages to the customer while the car is in (issue 19 item 4).

DOMAIN.md step 4: "Progress reported to the customer at least once (seed 003: every 2 h)".
One due-task kind, `reception.progress_push`, on the visit:

- check-in schedules the first message `reception.progress_push_hours` (2) after it;
- each message schedules the next one N hours later, so the chain runs while the car is in;
- a slot that falls outside the opening hours moves to the next opening;
- when the promise moves the customer is told at once (the workshop's promise notice) and
  the clock restarts from then (`progress_push_restart`);
- nothing goes once the car is ready (the ready notice takes over), settled, delivered or
  cancelled: the transition cancels the pending slot and the handler re-checks the status;
- each slot is a row unique per visit and slot time, so a slot is never sent twice.

N = 0 switches the messages off. The message names the stage in words, the promised time and
the customer's progress link (`visit_progress_token`).
"""

from datetime import datetime, timedelta

from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from appointments.capacity import local_datetime, openings
from dealership.due import due_task_schedule, due_tasks_cancel_for, register_kind
from dealership.links import customer_link_create
from dealership.models import DueTask, User
from dealership.notifications import notify
from dealership.rules import rule
from dealership.urltools import absolute_url

from .models import Visit
from .states import OPEN_STATUSES, VisitStatus, customer_stage

PROGRESS_PURPOSE = "visit_progress"
PROGRESS_PUSH = "reception.progress_push"
TEMPLATE = "reception_progress"

# While the car is in the work: from check-in until it is ready (the ready notice then says so).
PUSH_STATUSES = OPEN_STATUSES - {VisitStatus.READY_FOR_PICKUP}
# How far ahead the next opening is looked for (a store closed longer than this is not open).
OPENING_LOOKAHEAD_DAYS = 14


def register_kinds() -> None:
    """Called from ReceptionConfig.ready()."""
    register_kind(
        PROGRESS_PUSH,
        label=_("Progress message to the customer"),
        handler="reception.progress_push.progress_push_send",
        max_attempts=4,
        on_failed="reception.progress_push.progress_push_failed",
    )


def visit_progress_token(*, visit: Visit, actor: User | None) -> str:
    """The customer's signed progress link for this visit (made once, kept on the visit)."""
    if visit.progress_token:
        return visit.progress_token
    token = customer_link_create(
        obj=visit,
        purpose=PROGRESS_PURPOSE,
        customer=visit.customer,
        max_age=timedelta(days=rule("reception.progress_link_days")),
        actor=actor,
    )
    Visit.objects.filter(pk=visit.pk).update(progress_token=token)
    visit.progress_token = token
    return token


def next_open_moment(moment: datetime) -> datetime:
    """`moment` if the store is open then, else the next opening (holidays and closed days
    skipped); `moment` itself when no opening comes within two weeks."""
    local = timezone.localtime(moment)
    first = local.date()
    for day, (opens, closes, _holiday) in sorted(
        openings(first, first + timedelta(days=OPENING_LOOKAHEAD_DAYS)).items()
    ):
        if opens is None:
            continue
        start, end = local_datetime(day, opens), local_datetime(day, closes)
        if moment < start:
            return start
        if moment < end:
            return moment
    return moment


def _schedule_at(visit: Visit, due_at: datetime) -> DueTask:
    # The slot is the due time: one row per visit and time, so a slot is sent at most once.
    return due_task_schedule(
        kind=PROGRESS_PUSH,
        subject=visit,
        slot=str(int(due_at.timestamp())),
        due_at=due_at,
        customer=visit.customer,
    )


def progress_push_schedule(*, visit: Visit, after: datetime) -> DueTask | None:
    """Schedule the visit's next progress message N hours after `after` (in opening hours).

    Call inside the transaction of the event (check-in, a message sent). None when off.
    """
    hours = rule("reception.progress_push_hours")
    if not hours or visit.status not in PUSH_STATUSES:
        return None
    return _schedule_at(visit, next_open_moment(after + timedelta(hours=hours)))


def progress_push_stop(*, visit: Visit) -> int:
    """The car is ready, gone or cancelled: its pending progress message is cancelled."""
    return due_tasks_cancel_for(visit, kinds=[PROGRESS_PUSH])


def progress_push_restart(*, visit: Visit, now: datetime | None = None) -> DueTask | None:
    """The promise moved and the customer was told at once: the N-hour clock starts again."""
    with transaction.atomic():
        progress_push_stop(visit=visit)
        return progress_push_schedule(visit=visit, after=now or timezone.now())


def progress_url(visit: Visit) -> str:
    token = visit_progress_token(visit=visit, actor=None)
    return absolute_url(reverse("reception:progress", kwargs={"token": token}))


def progress_push_send(task: DueTask) -> dict:
    """`reception.progress_push`: tell the customer where the car is, then book the next slot.

    Re-checked at send time: a car that is ready, gone or cancelled, or the rule switched
    off, gets nothing and the chain ends; a slot run after closing time (a late worker)
    sends nothing at night and moves to the next opening.
    """
    visit = Visit.objects.select_related("customer", "vehicle").get(pk=task.subject_id)
    if visit.status not in PUSH_STATUSES:
        return {"skipped": visit.status}
    if not rule("reception.progress_push_hours"):
        return {"skipped": "off"}
    now = timezone.now()
    opening = next_open_moment(now)
    if opening > now:
        _schedule_at(visit, opening)
        return {"deferred_to": opening.isoformat()}
    _stage, words = customer_stage(visit.status)
    message = notify(
        customer=visit.customer,
        template=TEMPLATE,
        context={
            "visit": visit,
            "plate": visit.vehicle.plate or visit.vehicle.vin,
            "stage": words,
            "promised": (
                formats.date_format(timezone.localtime(visit.promised_at), "m-d H:i")
                if visit.promised_at
                else ""
            ),
            "link": progress_url(visit),
        },
        subject=visit,
        vehicle=visit.vehicle,
    )
    upcoming = progress_push_schedule(visit=visit, after=now)
    return {"message": message.pk, "next": upcoming.due_at.isoformat() if upcoming else None}


def progress_push_failed(task: DueTask) -> None:
    """A slot that could not be sent after its attempts: the chain goes on with the next one."""
    visit = Visit.objects.filter(pk=task.subject_id).first()
    if visit is not None:
        progress_push_schedule(visit=visit, after=timezone.now())
