"""Every write of step 1: booking, rescheduling, the status moves, deposits, store settings.

Lock order, the same in every service so two of them never deadlock:
vehicle row → day rows (`DayLock`, by date) → part rows (by id) → appointment row.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop as N_

from dealership.consent import Purpose, consent_filter
from dealership.due import due_task_complete, due_task_schedule
from dealership.errors import DomainError
from dealership.events import Event, publish
from dealership.links import customer_link_create, customer_links_revoke
from dealership.models import (
    Customer,
    DueTask,
    DueTaskState,
    LabourOperation,
    MaintenancePlan,
    Part,
    User,
    Vehicle,
)
from dealership.money import PaymentMethod, to_money, yuan
from dealership.roles import Role, has_role
from dealership.rules import rule
from dealership.services import model_update, timeline_record
from dealership.stored_text import StoredMessage
from dealership.text import CONCERN_MAX_LENGTH, clean_text
from dealership.transitions import lock_row, move
from dealership.validators import normalize_phone, normalize_plate

from . import duties
from .advisors import advisor_for_online_booking
from .capacity import ZERO, capacity_for_days, day_bounds, free_slots, hours_needed
from .models import (
    APPOINTED_CHANNELS,
    Appointment,
    AppointmentLine,
    Campaign,
    CampaignKind,
    Channel,
    DayLock,
    Deposit,
    DepositCounter,
    Holiday,
    OpeningHours,
    StockStatus,
)
from .parts import booking_operations, deposit_for, merge_parts, plan_parts, split_part_lines
from .selectors import maintenance_due
from .states import APPOINTMENT_STATES, DEPOSIT_STATES, OPEN_STATUSES, DepositStatus, Status

LINK_PURPOSE = "appointment"
ZERO_MONEY = Decimal("0.00")


class SlotUnavailable(DomainError):
    """The chosen arrival time cannot be booked; `alternatives` lists free ones (local time)."""

    def __init__(self, message, *, alternatives: Sequence[datetime] = ()):
        self.alternatives = list(alternatives)
        if self.alternatives:
            message = _("%(reason)s Free: %(times)s.") % {
                "reason": message,
                "times": ", ".join(_format_alternative(a) for a in self.alternatives),
            }
        else:
            message = _("%(reason)s No free time in the next two weeks; please call the desk.") % {
                "reason": message
            }
        super().__init__(message, field="start", code="slot_unavailable")


def _format_alternative(start: datetime) -> str:
    local = timezone.localtime(start)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return formats.date_format(local, "m-d H:i")


def _lock_days(days: Iterable[date]) -> None:
    """Serialise every booking that touches these days (see `DayLock`)."""
    days = sorted(set(days))
    DayLock.objects.bulk_create([DayLock(day=d) for d in days], ignore_conflicts=True)
    list(DayLock.objects.select_for_update().filter(day__in=days).order_by("day"))


def _local_day(start: datetime) -> date:
    return timezone.localtime(start).date()


def _duration(operations: Sequence[LabourOperation]) -> timedelta:
    hours = sum((op.standard_hours for op in operations), ZERO)
    return max(timedelta(minutes=rule("appointments.slot_minutes")), timedelta(hours=float(hours)))


def _alternatives(
    start: datetime, needs, *, exclude: int | None, earliest: datetime
) -> list[datetime]:
    return free_slots(
        needs=needs,
        first=max(_local_day(start), _local_day(earliest)),
        earliest=earliest,
        exclude_appointment=exclude,
        near=start,
    )


def _check_slot(
    *,
    start: datetime,
    needs: dict[str, Decimal],
    earliest: datetime | None = None,
    exclude_appointment: int | None = None,
) -> None:
    """Refuse an arrival time that is past, too far ahead, closed or full — with free times.

    Read-only; the booking services call it again under the day lock.
    """
    now = timezone.now()
    earliest = max(earliest or now, now)
    local = timezone.localtime(start)
    day = local.date()

    def refuse(reason: str):
        raise SlotUnavailable(
            reason,
            alternatives=_alternatives(
                start, needs, exclude=exclude_appointment, earliest=earliest
            ),
        )

    if start < earliest:
        if start < now:
            refuse(_("This time is in the past."))
        refuse(_("Online bookings need more notice."))
    horizon = timezone.localdate() + timedelta(days=rule("appointments.max_days_ahead"))
    if day > horizon:
        raise DomainError(
            _("Bookings are accepted up to %(date)s.") % {"date": horizon.isoformat()},
            field="start",
        )
    capacity = capacity_for_days(day, exclude_appointment=exclude_appointment)[day]
    if capacity.closed:
        if capacity.holiday:
            refuse(
                _("The workshop is closed on %(day)s (%(holiday)s).")
                % {
                    "day": day.isoformat(),
                    "holiday": capacity.holiday,
                }
            )
        refuse(_("The workshop is closed on %(day)s.") % {"day": day.isoformat()})
    slot = capacity.slot_at(local)
    if slot is None:
        refuse(
            _("Arrival times are every %(minutes)s minutes between %(opens)s and %(closes)s.")
            % {
                "minutes": rule("appointments.slot_minutes"),
                "opens": capacity.opens.strftime("%H:%M"),
                "closes": capacity.closes.strftime("%H:%M"),
            }
        )
    if not slot.free_arrivals:
        refuse(_("This slot is full (%(cap)s arrivals).") % {"cap": slot.cap})
    missing = capacity.missing_hours(needs)
    if missing:
        refuse(
            _("Not enough %(work_types)s hours left on %(day)s.")
            % {
                "work_types": ", ".join(load.label for load in missing),
                "day": day.isoformat(),
            }
        )


def _refuse_overlap(vehicle: Vehicle, start: datetime, end: datetime, exclude: int | None):
    clash = (
        Appointment.objects.filter(
            vehicle=vehicle, status__in=OPEN_STATUSES, start__lt=end, end__gt=start
        )
        .exclude(pk=exclude)
        .first()
    )
    if clash:
        raise DomainError(
            _("This vehicle is already booked at %(when)s.")
            % {"when": formats.date_format(timezone.localtime(clash.start), "Y-m-d H:i")},
            field="start",
            code="vehicle_overlap",
        )


def _part_lines(
    parts: Iterable[tuple[Part, Decimal]], *, expected_on: date | None
) -> list[AppointmentLine]:
    """Reserve what stock allows (part rows locked), the rest goes on order."""
    merged = merge_parts(parts)
    if not merged:
        return []
    locked = Part.objects.select_for_update().filter(pk__in=merged).order_by("pk")
    return split_part_lines(merged, parts=locked, expected_on=expected_on)


def _operation_lines(operations: Sequence[LabourOperation]) -> list[AppointmentLine]:
    return [
        AppointmentLine(
            operation=op, work_type=op.work_type, hours=op.standard_hours, price=op.price
        )
        for op in operations
    ]


def _summary(appointment: Appointment) -> dict:
    return {
        "start": formats.date_format(timezone.localtime(appointment.start), "Y-m-d H:i"),
        "plate": appointment.vehicle.plate or appointment.vehicle.vin,
    }


def _booking_operations(
    customer: Customer,
    vehicle: Vehicle,
    operations: Sequence[LabourOperation],
    plan: MaintenancePlan | None,
    channel: str,
) -> list[LabourOperation]:
    """Refuse a booking no time can make right; return the labour operations it books."""
    if vehicle.owner_id != customer.pk:
        raise DomainError(_("This vehicle belongs to another customer."), field="vehicle")
    operations = booking_operations(operations, plan)
    if not operations:
        raise DomainError(
            _("Choose at least one service or a maintenance plan."), field="operations"
        )
    if channel not in APPOINTED_CHANNELS:
        raise DomainError(_("Walk-ins are checked in at reception, not booked."), field="channel")
    return operations


def _appointment_timeline_record(
    appointment: Appointment, *, kind: str, message: str, actor: User | None, **params
) -> None:
    timeline_record(
        kind=kind,
        summary=StoredMessage(message, **_summary(appointment), **params),
        vehicle=appointment.vehicle,
        subject=appointment,
        actor=actor,
    )


def _booked_timeline_record(appointment: Appointment, actor: User | None) -> None:
    channel = appointment.channel
    timeline_record(
        kind="appointment.booked",
        summary=StoredMessage(
            N_("Appointment booked for %(start)s (%(channel)s)"),
            **_summary(appointment),
            channel=Channel(channel).label if channel in Channel.values else channel,
        ),
        customer=appointment.customer,
        vehicle=appointment.vehicle,
        subject=appointment,
        actor=actor,
    )


def _event_data(appointment: Appointment) -> dict:
    """What an outside system is told of a booking (`dealership.events`): ids and the time."""
    return {
        "appointment": appointment.pk,
        "start": appointment.start.isoformat(),
        "vehicle": appointment.vehicle_id,
        "customer": appointment.customer_id,
    }


def _key(appointment: Appointment) -> str:
    return f"appointment:{appointment.pk}"


def appointment_book(
    *,
    customer: Customer,
    vehicle: Vehicle,
    start: datetime,
    operations: Sequence[LabourOperation] = (),
    plan: MaintenancePlan | None = None,
    parts: Sequence[tuple[Part, Decimal]] = (),
    concern_text: str = "",
    advisor: User | None = None,
    waiting: bool = False,
    channel: str = Channel.PHONE,
    parts_expected_on: date | None = None,
    earliest: datetime | None = None,
    rebooked_from: Appointment | None = None,
    actor: User | None,
    base_url: str = "",
) -> Appointment:
    """Book a vehicle into a free arrival slot with the services and parts it needs.

    Refuses (changing nothing) a past or closed or full slot — naming free times —,
    a vehicle of another customer, one already booked at an overlapping time, or a
    booking without any labour operation. Parts are reserved from stock, the rest
    goes on order with an expected date; expensive ordered parts set a deposit.
    Reminders and calls are scheduled in the same transaction.
    """
    concern_text = clean_text(concern_text, field="concern_text", max_length=CONCERN_MAX_LENGTH)
    operations = _booking_operations(customer, vehicle, operations, plan, channel)
    needs = hours_needed(operations)
    end = start + _duration(operations)
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        _lock_days([_local_day(start)])
        _check_slot(start=start, needs=needs, earliest=earliest)
        _refuse_overlap(vehicle, start, end, exclude=None)
        if advisor is None and channel == Channel.WEB:
            # Chosen under the day's lock, so the rotation's counts are the current ones.
            advisor = advisor_for_online_booking(customer=customer, day=_local_day(start))
        lines = _operation_lines(operations) + _part_lines(
            [*plan_parts(plan), *parts], expected_on=parts_expected_on
        )
        appointment = Appointment.objects.create(
            customer=customer,
            vehicle=vehicle,
            advisor=advisor,
            channel=channel,
            start=start,
            end=end,
            concern_text=concern_text,
            waiting=waiting,
            maintenance_plan=plan,
            deposit_required=deposit_for(lines),
            rebooked_from=rebooked_from,
            booked_by=actor,
        )
        for line in lines:
            line.appointment = appointment
        AppointmentLine.objects.bulk_create(lines)
        _booked_timeline_record(appointment, actor)
        duties.schedule_for(appointment)
        _complete_open_call(vehicle, duties.INVITATION_CALL, "booked", actor)
        duties.cancel_for(vehicle, kinds=[duties.INVITATION_CALL])
        token = appointment_link_create(appointment=appointment, actor=actor)
        duties.notify_on_commit(
            appointment, "appointment_booked", link=duties.link_url(token, base_url)
        )
        publish(
            Event.APPOINTMENT_BOOKED, data=_event_data(appointment), order_key=_key(appointment)
        )
    appointment.link_token = token
    return appointment


def appointment_link_create(*, appointment: Appointment, actor: User | None = None) -> str:
    """A signed link for the customer to view, reschedule or cancel, valid until a week after."""
    max_age = max(appointment.end - timezone.now(), timedelta(0)) + timedelta(days=7)
    return customer_link_create(
        obj=appointment,
        purpose=LINK_PURPOSE,
        customer=appointment.customer,
        max_age=max_age,
        actor=actor,
    )


def appointment_reschedule(
    *,
    appointment: Appointment,
    start: datetime,
    actor: User | None,
    earliest: datetime | None = None,
    base_url: str = "",
) -> Appointment:
    """Move an open appointment to another free arrival time; its reminders move with it."""
    with transaction.atomic():
        Vehicle.objects.select_for_update().filter(pk=appointment.vehicle_id).first()
        current = Appointment.objects.get(pk=appointment.pk)
        _lock_days([_local_day(start), _local_day(current.start)])
        appointment = lock_row(appointment, related=("vehicle", "customer"))
        if appointment.status not in OPEN_STATUSES:
            raise DomainError(
                _("Only a booked or confirmed appointment can be moved; this one is %(status)s.")
                % {"status": appointment.get_status_display()},
                code="status",
            )
        if start == appointment.start:
            raise DomainError(_("Choose a different time."), field="start")
        operations = [
            line.operation
            for line in appointment.lines.select_related("operation").filter(
                operation__isnull=False
            )
        ]
        needs = hours_needed(operations)
        _check_slot(start=start, needs=needs, earliest=earliest, exclude_appointment=appointment.pk)
        end = start + _duration(operations)
        _refuse_overlap(appointment.vehicle, start, end, exclude=appointment.pk)
        previous = appointment.start
        _complete_open_call(appointment, duties.CONFIRM_CALL, "rescheduled", actor)
        _complete_open_call(appointment, duties.PARTS_ALERT, "rescheduled", actor)
        appointment.start, appointment.end = start, end
        appointment.save(update_fields=["start", "end"])
        _appointment_timeline_record(
            appointment,
            kind="appointment.rescheduled",
            message=N_("Appointment moved from %(old)s to %(start)s"),
            actor=actor,
            old=formats.date_format(timezone.localtime(previous), "Y-m-d H:i"),
        )
        duties.schedule_for(appointment)
        customer_links_revoke(obj=appointment, purpose=LINK_PURPOSE)
        token = appointment_link_create(appointment=appointment, actor=actor)
        duties.notify_on_commit(
            appointment, "appointment_rescheduled", link=duties.link_url(token, base_url)
        )
    appointment.link_token = token
    return appointment


def appointment_confirm(*, appointment: Appointment, actor: User | None) -> Appointment:
    """The customer confirmed on the N-3 call (or by replying); the confirm call is done."""
    with transaction.atomic():
        appointment = lock_row(appointment, related=("vehicle", "customer"))
        move(APPOINTMENT_STATES, appointment, Status.CONFIRMED)
        _appointment_timeline_record(
            appointment,
            kind="appointment.confirmed",
            message=N_("Appointment for %(start)s confirmed"),
            actor=actor,
        )
        duties.cancel_for(appointment, kinds=[duties.CONFIRM_CALL])
    return appointment


def appointment_cancel(
    *, appointment: Appointment, actor: User | None, reason: str = ""
) -> Appointment:
    """Cancel: capacity and reserved parts are released, reminders and calls cancelled."""
    with transaction.atomic():
        appointment = lock_row(appointment, related=("vehicle", "customer"))
        move(
            APPOINTMENT_STATES,
            appointment,
            Status.CANCELLED,
            reason=reason.strip(),
            changes={"cancel_reason": reason.strip()[:200]},
        )
        _appointment_timeline_record(
            appointment,
            kind="appointment.cancelled",
            message=N_("Appointment for %(start)s cancelled"),
            actor=actor,
            suffix=f": {appointment.cancel_reason}" if appointment.cancel_reason else "",
        )
        duties.cancel_for(appointment)
        customer_links_revoke(obj=appointment, purpose=LINK_PURPOSE)
        duties.notify_on_commit(appointment, "appointment_cancelled")
        publish(
            Event.APPOINTMENT_CANCELLED, data=_event_data(appointment), order_key=_key(appointment)
        )
    return appointment


def appointment_mark_arrived(*, appointment: Appointment, actor: User | None) -> Appointment:
    """The car is here (called by reception's check-in). Pending reminders are cancelled."""
    with transaction.atomic():
        appointment = lock_row(appointment, related=("vehicle", "customer"))
        if appointment.status == Status.ARRIVED:
            raise DomainError(_("This appointment has already arrived."), code="status")
        move(APPOINTMENT_STATES, appointment, Status.ARRIVED)
        _appointment_timeline_record(
            appointment,
            kind="appointment.arrived",
            message=N_("Arrived for the appointment of %(start)s"),
            actor=actor,
        )
        duties.cancel_for(appointment)
    return appointment


def appointment_mark_no_show(*, appointment: Appointment, actor: User | None) -> Appointment:
    """Not checked in by the slot end plus grace: a no-show, to be called and rebooked."""
    with transaction.atomic():
        appointment = lock_row(appointment, related=("vehicle", "customer"))
        move(APPOINTMENT_STATES, appointment, Status.NO_SHOW)
        _appointment_timeline_record(
            appointment,
            kind="appointment.no_show",
            message=N_("Did not come to the appointment of %(start)s"),
            actor=actor,
        )
        duties.cancel_for(appointment)
        duties.schedule_rebooking_call(appointment)
        _deposits_forfeit(appointment, actor)
    return appointment


def appointment_no_show_check(task: DueTask) -> dict:
    """The no-show duty (slot end + grace): an appointment still open was not checked in."""
    appointment = Appointment.objects.select_related("customer", "vehicle").get(pk=task.subject_id)
    if not appointment.is_open:
        return {"skipped": appointment.status}
    appointment_mark_no_show(appointment=appointment, actor=None)
    return {"no_show": True}


def appointment_rebook(
    *, appointment: Appointment, start: datetime, actor: User | None, base_url: str = ""
) -> Appointment:
    """Book a no-show (or cancelled) appointment again at a new time, with the same services."""
    if appointment.status not in (Status.NO_SHOW, Status.CANCELLED):
        raise DomainError(
            _("Only a no-show or cancelled appointment is rebooked; move this one instead."),
            code="status",
        )
    lines = list(appointment.lines.select_related("operation", "part"))
    with transaction.atomic():
        new = appointment_book(
            customer=appointment.customer,
            vehicle=appointment.vehicle,
            start=start,
            operations=[line.operation for line in lines if line.operation_id],
            parts=[(line.part, line.quantity) for line in lines if line.part_id],
            concern_text=appointment.concern_text,
            advisor=appointment.advisor,
            waiting=appointment.waiting,
            channel=Channel.PHONE,
            rebooked_from=appointment,
            actor=actor,
            base_url=base_url,
        )
        if appointment.maintenance_plan_id:
            new.maintenance_plan_id = appointment.maintenance_plan_id
            new.save(update_fields=["maintenance_plan"])
        _complete_open_call(appointment, duties.REBOOK_CALL, "rebooked", actor)
        duties.cancel_for(appointment, kinds=[duties.REBOOK_CALL])
    return new


# --- deposits ----------------------------------------------------------------------------

MAX_DEPOSIT = Decimal("999999.99")  # far above any parts deposit, well inside the column


# The cashier's closed days: delivery's day close registers its guard from its
# AppConfig.ready() (appointments sits below delivery and does not import it).
_CLOSED_DAY_GUARDS: list[Callable[[], None]] = []


def closed_day_guard_register(guard: Callable[[], None]) -> None:
    """Call `guard()` inside every deposit taken or refunded; it refuses a closed day."""
    if guard not in _CLOSED_DAY_GUARDS:
        _CLOSED_DAY_GUARDS.append(guard)


def _refuse_closed_day() -> None:
    for guard in _CLOSED_DAY_GUARDS:
        guard()


def _deposit_receipt_number(now: datetime) -> str:
    """The next deposit receipt of this year's gapless series (定金收据, DJ…)."""
    year = f"{timezone.localtime(now):%Y}"
    return f"DJ{year}-{DepositCounter.take_next(year):06d}"


def _deposit_total_update(appointment: Appointment) -> None:
    """`deposit_paid` is what the customer paid ahead and has not had back (cached sum)."""
    totals = appointment.deposits.aggregate(paid=Sum("amount"), back=Sum("refund_amount"))
    appointment.deposit_paid = (totals["paid"] or ZERO_MONEY) - (totals["back"] or ZERO_MONEY)
    appointment.save(update_fields=["deposit_paid", "deposit_paid_at"])


def appointment_record_deposit(
    *, appointment: Appointment, amount, method: str, actor: User
) -> Deposit:
    """Take a deposit for ordered parts like a payment: method, amount, its own receipt number.

    Refused: nothing or less, a method not the till's, a closed appointment, or deposits
    that would come to more than the booking's estimate.
    """
    amount = to_money(amount, field="amount")
    if amount <= 0:
        raise DomainError(_("Enter an amount above zero."), field="amount")
    if method not in PaymentMethod.values:
        raise DomainError(_("Choose how the customer pays."), field="method")
    with transaction.atomic():
        _refuse_closed_day()
        appointment = lock_row(appointment, related=("vehicle", "customer"))
        if appointment.status not in OPEN_STATUSES:
            raise DomainError(_("This appointment is closed."), code="status")
        held = appointment.deposit_paid + amount
        if held > MAX_DEPOSIT:
            raise DomainError(
                _("A deposit of at most ¥%(max)s can be recorded.") % {"max": f"{MAX_DEPOSIT:,}"},
                field="amount",
                code="too_large",
            )
        estimate = appointment.amount_total
        if held > estimate:
            raise DomainError(
                _(
                    "The deposits would come to %(held)s, more than the booking's estimate "
                    "%(estimate)s."
                )
                % {"held": yuan(held), "estimate": yuan(estimate)},
                field="amount",
                code="above_estimate",
            )
        now = timezone.now()
        deposit = Deposit.objects.create(
            appointment=appointment,
            receipt_number=_deposit_receipt_number(now),
            amount=amount,
            method=method,
            taken_at=now,
            taken_by=actor,
        )
        appointment.deposit_paid_at = now
        _deposit_total_update(appointment)
        timeline_record(
            kind="appointment.deposit",
            summary=StoredMessage(
                N_("Deposit of ¥%(amount)s received for ordered parts, receipt %(receipt)s"),
                amount=amount,
                receipt=deposit.receipt_number,
            ),
            vehicle=appointment.vehicle,
            subject=appointment,
            actor=actor,
        )
    return deposit


def deposit_refund(*, deposit: Deposit, actor: User, amount, method: str, reason: str) -> Deposit:
    """Give a held deposit back (service manager only): at most what was paid, once."""
    if not has_role(actor, [Role.SERVICE_MANAGER]):
        raise DomainError(
            _("Only the service manager may refund a deposit. Ask them to do it."),
            code="permission",
        )
    amount = to_money(amount, field="amount")
    if amount <= 0:
        raise DomainError(_("A refund is more than zero."), field="amount")
    if method not in PaymentMethod.values:
        raise DomainError(_("Choose how the money goes back."), field="method")
    reason = clean_text(reason or "", field="reason", max_length=200)
    if not reason:
        raise DomainError(_("Give the reason for the refund."), field="reason")
    with transaction.atomic():
        _refuse_closed_day()
        appointment = lock_row(deposit.appointment, related=("vehicle", "customer"))
        locked = lock_row(deposit)
        if locked.status == DepositStatus.REFUNDED:
            raise DomainError(
                _("Deposit %(receipt)s was refunded already.") % {"receipt": locked.receipt_number},
                code="already_refunded",
            )
        if amount > locked.amount:
            raise DomainError(
                _("At most %(paid)s was paid on this deposit.") % {"paid": yuan(locked.amount)},
                field="amount",
                code="refund_too_much",
            )
        move(
            DEPOSIT_STATES,
            locked,
            DepositStatus.REFUNDED,
            reason=reason,
            changes={
                "refunded_by": actor,
                "refund_amount": amount,
                "refund_method": method,
                "refund_reason": reason,
            },
        )
        _deposit_total_update(appointment)
        timeline_record(
            kind="appointment.deposit_refunded",
            summary=StoredMessage(
                N_("Deposit %(receipt)s: ¥%(amount)s refunded (%(reason)s)"),
                receipt=locked.receipt_number,
                amount=amount,
                reason=reason,
            ),
            vehicle=appointment.vehicle,
            subject=appointment,
            actor=actor,
        )
    return locked


def _deposits_forfeit(appointment: Appointment, actor: User | None) -> None:
    """A no-show: by the store's rule, the held deposits are kept (the appointment is locked)."""
    if not rule("appointments.no_show_deposit_kept"):
        return
    for deposit in appointment.deposits.select_for_update().filter(status=DepositStatus.HELD):
        move(DEPOSIT_STATES, deposit, DepositStatus.FORFEITED, reason="no-show")
        timeline_record(
            kind="appointment.deposit_forfeited",
            summary=StoredMessage(
                N_("Deposit %(receipt)s of ¥%(amount)s kept: the customer did not come"),
                receipt=deposit.receipt_number,
                amount=deposit.amount,
            ),
            vehicle=appointment.vehicle,
            subject=appointment,
            actor=actor,
        )


def deposits_apply(*, deposits: Iterable[Deposit], settlement_id: int, invoice_number: str) -> None:
    """The bill credited these held deposits (inside the settlement's transaction)."""
    for deposit in deposits:
        locked = lock_row(deposit)
        move(
            DEPOSIT_STATES,
            locked,
            DepositStatus.APPLIED,
            reason=invoice_number,
            changes={"settlement_id": settlement_id, "invoice_number": invoice_number},
        )


def deposits_release(*, settlement_id: int) -> None:
    """A voided bill gives back the deposits it credited, held for the next bill."""
    for deposit in Deposit.objects.select_for_update().filter(
        settlement_id=settlement_id, status=DepositStatus.APPLIED
    ):
        move(
            DEPOSIT_STATES,
            deposit,
            DepositStatus.HELD,
            reason="bill voided",
            changes={"settlement_id": None, "invoice_number": "", "applied_at": None},
        )


def appointment_parts_received(*, appointment: Appointment, actor: User | None) -> Appointment:
    """The ordered parts arrived: they are now ready for the appointment."""
    with transaction.atomic():
        appointment = lock_row(appointment, related=("vehicle", "customer"))
        count = appointment.lines.filter(stock_status=StockStatus.TO_ORDER).update(
            stock_status=StockStatus.RECEIVED
        )
        if not count:
            raise DomainError(_("No part of this appointment is waiting for delivery."))
        _appointment_timeline_record(
            appointment,
            kind="appointment.parts_received",
            message=N_("Ordered parts received for the appointment of %(start)s"),
            actor=actor,
        )
        duties.cancel_for(appointment, kinds=[duties.PARTS_ALERT])
    return appointment


# --- customer self-service -------------------------------------------------------------


def self_service_find_vehicle(*, plate: str, mobile: str) -> Vehicle:
    """The vehicle whose plate and owner's mobile both match, else one neutral refusal.

    The refusal never says which of the two did not match, so the page cannot be used
    to find out who owns a plate.
    """
    plate = normalize_plate(plate)
    mobile = normalize_phone(mobile)
    vehicle = (
        Vehicle.objects.select_related("owner")
        .filter(plate=plate)
        .filter(Q(owner__mobile=mobile) | Q(owner__mobile_alt=mobile))
        .first()
        if plate and mobile
        else None
    )
    if vehicle is None:
        raise DomainError(
            _(
                "We could not find this plate with this mobile number. Check both, or call us "
                "and we will book for you."
            ),
            code="no_match",
        )
    return vehicle


def self_service_book(
    *,
    vehicle: Vehicle,
    start: datetime,
    operations: Sequence[LabourOperation] = (),
    plan: MaintenancePlan | None = None,
    concern_text: str = "",
    waiting: bool = False,
    base_url: str = "",
) -> Appointment:
    """A customer books online: same checks as the desk, with the online notice period."""
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    return appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=start,
        operations=operations,
        plan=plan,
        concern_text=concern_text,
        waiting=waiting,
        channel=Channel.WEB,
        earliest=earliest,
        actor=None,
        base_url=base_url,
    )


