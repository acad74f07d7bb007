"""The express lane (快修): quick maintenance with a target time from check-in to ready.

A visit is express when every labour job on its order is maintenance and the
catalogue time of all of them together is under `workshop.express_max_minutes`
(the catalogue operation's standard hours; a hand-typed line counts its own
hours). Such a car should be ready `workshop.express_target_minutes` after
check-in; past that the board turns its card red and counts it in the header.
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from dealership.models import WorkType
from dealership.rules import rule

ZERO = Decimal("0")


def catalogue_hours(job) -> Decimal:
    """The job's time by the catalogue (annotated on board jobs), else its own hours."""
    hours = getattr(job, "catalogue_hours", None)
    return job.hours if hours is None else hours


def is_express(jobs, *, max_minutes: int | None = None) -> bool:
    """All jobs maintenance and their catalogue time together under the express limit."""
    jobs = list(jobs)
    if not jobs or any(job.work_type != WorkType.MAINTENANCE for job in jobs):
        return False
    limit = rule("workshop.express_max_minutes") if max_minutes is None else max_minutes
    total = sum((catalogue_hours(job) for job in jobs), ZERO)
    return total * 60 < limit


def express_overdue(checked_in_at: datetime, now: datetime, *, target: int | None = None) -> bool:
    """The express target from check-in to ready has passed."""
    target = rule("workshop.express_target_minutes") if target is None else target
    return now - checked_in_at > timedelta(minutes=target)


class Durations:
    """How long, for cards: "12 min", "2 h 05 min", "3 d 4 h". The words are translated
    once per instance (in the language active then), not for each text: a board prints
    two per card."""

    def __init__(self):
        self._hours = _("%(h)d h %(m)02d min")
        self._days = _("%(d)d d %(h)d h")
        self._minutes: dict[int, str] = {}

    def text(self, delta: timedelta) -> str:
        minutes = max(int(delta.total_seconds() // 60), 0)
        if minutes < 60:
            if minutes not in self._minutes:
                self._minutes[minutes] = ngettext("%(m)d min", "%(m)d min", minutes) % {
                    "m": minutes
                }
            return self._minutes[minutes]
        hours, minutes = divmod(minutes, 60)
        if hours < 24:
            return self._hours % {"h": hours, "m": minutes}
        days, hours = divmod(hours, 24)
        return self._days % {"d": days, "h": hours}


def duration_text(delta: timedelta) -> str:
    """How long, for a card: "12 min", "2 h 05 min", "3 d 4 h"."""
    return Durations().text(delta)
