"""The dates a page or API call may ask about, and the 400 page for a bad query.

Reports and the appointment board compute neighbouring periods (the previous one, the
same period last year, 12 months of trend); at year 1 or 9999 that arithmetic leaves
Python's date range and ended in a 500. A store's data lies between 2000 and 2099, so a
date outside is refused with a message naming the range.
"""

import calendar
from datetime import date, datetime
from functools import wraps

from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from .errors import DomainError

FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)


# %-formatting, not f-strings: half the time of `f"{local.hour:02d}"` (hundreds a page).
def _month_day_clock(local: datetime) -> str:
    return "%02d-%02d %02d:%02d" % (local.month, local.day, local.hour, local.minute)  # noqa: UP031


def clock_text(local: datetime) -> str:
    """A local time's hour and minute, "09:05" (`f"{local:%H:%M}"` without strftime, five
    times slower: a week's board prints hundreds)."""
    return "%02d:%02d" % (local.hour, local.minute)  # noqa: UP031


# The patterns the lists print, worked out without strftime (same digits, a third of the
# time); any other pattern goes through strftime.
_PATTERNS = {"%m-%d %H:%M": _month_day_clock, "%H:%M": clock_text}


def local_text(moment, pattern: str = "%m-%d %H:%M", tz=None) -> str:
    """A moment as the lists print it, in the store's time (`{{ value|date:"m-d H:i" }}`
    worked out once in Python: digits only, nothing to translate); "" for none.

    `tz`: the current time zone (`timezone.get_current_timezone()`), looked up once by a
    caller printing many rows: the lookup cost more than the rest of this function."""
    if not moment:
        return ""
    local = timezone.localtime(moment, tz)
    text = _PATTERNS.get(pattern)
    return text(local) if text else f"{local:{pattern}}"


def add_months(day: date, months: int) -> date:
    """The same day `months` later (or earlier), clipped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def day_in_range(day: date, *, field: str = "date") -> date:
    """`day`, or a DomainError on `field` when it lies outside FIRST_DAY..LAST_DAY."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DomainError(
            _("Choose a date between %(first)s and %(last)s.")
            % {"first": FIRST_DAY.isoformat(), "last": LAST_DAY.isoformat()},
            field=field,
            code="date_range",
        )
    return day


def refuses_bad_query(view):
    """A page view whose query parameters break a rule (a DomainError escaping the view,
    e.g. a date out of range) answers 400 with the message instead of a 500."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except DomainError as error:
            return render(
                request,
                "dealership/bad_request.html",
                {"errors": error.messages},
                status=400,
            )

    return wrapped
