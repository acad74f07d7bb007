"""The advisor's and manager's start page: today's arrivals (see `dealership.start`)."""

from django.utils import timezone

from . import selectors
from .models import Status


def arrivals(request) -> dict:
    rows = list(selectors.appointments_for_day(timezone.localdate()))
    for row in rows:
        row.check_in_link = (
            selectors.check_in_url(row) if row.status in (Status.BOOKED, Status.CONFIRMED) else ""
        )
    return {"appointments": rows}
