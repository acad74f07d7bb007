"""Writes of step 2: check-in, walk-around, concern, hand-over, and every visit status move.

`visit_transition` is the one function that changes `Visit.status`; the
services of later steps (dispatch, QC, settlement, ...) call it.
"""

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from appointments.duties import INVITATION_CALL
from appointments.services import appointment_mark_arrived
from dealership.constraints import constraint_message, domain_constraints
from dealership.due import due_tasks_cancel_for
from dealership.errors import DomainError
from dealership.events import Event, publish
from dealership.images import photo_reencode
from dealership.links import customer_links_revoke
from dealership.models import User, Vehicle
from dealership.roles import Role, has_role
from dealership.services import timeline_record, vehicle_update
from dealership.stored_text import StoredMessage
from dealership.text import CONCERN_MAX_LENGTH, NOTE_MAX_LENGTH, clean_text, clean_texts
from dealership.transitions import lock_row, move, save_versioned

from .models import (
    Belonging,
    Covers,
    DamageKind,
    DamageMark,
    ValuablesHandling,
    Visit,
    VisitTransition,
    WarningLamp,
)
from .progress_push import (
    PUSH_STATUSES,
    progress_push_restart,
    progress_push_schedule,
    progress_push_stop,
)
from .selectors import booking_of_the_day, open_visit_for
from .signatures import signature_png, signature_refuse_oversized
from .states import (
    EXTRA_TIMESTAMP_FIELDS,
    NOT_REPAIRED_MOVES,
    ON_SITE_STATUSES,
    TIMESTAMP_FIELD,
    VISIT_STATES,
    HoldReason,
    VisitStatus,
)

WALKAROUND_FIELDS = (
    "odometer_km",
    "odometer_reason",
    "fuel_level",
    "charge_percent",
    "covers",
    "exterior_notes",
    "interior_notes",
    "instruments_ok",
    "warning_lamps",
    "registration_received",
    "service_book_received",
    "other_documents",
    "key_count",
    "keychain_notes",
)
# The key and where the car stands may change while it is on site, even after signing.
KEY_FIELDS = ("key_tag", "parking_spot")
CONCERN_FIELDS = (
    "concern_text",
    "advisor_notes",
    "diagnosis",
    "technician_assist_requested",
    "is_quick_service",
    "customer_waits",
    "is_comeback",
    "comeback_of",
)


def _stale_message(visit: Visit) -> str:
    return _(
        "Someone else changed visit %(number)s while you were editing. "
        "Reload the page to see their changes, then enter yours again."
    ) % {"number": visit.number}


def visit_lock(
    visit: Visit,
    expected_version: int | None = None,
    *,
    related: tuple[str, ...] = ("customer", "vehicle"),
) -> Visit:
    """Re-read the visit under a row lock (the one visit lock every app uses).

    With `expected_version`, refuse (code `stale`) when the caller's copy is out of date.
    """
    return lock_row(visit, related=related, expected_version=expected_version, stale=_stale_message)


def _refresh_caller(target: Visit, source: Visit) -> None:
    """Bring the caller's instance up to date so it is not stale after a service call."""
    for field in Visit._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


def _refuse_unknown_timestamps(timestamps: dict[str, datetime]) -> None:
    unknown = set(timestamps) - EXTRA_TIMESTAMP_FIELDS - set(TIMESTAMP_FIELD.values())
    if unknown:
        raise TypeError(f"visit_transition() got unknown timestamp fields: {sorted(unknown)}")


def _refuse_without_reason(to: VisitStatus, reason: str, hold_reason: str) -> None:
    if to == VisitStatus.CANCELLED and not reason:
        raise DomainError(_("Give the reason for cancelling."), field="reason")
    if to == VisitStatus.ON_HOLD and hold_reason not in HoldReason.values:
        raise DomainError(
            _("Say why the work is on hold: awaiting parts or the customer's approval."),
            field="hold_reason",
        )


def _refuse_guarded_move(visit: Visit, to: VisitStatus) -> None:
    """The not-repaired exit skips the workshop and QC: only a visit with that outcome
    recorded (by `delivery.not_repaired`) may take it."""
    if (visit.status, to) in NOT_REPAIRED_MOVES and not visit.not_repaired_reason:
        raise DomainError(
            _(
                "Visit %(number)s goes to the cashier without workshop work only when the "
                "customer declines the repair: record that first."
            )
            % {"number": visit.number},
            code="transition_not_allowed",
        )


