"""The timed duties of an appointment, through the store's due-task table (`dealership.due`).

Machine duties: reminders (72 h / 24 h / 1 h before, each a rule), the parts check
(N-1) and the no-show check (slot end + grace). Person duties (calls on a work
queue): the confirmation call (N-3), the parts alert, the no-show rebooking call
and the maintenance invitation (N-15, for customer care).

`schedule_for(appointment)` is idempotent and is called again after a reschedule,
which moves every duty; `cancel_for` cancels them.
"""

from datetime import datetime, timedelta
from uuid import uuid4

from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from dealership.consent import Purpose, consent_allows, consent_allows_many, consent_gate_kinds
from dealership.due import (
    due_task_perform_now,
    due_task_schedule,
    due_tasks_cancel_for,
    register_kind,
)
from dealership.notifications import Notice, notify, notify_due_tasks
from dealership.roles import Role
from dealership.rules import rule
from dealership.urltools import absolute_url

from .models import Appointment, Campaign, Channel, StockStatus

REMINDERS = (
    # kind, rule with the hours before, late cutoff
    ("appointments.reminder_first", "appointments.reminder_first_hours", timedelta(hours=12)),
    ("appointments.reminder_second", "appointments.reminder_second_hours", timedelta(hours=4)),
    ("appointments.reminder_last", "appointments.reminder_last_hours", timedelta(minutes=30)),
)
CONFIRM_CALL = "appointments.confirm_call"
PARTS_CHECK = "appointments.parts_check"
PARTS_ALERT = "appointments.parts_alert"
NO_SHOW_CHECK = "appointments.no_show_check"
REBOOK_CALL = "appointments.rebook_call"
INVITATION_CALL = "appointments.invitation_call"
NOTICE = "appointments.notice"
CAMPAIGN_MESSAGE = "appointments.campaign_message"

CALL_KINDS = (CONFIRM_CALL, PARTS_ALERT, REBOOK_CALL, INVITATION_CALL)

CONFIRM_OUTCOMES = (
    ("confirmed", _("Confirmed")),
    ("rescheduled", _("Rescheduled")),
    ("cancelled", _("Cancelled")),
    ("unreachable", _("Unreachable")),
)
REBOOK_OUTCOMES = (
    ("rebooked", _("Rebooked")),
    ("declined", _("Does not want a new appointment")),
    ("unreachable", _("Unreachable")),
)
PARTS_OUTCOMES = (
    ("arrived", _("Parts arrived")),
    ("customer_told", _("Customer told about the delay")),
    ("rescheduled", _("Appointment moved")),
)
INVITATION_OUTCOMES = (
    ("booked", _("Booked an appointment")),
    ("later", _("Will come later")),
    ("declined", _("Not interested")),
    ("unreachable", _("Unreachable")),
)

# Outcomes recorded by choosing a new time (moving, rebooking or booking), not by a button.
OUTCOMES_NEEDING_A_TIME = {
    CONFIRM_CALL: {"rescheduled"},
    PARTS_ALERT: {"rescheduled"},
    REBOOK_CALL: {"rebooked"},
    INVITATION_CALL: {"booked"},
}


# The generic due queue records these calls through the appointment's service (a
# "cancelled" confirmation call cancels the booking), never around it.
RECORDER = "appointments.services.call_record"


