"""The advisor's and manager's start page: today's arrivals (see `dealership.start`)."""

from django.utils import timezone

from . import selectors


def arrivals(request) -> dict:
    """Today's appointments as the board's day cards (time, plate, customer, status, check-in)."""
    return {"appointments": selectors.arrival_cards(timezone.localdate())}
