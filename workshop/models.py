"""Steps 4-5: jobs on the board, clocking, findings, additional work (增项), QC, promise watch.

A `Job` is one labour line of the visit's signed order in force (or of an
additional-work proposal), dispatched to a technician and a bay. Its status
moves only through `workshop.services` (see `workshop.states`).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from dealership.models import Bay, CopiedLineName, LabourOperation, Part, Technician, WorkType
from dealership.money import cents
from dealership.text import NOTE_MAX_LENGTH, REASON_MAX_LENGTH
from reception.models import Visit
from workorders.models import WorkOrder, WorkOrderLine

from .states import AdditionStatus, AnswerChannel, ClockFlag, JobStatus, PauseReason

ZERO = Decimal("0")


class BilingualLine(CopiedLineName, models.Model):
    code = models.CharField(_("code"), max_length=40, blank=True)
    name_zh = models.CharField(_("name (Chinese)"), max_length=150)
    name_en = models.CharField(_("name (English)"), max_length=150, blank=True)

    class Meta:
        abstract = True


class Job(BilingualLine):
    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="jobs"
    )
    order_line = models.ForeignKey(
        WorkOrderLine,
        verbose_name=_("work order line"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # The line's position on the order: revisions copy lines, the position ties them to one job.
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    addition = models.ForeignKey(
        "Addition",
        verbose_name=_("additional work"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="jobs",
    )
    work_type = models.CharField(
        _("work type"), max_length=20, choices=WorkType.choices, default=WorkType.REPAIR
    )
    hours = models.DecimalField(_("standard hours"), max_digits=6, decimal_places=2, default=ZERO)
    status = models.CharField(
        _("status"), max_length=12, choices=JobStatus.choices, default=JobStatus.WAITING
    )
    technician = models.ForeignKey(
        Technician,
        verbose_name=_("technician"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="jobs",
    )
    bay = models.ForeignKey(
        Bay, verbose_name=_("bay"), on_delete=models.PROTECT, null=True, blank=True
    )
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("dispatched by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    started_at = models.DateTimeField(_("first clocked on"), null=True, blank=True)
    clocked_on_at = models.DateTimeField(_("clocked on since"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    actual_hours = models.DecimalField(
        _("actual hours"), max_digits=7, decimal_places=2, default=ZERO
    )
    pause_reason = models.CharField(
        _("paused because"), max_length=20, choices=PauseReason.choices, blank=True
    )
    pause_note = models.CharField(_("pause note"), max_length=200, blank=True)
    self_check = models.JSONField(_("self-check"), default=list, blank=True)
    self_checked_at = models.DateTimeField(_("self-checked at"), null=True, blank=True)
    rework_count = models.PositiveSmallIntegerField(_("reworks"), default=0)
    # Set at clock-off when the clocked time is implausible against the standard hours.
    clock_flag = models.CharField(
        _("clocking to check"), max_length=12, choices=ClockFlag.choices, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    version = models.PositiveIntegerField(default=1)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("job")
        verbose_name_plural = _("jobs")
        ordering = ["visit", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit", "position"],
                condition=Q(position__isnull=False),
                name="workshop_job_one_per_order_line",
            )
        ]
        indexes = [
            models.Index(fields=["technician", "status"]),
            # The board's and the reports' "open or finished since": today's jobs only.
            models.Index(fields=["status", "finished_at"]),
        ]

    def __str__(self):
        return f"{self.code} {self.name}".strip()

    @property
    def is_addition(self) -> bool:
        return self.addition_id is not None

    def hours_worked(self, now=None) -> Decimal:
        """Actual hours so far, the running clock included."""
        return hours_worked(self.actual_hours, self.clocked_on_at, now)

    def remaining_hours(self, now=None) -> Decimal:
        return remaining_hours(self.status, self.hours, self.actual_hours, self.clocked_on_at, now)


def hours_worked(actual_hours: Decimal, clocked_on_at, now=None) -> Decimal:
    """A job's actual hours so far, the running clock included (`Job.hours_worked` of a
    job's columns, for lists read as values)."""
    if clocked_on_at:
        seconds = ((now or timezone.now()) - clocked_on_at).total_seconds()
        return actual_hours + Decimal(str(round(max(seconds, 0) / 3600, 2)))
    return actual_hours


def remaining_hours(status, hours, actual_hours, clocked_on_at, now=None) -> Decimal:
    """A job's hours still to work (`Job.remaining_hours` of a job's columns)."""
    if status in (JobStatus.DONE, JobStatus.CANCELLED):
        return ZERO
    return max(hours - hours_worked(actual_hours, clocked_on_at, now), ZERO)