def register_kinds() -> None:
    """Called from AppointmentsConfig.ready()."""
    labels = (_("Reminder 72 h before"), _("Reminder 24 h before"), _("Reminder 1 h before"))
    for (kind, _rule, cutoff), label in zip(REMINDERS, labels, strict=True):
        register_kind(
            kind,
            label=label,
            batch_handler="appointments.duties.send_reminders",
            late_cutoff=cutoff,
        )
    for kind, label, handler, late_cutoff in (
        (NOTICE, _("Message about a booking"), "appointments.duties.send_notice", None),
        (
            PARTS_CHECK,
            _("Parts ready check for an appointment"),
            "appointments.duties.check_parts",
            timedelta(hours=20),
        ),
        (
            NO_SHOW_CHECK,
            _("No-show check"),
            "appointments.services.appointment_no_show_check",
            None,
        ),
    ):
        register_kind(kind, label=label, handler=handler, late_cutoff=late_cutoff)
    for kind, label, role, outcomes in (
        (CONFIRM_CALL, _("Appointment confirmation call"), Role.ADVISOR, CONFIRM_OUTCOMES),
        (
            PARTS_ALERT,
            _("Ordered parts not arrived for an appointment"),
            Role.ADVISOR,
            PARTS_OUTCOMES,
        ),
        (REBOOK_CALL, _("No-show rebooking call"), Role.ADVISOR, REBOOK_OUTCOMES),
        (
            INVITATION_CALL,
            _("Maintenance invitation call"),
            Role.CUSTOMER_CARE,
            INVITATION_OUTCOMES,
        ),
    ):
        register_kind(kind, label=label, role=role, outcomes=outcomes, recorder=RECORDER)
    register_kind(
        CAMPAIGN_MESSAGE,
        label=_("Campaign message"),
        handler="appointments.duties.send_campaign_message",
        late_cutoff=timedelta(days=3),
    )
    # What a withdrawal of consent cancels (dealership.consent).
    consent_gate_kinds(Purpose.SERVICE, *(kind for kind, _r, _c in REMINDERS), CONFIRM_CALL)
    consent_gate_kinds(Purpose.REMINDERS, INVITATION_CALL)
    consent_gate_kinds(Purpose.MARKETING, CAMPAIGN_MESSAGE)


def _calls_allowed(appointment) -> bool:
    return not appointment.customer.do_not_call


def schedule_for(appointment) -> None:
    """(Re)schedule every duty of an open appointment; duties already past are cancelled."""
    now = timezone.now()
    start = appointment.start
    stale = []
    for kind, hours_rule, _cutoff in REMINDERS:
        hours = rule(hours_rule)
        due_at = start - timedelta(hours=hours)
        if hours and due_at > now:
            due_task_schedule(
                kind=kind, subject=appointment, due_at=due_at, customer=appointment.customer
            )
        else:
            stale.append(kind)
    # One call per arrival date (slot): a call already made for an earlier date keeps its
    # outcome; a pending one is cancelled and the new date gets its own.
    due_tasks_cancel_for(appointment, kinds=[CONFIRM_CALL])
    confirm_at = start - timedelta(days=rule("appointments.confirm_call_days"))
    if confirm_at <= now and appointment.channel == Channel.WEB and start > now:
        # Booked online at short notice: the advisor calls now (from the booking time, so
        # scheduling again leaves a call already made as it is).
        confirm_at = max(confirm_at, appointment.created_at)
    if (
        (confirm_at > now or appointment.channel == Channel.WEB)
        and start > now
        and _calls_allowed(appointment)
        and appointment.status == "booked"
    ):
        due_task_schedule(
            kind=CONFIRM_CALL,
            subject=appointment,
            slot=_date_slot(appointment),
            due_at=confirm_at,
            customer=appointment.customer,
            assigned_to=appointment.advisor,
        )
    if appointment.lines.filter(stock_status=StockStatus.TO_ORDER).exists():
        check_at = start - timedelta(days=rule("appointments.parts_check_days"))
        due_task_schedule(
            kind=PARTS_CHECK,
            subject=appointment,
            due_at=max(check_at, now),
            customer=appointment.customer,
        )
    else:
        stale.append(PARTS_CHECK)
    due_task_schedule(
        kind=NO_SHOW_CHECK,
        subject=appointment,
        due_at=no_show_due_at(appointment),
        customer=appointment.customer,
    )
    due_tasks_cancel_for(appointment, kinds=stale)


def _date_slot(appointment) -> str:
    return timezone.localtime(appointment.start).date().isoformat()


def no_show_due_at(appointment) -> datetime:
    return appointment.start + timedelta(
        minutes=rule("appointments.slot_minutes") + rule("appointments.no_show_grace_minutes")
    )


def cancel_for(appointment, kinds=None) -> int:
    return due_tasks_cancel_for(appointment, kinds=kinds)


def schedule_rebooking_call(appointment) -> None:
    if _calls_allowed(appointment):
        due_task_schedule(
            kind=REBOOK_CALL,
            subject=appointment,
            due_at=timezone.now(),
            customer=appointment.customer,
            assigned_to=appointment.advisor,
        )