def _move_changes(visit: Visit, to: VisitStatus, reason: str, hold_reason: str) -> dict[str, Any]:
    """What a move writes besides the status and its stamp (hold, rework, cancel reason)."""
    changes: dict[str, Any] = {}
    if to == VisitStatus.ON_HOLD:
        changes["hold_reason"] = hold_reason
    elif visit.status == VisitStatus.ON_HOLD:
        changes["hold_reason"] = ""
        changes["on_hold_since"] = None
    if to == VisitStatus.QC_FAILED:
        changes["rework_count"] = visit.rework_count + 1
    if to == VisitStatus.CANCELLED:
        changes["cancel_reason"] = reason
    return changes


def visit_transition(
    *,
    visit: Visit,
    to: str,
    actor: User | None,
    reason: str = "",
    hold_reason: str = "",
    expected_version: int | None = None,
    **timestamps: datetime,
) -> Visit:
    """Move the visit to status `to` if `VISIT_STATES` allows it.

    Writes the status, the status's timestamp (`TIMESTAMP_FIELD`) and any extra
    timestamps named in `timestamps` (e.g. `promised_at=`), a status-change row,
    a history entry with the reason and a timeline event. Moving to `on_hold`
    needs `hold_reason` (a `HoldReason`); moving to `cancelled` needs `reason`.
    A refused move raises DomainError and changes nothing.
    """
    _refuse_unknown_timestamps(timestamps)
    to = VisitStatus(to)
    reason = (reason or "").strip()
    with transaction.atomic():
        locked = visit_lock(visit, expected_version)
        # A move the table refuses is named as such before any missing reason.
        VISIT_STATES.check(locked, to)
        _refuse_guarded_move(locked, to)
        _refuse_without_reason(to, reason, hold_reason)
        now = timezone.now()
        changes = {
            **_move_changes(locked, to, reason, hold_reason),
            "status_changed_at": now,
            **timestamps,
        }
        current = VisitStatus(
            move(VISIT_STATES, locked, to, reason=reason, changes=changes, now=now)
        )
        VisitTransition.objects.create(
            visit=locked, from_status=current, to_status=to, at=now, actor=actor, reason=reason
        )
        timeline_record(
            kind=f"visit.{to.value}",
            summary=StoredMessage(
                gettext_noop("%(number)s: %(current)s → %(target)s"),
                number=locked.number,
                current=current.label,
                target=to.label,
                suffix=f" ({reason})" if reason else "",
            ),
            customer=locked.customer,
            vehicle=locked.vehicle,
            subject=locked,
            actor=actor,
            data={"from": current.value, "to": to.value, "reason": reason},
        )
        if current in PUSH_STATUSES and to not in PUSH_STATUSES:
            # Ready (the ready notice takes over), or cancelled: no more progress messages.
            progress_push_stop(visit=locked)
    _refresh_caller(visit, locked)
    return locked


def _visit_number(visit: Visit) -> str:
    day = timezone.localtime(visit.checked_in_at).date()
    return f"RO{day:%y%m%d}-{visit.pk:05d}"


# What a later step does, in the same transaction, when a booked car is checked in: work
# orders opens the draft order from the booking's lines. Reception sits below work orders
# and does not import it; `WorkordersConfig.ready` registers the step here.
_BOOKED_CHECK_IN_STEPS: list[Callable[..., Any]] = []


def booked_check_in_step_register(step: Callable[..., Any]) -> None:
    """Run `step(visit=, appointment=, actor=)` inside every check-in of a booked car."""
    if step not in _BOOKED_CHECK_IN_STEPS:
        _BOOKED_CHECK_IN_STEPS.append(step)


def _refuse_check_in(
    vehicle: Vehicle, appointment, *, is_comeback: bool, comeback_of: Visit | None
) -> None:
    already = open_visit_for(vehicle)
    if already is not None:
        raise DomainError(
            _("This car is already checked in on visit %(number)s.") % {"number": already.number},
            code="already_on_site",
        )
    if appointment is not None and appointment.vehicle_id != vehicle.pk:
        raise DomainError(_("This appointment is for another vehicle."), field="appointment")
    if appointment is not None and Visit.objects.filter(appointment=appointment).exists():
        raise DomainError(
            _("This appointment has been checked in already."), code="appointment_used"
        )
    if is_comeback and comeback_of is None:
        raise DomainError(_("Choose the earlier visit this comeback repeats."), field="comeback_of")
    if comeback_of is not None and comeback_of.vehicle_id != vehicle.pk:
        raise DomainError(_("The earlier visit must be for the same vehicle."), field="comeback_of")


