"""The workshop's timed duties, through the store's due-task table (`dealership.due`).

Promise watch (DOMAIN step 4): when the first job is dispatched the visit gets a
`PromiseWatch`; on it hang
- the advisor's progress check at `workshop.progress_check_percent` (80 %) of the
  planned time (dispatch → promise), a call on the advisor's list;
- promise checks (machine): `workshop.promise_alert_minutes` (30) before the
  promise, and for a promise on a later day also the day before at
  `workshop.promise_alert_day_before_hour`. A check that projects a miss puts a
  promise alert on the advisor's list; the advisor records the new time and the
  reason given to the customer (`services.promise_move`), and the customer gets
  a message (`workshop.promise_notice`).
Additional work: a call for the visit's advisor (`workshop.addition_call`) and the
message carrying the customer's approval link (`workshop.addition_link`).
"""

from datetime import datetime, timedelta

from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from dealership.due import (
    due_task_complete,
    due_task_schedule,
    due_tasks_cancel_for,
    register_kind,
)
from dealership.errors import DomainError
from dealership.models import DueTask, DueTaskState
from dealership.notifications import notify
from dealership.roles import Role
from dealership.rules import rule
from dealership.stored_text import stored_text
from dealership.urltools import absolute_url
from reception.models import Visit
from reception.states import VisitStatus

from .models import Addition, PromiseWatch
from .selectors import projected_finish
from .texts import plate_of

ADDITION_CALL = "workshop.addition_call"
ADDITION_LINK = "workshop.addition_link"
PROGRESS_CHECK = "workshop.progress_check"
PROMISE_CHECK = "workshop.promise_check"
PROMISE_ALERT = "workshop.promise_alert"
PROMISE_NOTICE = "workshop.promise_notice"

# Codes of the notes on the advisor's calls (rendered in the reader's language).
ADDITION_NOTE = "workshop.addition_note"
PROMISE_NOTE = "workshop.promise_note"

SAME_DAY = "same_day"
DAY_BEFORE = "day_before"

ADDITION_CALL_OUTCOMES = (
    ("answered", _("Answer recorded on the additional work")),
    ("not_reached", _("Could not reach the customer")),
    ("not_needed", _("Not needed any more")),
)
PROGRESS_OUTCOMES = (
    ("on_track", _("On track")),
    ("delay_expected", _("Delay expected: new time given to the customer")),
)
PROMISE_ALERT_OUTCOMES = (
    ("moved", _("New time given to the customer")),
    ("on_time", _("Will be on time after all")),
    ("not_reached", _("Could not reach the customer")),
)


# Outcomes that a service records when the work is done (the customer's answer on the
# additional work, the new promised time); the generic due queue refuses them.
RECORDED_ELSEWHERE = {
    ADDITION_CALL: {
        "answered": _(
            "Record the customer's answer on the additional work; the call is then closed."
        )
    },
    PROMISE_ALERT: {
        "moved": _("Enter the new promised time on the visit; the call is then closed.")
    },
}


def record_call(*, task: DueTask, actor, outcome: str, note: str = "") -> DueTask:
    """The generic queue's way to record a workshop call (see `RECORDED_ELSEWHERE`)."""
    message = RECORDED_ELSEWHERE.get(task.kind, {}).get(outcome)
    if message:
        raise DomainError(str(message), field="outcome", code="recorded_elsewhere")
    return due_task_complete(
        task=task, actor=actor, outcome=outcome, result={"note": note} if note else {}
    )


