"""Step 2: the visit (the repair order's life), its walk-around, belongings and declined work.

A `Visit` is created at check-in, from an appointment or as a walk-in, and
follows the car until it leaves. Its status moves only through
`reception.services.visit_transition` (see `states`).
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dealership.models import Customer, Vehicle
from dealership.text import CONCERN_MAX_LENGTH, NOTE_MAX_LENGTH, REASON_MAX_LENGTH

from .states import ON_SITE_STATUSES, OPEN_STATUSES, HoldReason, NotRepairedReason, VisitStatus


class FuelLevel(models.IntegerChoices):
    EMPTY = 0, _("Empty")
    EIGHTH = 1, "1/8"
    QUARTER = 2, "1/4"
    THREE_EIGHTHS = 3, "3/8"
    HALF = 4, "1/2"
    FIVE_EIGHTHS = 5, "5/8"
    THREE_QUARTERS = 6, "3/4"
    SEVEN_EIGHTHS = 7, "7/8"
    FULL = 8, _("Full")


class Covers(models.TextChoices):
    NONE = "none", _("Not fitted")
    THREE = "three", _("Three-piece (seat, steering wheel, floor mat)")
    FIVE = "five", _("Five-piece (plus gear knob and handbrake)")


class WarningLamp(models.TextChoices):
    ENGINE = "engine", _("Check engine")
    ABS = "abs", _("ABS")
    AIRBAG = "airbag", _("Airbag")
    OIL = "oil", _("Oil pressure")
    BATTERY = "battery", _("Battery / charging")
    BRAKE = "brake", _("Brake system")
    TYRE = "tyre", _("Tyre pressure")
    COOLANT = "coolant", _("Coolant temperature")
    STEERING = "steering", _("Power steering")
    SERVICE = "service", _("Service due")


class Visit(models.Model):
    number = models.CharField(_("order number"), max_length=20, unique=True)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=VisitStatus.choices,
        default=VisitStatus.CHECKED_IN,
        db_index=True,
    )
    hold_reason = models.CharField(
        _("on hold because"), max_length=20, choices=HoldReason.choices, blank=True
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="visits"
    )
    vehicle = models.ForeignKey(
        Vehicle, verbose_name=_("vehicle"), on_delete=models.PROTECT, related_name="visits"
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("service advisor"),
        on_delete=models.PROTECT,
        related_name="advised_visits",
    )
    appointment = models.OneToOneField(
        "appointments.Appointment",
        verbose_name=_("appointment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="visit",
    )
    is_walk_in = models.BooleanField(_("walk-in"), default=True)
    customer_waits = models.BooleanField(
        _("customer waits"),
        default=False,
        help_text=_("The customer waits at the store: their car goes first."),
    )
    is_quick_service = models.BooleanField(
        _("quick service"),
        default=False,
        help_text=_("Express maintenance: exempt from the minimum consultation time."),
    )
    is_comeback = models.BooleanField(_("comeback / repeat repair"), default=False)
    comeback_of = models.ForeignKey(
        "self",
        verbose_name=_("earlier visit"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="comebacks",
    )

    # Walk-around (环车检查)
    previous_odometer_km = models.PositiveIntegerField(
        _("odometer on record at check-in (km)"), default=0, editable=False
    )
    odometer_km = models.PositiveIntegerField(_("odometer (km)"), null=True, blank=True)
    odometer_reason = models.CharField(
        _("reason for a lower reading"),
        max_length=200,
        blank=True,
        help_text=_(
            "Only when the reading is below the last one, e.g. instrument cluster replaced."
        ),
    )
    fuel_level = models.PositiveSmallIntegerField(
        _("fuel level"), choices=FuelLevel.choices, null=True, blank=True
    )
    charge_percent = models.PositiveSmallIntegerField(
        _("charge level (%)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Battery-electric cars: the state of charge shown on the dashboard."),
    )
    covers = models.CharField(
        _("protective covers"), max_length=10, choices=Covers.choices, default=Covers.NONE
    )
    exterior_notes = models.TextField(
        _("body and paint notes"), blank=True, max_length=NOTE_MAX_LENGTH
    )
    interior_notes = models.TextField(_("interior notes"), blank=True, max_length=NOTE_MAX_LENGTH)
    instruments_ok = models.BooleanField(_("instruments work"), default=True)
    warning_lamps = models.JSONField(_("warning lamps on"), default=list, blank=True)
    registration_received = models.BooleanField(_("registration (行驶证) received"), default=False)
    service_book_received = models.BooleanField(_("service book received"), default=False)
    other_documents = models.CharField(_("other documents"), max_length=200, blank=True)
    key_tag = models.CharField(_("key tag number"), max_length=10, blank=True)
    # The keychain as received (钥匙串), counted again at the hand-back.
    key_count = models.PositiveSmallIntegerField(
        _("keys received"), default=1, validators=[MinValueValidator(1), MaxValueValidator(9)]
    )
    keychain_notes = models.CharField(
        _("also on the keychain"),
        max_length=200,
        blank=True,
        help_text=_("E.g. remote, mechanical key, house keys, a tag or fob."),
    )
    parking_spot = models.CharField(_("parking spot"), max_length=20, blank=True)
    walkaround_signature = models.ImageField(
        _("customer's walk-around signature"), upload_to="signatures/walkaround/", blank=True
    )
    walkaround_signer = models.CharField(_("signed by"), max_length=100, blank=True)
    walkaround_signed_at = models.DateTimeField(_("walk-around signed at"), null=True, blank=True)

    # Concern and diagnosis
    concern_text = models.TextField(
        _("concern in the customer's own words"),
        max_length=CONCERN_MAX_LENGTH,
        blank=True,
        help_text=_("Write what the customer says, as they say it. Locked once they sign."),
    )
    advisor_notes = models.TextField(_("advisor's notes"), blank=True, max_length=NOTE_MAX_LENGTH)
    diagnosis = models.TextField(_("diagnosis"), blank=True, max_length=NOTE_MAX_LENGTH)
    technician_assist_requested = models.BooleanField(
        _("technician asked to help diagnose"), default=False
    )

    # Not repaired (issue 16): the customer declined the estimate or came for a diagnosis only.
    not_repaired_reason = models.CharField(
        _("not repaired because"), max_length=20, choices=NotRepairedReason.choices, blank=True
    )
    diagnosis_findings = models.TextField(
        _("technician's findings"), blank=True, max_length=NOTE_MAX_LENGTH
    )
    not_repaired_at = models.DateTimeField(_("not repaired since"), null=True, blank=True)
    not_repaired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    promised_at = models.DateTimeField(_("promised delivery"), null=True, blank=True)
    progress_token = models.TextField(_("customer progress link"), blank=True, editable=False)

    # One timestamp per status (see states.TIMESTAMP_FIELD).
    checked_in_at = models.DateTimeField(_("checked in at"), default=timezone.now)
    order_signed_at = models.DateTimeField(_("order signed at"), null=True, blank=True)
    handed_over_at = models.DateTimeField(_("handed to the workshop at"), null=True, blank=True)
    handed_over_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    work_started_at = models.DateTimeField(_("work started at"), null=True, blank=True)
    on_hold_since = models.DateTimeField(_("on hold since"), null=True, blank=True)
    work_done_at = models.DateTimeField(_("work done at"), null=True, blank=True)
    qc_passed_at = models.DateTimeField(_("QC passed at"), null=True, blank=True)
    qc_failed_at = models.DateTimeField(_("QC failed at"), null=True, blank=True)
    ready_at = models.DateTimeField(_("ready for pick-up at"), null=True, blank=True)
    settled_at = models.DateTimeField(_("settled at"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.TextField(
        _("reason for cancelling"), blank=True, max_length=REASON_MAX_LENGTH
    )
    status_changed_at = models.DateTimeField(_("status changed at"), default=timezone.now)
    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0)

    # Raised by every service write; forms send it back so a stale edit is refused.
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords(excluded_fields=["progress_token"])

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-checked_in_at", "-id"]
        indexes = [
            models.Index(fields=["vehicle", "-checked_in_at"]),
            models.Index(fields=["status", "checked_in_at"]),
            # A period's visits by check-in time whatever their status (the report's status
            # times and day rows): a range of this index, not a scan of every visit.
            models.Index(fields=["checked_in_at"], name="reception_visit_checked_in_at"),
            # The delivery board's "handed back today" (or'ed with its statuses): no scan of
            # a year of delivered visits.
            models.Index(fields=["delivered_at"], name="reception_visit_delivered_at"),
            # The booking board's walk-ins of a day or a week (else a scan of every visit).
            models.Index(
                fields=["checked_in_at"],
                condition=Q(is_walk_in=True),
                name="reception_visit_walk_in_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["key_tag"],
                condition=Q(status__in=sorted(ON_SITE_STATUSES)) & ~Q(key_tag=""),
                name="reception_visit_key_tag_unique_on_site",
            )
        ]

    def __str__(self):
        return f"{self.number} {self.vehicle.plate or self.vehicle.vin}"

    def get_absolute_url(self):
        return reverse("reception:visit", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_on_site(self) -> bool:
        return self.status in ON_SITE_STATUSES

    @property
    def walkaround_signed(self) -> bool:
        return self.walkaround_signed_at is not None

    @property
    def is_not_repaired(self) -> bool:
        return bool(self.not_repaired_reason)

    @property
    def is_booked(self) -> bool:
        return not self.is_walk_in

    def warning_lamp_labels(self) -> list[str]:
        labels = dict(WarningLamp.choices)
        return [str(labels.get(code, code)) for code in self.warning_lamps]


class VisitTransition(models.Model):
    """One status move of a visit: who, when, from, to, why (reports count reworks here)."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(max_length=20, choices=VisitStatus.choices)
    to_status = models.CharField(max_length=20, choices=VisitStatus.choices)
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    reason = models.TextField(blank=True)

    class Meta:
        verbose_name = _("visit status change")
        verbose_name_plural = _("visit status changes")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.visit_id}: {self.from_status} → {self.to_status}"