class ClockEntry(models.Model):
    """One stretch of a technician's time on a job: clocked on, then paused or clocked off."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="clock_entries")
    technician = models.ForeignKey(
        Technician, on_delete=models.PROTECT, related_name="clock_entries"
    )
    started_at = models.DateTimeField(_("clocked on"))
    ended_at = models.DateTimeField(_("clocked off"), null=True, blank=True)
    end_reason = models.CharField(_("why it stopped"), max_length=20, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("clock entry")
        verbose_name_plural = _("clock entries")
        ordering = ["started_at", "id"]
        constraints = [
            # A technician works on one job at a time.
            models.UniqueConstraint(
                fields=["technician"],
                condition=Q(ended_at__isnull=True),
                name="workshop_one_open_clock_per_technician",
            )
        ]
        # The report's day rows read a day's clock entries (`reports.daily`).
        indexes = [models.Index(fields=["started_at"], name="workshop_clock_started_idx")]

    def __str__(self):
        return f"{self.technician} {self.started_at:%H:%M}"

    @property
    def hours(self) -> Decimal:
        end = self.ended_at or timezone.now()
        return Decimal(str(round((end - self.started_at).total_seconds() / 3600, 2)))


class Finding(models.Model):
    """Something a technician found on the car: a note and photos; may become an addition."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="findings")
    job = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="findings"
    )
    note = models.TextField(_("what was found"), max_length=NOTE_MAX_LENGTH)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("reported at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("finding")
        verbose_name_plural = _("findings")
        ordering = ["created_at", "id"]

    def __str__(self):
        return self.note[:60]


class FindingPhoto(models.Model):
    finding = models.ForeignKey(Finding, on_delete=models.CASCADE, related_name="photos")
    image = models.ImageField(_("photo"), upload_to="findings/%Y/%m/")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("finding photo")
        verbose_name_plural = _("finding photos")
        ordering = ["id"]

    def __str__(self):
        return self.image.name


class Addition(models.Model):
    """Additional work (增项) proposed from a finding; the customer approves or declines it."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="additions")
    finding = models.ForeignKey(
        Finding, on_delete=models.SET_NULL, null=True, blank=True, related_name="additions"
    )
    found_on = models.ForeignKey(
        Job, on_delete=models.SET_NULL, null=True, blank=True, related_name="additions_found"
    )
    title = models.CharField(_("work proposed"), max_length=150)
    explanation = models.TextField(
        _("cause and risk, for the customer"),
        max_length=NOTE_MAX_LENGTH,
        blank=True,
        help_text=_("What was found, why it matters, what happens if it is not done."),
    )
    safety_related = models.BooleanField(_("safety-related"), default=False)
    extra_minutes = models.PositiveIntegerField(_("extra time (minutes)"), default=0)
    hours = models.DecimalField(_("standard hours"), max_digits=6, decimal_places=2, default=ZERO)
    price = models.DecimalField(_("price"), max_digits=10, decimal_places=2, default=ZERO)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=AdditionStatus.choices,
        default=AdditionStatus.PROPOSED,
        db_index=True,
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    proposed_at = models.DateTimeField(_("proposed at"), default=timezone.now)
    link_token = models.TextField(_("customer link"), blank=True, editable=False)
    link_sent_at = models.DateTimeField(_("link sent at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answer_channel = models.CharField(
        _("answered how"), max_length=10, choices=AnswerChannel.choices, blank=True
    )
    answered_by = models.CharField(_("answered by"), max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    answer_note = models.TextField(
        _("what the customer said"), blank=True, max_length=NOTE_MAX_LENGTH
    )
    decline_reason = models.CharField(_("reason for declining"), max_length=200, blank=True)
    promised_before = models.DateTimeField(_("promise before"), null=True, blank=True)
    promised_after = models.DateTimeField(_("promise after"), null=True, blank=True)
    revision = models.ForeignKey(
        WorkOrder,
        verbose_name=_("order revision"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    history = HistoricalRecords(excluded_fields=["link_token"])

    class Meta:
        verbose_name = _("additional work")
        verbose_name_plural = _("additional work")
        ordering = ["proposed_at", "id"]

    def __str__(self):
        return f"{self.visit.number}: {self.title}"

    def get_absolute_url(self):
        return reverse("workshop:addition", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.status == AdditionStatus.PROPOSED


class AdditionLine(BilingualLine):
    addition = models.ForeignKey(Addition, on_delete=models.CASCADE, related_name="lines")
    operation = models.ForeignKey(LabourOperation, on_delete=models.PROTECT, null=True, blank=True)
    part = models.ForeignKey(Part, on_delete=models.PROTECT, null=True, blank=True)
    hours = models.DecimalField(_("standard hours"), max_digits=6, decimal_places=2, default=ZERO)
    quantity = models.DecimalField(_("quantity"), max_digits=8, decimal_places=2, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=10, decimal_places=2)

    class Meta:
        verbose_name = _("additional work line")
        verbose_name_plural = _("additional work lines")
        ordering = ["id"]

    def __str__(self):
        return f"{self.code} {self.name}".strip()

    @property
    def is_labour(self) -> bool:
        return self.operation_id is not None

    @property
    def amount(self) -> Decimal:
        return cents(self.quantity * self.unit_price)


class QualityCheck(models.Model):
    """The inspector's re-check of a car whose work is done: passed, or failed with a reason."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="quality_checks")
    inspector = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField(_("checked at"), default=timezone.now)
    passed = models.BooleanField(_("passed"))
    checklist = models.JSONField(_("checklist"), default=dict)
    road_test_needed = models.BooleanField(_("road test needed"), default=False)
    reason = models.TextField(_("what must be redone"), blank=True, max_length=REASON_MAX_LENGTH)
    rework_jobs = models.ManyToManyField(Job, blank=True, related_name="+")

    class Meta:
        verbose_name = _("quality check")
        verbose_name_plural = _("quality checks")
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.visit.number} {'✓' if self.passed else '✗'}"