def _visit_create(*, vehicle: Vehicle, appointment, **fields: Any) -> Visit:
    """The visit row, numbered after its id (RO + day + id), in check-in status."""
    now = timezone.now()
    visit = Visit.objects.create(
        number=uuid.uuid4().hex[:20],
        customer=appointment.customer if appointment is not None else vehicle.owner,
        vehicle=vehicle,
        appointment=appointment,
        is_walk_in=appointment is None,
        previous_odometer_km=vehicle.last_odometer_km,
        checked_in_at=now,
        status_changed_at=now,
        **fields,
    )
    visit.number = _visit_number(visit)
    Visit.objects.filter(pk=visit.pk).update(number=visit.number)
    visit.history.update(number=visit.number)
    return visit


def visit_check_in(
    *,
    vehicle: Vehicle,
    actor: User,
    concern_text: str = "",
    appointment=None,
    advisor: User | None = None,
    is_quick_service: bool = False,
    is_comeback: bool = False,
    comeback_of: Visit | None = None,
    technician_assist_requested: bool = False,
    advisor_notes: str = "",
    customer_waits: bool = False,
) -> Visit:
    """Receive the car: create its visit (from the booking, or as a walk-in).

    Without an appointment, the car's booking of the day (if any) is taken over:
    however the car was found, a booked car is not a walk-in. With an appointment,
    the booking is marked arrived, its concern and "customer waits" carried over
    and its lines become the draft work order, all in this one transaction. A car
    already on site is refused (one open visit per car). Any open maintenance
    invitation of the car is cancelled: it is being serviced now.
    """
    concern_text = clean_text(concern_text, field="concern_text", max_length=CONCERN_MAX_LENGTH)
    advisor_notes = clean_text(advisor_notes, field="advisor_notes", max_length=NOTE_MAX_LENGTH)
    with transaction.atomic():
        # Locking the vehicle row serialises two advisors checking in the same car.
        vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        if appointment is None:
            appointment = booking_of_the_day(vehicle)
        _refuse_check_in(vehicle, appointment, is_comeback=is_comeback, comeback_of=comeback_of)
        if appointment is not None:
            concern_text = concern_text or appointment.concern_text
            advisor = advisor or appointment.advisor
            customer_waits = customer_waits or appointment.waiting
        visit = _visit_create(
            vehicle=vehicle,
            appointment=appointment,
            advisor=advisor or actor,
            is_quick_service=is_quick_service,
            customer_waits=customer_waits,
            is_comeback=is_comeback or comeback_of is not None,
            comeback_of=comeback_of,
            concern_text=concern_text,
            advisor_notes=advisor_notes,
            technician_assist_requested=technician_assist_requested,
        )
        if appointment is not None:
            appointment_mark_arrived(appointment=appointment, actor=actor)
            for step in _BOOKED_CHECK_IN_STEPS:
                step(visit=visit, appointment=appointment, actor=actor)
        # The car is here: an open maintenance invitation would call about this very service.
        due_tasks_cancel_for(vehicle, kinds=[INVITATION_CALL])
        timeline_record(
            kind="visit.checked_in",
            summary=StoredMessage(
                gettext_noop("%(number)s checked in (booked)")
                if appointment is not None
                else gettext_noop("%(number)s checked in (walk-in)"),
                number=visit.number,
            ),
            customer=visit.customer,
            vehicle=vehicle,
            subject=visit,
            actor=actor,
        )
        # The customer hears how the car is doing every N hours until it is ready.
        progress_push_schedule(visit=visit, after=visit.checked_in_at)
        publish(Event.VISIT_CHECKED_IN, visit_id=visit.pk, data={"number": visit.number})
    return visit


def _refuse_if_walkaround_signed(visit: Visit) -> None:
    if visit.walkaround_signed:
        raise DomainError(
            _("The customer signed the walk-around; it can no longer be changed."),
            code="walkaround_signed",
        )