def register_kinds() -> None:
    """Called from WorkshopConfig.ready()."""
    for kind, label, handler, late_hours in (
        (
            ADDITION_LINK,
            _("Additional-work approval link to the customer"),
            "send_addition_link",
            4,
        ),
        (PROMISE_CHECK, _("Promise check"), "check_promise", 2),
        (PROMISE_NOTICE, _("New promised time to the customer"), "send_promise_notice", 6),
    ):
        register_kind(
            kind,
            label=label,
            handler=f"workshop.duties.{handler}",
            late_cutoff=timedelta(hours=late_hours),
        )
    for kind, label, outcomes, recorder in (
        (
            ADDITION_CALL,
            _("Call the customer about additional work"),
            ADDITION_CALL_OUTCOMES,
            "workshop.duties.record_call",
        ),
        (
            PROGRESS_CHECK,
            _("Progress check at 80 percent of the planned time"),
            PROGRESS_OUTCOMES,
            None,
        ),
        (
            PROMISE_ALERT,
            _("Promise at risk: tell the customer a new time"),
            PROMISE_ALERT_OUTCOMES,
            "workshop.duties.record_call",
        ),
    ):
        register_kind(kind, label=label, role=Role.ADVISOR, outcomes=outcomes, recorder=recorder)


def _local(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "Y-m-d H:i")


def addition_link_url(token: str, base_url: str = "") -> str:
    return absolute_url(reverse("workshop:approve", kwargs={"token": token}), base_url)


# ---------------------------------------------------------------- scheduling


def promise_check_times(*, planned_from: datetime, promised_at: datetime) -> dict[str, datetime]:
    """When the promise is checked: 30 min before, and the day before for a later-day promise."""
    times = {
        SAME_DAY: promised_at - timedelta(minutes=rule("workshop.promise_alert_minutes")),
    }
    promised_local = timezone.localtime(promised_at)
    if promised_local.date() > timezone.localtime(planned_from).date():
        day_before = promised_local - timedelta(days=1)
        times[DAY_BEFORE] = day_before.replace(
            hour=rule("workshop.promise_alert_day_before_hour"), minute=0, second=0, microsecond=0
        )
    return times


def watch_schedule(*, visit: Visit, now: datetime | None = None) -> PromiseWatch | None:
    """Start (or move) the visit's promise watch; call inside the transaction that causes it."""
    now = now or timezone.now()
    watch, _created = PromiseWatch.objects.get_or_create(
        visit=visit, defaults={"planned_from": visit.dispatched_at or now}
    )
    if visit.promised_at is None:
        return watch
    planned = visit.promised_at - watch.planned_from
    share = rule("workshop.progress_check_percent") / 100
    progress_at = max(watch.planned_from + planned * share, now)
    due_task_schedule(
        kind=PROGRESS_CHECK,
        subject=watch,
        due_at=progress_at,
        customer=visit.customer,
        assigned_to=visit.advisor,
        payload=_promise_note(visit),
    )
    checks = promise_check_times(planned_from=watch.planned_from, promised_at=visit.promised_at)
    for slot, due_at in checks.items():
        due_task_schedule(kind=PROMISE_CHECK, subject=watch, slot=slot, due_at=max(due_at, now))
    if DAY_BEFORE not in checks:
        # The promise moved to the same day: the day-before check has no day left to run on.
        DueTask.objects.filter(
            kind=PROMISE_CHECK,
            subject_type=ContentType.objects.get_for_model(PromiseWatch),
            subject_id=watch.pk,
            slot=DAY_BEFORE,
            state=DueTaskState.PENDING,
        ).update(state=DueTaskState.CANCELLED, finished_at=now)
    return watch


def _promise_note(visit: Visit, projected: datetime | None = None) -> dict:
    """The note of a progress check or promise alert, as a code and its parameters."""
    params = {
        "plate": plate_of(visit),
        "number": visit.number,
        "promised": visit.promised_at.isoformat(),
    }
    if projected is not None:
        params["projected"] = projected.isoformat()
    return {"note_code": PROMISE_NOTE, "note_params": params}


@stored_text(PROMISE_NOTE)
def _render_promise_note(params: dict) -> str:
    parts = [
        params["plate"],
        params["number"],
        _("promised %(when)s") % {"when": _local(datetime.fromisoformat(params["promised"]))},
    ]
    if params.get("projected"):
        when = _local(datetime.fromisoformat(params["projected"]))
        parts.append(_("projected %(when)s") % {"when": when})
    return " · ".join(str(part) for part in parts)


