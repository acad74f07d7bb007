"""Report periods: a day, a week (Monday to Sunday) or a month of local dates."""

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.utils import formats
from django.utils.translation import gettext_lazy as _

from appointments.capacity import day_bounds
from dealership.daterange import add_months

DAY, WEEK, MONTH = "day", "week", "month"
KINDS = {DAY: _("Daily"), WEEK: _("Weekly"), MONTH: _("Monthly")}


def month_last_day(day: date) -> date:
    return date(day.year, day.month, calendar.monthrange(day.year, day.month)[1])


@dataclass(frozen=True)
class Period:
    kind: str
    first: date
    last: date

    @classmethod
    def containing(cls, kind: str, day: date) -> "Period":
        if kind == DAY:
            return cls(DAY, day, day)
        if kind == WEEK:
            monday = day - timedelta(days=day.weekday())
            return cls(WEEK, monday, monday + timedelta(days=6))
        if kind == MONTH:
            return cls(MONTH, day.replace(day=1), month_last_day(day))
        raise ValueError(f"unknown period kind {kind!r}")

    @property
    def bounds(self) -> tuple[datetime, datetime]:
        """UTC-aware instants [start, end) covering the local days."""
        return day_bounds(self.first, self.last)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def previous(self) -> "Period":
        if self.kind == MONTH:
            return Period.containing(MONTH, add_months(self.first, -1))
        return Period.containing(self.kind, self.first - timedelta(days=self.days))

    def next(self) -> "Period":
        if self.kind == MONTH:
            return Period.containing(MONTH, add_months(self.first, 1))
        return Period.containing(self.kind, self.last + timedelta(days=1))

    def last_year(self) -> "Period":
        """The same month a year earlier; for a day or week, 52 weeks earlier (same weekdays)."""
        if self.kind == MONTH:
            return Period.containing(MONTH, add_months(self.first, -12))
        return Period.containing(self.kind, self.first - timedelta(weeks=52))

    @property
    def label(self) -> str:
        if self.kind == MONTH:
            return formats.date_format(self.first, "YEAR_MONTH_FORMAT")
        if self.kind == DAY:
            return formats.date_format(self.first, "DATE_FORMAT")
        return (
            f"{formats.date_format(self.first, 'SHORT_DATE_FORMAT')}–"
            f"{formats.date_format(self.last, 'SHORT_DATE_FORMAT')}"
        )

    def query(self) -> str:
        return f"period={self.kind}&date={self.first.isoformat()}"