def _clean_key_tag(visit: Visit, key_tag: str) -> str:
    key_tag = (key_tag or "").strip().upper()
    if not key_tag:
        return ""
    other = (
        Visit.objects.filter(key_tag=key_tag, status__in=ON_SITE_STATUSES)
        .exclude(pk=visit.pk)
        .select_related("vehicle")
        .first()
    )
    if other is not None:
        raise DomainError(
            _("Key tag %(tag)s is on %(plate)s (visit %(number)s). Take another tag.")
            % {
                "tag": key_tag,
                "plate": other.vehicle.plate or other.vehicle.vin,
                "number": other.number,
            },
            field="key_tag",
            code="key_tag_in_use",
        )
    return key_tag


constraint_message(
    "reception_visit_key_tag_unique_on_site",
    field="key_tag",
    code="key_tag_in_use",
    message=lambda visit: (
        _("Key tag %(tag)s was just taken. Take another tag.")
        % {"tag": getattr(visit, "key_tag", "")}
    ),
)


def visit_walkaround_update(
    *, visit: Visit, actor: User, expected_version: int | None = None, **data: Any
) -> Visit:
    """Record the walk-around: odometer, fuel, covers, condition, documents, key tag.

    An odometer below the last recorded reading is refused unless a reason is
    given (e.g. instrument cluster replaced); the vehicle's odometer is updated.
    After the customer signs, only the key tag and the parking spot may change.
    """
    unknown = set(data) - set(WALKAROUND_FIELDS) - set(KEY_FIELDS)
    if unknown:
        raise TypeError(f"unknown walk-around fields: {sorted(unknown)}")
    with transaction.atomic():
        locked = visit_lock(visit, expected_version)
        if not locked.is_on_site:
            raise DomainError(_("This visit is finished; it can no longer be changed."))
        changes = {name: value for name, value in data.items() if getattr(locked, name) != value}
        if locked.walkaround_signed and set(changes) - set(KEY_FIELDS):
            _refuse_if_walkaround_signed(locked)
        if "key_tag" in changes:
            changes["key_tag"] = _clean_key_tag(locked, changes["key_tag"])
        if "key_count" in changes and not 1 <= (changes["key_count"] or 0) <= 9:
            raise DomainError(
                _("Count the keys the customer handed in (1 to 9)."), field="key_count"
            )
        if "covers" in changes and changes["covers"] not in Covers.values:
            raise DomainError(_("Choose the covers fitted."), field="covers")
        if "warning_lamps" in changes:
            lamps = list(dict.fromkeys(changes["warning_lamps"] or []))
            if set(lamps) - set(WarningLamp.values):
                raise DomainError(_("Unknown warning lamp."), field="warning_lamps")
            changes["warning_lamps"] = lamps
        odometer = data.get("odometer_km", locked.odometer_km)
        reason = (data.get("odometer_reason", locked.odometer_reason) or "").strip()
        if odometer is not None and odometer < locked.previous_odometer_km and not reason:
            raise DomainError(
                _(
                    "The odometer reads %(now)s km, below the %(last)s km recorded before. "
                    "Check the reading, or give the reason (e.g. instrument cluster replaced)."
                )
                % {"now": odometer, "last": locked.previous_odometer_km},
                field="odometer_km",
                code="odometer_lower",
            )
        if not changes:
            return locked
        for name, value in changes.items():
            setattr(locked, name, value)
        # Two advisors taking the same tag at the same moment both pass `_clean_key_tag`:
        # the constraint stops the second (in full_clean or in the database) with the
        # message registered below, never the constraint's name.
        with domain_constraints(locked):
            locked.full_clean(exclude=["walkaround_signature", "comeback_of"])
            save_versioned(locked, list(changes))
        if "odometer_km" in changes and locked.odometer_km is not None:
            vehicle_update(
                vehicle=locked.vehicle,
                actor=actor,
                last_odometer_km=locked.odometer_km,
                last_odometer_at=timezone.now(),
                odometer_reason=locked.odometer_reason,
            )
    _refresh_caller(visit, locked)
    return locked


def damage_mark_add(
    *,
    visit: Visit,
    actor: User,
    kind: str,
    x,
    y,
    note: str = "",
    photo=None,
) -> DamageMark:
    """Mark a damage where the advisor tapped the car outline (x, y in % of the drawing)."""
    if kind not in DamageKind.values:
        raise DomainError(_("Choose the kind of damage."), field="kind")
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_if_walkaround_signed(locked)
        mark = DamageMark(
            visit=locked, kind=kind, x=x, y=y, note=(note or "").strip(), created_by=actor
        )
        if photo:
            mark.photo = photo_reencode(photo, field="photo")
        mark.full_clean()
        mark.save()
    _refresh_caller(visit, locked)
    return mark


