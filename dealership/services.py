"""Writes to master data. Views and the API call these; they hold no rules themselves."""

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .errors import DomainError
from .models import Customer, TimelineEvent, User, Vehicle
from .selectors import customer_by_mobile
from .stored_text import StoredMessage
from .text import clean_text, text_fields_check
from .validators import normalize_phone, normalize_plate, normalize_vin


def model_update(*, instance: models.Model, data: dict[str, Any]) -> tuple[models.Model, bool]:
    """Set the named fields, validate the whole row, save only what changed."""
    changed = [name for name, value in data.items() if getattr(instance, name) != value]
    for name in changed:
        setattr(instance, name, data[name])
    if changed:
        instance.full_clean()
        instance.save(update_fields=changed)
    return instance, bool(changed)


def timeline_record(**line) -> TimelineEvent:
    """Add one line to the customer archive's timeline (the line's fields: `timeline_event`).

    A line the system words itself passes `summary_code` (+ `summary_params`, see
    `dealership.stored_text`): it is read in the reader's language; `summary` stays as
    the fallback.
    """
    event = timeline_event(**line)
    event.save(force_insert=True)
    return event


def timeline_event(
    *,
    kind: str,
    summary: str,
    customer: Customer | None = None,
    vehicle: Vehicle | None = None,
    subject: models.Model | None = None,
    actor: User | None = None,
    data: dict | None = None,
    summary_code: str = "",
    summary_params: dict | None = None,
) -> TimelineEvent:
    """The line `timeline_record` adds, not saved yet: for `timeline_record_many`."""
    if customer is None and vehicle is not None:
        customer = vehicle.owner
    data = dict(data or {})
    if isinstance(summary, StoredMessage) and not summary_code:
        summary_code, summary_params = summary.code, summary.params
    if summary_code:
        data.update(summary_code=summary_code, summary_params=summary_params or {})
    return TimelineEvent(
        kind=kind,
        summary=str(summary)[:300],
        customer=customer,
        vehicle=vehicle,
        subject_type=ContentType.objects.get_for_model(subject) if subject else None,
        subject_id=subject.pk if subject else None,
        actor=actor,
        data=data,
    )


def timeline_record_many(events: list[TimelineEvent]) -> None:
    """Add many lines (`timeline_event`) in one INSERT, each checked as a save checks it."""
    for event in events:
        text_fields_check(event)
    TimelineEvent.objects.bulk_create(events)


