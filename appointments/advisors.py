"""Which advisor an online booking goes to (issue 20 item 7).

The customer's own advisor (专属顾问) when they have an active one; otherwise a fair
rotation among the active advisors: the one with the fewest bookings on the arrival day,
the lowest id on a tie (deterministic). Called by `appointment_book` under the day's lock
(`DayLock`), so two online bookings for the same day at once never both count the same
totals and land on the same advisor by accident.
"""

from datetime import date

from django.db.models import Count, Q

from dealership.advisors import advisors_active
from dealership.models import Customer, User

from .states import Status


def advisor_for_online_booking(*, customer: Customer, day: date) -> User | None:
    """The customer's own advisor if active, else the least-booked active advisor that day."""
    advisors = advisors_active()
    # Read from the row: the customer object in hand may predate the advisor's setting.
    own = advisors.filter(own_customers=customer).first()
    if own is not None:
        return own
    return (
        advisors.annotate(
            bookings=Count(
                "appointments",
                filter=Q(appointments__start__date=day) & ~Q(appointments__status=Status.CANCELLED),
            )
        )
        .order_by("bookings", "id")
        .first()
    )
