"""Step 1: opening hours, holidays, campaigns, appointments and their lines.

Capacity itself is not stored: it is computed from the technicians' hours and
the rules (see `appointments.capacity`). `DayLock` is the one row per day the
booking services lock, so two advisors booking the last free slot at once are
serialised and exactly one succeeds.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dealership.counters import SeriesCounter
from dealership.models import (
    BilingualName,
    Customer,
    LabourOperation,
    MaintenancePlan,
    Part,
    Vehicle,
    WorkType,
)
from dealership.money import PaymentMethod, cents
from dealership.text import CONCERN_MAX_LENGTH, NOTE_MAX_LENGTH

from .states import OPEN_STATUSES, DepositStatus, Status


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class OpeningHours(models.Model):
    """The store's hours for one weekday. A weekday without a row uses the default hours."""

    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices, unique=True)
    opens = models.TimeField(_("opens"))
    closes = models.TimeField(_("closes"))
    closed = models.BooleanField(_("closed all day"), default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["weekday"]
        constraints = [
            models.CheckConstraint(
                condition=Q(closed=True) | Q(opens__lt=models.F("closes")),
                name="opening_hours_opens_before_closes",
            )
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


class Holiday(models.Model):
    """A day the workshop takes no appointments (public holiday, stock-taking, training)."""

    day = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["day"]

    def __str__(self):
        return f"{self.day:%Y-%m-%d} {self.name}"


class DayLock(models.Model):
    """One row per booked day; booking services `select_for_update()` it (see module doc)."""

    day = models.DateField(unique=True)

    def __str__(self):
        return str(self.day)


class CampaignKind(models.TextChoices):
    RECALL = "recall", _("Recall")
    SERVICE = "service", _("Service campaign")


class Campaign(BilingualName):
    """An open recall or service campaign (市场处置活动) matching VIN ranges or models."""

    code = models.CharField(_("campaign code"), max_length=30, unique=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CampaignKind.choices, default=CampaignKind.RECALL
    )
    models_match = models.CharField(
        _("models"),
        max_length=300,
        blank=True,
        help_text=_("Comma-separated model names or fragments, e.g. Camry, RAV4. Empty: any."),
    )
    vin_from = models.CharField(_("VIN from"), max_length=17, blank=True)
    vin_to = models.CharField(_("VIN to"), max_length=17, blank=True)
    instructions = models.TextField(_("what to do"), blank=True, max_length=NOTE_MAX_LENGTH)
    labour_operation = models.ForeignKey(
        LabourOperation,
        verbose_name=_("labour operation"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    active = models.BooleanField(_("open"), default=True)
    ends_on = models.DateField(_("ends on"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-active", "code"]

    def __str__(self):
        return f"{self.code} {self.name}"

    def matches(self, vehicle: Vehicle) -> bool:
        """True when the vehicle is in this campaign's VIN range and model list."""
        vin = vehicle.vin or ""
        if self.vin_from and vin < self.vin_from.upper():
            return False
        if self.vin_to and vin > self.vin_to.upper():
            return False
        fragments = [f.strip().lower() for f in self.models_match.split(",") if f.strip()]
        if fragments:
            model = f"{vehicle.brand} {vehicle.model}".lower()
            return any(fragment in model for fragment in fragments)
        return bool(self.vin_from or self.vin_to)


class Channel(models.TextChoices):
    """How the appointment was made. Walk-ins are not appointments: reception checks them in."""

    PHONE = "phone", _("Phone")
    DESK = "desk", _("At the desk")
    WEB = "web", _("Online self-service")


APPOINTED_CHANNELS = tuple(Channel)


class Appointment(models.Model):
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="appointments"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="appointments"
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="appointments",
    )
    channel = models.CharField(
        _("channel"), max_length=10, choices=Channel.choices, default=Channel.PHONE
    )
    start = models.DateTimeField(_("arrival time"), db_index=True)
    end = models.DateTimeField(_("estimated end"))
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.BOOKED, db_index=True
    )
    concern_text = models.TextField(
        _("request in the customer's own words"),
        max_length=CONCERN_MAX_LENGTH,
        blank=True,
        help_text=_("Write down what the customer says, as they say it."),
    )
    waiting = models.BooleanField(
        _("customer waits"), default=False, help_text=_("Unset: the car is dropped off.")
    )
    maintenance_plan = models.ForeignKey(
        MaintenancePlan,
        verbose_name=_("maintenance plan"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
    )
    deposit_required = models.DecimalField(
        _("deposit required"), max_digits=10, decimal_places=2, default=Decimal("0")
    )
    deposit_paid = models.DecimalField(
        _("deposit paid"), max_digits=10, decimal_places=2, default=Decimal("0")
    )
    deposit_paid_at = models.DateTimeField(_("deposit paid at"), null=True, blank=True)
    rebooked_from = models.ForeignKey(
        "self",
        verbose_name=_("rebooked from"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="rebookings",
    )
    booked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("booked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("booked at"), default=timezone.now, editable=False)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    arrived_at = models.DateTimeField(_("arrived at"), null=True, blank=True)
    no_show_at = models.DateTimeField(_("marked no-show at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        ordering = ["start", "id"]
        indexes = [
            models.Index(fields=["vehicle", "start"]),
            models.Index(fields=["advisor", "start"]),
        ]

    def __str__(self):
        local = timezone.localtime(self.start)
        return f"{local:%Y-%m-%d %H:%M} {self.vehicle.plate or self.vehicle.vin}"

    def get_absolute_url(self):
        return reverse("appointments:detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def hours_total(self) -> Decimal:
        return sum((line.hours for line in self.lines.all()), Decimal("0"))

    @property
    def amount_total(self) -> Decimal:
        return sum((line.amount for line in self.lines.all()), Decimal("0"))

    @property
    def parts_to_order(self) -> list:
        """Part lines still on order (reads the prefetched lines)."""
        return [line for line in self.lines.all() if line.stock_status == StockStatus.TO_ORDER]

    @property
    def deposit_due(self) -> Decimal:
        return max(self.deposit_required - self.deposit_paid, Decimal("0"))


class StockStatus(models.TextChoices):
    RESERVED = "reserved", _("Reserved from stock")
    TO_ORDER = "to_order", _("To order")
    RECEIVED = "received", _("Ordered part received")


class AppointmentLine(models.Model):
    """A labour operation (with its hours) or a part (with its stock status) on a booking."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="lines")
    operation = models.ForeignKey(
        LabourOperation,
        verbose_name=_("labour operation"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
    )
    part = models.ForeignKey(
        Part, verbose_name=_("part"), on_delete=models.PROTECT, null=True, blank=True
    )
    work_type = models.CharField(
        _("work type"), max_length=20, choices=WorkType.choices, blank=True
    )
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=2, default=Decimal("0"))
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    stock_status = models.CharField(
        _("stock"), max_length=10, choices=StockStatus.choices, blank=True
    )
    expected_on = models.DateField(_("expected on"), null=True, blank=True)

    class Meta:
        verbose_name = _("appointment line")
        verbose_name_plural = _("appointment lines")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(operation__isnull=False) & Q(part__isnull=True))
                | (Q(operation__isnull=True) & Q(part__isnull=False)),
                name="appointment_line_operation_xor_part",
            )
        ]

    def __str__(self):
        return str(self.operation or self.part)

    @property
    def amount(self) -> Decimal:
        return cents(self.price * self.quantity)


class Deposit(models.Model):
    """Money the customer paid ahead for ordered parts, with its own receipt number.

    Held until the visit's bill credits it, the service manager refunds it, or
    the store keeps it for a no-show; each of those moves stamps its time, so
    the day's deposits taken, applied and refunded are one query each.
    """

    Status = DepositStatus

    appointment = models.ForeignKey(
        Appointment,
        verbose_name=_("appointment"),
        on_delete=models.PROTECT,
        related_name="deposits",
    )
    receipt_number = models.CharField(_("deposit receipt"), max_length=20, unique=True)
    amount = models.DecimalField(_("amount"), max_digits=10, decimal_places=2)
    method = models.CharField(_("method"), max_length=10, choices=PaymentMethod.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=DepositStatus.choices, default=DepositStatus.HELD
    )
    taken_at = models.DateTimeField(_("paid at"), default=timezone.now, db_index=True)
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    # The bill that credited it (delivery's Settlement, named by id: appointments sits below).
    settlement_id = models.PositiveBigIntegerField(_("bill"), null=True, blank=True)
    invoice_number = models.CharField(_("credited on invoice"), max_length=20, blank=True)
    applied_at = models.DateTimeField(_("credited at"), null=True, blank=True, db_index=True)
    refunded_at = models.DateTimeField(_("refunded at"), null=True, blank=True, db_index=True)
    refunded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("refunded by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    refund_amount = models.DecimalField(
        _("amount refunded"), max_digits=10, decimal_places=2, default=Decimal("0")
    )
    refund_method = models.CharField(
        _("refunded how"), max_length=10, choices=PaymentMethod.choices, blank=True
    )
    refund_reason = models.CharField(_("reason for the refund"), max_length=200, blank=True)
    forfeited_at = models.DateTimeField(_("kept at"), null=True, blank=True, db_index=True)
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deposit")
        verbose_name_plural = _("deposits")
        ordering = ["taken_at", "id"]

    def __str__(self):
        return self.receipt_number


class DepositCounter(SeriesCounter):
    """The deposit receipts' own gapless series, one per year."""

    class Meta:
        verbose_name = _("deposit receipt counter")
        verbose_name_plural = _("deposit receipt counters")


class RecallImport(models.Model):
    """One uploaded VIN list of a campaign: previewed first, its VINs join when confirmed."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="imports"
    )
    file_name = models.CharField(_("file"), max_length=255)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    # Well-formed VINs of the file not yet in the campaign, in file order, each once.
    new_vins = models.JSONField(default=list)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    known = models.PositiveIntegerField(_("vehicles on file"), default=0)
    unknown = models.PositiveIntegerField(_("not on file"), default=0)
    duplicates = models.PositiveIntegerField(_("repeated in the file"), default=0)
    already = models.PositiveIntegerField(_("already in the campaign"), default=0)
    malformed = models.PositiveIntegerField(_("malformed"), default=0)
    # The first malformed rows, [row number, value], for the preview.
    malformed_sample = models.JSONField(default=list)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("recall VIN import")
        verbose_name_plural = _("recall VIN imports")
        ordering = ["-uploaded_at"]

    def __str__(self):
        return f"{self.campaign.code} {self.file_name}"


class RecallVin(models.Model):
    """One VIN the brand listed for a campaign; done when a signed order did its operation."""

    campaign = models.ForeignKey(
        Campaign, verbose_name=_("campaign"), on_delete=models.CASCADE, related_name="vins"
    )
    vin = models.CharField(_("VIN"), max_length=17, db_index=True)
    source = models.ForeignKey(
        RecallImport, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_order = models.CharField(_("done on order"), max_length=30, blank=True)

    class Meta:
        verbose_name = _("recall VIN")
        verbose_name_plural = _("recall VINs")
        ordering = ["vin"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "vin"], name="recall_vin_once_per_campaign")
        ]

    def __str__(self):
        return self.vin