def damage_mark_remove(*, mark: DamageMark, actor: User) -> None:
    """Take back a damage mark made by mistake (before the customer signs)."""
    _walkaround_item_remove(mark)


def belonging_add(
    *,
    visit: Visit,
    actor: User,
    description: str,
    is_valuable: bool = False,
    handling: str = ValuablesHandling.LEFT_IN_CAR,
) -> Belonging:
    """Add an item to the belongings list; valuables must go with the customer or to the desk."""
    description = (description or "").strip()
    if not description:
        raise DomainError(_("Name the item."), field="description")
    if handling not in ValuablesHandling.values:
        raise DomainError(_("Say where the item is kept."), field="handling")
    if is_valuable and handling == ValuablesHandling.LEFT_IN_CAR:
        raise DomainError(
            _(
                "Valuables do not stay in the car: hand them to the customer "
                "or lock them at the desk."
            ),
            field="handling",
            code="valuable_in_car",
        )
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_if_walkaround_signed(locked)
        item = Belonging.objects.create(
            visit=locked, description=description, is_valuable=is_valuable, handling=handling
        )
    _refresh_caller(visit, locked)
    return item


def belonging_remove(*, belonging: Belonging, actor: User) -> None:
    """Take an item off the belongings list (before the customer signs)."""
    _walkaround_item_remove(belonging)


def _walkaround_item_remove(item: DamageMark | Belonging) -> None:
    with transaction.atomic():
        locked = visit_lock(item.visit)
        _refuse_if_walkaround_signed(locked)
        type(item).objects.filter(pk=item.pk, visit=locked).delete()


def visit_walkaround_sign(
    *,
    visit: Visit,
    actor: User,
    signature: str | bytes,
    signer_name: str,
    expected_version: int | None = None,
) -> Visit:
    """The customer signs the walk-around; it and their concern are frozen from then on."""
    signature_refuse_oversized(signature)  # before the row lock: a bomb must not hold it
    with transaction.atomic():
        locked = visit_lock(visit, expected_version)
        _refuse_if_walkaround_signed(locked)
        missing = []
        if locked.odometer_km is None:
            missing.append(("odometer_km", _("Read the odometer.")))
        if locked.fuel_level is None and locked.charge_percent is None:
            # A battery-electric car's page asks the charge level (%), any other the fuel.
            if locked.vehicle.is_battery_electric:
                missing.append(("charge_percent", _("Record the charge level.")))
            else:
                missing.append(("fuel_level", _("Record the fuel level.")))
        if locked.covers == Covers.NONE:
            missing.append(("covers", _("Fit the protective covers in front of the customer.")))
        if not locked.key_tag:
            missing.append(("key_tag", _("Register the key with a key tag.")))
        if not locked.concern_text.strip():
            missing.append(("concern_text", _("Write down the customer's concern.")))
        signer_name = (signer_name or "").strip()
        if not signer_name:
            missing.append(("signer_name", _("Enter the name of the person signing.")))
        if missing:
            field, message = missing[0]
            raise DomainError(message, field=field, code="walkaround_incomplete")
        png = signature_png(signature)
        locked.walkaround_signature.save(png.name, png, save=False)
        locked.walkaround_signer = signer_name
        locked.walkaround_signed_at = timezone.now()
        save_versioned(
            locked,
            ["walkaround_signature", "walkaround_signer", "walkaround_signed_at"],
            reason="walk-around signed",
        )
        timeline_record(
            kind="visit.walkaround_signed",
            summary=StoredMessage(
                gettext_noop("%(number)s: walk-around signed by %(name)s"),
                number=locked.number,
                name=signer_name,
            ),
            customer=locked.customer,
            vehicle=locked.vehicle,
            subject=locked,
            actor=actor,
        )
    _refresh_caller(visit, locked)
    return locked


