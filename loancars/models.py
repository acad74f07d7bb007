"""Courtesy cars: the fleet, each loan (booked with an appointment, out with a visit,
returned) and the photos taken at check-out, return and of damage.

A car is out on at most one loan: the check-out locks the car's row, and a partial
unique constraint (one loan with status `out` per car) holds even if code forgets to.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from appointments.models import Appointment
from dealership.models import Customer
from dealership.text import NOTE_MAX_LENGTH
from reception.models import FuelLevel, Visit


class CarStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    OUT = "out", _("Lent out")
    MAINTENANCE = "maintenance", _("In maintenance")


class LoanCar(models.Model):
    plate = models.CharField(_("plate"), max_length=20, unique=True)
    model = models.CharField(_("model"), max_length=100)
    status = models.CharField(
        _("status"), max_length=12, choices=CarStatus.choices, default=CarStatus.AVAILABLE
    )
    km = models.PositiveIntegerField(_("odometer (km)"), default=0)
    note = models.CharField(_("note"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("courtesy car")
        verbose_name_plural = _("courtesy cars")
        ordering = ["plate"]

    def __str__(self):
        return f"{self.plate} {self.model}"


class LoanStatus(models.TextChoices):
    BOOKED = "booked", _("Booked")
    OUT = "out", _("Out")
    RETURNED = "returned", _("Returned")
    CANCELLED = "cancelled", _("Cancelled")


class Loan(models.Model):
    car = models.ForeignKey(
        LoanCar, verbose_name=_("courtesy car"), on_delete=models.PROTECT, related_name="loans"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=LoanStatus.choices, default=LoanStatus.BOOKED
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="+"
    )
    appointment = models.ForeignKey(
        Appointment, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    visit = models.ForeignKey(
        Visit, on_delete=models.PROTECT, null=True, blank=True, related_name="loans"
    )
    booked_for = models.DateField(_("booked for"), null=True, blank=True)
    driver_name = models.CharField(_("driver"), max_length=100, blank=True)
    licence_number = models.CharField(_("driving licence number"), max_length=20, blank=True)
    due_back_at = models.DateTimeField(_("agreed return"), null=True, blank=True)
    out_at = models.DateTimeField(_("lent at"), null=True, blank=True)
    out_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    fuel_out = models.PositiveSmallIntegerField(
        _("fuel at check-out"), choices=FuelLevel.choices, null=True, blank=True
    )
    km_out = models.PositiveIntegerField(_("km at check-out"), null=True, blank=True)
    agreement_signature = models.ImageField(
        _("signed agreement"), upload_to="signatures/loans/", blank=True
    )
    returned_at = models.DateTimeField(_("returned at"), null=True, blank=True)
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    fuel_in = models.PositiveSmallIntegerField(
        _("fuel at return"), choices=FuelLevel.choices, null=True, blank=True
    )
    km_in = models.PositiveIntegerField(_("km at return"), null=True, blank=True)
    late = models.BooleanField(_("returned late"), default=False)
    damage_note = models.TextField(_("damage"), blank=True, max_length=NOTE_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords(excluded_fields=["licence_number"])

    class Meta:
        verbose_name = _("courtesy car loan")
        verbose_name_plural = _("courtesy car loans")
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["car"], condition=Q(status="out"), name="loan_car_out_once"
            ),
            models.CheckConstraint(
                condition=Q(km_in__isnull=True) | Q(km_in__gte=models.F("km_out")),
                name="loan_km_in_not_below_km_out",
            ),
        ]

    def __str__(self):
        plate = self.car.plate if self.car_id else "—"
        return f"{plate} → {self.customer if self.customer_id else '—'}"

    @property
    def is_overdue(self) -> bool:
        return (
            self.status == LoanStatus.OUT
            and self.due_back_at is not None
            and timezone.now() > self.due_back_at
        )


class PhotoStage(models.TextChoices):
    OUT = "out", _("At check-out")
    RETURN = "return", _("At return")
    DAMAGE = "damage", _("Damage")


class LoanPhoto(models.Model):
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(_("when"), max_length=10, choices=PhotoStage.choices)
    image = models.ImageField(_("photo"), upload_to="loans/%Y/%m/")
    taken_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["taken_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(stage__in=["out", "return", "damage"]), name="loan_photo_stage_known"
            )
        ]

    def __str__(self):
        return f"{self.loan_id} {self.stage}"
