"""Step 8: satisfaction surveys, complaints and their actions log, the daily follow-up scan.

The calls themselves are due tasks (`dealership.models.DueTask`, see `followup.duties`);
a survey belongs to the care call it was taken on.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from dealership.models import Customer, DueTask, Vehicle
from dealership.stored_text import stored_text_render
from dealership.text import COMPLAINT_MAX_LENGTH, NOTE_MAX_LENGTH

from .states import ComplaintStatus

SCORE_MIN = 1
SCORE_MAX = 10


def _score(label):
    return models.PositiveSmallIntegerField(
        label, validators=[MinValueValidator(SCORE_MIN), MaxValueValidator(SCORE_MAX)]
    )


class Survey(models.Model):
    """The standard questionnaire of the 24 h care call, answered 1 (bad) to 10 (very good)."""

    # The questions in the order they are asked; the survey's complaint uses this order too.
    QUESTIONS = ("overall", "explanation", "on_time", "car_clean", "would_recommend")

    call = models.OneToOneField(
        DueTask, verbose_name=_("call"), on_delete=models.PROTECT, related_name="survey"
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="surveys"
    )
    vehicle = models.ForeignKey(
        Vehicle,
        verbose_name=_("vehicle"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
    )
    visit = models.ForeignKey(
        "reception.Visit",
        verbose_name=_("visit"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="surveys",
    )
    overall = _score(_("overall satisfaction"))
    explanation = _score(_("the work and bill were explained"))
    on_time = _score(_("the car was ready on time"))
    car_clean = _score(_("the car came back clean"))
    would_recommend = _score(_("would recommend us"))
    customer_words = models.TextField(
        _("in the customer's own words"), blank=True, max_length=COMPLAINT_MAX_LENGTH
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    taken_at = models.DateTimeField(_("taken at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        ordering = ["-taken_at", "-id"]
        # The report's day rows read a day's surveys (`reports.daily`).
        indexes = [models.Index(fields=["taken_at"], name="followup_survey_taken_idx")]

    def __str__(self):
        return f"{self.customer_id}: {self.overall}/10"

    def answers(self) -> list[tuple[str, object, int]]:
        """(field, question, score) in the order asked."""
        return [
            (name, self._meta.get_field(name).verbose_name, getattr(self, name))
            for name in self.QUESTIONS
        ]


class ComplaintSource(models.TextChoices):
    SURVEY = "survey", _("Satisfaction survey")
    CALL = "call", _("Follow-up call")
    DESK = "desk", _("At the desk")
    PHONE = "phone", _("Phone call from the customer")
    OTHER = "other", _("Other (letter, online, ...)")
    PORTAL = "portal", _("Customer portal")


class ComplaintCategory(models.TextChoices):
    QUALITY = "quality", _("Quality of work")
    PRICE = "price", pgettext_lazy("complaint", "Price")
    ATTITUDE = "attitude", _("Staff attitude")
    TIME = "time", _("Time / delay")
    PARTS = "parts", pgettext_lazy("complaint", "Parts")
    OTHER = "other", _("Other")


class ComplaintSeverity(models.TextChoices):
    NORMAL = "normal", _("Normal")
    IMPORTANT = "important", _("Important")


class ThirdParty(models.TextChoices):
    """Outside parties whose involvement makes a complaint important (DOMAIN "Complaints")."""

    MEDIA = "media", _("Media")
    LAWYER = "lawyer", _("Lawyer")
    POLICE = "police", _("Police")
    CONSUMER_ASSOCIATION = "consumer_association", _("Consumer association")
    GOVERNMENT = "government", _("Government office")


class Complaint(models.Model):
    Status = ComplaintStatus
    Severity = ComplaintSeverity

    number = models.CharField(_("number"), max_length=20, unique=True)
    status = models.CharField(
        _("status"),
        max_length=12,
        choices=ComplaintStatus.choices,
        default=ComplaintStatus.OPEN,
        db_index=True,
    )
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="complaints"
    )
    vehicle = models.ForeignKey(
        Vehicle,
        verbose_name=_("vehicle"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
    )
    visit = models.ForeignKey(
        "reception.Visit",
        verbose_name=_("visit"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
    )
    source = models.CharField(_("received"), max_length=10, choices=ComplaintSource.choices)
    category = models.CharField(_("category"), max_length=10, choices=ComplaintCategory.choices)
    description = models.TextField(
        _("the complaint in the customer's own words"), max_length=COMPLAINT_MAX_LENGTH
    )
    safety_related = models.BooleanField(_("safety-related"), default=False)
    amount = models.DecimalField(
        _("amount in dispute (yuan)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    third_parties = models.JSONField(_("outside parties involved"), default=list, blank=True)
    severity = models.CharField(
        _("severity"),
        max_length=10,
        choices=ComplaintSeverity.choices,
        default=ComplaintSeverity.NORMAL,
        editable=False,
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=pgettext_lazy("complaint", "owner"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints_owned",
    )
    survey = models.ForeignKey(
        Survey,
        verbose_name=_("survey"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="complaints",
    )
    call = models.ForeignKey(
        DueTask,
        verbose_name=_("call"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    opened_at = models.DateTimeField(_("received at"), default=timezone.now, db_index=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("logged by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    respond_by = models.DateTimeField(_("first response due"))
    close_by = models.DateTimeField(_("closure due"))
    responded_at = models.DateTimeField(_("first response at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    closed_at = models.DateTimeField(pgettext_lazy("complaint", "closed at"), null=True, blank=True)
    resolution = models.TextField(_("resolution"), blank=True, max_length=NOTE_MAX_LENGTH)
    customer_satisfied = models.BooleanField(
        _("customer satisfied with the answer"), null=True, blank=True
    )
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")
        ordering = ["-opened_at", "-id"]
        indexes = [models.Index(fields=["status", "close_by"])]

    def __str__(self):
        return self.number

    def get_absolute_url(self):
        return reverse("followup:complaint", args=[self.pk])

    @property
    def is_important(self) -> bool:
        return self.severity == ComplaintSeverity.IMPORTANT

    @property
    def is_open(self) -> bool:
        return self.status != ComplaintStatus.CLOSED

    def third_party_labels(self) -> list[str]:
        labels = dict(ThirdParty.choices)
        return [str(labels.get(code, code)) for code in self.third_parties]

    def response_late(self, now=None) -> bool:
        now = now or timezone.now()
        return (self.responded_at or now) > self.respond_by

    def close_late(self, now=None) -> bool:
        now = now or timezone.now()
        return (self.closed_at or now) > self.close_by


class ActionKind(models.TextChoices):
    OPENED = "opened", _("Logged")
    RESPONSE = "response", _("Answered the customer")
    CALL = "call", _("Called the customer")
    NOTE = "note", _("Note")
    ASSIGNED = "assigned", pgettext_lazy("complaint", "Owner changed")
    CHANGED = "changed", _("Details changed")
    ESCALATED = "escalated", _("Escalated to the service manager")
    CLOSED = "closed", pgettext_lazy("complaint", "Closed")
    REOPENED = "reopened", _("Reopened")


class ComplaintAction(models.Model):
    """One line of a complaint's actions log. Written by the services only."""

    complaint = models.ForeignKey(Complaint, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=10, choices=ActionKind.choices)
    text = models.TextField(_("text"), blank=True, max_length=NOTE_MAX_LENGTH)
    # A text the system wrote: its code and parameters, rendered in the reader's language
    # (`text` then holds nothing the reader needs; see dealership.stored_text).
    code = models.CharField(_("text code"), max_length=40, blank=True)
    params = models.JSONField(_("text parameters"), default=dict, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("complaint action")
        verbose_name_plural = _("complaint actions")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.complaint_id} {self.kind}"

    @property
    def display_text(self) -> str:
        if self.code:
            return stored_text_render(self.code, self.params, self.text)
        return self.text