# --- store settings (service manager) ---------------------------------------------------


def opening_hours_set(
    *, weekday: int, opens: time, closes: time, closed: bool, actor: User | None
) -> OpeningHours:
    """Set a weekday's opening hours. Existing appointments are kept; new ones follow."""
    if not closed and opens >= closes:
        raise DomainError(_("The closing time must be after the opening time."), field="closes")
    row, _created = OpeningHours.objects.get_or_create(
        weekday=weekday, defaults={"opens": opens, "closes": closes, "closed": closed}
    )
    model_update(instance=row, data={"opens": opens, "closes": closes, "closed": closed})
    return row


def holiday_add(*, day: date, name: str, actor: User | None) -> Holiday:
    """Close the workshop for a day. Refused while open appointments exist that day."""
    if Holiday.objects.filter(day=day).exists():
        raise DomainError(_("This day is already a holiday."), field="day")
    lower, upper = day_bounds(day, day)
    booked = Appointment.objects.filter(
        start__gte=lower, start__lt=upper, status__in=OPEN_STATUSES
    ).count()
    if booked:
        raise DomainError(
            _("%(count)s appointments are booked that day; move them first.") % {"count": booked},
            field="day",
        )
    holiday = Holiday(day=day, name=name.strip())
    holiday.full_clean()
    holiday.save()
    return holiday