def link_url(token: str, base_url: str = "") -> str:
    return absolute_url(reverse("appointments:manage", kwargs={"token": token}), base_url)


def _context(appointment) -> dict:
    local = timezone.localtime(appointment.start)
    return {
        "appointment": appointment,
        "when": formats.date_format(local, "Y-m-d H:i"),
        "plate": appointment.vehicle.plate or appointment.vehicle.vin,
    }


def notify_on_commit(appointment, template: str, **context) -> None:
    """Send `template` to the customer once the booking transaction has committed.

    The message is a due task written in the booking's transaction and performed right after
    the commit, so a send that fails (provider down, worker gone) is retried by the dispatcher
    and shows on the ops page instead of being lost.
    """
    task = due_task_schedule(
        kind=NOTICE,
        subject=appointment,
        slot=f"{template.removeprefix('appointment_')}:{uuid4().hex[:16]}",
        due_at=timezone.now(),
        customer=appointment.customer,
        payload={"template": template, "context": context},
    )
    transaction.on_commit(lambda: due_task_perform_now(task.pk))


# --- handlers (run by the due-task worker) -----------------------------------------------


def _appointment(task):
    return Appointment.objects.select_related("customer", "vehicle").get(pk=task.subject_id)


def send_reminders(tasks: list, *, until: float | None = None) -> dict:
    """Remind each customer of an open appointment by their channel (unless they withdrew
    consent to service messages), a batch handler: the appointments and the consents read
    once for the batch, after the rows were locked."""
    appointments = Appointment.objects.select_related("customer", "vehicle").in_bulk(
        {task.subject_id for task in tasks}
    )
    allowed = consent_allows_many(
        (appointment.customer_id, Purpose.SERVICE) for appointment in appointments.values()
    )
    answers: dict = {}
    notices = {}
    for task in tasks:
        appointment = appointments.get(task.subject_id)
        if appointment is None:
            answers[task.pk] = Appointment.DoesNotExist(f"appointment {task.subject_id} is gone")
        elif not appointment.is_open:
            answers[task.pk] = {"skipped": appointment.status}
        elif (appointment.customer_id, Purpose.SERVICE) not in allowed:
            answers[task.pk] = {"skipped": "no_consent"}
        else:
            notices[task.pk] = Notice(
                customer=appointment.customer,
                template="appointment_reminder",
                context=_context(appointment),
                subject=appointment,
                vehicle=appointment.vehicle,
                due_task=task,
            )
    return answers | notify_due_tasks(notices, until=until)


def send_notice(task) -> dict:
    """A booking / move / cancel message; one about an appointment no longer open is dropped."""
    appointment = _appointment(task)
    template = task.payload["template"]
    if template != "appointment_cancelled" and not appointment.is_open:
        return {"skipped": appointment.status}
    message = notify(
        customer=appointment.customer,
        template=template,
        context={**_context(appointment), **task.payload.get("context", {})},
        subject=appointment,
        vehicle=appointment.vehicle,
    )
    return {"message": message.pk}


def check_parts(task) -> dict:
    """N-1: parts still on order put an alert call on the advisor's list."""
    appointment = _appointment(task)
    if not appointment.is_open:
        return {"skipped": appointment.status}
    missing = appointment.lines.filter(stock_status=StockStatus.TO_ORDER).count()
    if missing:
        due_task_schedule(
            kind=PARTS_ALERT,
            subject=appointment,
            slot=_date_slot(appointment),
            due_at=timezone.now(),
            customer=appointment.customer,
            assigned_to=appointment.advisor,
            payload={"missing": missing},
        )
    return {"missing": missing}


def send_campaign_message(task) -> dict:
    """A campaign's message to one vehicle's owner, if they still allow its purpose now."""
    campaign = Campaign.objects.get(pk=task.payload["campaign"])
    vehicle = task.subject
    purpose = task.payload.get("purpose", Purpose.MARKETING)
    if not campaign.active:
        return {"skipped": "closed"}
    if not consent_allows(vehicle.owner, purpose):
        return {"skipped": "no_consent"}
    message = notify(
        customer=vehicle.owner,
        template="campaign_message",
        context={"campaign": campaign, "plate": vehicle.plate or vehicle.vin},
        subject=vehicle,
        vehicle=vehicle,
    )
    return {"message": message.pk}
