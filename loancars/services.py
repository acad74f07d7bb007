"""Courtesy car services: the fleet, booking with an appointment, check-out, return.

A check-out locks the car's row (`select_for_update`) and refuses a car that is not
available, so two advisors lending the same car at once: one wins, the other is told.
The partial unique constraint on `Loan` is the net under the lock.
"""

import logging
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from appointments.models import Appointment
from appointments.states import OPEN_STATUSES, Status
from dealership.errors import DomainError
from dealership.images import photo_reencode
from dealership.models import User
from dealership.pii import mask_personal_data
from dealership.services import model_update, timeline_record
from dealership.stored_text import StoredMessage
from dealership.text import NOTE_MAX_LENGTH
from dealership.transitions import move
from reception.models import FuelLevel, Visit
from reception.signatures import signature_png, signature_refuse_oversized
from reception.states import ON_SITE_STATUSES

from .models import CarStatus, Loan, LoanCar, LoanPhoto, LoanStatus, PhotoStage
from .states import CAR_STATES, LOAN_STATES

logger = logging.getLogger(__name__)

RETURNED_TEXT = {  # (late, damaged)
    (False, False): gettext_noop("Courtesy car %(plate)s returned"),
    (True, False): gettext_noop("Courtesy car %(plate)s returned late"),
    (False, True): gettext_noop("Courtesy car %(plate)s returned with damage"),
    (True, True): gettext_noop("Courtesy car %(plate)s returned late, with damage"),
}
MAX_PHOTOS = 8
MAX_KM = 2_000_000
# Chinese driving licences carry the holder's 18-character ID number; foreign ones vary.
LICENCE_MIN, LICENCE_MAX = 6, 20


def mask_licence(value: str) -> str:
    """A driving licence number as lists and logs show it: 3201********1234."""
    text = (value or "").strip()
    if len(text) <= 6:
        return "*" * len(text)
    return f"{text[:4]}{'*' * (len(text) - 8)}{text[-4:]}" if len(text) > 8 else f"***{text[-3:]}"


def _clean_licence(value: str) -> str:
    text = "".join((value or "").split()).upper()
    if not (LICENCE_MIN <= len(text) <= LICENCE_MAX) or not text.isalnum() or not text.isascii():
        raise DomainError(
            _("Enter the driving licence number: 6 to 20 letters or digits."),
            field="licence_number",
        )
    return text


def _clean_fuel(value, field: str) -> int:
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = -1
    if level not in FuelLevel.values:
        raise DomainError(_("Choose the fuel level."), field=field)
    return level


def _clean_km(value, field: str, *, at_least: int = 0) -> int:
    try:
        km = int(value)
    except (TypeError, ValueError):
        km = -1
    if km < 0 or km > MAX_KM:
        raise DomainError(_("Enter the odometer reading in km."), field=field)
    if km < at_least:
        raise DomainError(
            _("The odometer cannot read less than at check-out (%(km)s km).") % {"km": at_least},
            field=field,
        )
    return km


def _photos(photos, field: str = "photos") -> list:
    photos = list(photos or [])
    if len(photos) > MAX_PHOTOS:
        raise DomainError(
            _("At most %(count)s photos at a time.") % {"count": MAX_PHOTOS}, field=field
        )
    return [photo_reencode(photo, field=field) for photo in photos]


def _save_photos(loan: Loan, files: list, stage: str) -> None:
    for number, content in enumerate(files, start=1):
        photo = LoanPhoto(loan=loan, stage=stage)
        photo.image.save(f"loan-{loan.pk}-{stage}-{number}.jpg", content, save=False)
        photo.save()


def loan_car_save(*, car: LoanCar | None = None, actor: User | None, **data) -> LoanCar:
    """Add a car to the fleet or edit one. Whether a car is out is decided by its loans:
    the manager may set available / maintenance, never out, and not while it is out."""
    status = data.get("status")
    if status == CarStatus.OUT and (car is None or car.status != CarStatus.OUT):
        raise DomainError(_("A car is lent out by checking it out to a customer."), field="status")
    if car is not None and car.status == CarStatus.OUT and status != CarStatus.OUT:
        raise DomainError(_("The car is lent out: take it back first."), field="status")
    if car is None:
        car = LoanCar(**data)
        car.full_clean()
        car.save()
        return car
    car, _changed = model_update(instance=car, data=data)
    return car


def loan_book(*, appointment: Appointment, car: LoanCar, actor: User | None) -> Loan:
    """Reserve a courtesy car for the appointment's day (optional, at booking)."""
    if appointment.status not in OPEN_STATUSES:
        raise DomainError(_("Only an open appointment can have a courtesy car booked."))
    day = timezone.localdate(appointment.start)
    with transaction.atomic():
        car = LoanCar.objects.select_for_update().get(pk=car.pk)
        if car.status == CarStatus.MAINTENANCE:
            raise DomainError(_("This car is in maintenance."), field="car")
        if Loan.objects.filter(appointment=appointment, status=LoanStatus.BOOKED).exists():
            raise DomainError(_("A courtesy car is booked for this appointment already."))
        taken = Loan.objects.filter(car=car, status=LoanStatus.BOOKED, booked_for=day).exclude(
            appointment__status__in=[Status.CANCELLED, Status.NO_SHOW]
        )
        if taken.exists():
            raise DomainError(_("This car is booked for another customer that day."), field="car")
        loan = Loan.objects.create(
            car=car,
            customer_id=appointment.customer_id,
            appointment=appointment,
            booked_for=day,
            status=LoanStatus.BOOKED,
        )
    return loan