def holiday_remove(*, holiday: Holiday, actor: User | None) -> None:
    """Open the workshop again on a former holiday."""
    holiday.delete()


def campaign_save(*, campaign: Campaign | None = None, actor: User | None, **data) -> Campaign:
    """Create or edit a recall / service campaign."""
    for name in ("vin_from", "vin_to"):
        if name in data:
            data[name] = (data[name] or "").strip().upper()
    if campaign is None:
        campaign = Campaign(**data)
        campaign.full_clean()
        campaign.save()
        return campaign
    campaign, _changed = model_update(instance=campaign, data=data)
    return campaign


# --- calls ------------------------------------------------------------------------------


def _complete_open_call(subject, kind: str, outcome: str, actor: User | None) -> None:
    """A call on the list that the action answers is recorded as done with that outcome."""
    if actor is None:
        return
    task = (
        DueTask.objects.filter(
            subject_type=ContentType.objects.get_for_model(subject),
            subject_id=subject.pk,
            kind=kind,
            state=DueTaskState.PENDING,
            due_at__lte=timezone.now(),
        )
        .order_by("due_at")
        .first()
    )
    if task is not None:
        due_task_complete(task=task, actor=actor, outcome=outcome)


def call_record(*, task: DueTask, outcome: str, actor: User, note: str = "") -> DueTask:
    """Record the outcome of an appointment call and do what the outcome means.

    Confirmation call "confirmed" confirms the appointment and "cancelled" cancels it;
    parts alert "arrived" marks the ordered parts received. Outcomes that need a new
    time ("rescheduled", "rebooked", "booked") are recorded by moving or booking the
    appointment, which completes the call.
    """
    result = {"note": note.strip()} if note.strip() else None
    if outcome in duties.OUTCOMES_NEEDING_A_TIME.get(task.kind, ()):
        raise DomainError(
            _("Choose the new time on the appointment page; the call is then recorded."),
            field="outcome",
        )
    with transaction.atomic():
        task = due_task_complete(task=task, actor=actor, outcome=outcome, result=result)
        if task.kind in (duties.CONFIRM_CALL, duties.PARTS_ALERT, duties.REBOOK_CALL):
            appointment = Appointment.objects.get(pk=task.subject_id)
            if task.kind == duties.CONFIRM_CALL and outcome == "confirmed":
                appointment_confirm(appointment=appointment, actor=actor)
            elif task.kind == duties.CONFIRM_CALL and outcome == "cancelled":
                appointment_cancel(
                    appointment=appointment, actor=actor, reason=note or _("Cancelled on the call")
                )
            elif task.kind == duties.PARTS_ALERT and outcome == "arrived":
                appointment_parts_received(appointment=appointment, actor=actor)
    return task


