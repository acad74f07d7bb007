"""Report targets per month and the scheduled deliveries of the reports by email."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

__all__ = ["DayChange", "DayFigures", "DaySpending", "ReportDelivery", "ReportTarget"]


class ReportTarget(models.Model):
    """The manager's target for one figure in one month (rates in percent)."""

    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    figure = models.CharField(_("figure"), max_length=40)
    value = models.DecimalField(_("target"), max_digits=14, decimal_places=2)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords(table_name="dealership_historicalreporttarget")

    class Meta:
        db_table = "dealership_reporttarget"  # created under dealership; kept (no data moves)
        verbose_name = _("report target")
        verbose_name_plural = _("report targets")
        ordering = ["-month", "figure"]
        constraints = [
            models.UniqueConstraint(fields=["month", "figure"], name="report_target_once")
        ]

    def __str__(self):
        return f"{self.month:%Y-%m} {self.figure}={self.value}"


class ReportDelivery(models.Model):
    """One scheduled email of a report to the managers (a due task's subject)."""

    kind = models.CharField(_("report"), max_length=10)
    first = models.DateField(_("from"))
    last = models.DateField(_("to"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    recipients = models.JSONField(_("sent to"), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "dealership_reportdelivery"  # created under dealership; kept
        verbose_name = _("report delivery")
        verbose_name_plural = _("report deliveries")
        ordering = ["-first", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "first"], name="report_delivery_once")
        ]

    def __str__(self):
        return f"{self.kind} {self.first:%Y-%m-%d}"


class DayFigures(models.Model):
    """The report's additive figures of one local day, summed into any period (reports.daily).

    A row holds what a full recomputation of that day gave when `computed_xmin` was the
    oldest transaction still running; it is stale once a `DayChange` of a transaction at
    or after that one marks the day, or when the estimate tolerance it used has changed.
    """

    day = models.DateField(primary_key=True)
    computed_xmin = models.BigIntegerField()
    # The last change of the day's `DaySpending` rows, numbered by a sequence
    # (`daily.SPENDING_CHANGES`): a later change of any day has a larger number, so the
    # largest over a run of days tells whether any of their rows changed since (the
    # spending bands' kept part, `figures.spending_bands`).
    spending_change = models.BigIntegerField(default=0)
    tolerance = models.DecimalField(max_digits=7, decimal_places=2)
    # Paid bills settled that day.
    orders = models.IntegerField(default=0)
    estimated = models.IntegerField(default=0)
    within = models.IntegerField(default=0)
    adjustments = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    paid_till = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    paid_ahead = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    labour = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    parts = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    other = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    hours_sold = models.DecimalField(max_digits=12, decimal_places=2, default=0)
    warranty = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # Visits checked in / delivered that day.
    checked_in = models.IntegerField(default=0)
    cancelled = models.IntegerField(default=0)
    comebacks = models.IntegerField(default=0)
    walk_ins = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    promised = models.IntegerField(default=0)
    on_time = models.IntegerField(default=0)
    reworked = models.IntegerField(default=0)
    # Finished clock entries started that day, in microseconds.
    clocked = models.BigIntegerField(default=0)
    # Appointments due that day.
    booked = models.IntegerField(default=0)
    arrived = models.IntegerField(default=0)
    no_show = models.IntegerField(default=0)
    appointments_cancelled = models.IntegerField(default=0)
    # Surveys taken that day: how many, and the sum of their five answers.
    surveys = models.IntegerField(default=0)
    survey_points = models.IntegerField(default=0)
    # The period's tables: revenue by kind and payer, orders by work type, technicians.
    tables = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("day figures")
        verbose_name_plural = _("day figures")

    def __str__(self):
        return f"{self.day:%Y-%m-%d}"


class DayChange(models.Model):
    """A transaction (`xid`) changed a row behind the figures of `day`: written in that
    transaction, so a change is never lost; readers delete the marks they have counted."""

    day = models.DateField()
    xid = models.BigIntegerField()

    class Meta:
        verbose_name = _("day change")
        verbose_name_plural = _("day changes")
        constraints = [models.UniqueConstraint(fields=["day", "xid"], name="day_change_once")]

    def __str__(self):
        return f"{self.day:%Y-%m-%d} {self.xid}"


class DaySpending(models.Model):
    """What one customer paid on the bills settled on one local day (the spending bands)."""

    day = models.DateField(db_index=True)
    customer_id = models.BigIntegerField(db_index=True)
    # In cents: integers sum several times faster than decimals over a year of customers.
    spent = models.BigIntegerField()

    class Meta:
        verbose_name = _("day spending")
        verbose_name_plural = _("day spending")

    def __str__(self):
        return f"{self.day:%Y-%m-%d} {self.customer_id}"
