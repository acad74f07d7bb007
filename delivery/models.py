"""Steps 6–7: the car goes back to its owner.

`Delivery` holds one visit's way out (wash, ready notice, the advisor's final
check, an approved overrun of the estimate, the gate pass and the signed
hand-back). `Settlement` is the cashier's bill with its lines (copied from the
work order as billed), payments and refunds; its invoice number comes from
`InvoiceCounter`, allocated inside the settlement's transaction so the
sequence has no gaps.
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from dealership.counters import SeriesCounter
from dealership.models import CopiedLineName, LabourOperation
from dealership.text import NOTE_MAX_LENGTH
from reception.models import Visit
from workorders.models import JobType, LineKind, Payer, PaymentMethod, WorkOrder

from .states import DayCloseStatus, SettlementStatus

ZERO = Decimal("0.00")


def _money(verbose_name, **kwargs):
    kwargs.setdefault("default", ZERO)
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


class OldPartsHandling(models.TextChoices):
    NONE = "none", _("No parts were replaced")
    HANDED_OVER = "handed_over", _("Packed and handed to the customer")
    SHOWN_DISPOSED = "shown_disposed", _("Shown to the customer, then disposed of by the store")
    DISPOSED = "disposed", _("Disposed of by the store")


class ApprovalVia(models.TextChoices):
    PHONE = "phone", _("Approved by phone")
    IN_PERSON = "in_person", _("Approved in person at the desk")


class Delivery(models.Model):
    """One visit's way out: wash, ready notice, final check, overrun approval, gate pass,
    hand-back. Written only by `delivery.services`."""

    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="delivery"
    )

    wash_done_at = models.DateTimeField(_("washed at"), null=True, blank=True)
    ready_notice_due_at = models.DateTimeField(_("ready notice due at"), null=True, blank=True)
    pickup_at = models.DateTimeField(_("ready for the customer at"), null=True, blank=True)

    # The advisor's final check (终检) against the order.
    final_check_at = models.DateTimeField(_("final check at"), null=True, blank=True)
    final_check_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("final check by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    checked_line_ids = models.JSONField(_("lines checked as done"), default=list, blank=True)
    delivery_odometer_km = models.PositiveIntegerField(
        _("odometer at delivery (km)"), null=True, blank=True
    )
    exterior_matches = models.BooleanField(_("exterior as at the walk-around"), default=False)
    no_tools_left = models.BooleanField(_("no tools or rags left in the car"), default=False)
    settings_restored = models.BooleanField(_("seats, clock and radio restored"), default=False)
    belongings_present = models.BooleanField(_("belongings all present"), default=False)
    old_parts_handling = models.CharField(
        _("replaced parts"), max_length=20, choices=OldPartsHandling.choices, blank=True
    )
    final_check_notes = models.TextField(
        _("final check notes"), blank=True, max_length=NOTE_MAX_LENGTH
    )

    # A customer-pay total above the estimate's limit needs the customer's recorded approval.
    overrun_approved_amount = _money(_("approved amount"), null=True, blank=True, default=None)
    overrun_approved_via = models.CharField(
        _("approved how"), max_length=10, choices=ApprovalVia.choices, blank=True
    )
    overrun_approval_note = models.TextField(
        _("what the customer said"), blank=True, max_length=NOTE_MAX_LENGTH
    )
    overrun_approved_at = models.DateTimeField(_("approved at"), null=True, blank=True)
    overrun_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    gate_pass_number = models.CharField(_("gate pass"), max_length=30, blank=True)
    gate_pass_issued_at = models.DateTimeField(_("gate pass issued at"), null=True, blank=True)
    gate_pass_issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("gate pass issued by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    handback_signature = models.ImageField(
        _("customer's delivery signature"), upload_to="signatures/delivery/", blank=True
    )
    handback_signer = models.CharField(_("signed by"), max_length=100, blank=True)
    belongings_returned = models.BooleanField(_("belongings returned"), default=False)
    returned_belonging_ids = models.JSONField(
        _("listed belongings handed back"), default=list, blank=True
    )
    keys_returned = models.BooleanField(_("keys returned"), default=False)
    registration_returned = models.BooleanField(
        _("registration (行驶证) handed back"), default=False
    )
    service_book_returned = models.BooleanField(_("service book handed back"), default=False)
    old_parts_returned = models.BooleanField(_("replaced parts handed over"), default=False)
    covers_removed = models.BooleanField(
        _("covers removed in front of the customer"), default=False
    )
    handed_back_at = models.DateTimeField(_("handed back at"), null=True, blank=True)
    handed_back_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handed back by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self):
        return str(self.visit)

    @property
    def final_check_done(self) -> bool:
        return self.final_check_at is not None

    @property
    def gate_pass_issued(self) -> bool:
        return self.gate_pass_issued_at is not None

    @property
    def handed_back(self) -> bool:
        return self.handed_back_at is not None


class TaxInvoiceKind(models.TextChoices):
    NONE = "none", _("No official invoice")
    ORDINARY = "ordinary", _("Ordinary VAT invoice (普通发票)")
    SPECIAL = "special", _("Special VAT invoice (专用发票)")


class LabourBasis(models.TextChoices):
    CATALOGUE = "catalogue", _("Catalogue hours")
    CLOCKED = "clocked", _("Clocked hours")


class Settlement(models.Model):
    """The cashier's bill for a visit. Voided bills keep their invoice number."""

    Status = SettlementStatus

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="settlements"
    )
    order = models.ForeignKey(
        WorkOrder, verbose_name=_("work order"), on_delete=models.PROTECT, related_name="+"
    )
    invoice_number = models.CharField(_("invoice number"), max_length=20, unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=SettlementStatus.choices, default=SettlementStatus.PAID
    )
    labour_basis = models.CharField(
        _("labour billed by"), max_length=10, choices=LabourBasis.choices
    )

    labour_total = _money(_("labour"))
    parts_total = _money(pgettext_lazy("amount", "parts"))
    discount_total = _money(_("discounts"))
    total = _money(_("total of all payers"))
    customer_total = _money(_("customer pays"))
    manufacturer_total = _money(_("warranty (manufacturer)"))
    insurer_total = _money(_("insurer"))
    store_total = _money(_("internal (store)"))
    vat_rate = models.DecimalField(_("VAT rate"), max_digits=4, decimal_places=3)
    vat_amount = _money(_("VAT included in what the customer pays"))

    estimate_total = _money(_("signed estimate"))
    approved_additions = _money(_("approved additional work"))
    estimate_limit = _money(_("most the customer pays without a new approval"))
    overrun_approved = models.BooleanField(_("over the limit with approval"), default=False)

    adjustment_amount = _money(_("adjustment"))
    adjustment_reason = models.CharField(_("reason for the adjustment"), max_length=200, blank=True)
    amount_due = _money(_("amount due"))
    paid_total = _money(_("paid"))
    cash_tendered = _money(_("cash tendered"), null=True, blank=True, default=None)
    change_given = _money(_("change given"))

    settled_at = models.DateTimeField(_("settled at"), default=timezone.now, db_index=True)
    settled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cashier"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    voided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("voided by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    void_reason = models.CharField(_("reason for voiding"), max_length=200, blank=True)

    # The official invoice (发票) the customer asked for; issued in the tax software, its
    # number recorded here afterwards.
    tax_invoice_kind = models.CharField(
        _("official invoice"),
        max_length=10,
        choices=TaxInvoiceKind.choices,
        default=TaxInvoiceKind.NONE,
    )
    buyer_name = models.CharField(_("buyer on the invoice"), max_length=100, blank=True)
    buyer_tax_number = models.CharField(_("buyer's tax number"), max_length=18, blank=True)
    buyer_address_phone = models.CharField(
        _("buyer's address and phone"), max_length=200, blank=True
    )
    buyer_bank_account = models.CharField(_("buyer's bank and account"), max_length=200, blank=True)
    tax_invoice_number = models.CharField(_("official invoice number"), max_length=20, blank=True)
    tax_invoice_issued_at = models.DateTimeField(
        _("official invoice issued at"), null=True, blank=True
    )
    tax_invoice_issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("official invoice recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The insurance job the insurance lines were split by (None: the bill has none).
    insurance_approved_amount = _money(
        _("amount approved by the insurer"), null=True, blank=True, default=None
    )
    insurance_excess = _money(_("insurance excess"), null=True, blank=True, default=None)
    insurance_customer_total = _money(_("customer's share of the insurance work"))
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        ordering = ["-settled_at", "-id"]
        indexes = [
            # The cashier's "waiting for an official invoice": a handful of a year's bills.
            models.Index(
                fields=["settled_at", "id"],
                condition=Q(status=SettlementStatus.PAID, tax_invoice_number="")
                & ~Q(tax_invoice_kind=TaxInvoiceKind.NONE),
                name="delivery_awaiting_tax_invoice",
            )
        ]
        constraints = [
            # At most one bill in force per visit; a voided one may be followed by a new one.
            models.UniqueConstraint(
                fields=["visit"], condition=Q(status="paid"), name="delivery_one_paid_per_visit"
            )
        ]

    def __str__(self):
        return self.invoice_number

    @property
    def is_paid(self) -> bool:
        return self.status == SettlementStatus.PAID

    @property
    def deposits_credited(self) -> Decimal:
        """Deposits paid ahead and credited on this bill (what they took off the amount due)."""
        return self.customer_total + self.adjustment_amount - self.amount_due

    @property
    def net_amount(self) -> Decimal:
        return self.amount_due + self.deposits_credited - self.vat_amount

    @property
    def awaits_tax_invoice(self) -> bool:
        return (
            self.is_paid
            and self.tax_invoice_kind != TaxInvoiceKind.NONE
            and not self.tax_invoice_number
        )

    @property
    def vat_percent(self) -> str:
        return f"{(self.vat_rate * 100).normalize():f}"

    @property
    def insurance_total(self) -> Decimal:
        """The insurance work T the split was made of: the insurer's and the customer's parts."""
        return self.insurer_total + self.insurance_customer_total


class SettlementLine(CopiedLineName, models.Model):
    """One billed line, copied from the work order in force as it was charged."""

    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    order_line_id = models.PositiveBigIntegerField(null=True, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=LineKind.choices)
    job_type = models.CharField(_("work type"), max_length=12, choices=JobType.choices)
    payer = models.CharField(_("payer"), max_length=12, choices=Payer.choices)
    operation = models.ForeignKey(
        LabourOperation, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    code = models.CharField(_("code / part number"), max_length=40, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)
    hours = models.DecimalField(_("hours billed"), max_digits=6, decimal_places=2, default=ZERO)
    quantity = models.DecimalField(_("quantity"), max_digits=8, decimal_places=2)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)
    discount_percent = models.DecimalField(_("discount %"), max_digits=5, decimal_places=2)
    gross = _money(_("gross"))
    discount = _money(_("discount"))
    amount = _money(_("amount"))
    is_additional = models.BooleanField(_("additional work"), default=False)

    class Meta:
        verbose_name = _("settlement line")
        verbose_name_plural = _("settlement lines")
        ordering = ["position", "id"]

    def __str__(self):
        return f"{self.code} {self.name}".strip()


class Payment(models.Model):
    settlement = models.ForeignKey(Settlement, on_delete=models.CASCADE, related_name="payments")
    method = models.CharField(_("method"), max_length=10, choices=PaymentMethod.choices)
    amount = _money(_("amount"))
    reference = models.CharField(_("transaction reference"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["id"]

    def __str__(self):
        return f"{self.get_method_display()} ¥{self.amount}"


class Refund(models.Model):
    """Money given back on a paid settlement, approved by the service manager."""

    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="refunds")
    amount = _money(_("amount"))
    method = models.CharField(_("method"), max_length=10, choices=PaymentMethod.choices)
    reason = models.CharField(_("reason"), max_length=200)
    refunded_at = models.DateTimeField(_("refunded at"), default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["refunded_at", "id"]

    def __str__(self):
        return f"{self.settlement} −¥{self.amount}"


class InvoiceCounter(SeriesCounter):
    """The last invoice number handed out per year; locked while a settlement takes the next."""

    class Meta:
        verbose_name = _("invoice counter")
        verbose_name_plural = _("invoice counters")


# ---------------------------------------------------------------------------- the day close


class DayClose(models.Model):
    """The cashier's close of one store day (日结), written only by `delivery.day_close`.

    The expected amount per payment method is what the day's movements came to when it was
    closed; the counted cash and the statements' totals are what the cashier entered; a
    variance between them carries the cashier's reason.
    """

    Status = DayCloseStatus

    day = models.DateField(_("day"), unique=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DayCloseStatus.choices, default=DayCloseStatus.CLOSED
    )
    expected_cash = _money(_("cash expected"))
    expected_card = _money(_("bank card expected"))
    expected_alipay = _money(_("Alipay expected"))
    expected_wechat = _money(_("WeChat Pay expected"))
    expected_transfer = _money(_("transfers expected"))
    counted_cash = _money(_("cash counted"))
    counted_card = _money(_("card terminal statement"))
    counted_alipay = _money(_("Alipay statement"))
    counted_wechat = _money(_("WeChat Pay statement"))
    counted_transfer = _money(_("bank statement (transfers)"))
    variance_reason = models.CharField(_("reason for the variance"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    reopened_at = models.DateTimeField(_("reopened at"), null=True, blank=True)
    reopened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("reopened by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reopen_reason = models.CharField(_("reason for reopening"), max_length=200, blank=True)
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("day close")
        verbose_name_plural = _("day closes")
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day:%Y-%m-%d}"

    @property
    def is_closed(self) -> bool:
        return self.status == DayCloseStatus.CLOSED