class PromiseWatch(models.Model):
    """The visit's promise watch: the due tasks (progress check, alerts) hang on this row."""

    visit = models.OneToOneField(Visit, on_delete=models.CASCADE, related_name="promise_watch")
    planned_from = models.DateTimeField(_("work planned from"))

    class Meta:
        verbose_name = _("promise watch")
        verbose_name_plural = _("promise watches")

    def __str__(self):
        plate = self.visit.vehicle.plate or self.visit.vehicle.vin
        return f"{self.visit.number} {plate}"

    def get_absolute_url(self):
        return reverse("workshop:visit", args=[self.visit_id])


class DeskCall(models.Model):
    """The advisor asked for a technician at the desk (a second opinion with the customer).

    Open until the controller answers by naming the technician who goes.
    """

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.CASCADE, related_name="desk_calls"
    )
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("asked by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    asked_at = models.DateTimeField(_("asked at"), default=timezone.now)
    note = models.CharField(_("what it is about"), max_length=200, blank=True)
    technician = models.ForeignKey(
        Technician,
        verbose_name=_("technician sent"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="desk_calls",
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("technician asked to the desk")
        verbose_name_plural = _("technicians asked to the desk")
        ordering = ["asked_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["visit"],
                condition=Q(answered_at__isnull=True),
                name="workshop_one_open_desk_call_per_visit",
            )
        ]
        indexes = [
            models.Index(
                fields=["asked_at"],
                condition=Q(answered_at__isnull=True),
                name="workshop_desk_call_open",
            )
        ]

    def __str__(self):
        return f"{self.visit_id} {self.asked_at:%H:%M}"

    @property
    def is_open(self) -> bool:
        return self.answered_at is None


class RosterKind(models.TextChoices):
    LEAVE = "leave", _("Leave")
    TRAINING = "training", _("Training")
    PART_DAY = "part_day", _("Part day")


class RosterEntry(models.Model):
    """A technician away on a day: leave, training, or a part day (hours off).

    `hours_off` empty means the whole day. Capacity, the booking page and the board's
    loads read these through `workshop.roster`.
    """

    technician = models.ForeignKey(
        Technician,
        verbose_name=_("technician"),
        on_delete=models.CASCADE,
        related_name="roster_entries",
    )
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind"), max_length=10, choices=RosterKind.choices)
    hours_off = models.DecimalField(
        _("hours off"),
        max_digits=4,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty for the whole day."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("roster entry")
        verbose_name_plural = _("roster entries")
        ordering = ["day", "technician"]
        constraints = [
            models.UniqueConstraint(fields=["technician", "day"], name="workshop_roster_one_a_day"),
            models.CheckConstraint(
                condition=Q(hours_off__isnull=True) | Q(hours_off__gt=0),
                name="workshop_roster_hours_off_positive",
            ),
        ]

    def __str__(self):
        return f"{self.technician} {self.day} {self.get_kind_display()}"

    @property
    def whole_day(self) -> bool:
        return self.hours_off is None
