"""Master data of the store: people, customers, vehicles, workshop resources, catalogue.

Every model a person edits carries django-simple-history, so the pages can show
who changed what and when.
"""

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from .pii import mask_personal_data
from .states import DueTaskState, MessageStatus
from .stored_text import stored_text_render
from .text import NOTE_MAX_LENGTH
from .validators import validate_mobile, validate_plate, validate_vin


class User(AbstractUser):
    """A member of staff. Roles are Django groups (see `dealership.roles`)."""

    mobile = models.CharField(_("mobile"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self):
        return self.get_full_name() or self.username

    def get_full_name(self):
        # Chinese order: family name first, no space.
        if self.last_name and any("\u4e00" <= ch <= "\u9fff" for ch in self.last_name):
            return f"{self.last_name}{self.first_name}"
        return super().get_full_name()


class WorkType(models.TextChoices):
    """How workshop capacity is split (DOMAIN step 1)."""

    MAINTENANCE = "maintenance", _("Maintenance")
    REPAIR = "repair", _("General repair")
    BODY_PAINT = "body_paint", _("Body & paint")


class ContactChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    EMAIL = "email", _("Email")


class Customer(models.Model):
    # What the desk and the API may write (in the order the form shows them).
    EDITABLE_FIELDS = (
        "name",
        "mobile",
        "mobile_alt",
        "email",
        "address",
        "company",
        "preferred_channel",
        "preferred_contact_time",
        "language",
        "do_not_call",
        "notes",
    )

    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    mobile = models.CharField(
        _("mobile"), max_length=20, validators=[validate_mobile], db_index=True
    )
    mobile_alt = models.CharField(
        _("second phone"), max_length=20, blank=True, validators=[validate_mobile]
    )
    email = models.EmailField(_("email"), blank=True)
    address = models.CharField(_("address"), max_length=255, blank=True)
    company = models.CharField(_("company"), max_length=150, blank=True)
    preferred_channel = models.CharField(
        _("preferred contact channel"),
        max_length=10,
        choices=ContactChannel.choices,
        default=ContactChannel.PHONE,
    )
    preferred_contact_time = models.CharField(
        _("preferred contact time"), max_length=100, blank=True
    )
    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans"
    )
    do_not_call = models.BooleanField(
        _("asked not to be called"),
        default=False,
        help_text=_("Left off every call list when set."),
    )
    notes = models.TextField(_("notes"), blank=True, max_length=NOTE_MAX_LENGTH)
    # The customer's openid on the store's WeChat Official Account, bound when they open the
    # portal from WeChat (dealership.wechat). Never edited by hand, never in the history
    # (the timeline says when it was bound or unbound, without the value).
    wechat_openid = models.CharField(
        _("WeChat openid"), max_length=64, blank=True, db_index=True, editable=False
    )
    # Set when the customer replied 退订/TD to an SMS (`dealership.sms.inbound`): from then on
    # only messages about an open visit or appointment go out by SMS.
    sms_unsubscribed_at = models.DateTimeField(
        _("unsubscribed from SMS"), null=True, blank=True, editable=False
    )
    # 专属顾问: the advisor online bookings go to (`dealership.advisors`), set on the
    # customer page by an advisor or the service manager.
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("own advisor"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="own_customers",
        editable=False,
    )
    # Set when a follow-up call found the mobile wrong; the desk sees a banner until the
    # mobile is corrected (`customer_update` clears it).
    wrong_number_at = models.DateTimeField(
        _("mobile reported wrong"), null=True, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    history = HistoricalRecords(excluded_fields=["wechat_openid"])

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["name", "id"]
        constraints = [
            # One WeChat account reaches one customer; many customers have none.
            models.UniqueConstraint(
                fields=["wechat_openid"],
                condition=~models.Q(wechat_openid=""),
                name="customer_wechat_openid_unique",
            )
        ]

    def __str__(self):
        return f"{self.name} {self.mobile}"

    def get_absolute_url(self):
        return reverse("customer_detail", args=[self.pk])


class Vehicle(models.Model):
    # Empty (NULL) only while the registration is not at hand: flagged until completed, and the
    # work order cannot be signed without it (workorders.services.work_order_sign).
    vin = models.CharField(
        _("VIN"), max_length=17, unique=True, null=True, blank=True, validators=[validate_vin]
    )
    plate = models.CharField(
        _("plate"), max_length=10, unique=True, null=True, blank=True, validators=[validate_plate]
    )
    owner = models.ForeignKey(
        Customer, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="vehicles"
    )
    brand = models.CharField(_("brand"), max_length=50, blank=True)
    model = models.CharField(_("model"), max_length=100)
    colour = models.CharField(_("colour"), max_length=30, blank=True)
    production_date = models.DateField(_("production date"), null=True, blank=True)
    registration_date = models.DateField(_("registration date"), null=True, blank=True)
    handover_date = models.DateField(
        _("new-car handover date"),
        null=True,
        blank=True,
        help_text=_("Set when the store sold the car new; drives the N+15 call."),
    )
    last_odometer_km = models.PositiveIntegerField(_("last odometer (km)"), default=0)
    last_odometer_at = models.DateTimeField(_("odometer read at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        ordering = ["plate", "id"]
        indexes = [
            # The daily scan's new cars handed over lately (only cars the store sold have one).
            models.Index(
                fields=["handover_date"],
                name="vehicle_handover",
                condition=models.Q(handover_date__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.plate or self.vin} {self.model}"

    def get_absolute_url(self):
        return reverse("vehicle_detail", args=[self.pk])

    def clean(self):
        super().clean()
        if not self.vin and not self.plate:
            raise ValidationError(
                {"vin": _("Enter the VIN, or the plate when the registration is not at hand.")}
            )

    def unique_error_message(self, model_class, unique_check):
        if tuple(unique_check) == ("plate",):
            return ValidationError(
                _("Plate %(plate)s is already registered on another vehicle."),
                code="unique",
                params={"plate": self.plate},
            )
        return super().unique_error_message(model_class, unique_check)

    @property
    def is_battery_electric(self) -> bool:
        """A green plate with D (纯电动): 粤BD12345 (small) or 粤B12345D (large)."""
        plate = self.plate or ""
        return len(plate) == 8 and (plate[2] == "D" or plate[-1] == "D")

    @property
    def vin_missing(self) -> bool:
        return not self.vin


class SkillLevel(models.TextChoices):
    APPRENTICE = "apprentice", _("Apprentice")
    SEMI_SKILLED = "semi_skilled", _("Semi-skilled")
    SKILLED = "skilled", _("Skilled")
    MASTER = "master", _("Master technician")


# Lowest first: a technician may take an operation whose required level ranks at or below theirs.
SKILL_RANK = {level: rank for rank, level in enumerate(SkillLevel.values)}


class Technician(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("log-in"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="technician",
    )
    name = models.CharField(pgettext_lazy("person", "name"), max_length=100)
    skill_level = models.CharField(_("skill level"), max_length=20, choices=SkillLevel.choices)
    team = models.CharField(_("team"), max_length=50, blank=True)
    work_type = models.CharField(
        _("main work type"), max_length=20, choices=WorkType.choices, default=WorkType.REPAIR
    )
    hours_per_day = models.DecimalField(
        _("hours per day"),
        max_digits=4,
        decimal_places=2,
        default=Decimal("8.00"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("technician")
        verbose_name_plural = _("technicians")
        ordering = ["team", "name"]

    def __str__(self):
        return self.name


class Bay(models.Model):
    code = models.CharField(_("code"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=50)
    work_type = models.CharField(
        _("work type"), max_length=20, choices=WorkType.choices, default=WorkType.REPAIR
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("bay")
        verbose_name_plural = _("bays")
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class BilingualName(models.Model):
    """Catalogue entries carry a Chinese and an English name; `name` picks by UI language."""

    name_zh = models.CharField(_("name (Chinese)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150)

    class Meta:
        abstract = True

    def __str__(self):
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class CopiedLineName:
    """A line keeps the code and names copied from the catalogue; without an English name
    it shows the Chinese one."""

    @property
    def name(self) -> str:
        if (get_language() or "").startswith("en") and self.name_en:
            return self.name_en
        return self.name_zh


class LabourOperation(BilingualName):
    code = models.CharField(_("operation code"), max_length=20, unique=True)
    work_type = models.CharField(_("work type"), max_length=20, choices=WorkType.choices)
    standard_hours = models.DecimalField(
        _("standard hours"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    required_skill = models.CharField(
        _("required skill level"),
        max_length=20,
        choices=SkillLevel.choices,
        default=SkillLevel.APPRENTICE,
        help_text=_("The board suggests only technicians at this level or above."),
    )
    price = models.DecimalField(
        _("labour price"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    care_note_zh = models.TextField(
        _("care note (Chinese)"), blank=True, max_length=NOTE_MAX_LENGTH
    )
    care_note_en = models.TextField(
        _("care note (English)"), blank=True, max_length=NOTE_MAX_LENGTH
    )
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("labour operation")
        verbose_name_plural = _("labour operations")
        ordering = ["code"]


class Part(BilingualName):
    part_number = models.CharField(_("part number"), max_length=40, unique=True)
    price = models.DecimalField(
        _("price"), max_digits=10, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    stock_on_hand = models.IntegerField(_("stock on hand"), default=0)
    unit = models.CharField(_("unit"), max_length=10, default="pc")
    active = models.BooleanField(_("active"), default=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("part")
        verbose_name_plural = _("parts")
        ordering = ["part_number"]


class MaintenancePlan(BilingualName):
    interval_km = models.PositiveIntegerField(_("interval (km)"))
    interval_months = models.PositiveSmallIntegerField(_("interval (months)"))
    operations = models.ManyToManyField(
        LabourOperation, verbose_name=_("labour operations"), blank=True
    )
    parts = models.ManyToManyField(
        Part, verbose_name=_("parts"), through="MaintenancePlanPart", blank=True
    )
    history = HistoricalRecords(m2m_fields=[operations])

    class Meta:
        verbose_name = _("maintenance plan")
        verbose_name_plural = _("maintenance plans")
        ordering = ["interval_km"]


class MaintenancePlanPart(models.Model):
    plan = models.ForeignKey(MaintenancePlan, on_delete=models.CASCADE)
    part = models.ForeignKey(Part, on_delete=models.PROTECT)
    quantity = models.DecimalField(_("quantity"), max_digits=6, decimal_places=2, default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["plan", "part"], name="unique_plan_part"),
        ]

    def __str__(self):
        return f"{self.part} × {self.quantity}"


class StoreRule(models.Model):
    """A manager's override of one numbered rule; defaults live in `dealership.rules`."""

    key = models.CharField(_("rule"), max_length=80, unique=True)
    value = models.JSONField(_("value"))
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("store rule")
        verbose_name_plural = _("store rules")

    def __str__(self):
        return f"{self.key}={self.value}"


def event_summary_text(summary: str, data: dict | None) -> str:
    """A timeline event's summary in the reader's language when the system worded it (a
    stored code); for the event's row read as values as much as for the model."""
    data = data or {}
    if data.get("summary_code"):
        return stored_text_render(data["summary_code"], data.get("summary_params"), summary)
    return summary


class TimelineEvent(models.Model):
    """One line on a customer's / vehicle's / visit's timeline (the customer archive)."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    kind = models.CharField(_("kind"), max_length=40)
    summary = models.CharField(_("summary"), max_length=300)
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="timeline", null=True, blank=True
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.CASCADE, related_name="timeline", null=True, blank=True
    )
    subject_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, null=True, blank=True)
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline event")
        verbose_name_plural = _("timeline events")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["subject_type", "subject_id", "-at"]),
            models.Index(fields=["customer", "-at"]),
            models.Index(fields=["vehicle", "-at"]),
        ]

    def __str__(self):
        return self.summary_text

    @property
    def summary_text(self) -> str:
        return event_summary_text(self.summary, self.data)


class CustomerLink(models.Model):
    """A signed, expiring, revocable link that lets a customer see or act on one object.

    The URL carries the signed `token`; the row binds it to one object and one
    purpose, so altering the URL never reaches another customer's data.
    """

    token = models.UUIDField(unique=True, editable=False)
    purpose = models.CharField(_("purpose"), max_length=40)
    subject_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="links", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    # Who revoked the link from the customer page, and why (issue 18.3); empty when the
    # system revoked it (a booking moved, an addition answered) or it is still open.
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("revoked by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    revoke_reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("customer link")
        verbose_name_plural = _("customer links")
        indexes = [models.Index(fields=["subject_type", "subject_id", "purpose"])]

    def __str__(self):
        return f"{self.purpose} → {self.subject_type_id}:{self.subject_id}"


class DueTask(models.Model):
    """One timed duty: a reminder to send (machine) or a call to make (person).

    Written in the same transaction as the event that causes it (see
    `dealership.due`); unique per (subject, kind, slot), so scheduling twice
    moves the row instead of adding another.
    """

    State = DueTaskState

    kind = models.CharField(_("kind"), max_length=80)
    # No index of its own: the unique key (subject_type, subject_id, kind, slot) starts with it.
    subject_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, db_index=False)
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    slot = models.CharField(_("slot"), max_length=40, blank=True, default="")
    for_person = models.BooleanField(_("done by a person"), default=False)
    due_at = models.DateTimeField(_("due at"))
    # When the dispatcher may next pick the row up: due_at at first, later after a retry back-off.
    run_after = models.DateTimeField(_("next attempt after"))
    state = models.CharField(
        _("state"), max_length=10, choices=DueTaskState.choices, default=DueTaskState.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    payload = models.JSONField(_("details"), default=dict, blank=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="due_tasks",
        null=True,
        blank=True,
    )
    role = models.CharField(_("role"), max_length=30, blank=True)
    # assigned_to and completed_by are empty on most rows: their indexes (Meta) leave those out.
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="due_tasks",
        db_index=False,
    )
    outcome = models.CharField(_("outcome"), max_length=40, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("completed by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("due task")
        verbose_name_plural = _("due tasks")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id", "kind", "slot"], name="due_task_once"
            ),
        ]
        indexes = [
            # The dispatcher's scan: open machine rows by next attempt time.
            models.Index(
                fields=["run_after"],
                name="due_task_dispatch",
                condition=models.Q(state__in=["pending", "claimed"], for_person=False),
            ),
            # Work queues: open person rows by role and due time.
            models.Index(
                fields=["role", "due_at"],
                name="due_task_queue",
                condition=models.Q(state="pending", for_person=True),
            ),
            models.Index(fields=["state", "due_at"]),
            # A person's own calls, and the rows a deleted user's id is cleared from.
            models.Index(
                fields=["assigned_to"],
                name="due_task_assigned_to",
                condition=models.Q(assigned_to__isnull=False),
            ),
            models.Index(
                fields=["completed_by"],
                name="due_task_completed_by",
                condition=models.Q(completed_by__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.kind} @ {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def note_text(self) -> str:
        """The task's note in the reader's language (a stored code), or the note as written."""
        payload = self.payload or {}
        if payload.get("note_code"):
            return stored_text_render(
                payload["note_code"], payload.get("note_params"), payload.get("note", "")
            )
        return payload.get("note", "")

    def subject_ref(self) -> models.Model:
        """A stand-in for the subject (its class and pk, nothing read from the database).

        Enough to link a message or a timeline line to the subject; use
        `task.subject` when the handler needs the subject's fields.
        """
        model = ContentType.objects.get_for_id(self.subject_type_id).model_class()
        return model(pk=self.subject_id)


class Message(models.Model):
    """A message sent to a customer, kept as sent (the customer archive)."""

    Status = MessageStatus

    to = models.CharField(_("to"), max_length=254)
    channel = models.CharField(_("channel"), max_length=10)
    template = models.CharField(_("template"), max_length=80)
    language = models.CharField(_("language"), max_length=10)
    body = models.TextField(_("text"))
    status = models.CharField(_("status"), max_length=12, choices=MessageStatus.choices)
    error = models.TextField(_("error"), blank=True)
    # When the provider's delivery receipt arrived (SMS).
    receipt_at = models.DateTimeField(_("receipt"), null=True, blank=True)
    provider_ref = models.CharField(_("provider reference"), max_length=100, blank=True)
    # Stable per due task, handed to the provider so a resend after a crash is dropped there.
    idempotency_key = models.CharField(max_length=80, blank=True, db_index=True)
    sent_at = models.DateTimeField(_("sent"), default=timezone.now, db_index=True)
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="messages",
        null=True,
        blank=True,
    )
    vehicle = models.ForeignKey(
        Vehicle,
        verbose_name=_("vehicle"),
        on_delete=models.SET_NULL,
        related_name="messages",
        null=True,
        blank=True,
    )
    subject_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, null=True, blank=True)
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject = GenericForeignKey("subject_type", "subject_id")
    due_task = models.ForeignKey(
        DueTask, on_delete=models.SET_NULL, null=True, blank=True, related_name="messages"
    )

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-sent_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "-sent_at"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]

    def __str__(self):
        return f"{self.channel} → {self.to}: {self.body[:40]}"


class InboundSms(models.Model):
    """A text a customer sent back to the store's SMS number (the provider's uplink callback)."""

    provider = models.CharField(_("provider"), max_length=10)
    mobile = models.CharField(_("mobile"), max_length=20, db_index=True)
    text = models.CharField(_("text"), max_length=500)
    unsubscribe = models.BooleanField(_("unsubscribe"), default=False)
    received_at = models.DateTimeField(
        pgettext_lazy("sms", "received at"), default=timezone.now, db_index=True
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.SET_NULL,
        related_name="sms_replies",
        null=True,
        blank=True,
    )

    class Meta:
        verbose_name = _("SMS reply")
        verbose_name_plural = _("SMS replies")
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return mask_personal_data(f"{self.provider} {self.mobile}: {self.text[:40]}")


# ------------------------------------------------------------------ outbound webhooks (issue 18.4)


class WebhookSubscription(models.Model):
    """An outside system that wants the store's events: where to post them, which, and the
    secret both sides sign with. See `dealership.webhooks`."""

    url = models.URLField(_("URL"), max_length=500)
    # Event codes of `dealership.events.Event`; a list, checked by the service.
    events = models.JSONField(_("events"), default=list)
    secret = models.CharField(_("secret"), max_length=64, editable=False)
    # After a rotation the old secret still signs until `previous_secret_until` (the grace
    # period, WEBHOOK_SECRET_GRACE_HOURS), so the receiver can switch without losing events.
    previous_secret = models.CharField(
        _("previous secret"), max_length=64, blank=True, editable=False
    )
    previous_secret_until = models.DateTimeField(
        _("previous secret valid until"), null=True, blank=True, editable=False
    )
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    history = HistoricalRecords(excluded_fields=["secret", "previous_secret"])

    class Meta:
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["id"]

    def __str__(self):
        return self.url


class WebhookDelivery(models.Model):
    """One event for one subscription. Its sending is a due task (kind `webhook.deliver`,
    subject this row); the body is fixed when the event happens, so a retry or a replay
    posts the same bytes with the same event id."""

    subscription = models.ForeignKey(
        WebhookSubscription,
        verbose_name=_("subscription"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_id = models.UUIDField(_("event id"))
    event_type = models.CharField(_("event"), max_length=40)
    body = models.TextField(_("body"))
    # Events with the same key (one visit, one appointment) go out one after another.
    order_key = models.CharField(_("order key"), max_length=60, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    # When its due task was scheduled: at once, or when the earlier event of its key finished.
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged"), null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(_("answer"), null=True, blank=True)
    replays = models.PositiveSmallIntegerField(_("replays"), default=0)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"], name="webhook_delivery_once_per_event"
            )
        ]
        indexes = [models.Index(fields=["subscription", "order_key", "id"])]

    def __str__(self):
        return f"{self.event_type} {self.event_id}"


class ApiToken(models.Model):
    """A named API key of one user (issue 18.2): several per user, expiring, revocable.

    Only a SHA-256 digest of the key is stored; the key itself is shown once, when issued.
    `prefix` (its first characters) lets the owner tell the tokens apart on the page.
    """

    NAME_MAX_LENGTH = 50

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=NAME_MAX_LENGTH)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(max_length=8, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


# ------------------------------------------------------------------ consent and privacy (PIPL)


class ConsentPurpose(models.TextChoices):
    """What the store contacts the customer for; the legal basis is in `dealership.consent`."""

    SERVICE = "service", _("Messages about an open visit or booking")
    REMINDERS = "reminders", _("Maintenance reminders and invitations")
    MARKETING = "marketing", _("Campaigns and win-back offers")
    SATISFACTION = "satisfaction", _("Satisfaction calls and surveys")


class ConsentSource(models.TextChoices):
    DESK = "desk", _("At the desk")
    PHONE = "phone", _("On the phone")
    PAPER = "paper", _("Paper form")
    PORTAL = "portal", _("Customer portal")
    SMS = "sms", _("SMS reply")
    WECHAT = "wechat", _("WeChat")
    IMPORT = "import", _("Imported")


class ConsentRecord(models.Model):
    """One grant or withdrawal of one purpose (append-only: the latest row is the state).

    Keeps the text the customer agreed to as its versioned code and as it was read to them,
    in their language, so the store can show later exactly what was agreed.
    """

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="consents"
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    granted = models.BooleanField(_("granted"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=10, choices=ConsentSource.choices)
    text_code = models.CharField(_("text version"), max_length=40)
    text = models.TextField(_("text agreed to"))
    language = models.CharField(_("language"), max_length=10)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "purpose", "-at", "-id"])]

    def __str__(self):
        return f"{self.customer_id} {self.purpose}={self.granted}"


class PrivacyRequestKind(models.TextChoices):
    SEE = "see", _("See their data")
    EXPORT = "export", _("Export their data")
    CORRECT = "correct", _("Correct their data")
    DELETE = "delete", _("Delete their data")


class PrivacyRequestChannel(models.TextChoices):
    DESK = "desk", _("At the desk")
    PHONE = "phone", _("On the phone")
    LETTER = "letter", _("Letter")
    EMAIL = "email", _("Email")
    PORTAL = "portal", _("Customer portal")


class PrivacyRequest(models.Model):
    """A customer's request about their personal data (PIPL art. 44–47) and its answer."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="privacy_requests",
    )
    kind = models.CharField(_("request"), max_length=10, choices=PrivacyRequestKind.choices)
    channel = models.CharField(
        _("received how"), max_length=10, choices=PrivacyRequestChannel.choices
    )
    received_at = models.DateTimeField(_("received at"))
    note = models.TextField(_("note"), blank=True, max_length=NOTE_MAX_LENGTH)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    answer = models.TextField(_("answer"), blank=True, max_length=NOTE_MAX_LENGTH)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("privacy request")
        verbose_name_plural = _("privacy requests")
        ordering = ["-received_at", "-id"]

    def __str__(self):
        return f"{self.customer_id} {self.kind}"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None
