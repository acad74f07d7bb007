"""Report targets per month and the scheduled deliveries of the reports by email."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

__all__ = ["ReportDelivery", "ReportTarget"]


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
