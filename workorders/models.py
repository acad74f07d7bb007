"""Step 3: the work order (任务委托书), a contract the customer signs.

A visit has one or more revisions of its order. A draft is edited (with a
version column against lost updates); a signed revision is frozen (its content
hash is stored) and later changes make a new revision.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dealership.models import ContactChannel, CopiedLineName, LabourOperation, Part
from dealership.money import PaymentMethod, cents
from dealership.text import NOTE_MAX_LENGTH
from reception.models import Visit

from .states import ClaimStatus, OrderStatus


class PricingMethod(models.TextChoices):
    PER_OPERATION = "operation", _("Per operation")
    PER_SYSTEM = "system", _("Per system")
    PER_SYMPTOM = "symptom", _("Per symptom")


class JobType(models.TextChoices):
    WARRANTY = "warranty", _("Warranty")
    MAINTENANCE = "maintenance", _("Maintenance")
    REPAIR = "repair", _("Repair")
    INSURANCE = "insurance", _("Insurance (accident)")
    INTERNAL = "internal", _("Internal")


class Payer(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    MANUFACTURER = "manufacturer", _("Manufacturer (warranty)")
    INSURER = "insurer", _("Insurer")
    STORE = "store", _("Store (internal)")


PAYER_OF_JOB = {
    JobType.WARRANTY: Payer.MANUFACTURER,
    JobType.MAINTENANCE: Payer.CUSTOMER,
    JobType.REPAIR: Payer.CUSTOMER,
    JobType.INSURANCE: Payer.INSURER,
    JobType.INTERNAL: Payer.STORE,
}


class LineKind(models.TextChoices):
    """What a billed line is. Labour is work for the workshop (a job that is dispatched,
    clocked and QC-checked); the others are not workshop work and are revenue of their own
    category. `other` is only on lines typed before a manual line had to say its kind."""

    LABOUR = "labour", _("Labour")
    PART = "part", _("Part")
    FEE = "fee", _("Fee (diagnosis, service charge)")
    SUBLET = "sublet", _("Sublet (work done outside)")
    CONSUMABLE = "consumable", _("Consumables")
    OTHER = "other", _("Other (manual)")


# The kinds an advisor picks from for a hand-typed line.
MANUAL_KINDS = (
    LineKind.LABOUR,
    LineKind.PART,
    LineKind.FEE,
    LineKind.SUBLET,
    LineKind.CONSUMABLE,
)


class SignedVia(models.TextChoices):
    TABLET = "tablet", _("Signed on the tablet")
    PHONE = "phone", _("Approved by phone")
    LINK = "link", _("Approved through the customer's link")


class WorkOrder(models.Model):
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="work_orders"
    )
    revision = models.PositiveSmallIntegerField(_("revision"), default=1)
    status = models.CharField(
        _("status"), max_length=12, choices=OrderStatus.choices, default=OrderStatus.DRAFT
    )
    revision_reason = models.CharField(_("reason for this revision"), max_length=200, blank=True)
    pricing_method = models.CharField(
        _("pricing"),
        max_length=10,
        choices=PricingMethod.choices,
        default=PricingMethod.PER_OPERATION,
    )
    payment_method = models.CharField(
        _("payment method"), max_length=10, choices=PaymentMethod.choices, blank=True
    )
    suggested_promised_at = models.DateTimeField(_("suggested delivery"), null=True, blank=True)
    promised_at = models.DateTimeField(_("promised delivery"), null=True, blank=True)
    promised_reason = models.CharField(_("reason for a different time"), max_length=200, blank=True)
    followup_channel = models.CharField(
        _("preferred follow-up channel"),
        max_length=10,
        choices=ContactChannel.choices,
        default=ContactChannel.PHONE,
    )
    followup_time = models.CharField(_("preferred follow-up time"), max_length=100, blank=True)
    notes = models.TextField(_("remarks"), blank=True, max_length=NOTE_MAX_LENGTH)

    # The five confirmations (五项确认), required before signing.
    confirm_items = models.BooleanField(_("items confirmed"), default=False)
    confirm_cost = models.BooleanField(_("estimated cost confirmed"), default=False)
    confirm_time = models.BooleanField(_("time needed confirmed"), default=False)
    keep_old_parts = models.BooleanField(_("keep replaced parts"), null=True, blank=True)
    wash = models.BooleanField(_("wash the car"), null=True, blank=True)

    # Totals, kept up to date by the services (prices include VAT).
    labour_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    parts_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    discount_total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=Decimal("0"))
    estimate_total = models.DecimalField(
        _("estimate (customer pays)"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    vat_rate = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0.13"))

    signature = models.ImageField(
        _("customer's signature"), upload_to="signatures/orders/", blank=True
    )
    signer_name = models.CharField(_("signed by"), max_length=100, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    signed_via = models.CharField(
        _("signed how"), max_length=10, choices=SignedVia.choices, blank=True
    )
    approval_note = models.TextField(
        _("customer's approval"), blank=True, max_length=NOTE_MAX_LENGTH
    )
    signed_by_advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("advisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    content_hash = models.CharField(_("content hash"), max_length=64, blank=True)

    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Every edit raises it; an edit made on an older version is refused (no lost update).
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        ordering = ["visit", "revision"]
        constraints = [
            models.UniqueConstraint(fields=["visit", "revision"], name="workorder_visit_revision")
        ]

    def __str__(self):
        return f"{self.visit.number}/{self.revision}"

    def get_absolute_url(self):
        return reverse("workorders:order", args=[self.pk])

    @property
    def number(self) -> str:
        return self.visit.number if self.revision == 1 else f"{self.visit.number}-{self.revision}"

    @property
    def is_draft(self) -> bool:
        return self.status == OrderStatus.DRAFT

    @property
    def confirmations(self) -> list[tuple[str, object]]:
        return [
            (str(_("Items")), self.confirm_items),
            (str(_("Estimated cost")), self.confirm_cost),
            (str(_("Time needed")), self.confirm_time),
            (str(_("Keep replaced parts")), self.keep_old_parts),
            (str(_("Wash")), self.wash),
        ]

    @property
    def vat_percent(self) -> str:
        return f"{(self.vat_rate * 100).normalize():f}"

    @property
    def vat_included(self) -> Decimal:
        if not self.total:
            return Decimal("0.00")
        net = self.total / (1 + self.vat_rate)
        return cents(self.total - net)


class WorkOrderLine(CopiedLineName, models.Model):
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    kind = models.CharField(_("kind"), max_length=10, choices=LineKind.choices)
    job_type = models.CharField(
        _("work type"), max_length=12, choices=JobType.choices, default=JobType.REPAIR
    )
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
    # Copied from the catalogue when added: a later price change does not touch this order.
    code = models.CharField(_("code / part number"), max_length=40, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)
    hours = models.DecimalField(
        _("standard hours"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    quantity = models.DecimalField(
        _("quantity"),
        max_digits=8,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    unit_price = models.DecimalField(
        _("unit price"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    discount_percent = models.DecimalField(
        _("discount %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    group = models.CharField(
        _("system / symptom"),
        max_length=60,
        blank=True,
        help_text=_("Lines are priced together per system or symptom when the order says so."),
    )
    customer_supplied = models.BooleanField(_("supplied by the customer"), default=False)
    non_genuine = models.BooleanField(_("non-genuine part"), default=False)
    manual_reason = models.CharField(_("why a manual line"), max_length=200, blank=True)
    is_additional = models.BooleanField(_("additional work"), default=False)
    # Warranty (issue 16.3): the claims clerk's go-ahead for a warranty line on a car outside
    # or of unknown warranty, and the payer a rejected claim moved the line to.
    warranty_approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("warranty approved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    warranty_approved_at = models.DateTimeField(_("warranty approved at"), null=True, blank=True)
    payer_override = models.CharField(
        _("payer after a rejected claim"), max_length=12, choices=Payer.choices, blank=True
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("work order line")
        verbose_name_plural = _("work order lines")
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.code} {self.name}".strip()

    @property
    def gross(self) -> Decimal:
        return cents(self.quantity * self.unit_price)

    @property
    def discount(self) -> Decimal:
        return cents(self.gross * self.discount_percent / 100)

    @property
    def amount(self) -> Decimal:
        return self.gross - self.discount

    @property
    def payer(self) -> str:
        return self.payer_override or PAYER_OF_JOB[self.job_type]

    @property
    def is_manual(self) -> bool:
        """Typed by hand, not taken from the catalogue."""
        return self.operation_id is None and self.part_id is None

    @property
    def is_workshop(self) -> bool:
        """Work for the workshop: it becomes a job that must be done before delivery."""
        return self.kind == LineKind.LABOUR

    @property
    def needs_disclaimer(self) -> bool:
        return self.customer_supplied or self.non_genuine


# ---------------------------------------------------------------- warranty claims (issue 16.3)

# Who pays a warranty line whose claim the manufacturer rejected.
REJECTED_CLAIM_PAYERS = (Payer.CUSTOMER, Payer.STORE)


class WarrantyClaim(models.Model):
    """The manufacturer's claim for one warranty line of a signed order (workorders/claims.py).

    Opened as a draft when the order is signed; it follows the line into later revisions.
    """

    line = models.OneToOneField(
        WorkOrderLine, verbose_name=_("line"), on_delete=models.PROTECT, related_name="claim"
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ClaimStatus.choices, default=ClaimStatus.DRAFT
    )
    # The manufacturer's own claim number, typed by the clerk when submitting.
    number = models.CharField(_("manufacturer's claim number"), max_length=40, blank=True)
    approved_amount = models.DecimalField(
        _("approved amount"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    rejection_reason = models.CharField(_("reason for the rejection"), max_length=200, blank=True)
    rejected_payer = models.CharField(
        _("charged instead to"), max_length=12, choices=Payer.choices, blank=True
    )
    # The visit was already settled when the claim was rejected: recorded, not billed again.
    rejected_after_settlement = models.BooleanField(
        _("rejected after the bill was settled"), default=False
    )
    created_at = models.DateTimeField(_("opened at"), default=timezone.now)
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("warranty claim")
        verbose_name_plural = _("warranty claims")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self):
        return self.number or f"#{self.pk}"

    def get_absolute_url(self):
        return reverse("claims:detail", args=[self.pk])


# ---------------------------------------------------------------- the store's repair warranty
class RepairWarrantyComeback(models.Model):
    """A comeback the advisor confirmed as within the store's own repair warranty
    (质量保证期) of an earlier visit: its work is billed to the store (job type internal).
    Written only by `workorders.repair_warranty.warranty_comeback_confirm`."""

    visit = models.OneToOneField(
        Visit,
        verbose_name=_("visit"),
        on_delete=models.CASCADE,
        related_name="repair_warranty_comeback",
    )
    earlier_visit = models.ForeignKey(
        Visit, verbose_name=_("earlier visit"), on_delete=models.PROTECT, related_name="+"
    )
    covered_until = models.DateField(_("warranty until"))
    covered_until_km = models.PositiveIntegerField(_("warranty until (km)"))
    confirmed_at = models.DateTimeField(_("confirmed at"), default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        verbose_name = _("repair warranty comeback")
        verbose_name_plural = _("repair warranty comebacks")

    def __str__(self):
        return f"{self.visit.number} ← {self.earlier_visit.number}"