def _normalize_customer(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    for name in ("mobile", "mobile_alt"):
        if name in data:
            data[name] = normalize_phone(data[name])
    if "name" in data:
        data["name"] = data["name"].strip()
    return data


def customer_create(*, actor: User | None, **data) -> Customer:
    """Register a customer (mobile normalised to its 11 digits)."""
    customer = Customer(**_normalize_customer(data))
    customer.full_clean()
    with transaction.atomic():
        customer.save()
        timeline_record(
            kind="customer.created",
            summary=StoredMessage(gettext_noop("Customer registered")),
            customer=customer,
            subject=customer,
            actor=actor,
        )
    return customer


def customer_update(*, customer: Customer, actor: User | None, **data) -> Customer:
    """Edit a customer's details; the change is kept in its history.

    A new mobile clears the wrong-number flag a follow-up call set.
    """
    data = _normalize_customer(data)
    if customer.wrong_number_at and data.get("mobile", customer.mobile) != customer.mobile:
        data["wrong_number_at"] = None
    customer, _changed = model_update(instance=customer, data=data)
    return customer


def _normalize_vehicle(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    if "vin" in data:
        data["vin"] = normalize_vin(data["vin"]) or None
    if "plate" in data:
        data["plate"] = normalize_plate(data["plate"]) or None
    return data


def _refuse_duplicate_vin(vin: str | None, *, exclude_pk: int | None = None) -> None:
    if not vin:
        return
    existing = Vehicle.objects.filter(vin=vin).exclude(pk=exclude_pk).first()
    if existing:
        raise DomainError(
            format_html(
                '{} <a href="{}">{}</a>',
                _("This VIN is already registered:"),
                reverse("vehicle_detail", args=[existing.pk]),
                str(existing),
            ),
            field="vin",
            code="duplicate_vin",
        )


def vehicle_create(*, actor: User | None, owner: Customer, **data) -> Vehicle:
    """Register a vehicle for its owner. A VIN that exists is refused with a link to it."""
    data = _normalize_vehicle(data)
    _refuse_duplicate_vin(data.get("vin"))
    vehicle = Vehicle(owner=owner, **data)
    vehicle.full_clean()
    with transaction.atomic():
        vehicle.save()
        timeline_record(
            kind="vehicle.created",
            summary=StoredMessage(
                gettext_noop("Vehicle %(plate)s registered"), plate=vehicle.plate or vehicle.vin
            ),
            vehicle=vehicle,
            subject=vehicle,
            actor=actor,
        )
    return vehicle


def vehicle_update(
    *, vehicle: Vehicle, actor: User | None, odometer_reason: str = "", **data
) -> Vehicle:
    """Edit a vehicle's details. The owner changes only through `vehicle_change_owner`.

    The odometer never goes down without a reason (check-in's rule): the vehicle's page
    and API have no reason to give, so only the walk-around lowers it.
    """
    data = _normalize_vehicle(data)
    data.pop("owner", None)
    if "vin" in data:
        _refuse_duplicate_vin(data["vin"], exclude_pk=vehicle.pk)
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update(of=("self",)).get(pk=vehicle.pk)
        odometer = data.get("last_odometer_km", vehicle.last_odometer_km)
        last = vehicle.last_odometer_km
        if odometer != last:
            # Check-in's rule: a lower reading needs a reason (a replaced cluster), and the
            # reason is written on the walk-around, not on the vehicle record.
            lowered = last is not None and (odometer is None or odometer < last)
            if lowered and not odometer_reason.strip():
                raise DomainError(
                    _(
                        "The odometer cannot go below the last reading (%(last)s km) here. "
                        "A lower reading is recorded at check-in, with the reason."
                    )
                    % {"last": last},
                    field="last_odometer_km",
                    code="odometer_lower",
                )
            data.setdefault("last_odometer_at", timezone.now())
        vehicle, _changed = model_update(instance=vehicle, data=data)
    return vehicle


def vehicle_change_owner(*, vehicle: Vehicle, new_owner: Customer, actor: User | None) -> Vehicle:
    """Hand the vehicle to a new owner; the earlier owner stays in its history."""
    with transaction.atomic():
        vehicle = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        previous = vehicle.owner
        if previous.pk == new_owner.pk:
            raise DomainError(_("This customer already owns the vehicle."), field="owner")
        vehicle.owner = new_owner
        vehicle.save(update_fields=["owner"])
        summary = _("Owner changed from %(old)s to %(new)s") % {
            "old": previous.name,
            "new": new_owner.name,
        }
        for customer in (previous, new_owner):
            timeline_record(
                kind="vehicle.owner_changed",
                summary=summary,
                customer=customer,
                vehicle=vehicle,
                subject=vehicle,
                actor=actor,
            )
    return vehicle


# Longer than any name, plate or model a person types; the fields' own limits say more.
REGISTRATION_FIELD_MAX_LENGTH = 200


def _add_errors(errors: dict[str, list], error: ValidationError) -> None:
    for name, found in error.error_dict.items():
        errors.setdefault(name, []).extend(found)


def customer_with_vehicle_errors(
    *,
    name: str = "",
    mobile: str = "",
    plate: str | None = "",
    vin: str | None = "",
    brand: str = "",
    model: str = "",
    colour: str = "",
) -> dict[str, list[ValidationError]]:
    """Every error of registering a customer with a car at once, by field; nothing saved.

    A mobile already on file reuses its customer, so only a new customer is validated. The VIN
    may be left empty when the registration is not at hand; the plate then identifies the car.
    A VIN on file is refused with a link to its vehicle.
    """
    errors: dict[str, list[ValidationError]] = {}
    typed = {"name": name, "mobile": mobile, "plate": plate, "vin": vin, "brand": brand}
    for field, value in {**typed, "model": model, "colour": colour}.items():
        try:  # a NUL or a lone surrogate cannot even be looked up: say so before any query
            clean_text(value, field=field, max_length=REGISTRATION_FIELD_MAX_LENGTH)
        except DomainError as error:
            _add_errors(errors, error)
    if errors:
        return errors
    if customer_by_mobile(mobile) is None:
        try:
            Customer(name=name, mobile=normalize_phone(mobile)).full_clean(exclude=["language"])
        except ValidationError as error:
            _add_errors(errors, error)
    vehicle = Vehicle(
        **_normalize_vehicle({"plate": plate, "vin": vin}), brand=brand, model=model, colour=colour
    )
    try:
        _refuse_duplicate_vin(vehicle.vin)
    except DomainError as error:
        _add_errors(errors, error)
    try:
        vehicle.full_clean(exclude=["owner", *(["vin"] if "vin" in errors else [])])
    except ValidationError as error:
        _add_errors(errors, error)
    return errors


def customer_with_vehicle_register(
    *,
    actor: User | None,
    name: str,
    mobile: str,
    plate: str | None,
    vin: str | None = None,
    brand: str = "",
    model: str = "",
    colour: str = "",
) -> Vehicle:
    """Register a car and its owner in one step (a walk-in, a new customer on the phone).

    The customer with this mobile is reused when there is one. Every error comes back at once
    in one ValidationError by field (`customer_with_vehicle_errors`), nothing saved.
    """
    car = {"plate": plate, "vin": vin, "brand": brand, "model": model, "colour": colour}
    errors = customer_with_vehicle_errors(name=name, mobile=mobile, **car)
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        customer = customer_by_mobile(mobile) or customer_create(
            actor=actor, name=name, mobile=mobile
        )
        return vehicle_create(actor=actor, owner=customer, **car)