def invitations_schedule(*, today: date | None = None) -> int:
    """Put vehicles due for maintenance within N days on customer care's invitation list.

    Idempotent: one call per vehicle and km milestone. Run daily by beat.
    """
    today = today or timezone.localdate()
    due = maintenance_due(today=today)
    if not due:
        return 0
    vehicles = Vehicle.objects.select_related("owner").in_bulk([d.vehicle_id for d in due])
    days = timedelta(days=rule("appointments.invitation_days"))
    count = 0
    for item in due:
        vehicle = vehicles[item.vehicle_id]
        call_on = max(item.due_on - days, today)
        due_task_schedule(
            kind=duties.INVITATION_CALL,
            subject=vehicle,
            slot=str(item.milestone_km),
            due_at=timezone.make_aware(datetime.combine(call_on, time(9, 0))),
            customer=vehicle.owner,
            payload={
                "due_on": item.due_on.isoformat(),
                "km": item.milestone_km,
                "plan": item.plan.pk if item.plan else None,
            },
        )
        count += 1
    return count


def campaign_notify(*, campaign: Campaign, actor: User | None) -> int:
    """Message the owners of the vehicles a campaign matches; returns how many were planned.

    A service campaign is marketing: only owners who granted `marketing` get it. A recall is
    about the car's safety and goes to owners who did not withdraw `service` messages.
    One message per vehicle and campaign (sending again plans no second one).
    """
    purpose = Purpose.SERVICE if campaign.kind == CampaignKind.RECALL else Purpose.MARKETING
    if not campaign.active:
        raise DomainError(_("This campaign is closed."), code="campaign_closed")
    vehicles = Vehicle.objects.exclude(vin__isnull=True)
    if campaign.vin_from:
        vehicles = vehicles.filter(vin__gte=campaign.vin_from.upper())
    if campaign.vin_to:
        vehicles = vehicles.filter(vin__lte=campaign.vin_to.upper())
    vehicles = consent_filter(vehicles, purpose, customer_field="owner").select_related("owner")
    now = timezone.now()
    count = 0
    with transaction.atomic():
        for vehicle in vehicles.iterator(chunk_size=2000):
            if not campaign.matches(vehicle):
                continue
            due_task_schedule(
                kind=duties.CAMPAIGN_MESSAGE,
                subject=vehicle,
                slot=f"campaign:{campaign.pk}",
                due_at=now,
                customer=vehicle.owner,
                payload={"campaign": campaign.pk, "purpose": purpose},
            )
            count += 1
        timeline_record(
            kind="campaign.notified",
            summary=StoredMessage(
                N_("Campaign %(code)s: %(count)s messages planned"),
                code=campaign.code,
                count=count,
            ),
            subject=campaign,
            actor=actor,
        )
    return count