def loan_cancel(*, loan: Loan, actor: User | None) -> Loan:
    with transaction.atomic():
        locked = Loan.objects.select_for_update().get(pk=loan.pk)
        if locked.status != LoanStatus.BOOKED:
            raise DomainError(_("Only a booked courtesy car can be cancelled."))
        move(LOAN_STATES, locked, LoanStatus.CANCELLED, save=False)
        locked.save(update_fields=["status"])
    return locked


def loan_check_out(
    *,
    car: LoanCar,
    visit: Visit,
    actor: User,
    driver_name: str,
    licence_number: str,
    fuel: int,
    km: int,
    due_back_at: datetime,
    signature: str | bytes,
    photos=(),
) -> Loan:
    """Lend the car to the visit's customer: readings, licence, photos, signed agreement.

    The customer's booking for this car (if any) becomes the loan.
    """
    signature_refuse_oversized(signature)
    driver_name = (driver_name or "").strip()
    if not driver_name or len(driver_name) > 100:
        raise DomainError(
            _("Enter the driver's name (at most 100 characters)."), field="driver_name"
        )
    licence = _clean_licence(licence_number)
    fuel = _clean_fuel(fuel, "fuel")
    km = _clean_km(km, "km")
    if due_back_at is None or due_back_at <= timezone.now():
        raise DomainError(_("The agreed return must be in the future."), field="due_back_at")
    if visit.status not in ON_SITE_STATUSES:
        raise DomainError(_("Only a car on site gets a courtesy car."))
    png = signature_png(signature)
    files = _photos(photos)
    try:
        with transaction.atomic():
            locked = LoanCar.objects.select_for_update().get(pk=car.pk)
            if locked.status != CarStatus.AVAILABLE:
                raise DomainError(
                    _("%(plate)s is not available (%(status)s).")
                    % {"plate": locked.plate, "status": locked.get_status_display()},
                    field="car",
                    code="car_not_available",
                )
            if Loan.objects.filter(visit=visit, status=LoanStatus.OUT).exists():
                raise DomainError(_("This visit has a courtesy car out already."))
            loan = (
                Loan.objects.select_for_update()
                .filter(car=locked, customer=visit.customer, status=LoanStatus.BOOKED)
                .order_by("booked_for")
                .first()
            ) or Loan(car=locked, customer=visit.customer)
            loan.visit = visit
            move(LOAN_STATES, loan, LoanStatus.OUT, save=False)
            loan.driver_name = driver_name
            loan.licence_number = licence
            loan.fuel_out, loan.km_out = fuel, km
            loan.due_back_at = due_back_at
            loan.out_at, loan.out_by = timezone.now(), actor
            loan.agreement_signature.save(png.name, png, save=False)
            loan.save()
            _save_photos(loan, files, PhotoStage.OUT)
            move(CAR_STATES, locked, CarStatus.OUT, save=False)
            locked.km = max(locked.km, km)
            locked.save(update_fields=["status", "km"])
            timeline_record(
                kind="loancar.out",
                summary=StoredMessage(
                    gettext_noop("Courtesy car %(plate)s lent until %(due)s"),
                    plate=locked.plate,
                    due=timezone.localtime(due_back_at).strftime("%Y-%m-%d %H:%M"),
                ),
                customer=visit.customer,
                vehicle=visit.vehicle,
                subject=loan,
                actor=actor,
            )
    except IntegrityError as exc:
        raise DomainError(
            _("%(plate)s is not available (%(status)s).")
            % {"plate": car.plate, "status": CarStatus.OUT.label},
            field="car",
            code="car_not_available",
        ) from exc
    logger.info(
        "courtesy car %s out on visit %s, licence %s",
        locked.plate,
        visit.pk,
        mask_personal_data(mask_licence(licence)),
    )
    return loan


def loan_return(
    *,
    loan: Loan,
    actor: User,
    fuel: int,
    km: int,
    damage_note: str = "",
    photos=(),
    damage_photos=(),
) -> Loan:
    """Take the car back: readings, photos; late when after the agreed time; damage noted
    (with photos) sends the car to maintenance until the manager frees it."""
    fuel = _clean_fuel(fuel, "fuel")
    damage_note = (damage_note or "").strip()
    if len(damage_note) > NOTE_MAX_LENGTH:
        raise DomainError(_("The damage note is too long."), field="damage_note")
    damage_files = _photos(damage_photos, "damage_photos")
    if damage_files and not damage_note:
        raise DomainError(_("Say what the damage is."), field="damage_note")
    files = _photos(photos)
    with transaction.atomic():
        locked = Loan.objects.select_for_update().select_related("car").get(pk=loan.pk)
        if locked.status != LoanStatus.OUT:
            raise DomainError(_("This courtesy car is not out."), code="not_out")
        km = _clean_km(km, "km", at_least=locked.km_out or 0)
        now = timezone.now()
        move(LOAN_STATES, locked, LoanStatus.RETURNED, save=False)
        locked.returned_at, locked.returned_by = now, actor
        locked.fuel_in, locked.km_in = fuel, km
        locked.late = locked.due_back_at is not None and now > locked.due_back_at
        locked.damage_note = damage_note
        locked.save()
        _save_photos(locked, files, PhotoStage.RETURN)
        _save_photos(locked, damage_files, PhotoStage.DAMAGE)
        car = LoanCar.objects.select_for_update().get(pk=locked.car_id)
        move(
            CAR_STATES,
            car,
            CarStatus.MAINTENANCE if damage_note else CarStatus.AVAILABLE,
            save=False,
        )
        car.km = max(car.km, km)
        car.save(update_fields=["status", "km"])
        if locked.visit_id:
            visit = locked.visit
            timeline_record(
                kind="loancar.returned",
                summary=StoredMessage(
                    RETURNED_TEXT[(locked.late, bool(damage_note))], plate=car.plate
                ),
                customer=visit.customer,
                vehicle=visit.vehicle,
                subject=locked,
                actor=actor,
            )
    return locked
