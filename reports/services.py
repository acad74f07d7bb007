"""Writes of the reports: monthly targets and the scheduled email deliveries."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from appointments.capacity import local_datetime, openings
from dealership.due import due_task_schedule
from dealership.errors import DomainError
from dealership.models import DueTask, User
from dealership.roles import Role
from dealership.rules import REGISTRY, rule

from .figures import FIGURES
from .models import ReportDelivery, ReportTarget
from .pdf import report_pdf
from .periods import DAY, KINDS, MONTH, WEEK, Period, month_last_day
from .selectors import report_build

DELIVERY_KIND = "reports.deliver"


# The column holds 12 digits before the point.
TARGET_LIMIT = Decimal(10) ** 12


def report_target_set(
    *, month: date, figure: str, value: Decimal | None, actor: User | None
) -> ReportTarget | None:
    """Set (or with `value=None` clear) the target of one figure for one month."""
    if figure not in FIGURES:
        raise DomainError(_("There is no such figure."), field="figure")
    if value is not None and not value.is_finite():
        raise DomainError(_("Enter a number."), field=figure)
    if value is not None and value < 0:
        raise DomainError(_("Enter a target of zero or more."), field=figure)
    if value is not None and value >= TARGET_LIMIT:
        raise DomainError(
            _("Enter a target below %(limit)s.") % {"limit": TARGET_LIMIT}, field=figure
        )
    month = month.replace(day=1)
    with transaction.atomic():
        if value is None:
            ReportTarget.objects.filter(month=month, figure=figure).delete()
            return None
        target, _created = ReportTarget.objects.update_or_create(
            month=month,
            figure=figure,
            defaults={"value": value, "updated_by": actor, "updated_at": timezone.now()},
        )
    return target


# ----------------------------------------------------------------------- deliveries


def _time_rule(key: str) -> time:
    """An HH:MM setting; a value that does not parse falls back to the default."""
    for raw in (rule(key), REGISTRY[key].default):
        try:
            hours, minutes = str(raw).split(":")
            return time(int(hours), int(minutes))
        except ValueError:
            continue
    raise AssertionError(key)  # pragma: no cover - the defaults parse


def deliveries_due_on(today: date) -> list[tuple[Period, datetime]]:
    """The reports to email on `today`, each with its send time.

    Daily: on each open day before opening, the day before. Weekly: on Saturday,
    the week so far (Monday to Sunday). Monthly: on the month's last day, the month.
    """
    due = []
    opens = openings(today, today)[today][0]
    if opens is not None:
        due.append(
            (Period.containing(DAY, today - timedelta(days=1)), _at(today, "reports.daily_time"))
        )
    if today.weekday() == 5:
        due.append((Period.containing(WEEK, today), _at(today, "reports.weekly_time")))
    if today == month_last_day(today):
        due.append((Period.containing(MONTH, today), _at(today, "reports.monthly_time")))
    return due


def _at(day: date, key: str) -> datetime:
    return local_datetime(day, _time_rule(key))


def report_deliveries_ensure(*, now: datetime | None = None) -> list[ReportDelivery]:
    """Schedule today's report emails as due tasks (hourly from beat; idempotent)."""
    today = timezone.localdate(now or timezone.now())
    created = []
    for period, send_at in deliveries_due_on(today):
        with transaction.atomic():
            delivery, is_new = ReportDelivery.objects.get_or_create(
                kind=period.kind, first=period.first, defaults={"last": period.last}
            )
            if is_new:
                due_task_schedule(kind=DELIVERY_KIND, subject=delivery, due_at=send_at)
                created.append(delivery)
    return created


def manager_emails() -> list[str]:
    return sorted(
        User.objects.filter(groups__name=Role.SERVICE_MANAGER, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )


def report_delivery_send(*, delivery: ReportDelivery, now: datetime | None = None) -> dict:
    """Email the report to every active service manager, once (a resend is a no-op)."""
    with transaction.atomic():
        delivery = ReportDelivery.objects.select_for_update().get(pk=delivery.pk)
        if delivery.sent_at:
            return {"already_sent": delivery.sent_at.isoformat()}
        recipients = manager_emails()
        period = Period(delivery.kind, delivery.first, delivery.last)
        with translation.override(settings.LANGUAGE_CODE):
            report = report_build(period, now=now)
            subject = _("%(store)s · %(kind)s report %(period)s") % {
                "store": rule("store.name"),
                "kind": KINDS[period.kind],
                "period": period.label,
            }
            body = render_to_string("reports/email.txt", {"report": report})
            pdf = report_pdf(report)
        if recipients:
            message = EmailMultiAlternatives(subject=subject, body=body, to=recipients)
            message.attach(
                f"report-{period.kind}-{period.first:%Y%m%d}.pdf", pdf, "application/pdf"
            )
            message.send()
        delivery.sent_at = timezone.now()
        delivery.recipients = recipients
        delivery.save(update_fields=["sent_at", "recipients"])
    return {"sent_to": len(recipients)}


def report_delivery_send_task(task: DueTask) -> dict:
    """Due-task handler of `reports.deliver`."""
    return report_delivery_send(delivery=ReportDelivery.objects.get(pk=task.subject_id))