class DailyScan(models.Model):
    """One run of the daily follow-up scan (N+15 calls, lost customers, visits to close)."""

    day = models.DateField(_("day"), unique=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    counts = models.JSONField(_("result"), default=dict, blank=True)

    class Meta:
        verbose_name = _("daily follow-up scan")
        verbose_name_plural = _("daily follow-up scans")
        ordering = ["-day"]

    def __str__(self):
        return f"{self.day:%Y-%m-%d}"


class EnquiryChannel(models.TextChoices):
    PHONE = "phone", _("Phone call")
    WECHAT = "wechat", _("WeChat message")
    WEB = "web", _("Web message")
    WALK_IN = "walk_in", _("Walk-in")


# Messages the customer left (the 15-minute response rule applies); calls and walk-ins are
# answered as they are taken.
ONLINE_CHANNELS = (EnquiryChannel.WECHAT, EnquiryChannel.WEB)


class EnquiryTopic(models.TextChoices):
    BOOKING = "booking", _("Booking an appointment")
    PRICE = "price", _("Price of a service")
    REPAIR = "repair", _("A problem with the car")
    PROGRESS = "progress", _("Progress of a car in the workshop")
    PARTS = "parts", _("Parts and accessories")
    WARRANTY = "warranty", _("Warranty or insurance")
    COMPLAINT = "complaint", _("Complaint")
    OTHER = "other", _("Other")


class EnquiryOutcome(models.TextChoices):
    BOOKED = "booked", _("Booked")
    ANSWERED = "answered", _("Answered")
    COMPLAINT = "complaint", _("Complaint opened")
    LOST = "lost", _("Lost")


class Enquiry(models.Model):
    """An incoming call or message (咨询) and what came of it (`followup.enquiries`)."""

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enquiries",
    )
    # Who asked when they are not (yet) a customer of ours.
    caller_name = models.CharField(pgettext_lazy("person", "name"), max_length=100, blank=True)
    caller_mobile = models.CharField(_("mobile"), max_length=20, blank=True)
    channel = models.CharField(_("channel"), max_length=10, choices=EnquiryChannel.choices)
    topic = models.CharField(_("about"), max_length=20, choices=EnquiryTopic.choices)
    outcome = models.CharField(
        _("outcome"), max_length=10, choices=EnquiryOutcome.choices, blank=True
    )
    note = models.TextField(_("note"), blank=True, max_length=NOTE_MAX_LENGTH)
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    first_response_at = models.DateTimeField(_("first response"), null=True, blank=True)
    closed_at = models.DateTimeField(pgettext_lazy("enquiry", "closed"), null=True, blank=True)
    appointment = models.ForeignKey(
        "appointments.Appointment",
        verbose_name=_("appointment"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    complaint = models.ForeignKey(
        Complaint,
        verbose_name=_("complaint"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    taken_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("taken by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("enquiry")
        verbose_name_plural = _("enquiries")
        ordering = ["-received_at", "-id"]
        indexes = [
            models.Index(fields=["received_at"]),
            models.Index(
                fields=["received_at"], name="enquiry_open", condition=models.Q(closed_at=None)
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} {self.received_at:%Y-%m-%d %H:%M}"

    @property
    def is_online(self) -> bool:
        return self.channel in ONLINE_CHANNELS