class DamageKind(models.TextChoices):
    SCRATCH = "scratch", _("Scratch")
    DENT = "dent", _("Dent")
    CRACK = "crack", _("Crack")
    CHIP = "chip", _("Stone chip")
    OTHER = "other", _("Other")


class DamageMark(models.Model):
    """A damage the advisor tapped on the car outline, in % of the drawing (0–100)."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="damage_marks")
    kind = models.CharField(_("damage"), max_length=10, choices=DamageKind.choices)
    x = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    y = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    photo = models.ImageField(_("photo"), upload_to="damage/%Y/%m/", blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("damage mark")
        verbose_name_plural = _("damage marks")
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_kind_display()} ({self.x}, {self.y})"


class ValuablesHandling(models.TextChoices):
    LEFT_IN_CAR = "left_in_car", _("Left in the car")
    TAKEN_BY_CUSTOMER = "taken", _("Taken by the customer")
    LOCKED_AT_DESK = "locked", _("Locked at the desk")


class Belonging(models.Model):
    """An item on the belongings list (随车物品清单). Valuables never stay in the car."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="belongings")
    description = models.CharField(_("item"), max_length=100)
    is_valuable = models.BooleanField(_("valuable"), default=False)
    handling = models.CharField(
        _("kept"),
        max_length=12,
        choices=ValuablesHandling.choices,
        default=ValuablesHandling.LEFT_IN_CAR,
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("belonging")
        verbose_name_plural = _("belongings")
        ordering = ["id"]

    def __str__(self):
        return self.description


class DeclinedWork(models.Model):
    """Work the customer was offered and declined; shown at the next check-in."""

    vehicle = models.ForeignKey(Vehicle, on_delete=models.CASCADE, related_name="declined_work")
    visit = models.ForeignKey(
        Visit, on_delete=models.SET_NULL, null=True, blank=True, related_name="declined_work"
    )
    description = models.CharField(_("work"), max_length=200)
    estimated_amount = models.DecimalField(
        _("estimated amount"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    declined_at = models.DateTimeField(_("declined at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    done_at = models.DateTimeField(_("done later at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("declined work")
        verbose_name_plural = _("declined work")
        ordering = ["-declined_at", "-id"]

    def __str__(self):
        return self.description


# ---------------------------------------------------------------------------- insurance jobs

# The largest amount an insurance job may carry (an accident repair, not a new car).
INSURANCE_AMOUNT_MAX = Decimal("999999.99")


class Insurer(models.TextChoices):
    PICC = "picc", _("PICC Property and Casualty (人保财险)")
    PING_AN = "ping_an", _("Ping An Property and Casualty (平安产险)")
    CPIC = "cpic", _("China Pacific Property (太平洋产险)")
    CHINA_LIFE = "china_life", _("China Life Property and Casualty (国寿财险)")
    CHINA_UNITED = "china_united", _("China United Property (中华联合)")
    SUNSHINE = "sunshine", _("Sunshine Property and Casualty (阳光财险)")
    TAIPING = "taiping", _("Taiping General (太平财险)")
    OTHER = "other", _("Other insurer")


class InsuranceCase(models.Model):
    """An accident repair paid by an insurer (保险理赔): who insures the car, the insurer's
    report number, the adjuster (定损员), the amount the insurer approved (定损金额) and the
    customer's excess (免赔额). The bill splits the insurance lines by them
    (`delivery.selectors.insurance_split`). Written only by `reception.insurance`."""

    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="insurance_case"
    )
    insurer = models.CharField(_("insurer"), max_length=20, choices=Insurer.choices)
    insurer_name = models.CharField(_("insurer's name (other)"), max_length=60, blank=True)
    policy_number = models.CharField(_("policy number"), max_length=40, blank=True)
    report_number = models.CharField(_("report number (报案号)"), max_length=40, blank=True)
    adjuster_name = models.CharField(_("adjuster (定损员)"), max_length=50, blank=True)
    adjuster_phone = models.CharField(_("adjuster's phone"), max_length=20, blank=True)
    approved_amount = models.DecimalField(
        _("amount approved by the insurer (定损金额)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(INSURANCE_AMOUNT_MAX)],
    )
    excess = models.DecimalField(
        _("customer's excess (免赔额)"),
        max_digits=12,
        decimal_places=2,
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(INSURANCE_AMOUNT_MAX)],
    )
    opened_at = models.DateTimeField(_("opened at"), default=timezone.now)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("opened by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("insurance job")
        verbose_name_plural = _("insurance jobs")

    def __str__(self):
        return f"{self.insurer_label} {self.report_number}".strip()

    @property
    def insurer_label(self) -> str:
        if self.insurer == Insurer.OTHER and self.insurer_name:
            return self.insurer_name
        return str(Insurer(self.insurer).label)


class InsuranceOfferDismissal(models.Model):
    """The advisor said no to the walk-around's offer to open an insurance job."""

    visit = models.OneToOneField(
        Visit, on_delete=models.CASCADE, related_name="insurance_offer_dismissal"
    )
    dismissed_at = models.DateTimeField(_("dismissed at"), default=timezone.now)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("dismissed insurance offer")
        verbose_name_plural = _("dismissed insurance offers")

    def __str__(self):
        return str(self.visit)


class LoungeDisplay(models.Model):
    """The customer lounge's TV link (issue 19.4): a store-level key, no staff log-in.

    Only the key's SHA-256 digest is kept; the key is shown to the service manager once.
    Making a new link retires the old one (its URL answers 404 from then on).
    """

    digest = models.CharField(max_length=64, unique=True, editable=False)
    active = models.BooleanField(_("in use"), default=True)
    show_all_cars = models.BooleanField(
        _("show every car checked in today"),
        default=False,
        help_text=_("Off: only the cars of customers waiting at the store."),
    )
    created_at = models.DateTimeField(_("made at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("made by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["digest"])

    class Meta:
        verbose_name = _("lounge display link")
        verbose_name_plural = _("lounge display links")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"],
                condition=Q(active=True),
                name="reception_lounge_display_one_active",
            )
        ]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M}"