@stored_text(ADDITION_NOTE)
def _render_addition_note(params: dict) -> str:
    text = f"{params['plate']} · {params['title']} · ¥{params['price']} · +{params['minutes']} min"
    if params.get("safety"):
        text += " [{}]".format(_("safety-related"))
    return text


def watch_work_done(*, visit: Visit) -> None:
    """The work is done: the advisor's progress check has nothing left to check."""
    watch = PromiseWatch.objects.filter(visit=visit).first()
    if watch is not None:
        due_tasks_cancel_for(watch, kinds=[PROGRESS_CHECK])


def watch_stop(*, visit: Visit) -> None:
    """The car passed QC: no more progress checks or promise checks."""
    watch = PromiseWatch.objects.filter(visit=visit).first()
    if watch is not None:
        due_tasks_cancel_for(watch, kinds=[PROGRESS_CHECK, PROMISE_CHECK])


# ---------------------------------------------------------------- handlers


def send_addition_link(task: DueTask) -> dict:
    """`workshop.addition_link`: the customer's link to see and answer the additional work."""
    addition = Addition.objects.select_related("visit__customer", "visit__vehicle").get(
        pk=task.subject_id
    )
    if not addition.is_open:
        return {"skipped": addition.status}
    visit = addition.visit
    message = notify(
        customer=visit.customer,
        template="workshop_addition_link",
        context={
            "addition": addition,
            "plate": plate_of(visit),
            "link": task.payload.get("url", ""),
        },
        subject=addition,
        vehicle=visit.vehicle,
    )
    return {"message": message.pk}


def check_promise(task: DueTask) -> dict:
    """`workshop.promise_check`: projected to miss the promise → alert the advisor."""
    watch = PromiseWatch.objects.select_related(
        "visit__customer", "visit__vehicle", "visit__advisor"
    ).get(pk=task.subject_id)
    visit = watch.visit
    working = {
        VisitStatus.DISPATCHED,
        VisitStatus.IN_PROGRESS,
        VisitStatus.ON_HOLD,
        VisitStatus.REWORK,
        VisitStatus.QC_FAILED,
        VisitStatus.WORK_DONE,
    }
    if visit.status not in working or visit.promised_at is None:
        return {"skipped": visit.status}
    projected = projected_finish(visit)
    if projected <= visit.promised_at:
        return {"on_time": True, "projected": projected.isoformat()}
    due_task_schedule(
        kind=PROMISE_ALERT,
        subject=watch,
        slot=task.slot,
        due_at=timezone.now(),
        customer=visit.customer,
        assigned_to=visit.advisor,
        payload={**_promise_note(visit, projected), "projected": projected.isoformat()},
    )
    return {"alerted": True, "projected": projected.isoformat()}


def send_promise_notice(task: DueTask) -> dict:
    """`workshop.promise_notice`: tell the customer the new time and the reason."""
    visit = Visit.objects.select_related("customer", "vehicle").get(pk=task.subject_id)
    promised = datetime.fromisoformat(task.payload["promised_at"])
    context = {
        "plate": plate_of(visit),
        "when": _local(promised),
        "reason": task.payload.get("reason", ""),
    }
    template = "workshop_promise_moved"
    addition = Addition.objects.filter(pk=task.payload.get("addition") or 0).first()
    if addition is not None:
        # The customer approved additional work: thank them and give the new time.
        template = "workshop_addition_promise"
        previous = task.payload.get("previous")
        context.update(
            title=addition.title,
            before=_local(datetime.fromisoformat(previous)) if previous else "",
        )
    message = notify(
        customer=visit.customer,
        template=template,
        context=context,
        subject=visit,
        vehicle=visit.vehicle,
    )
    return {"message": message.pk}