def visit_concern_update(
    *, visit: Visit, actor: User, expected_version: int | None = None, **data: Any
) -> Visit:
    """Record the concern (verbatim), notes, diagnosis, assist request and comeback link.

    The concern is the customer's own words: once they signed it is never edited.
    """
    unknown = set(data) - set(CONCERN_FIELDS)
    if unknown:
        raise TypeError(f"unknown concern fields: {sorted(unknown)}")
    data = clean_texts(
        data,
        concern_text=CONCERN_MAX_LENGTH,
        advisor_notes=NOTE_MAX_LENGTH,
        diagnosis=NOTE_MAX_LENGTH,
    )
    with transaction.atomic():
        locked = visit_lock(visit, expected_version)
        if locked.status != VisitStatus.CHECKED_IN:
            raise DomainError(
                _("The order is signed; record later findings on the job instead."),
                code="order_signed",
            )
        changes = {name: value for name, value in data.items() if getattr(locked, name) != value}
        if "concern_text" in changes and locked.walkaround_signed:
            raise DomainError(
                _("The customer signed their concern; it is kept word for word and cannot change."),
                field="concern_text",
                code="concern_signed",
            )
        comeback_of = changes.get("comeback_of", locked.comeback_of)
        is_comeback = changes.get("is_comeback", locked.is_comeback)
        if is_comeback and comeback_of is None:
            raise DomainError(
                _("Choose the earlier visit this comeback repeats."), field="comeback_of"
            )
        if comeback_of is not None and (
            comeback_of.vehicle_id != locked.vehicle_id or comeback_of.pk == locked.pk
        ):
            raise DomainError(
                _("The earlier visit must be for the same vehicle."), field="comeback_of"
            )
        if not is_comeback and comeback_of is not None:
            changes["comeback_of"] = None
        if not changes:
            return locked
        for name, value in changes.items():
            setattr(locked, name, value)
        save_versioned(locked, list(changes))
    _refresh_caller(visit, locked)
    return locked


def visit_cancel(*, visit: Visit, actor: User, reason: str) -> Visit:
    """Cancel an open visit with a reason; the customer's links to it stop working."""
    visit = visit_transition(visit=visit, to=VisitStatus.CANCELLED, actor=actor, reason=reason)
    customer_links_revoke(obj=visit)
    return visit


def visit_hand_over(*, visit: Visit, actor: User) -> Visit:
    """The workshop controller signs for the order, key and car; the time is recorded."""
    if not has_role(actor, [Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER]):
        raise DomainError(_("Only the workshop controller signs for the car."))
    with transaction.atomic():
        locked = visit_lock(visit)
        if locked.status == VisitStatus.CHECKED_IN:
            raise DomainError(
                _("The work order is not signed yet; the car cannot go to the workshop."),
                code="not_signed",
            )
        if locked.handed_over_at is not None or not locked.is_open:
            raise DomainError(_("This car has already been handed to the workshop."))
        locked.handed_over_at = timezone.now()
        locked.handed_over_to = actor
        save_versioned(locked, ["handed_over_at", "handed_over_to"], reason="handed over")
        timeline_record(
            kind="visit.handed_over",
            summary=StoredMessage(
                gettext_noop("%(number)s: order, key and car handed to %(name)s"),
                number=locked.number,
                name=actor,
            ),
            customer=locked.customer,
            vehicle=locked.vehicle,
            subject=locked,
            actor=actor,
        )
    _refresh_caller(visit, locked)
    return locked


def visit_promise_update(
    *, visit: Visit, actor: User | None, promised_at: datetime, reason: "str | StoredMessage"
) -> Visit:
    """Move the promised delivery time; the reason is kept for the customer and the report.

    A reason the system words itself comes as a `StoredMessage`: the timeline reads it in
    the reader's language.
    """
    worded = reason if isinstance(reason, StoredMessage) else None
    reason = str(reason or "").strip()
    if not reason:
        raise DomainError(_("Give the reason for the new promised time."), field="reason")
    with transaction.atomic():
        locked = visit_lock(visit)
        if not locked.is_open:
            raise DomainError(_("This visit is finished; its promise cannot change."))
        previous = locked.promised_at
        locked.promised_at = promised_at
        save_versioned(locked, ["promised_at"], reason=reason)
        timeline_record(
            kind="visit.promise_changed",
            summary=StoredMessage(
                gettext_noop("%(number)s: promised time moved to %(time)s (%(reason)s)"),
                number=locked.number,
                time=timezone.localtime(promised_at).strftime("%Y-%m-%d %H:%M"),
                reason=worded or reason,
            ),
            customer=locked.customer,
            vehicle=locked.vehicle,
            subject=locked,
            actor=actor,
            data={"previous": previous.isoformat() if previous else None},
        )
        # The customer is told the new time now; the next progress message is N hours on.
        progress_push_restart(visit=locked)
    _refresh_caller(visit, locked)
    return locked
