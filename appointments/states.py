"""An appointment's life: booked, perhaps confirmed, then arrived, a no-show or cancelled.

The services in `appointments.services` move an appointment through
`APPOINTMENT_STATES`; a new booking starts as booked.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from dealership.transitions import StateTable


class Status(models.TextChoices):
    BOOKED = "booked", _("Booked")
    CONFIRMED = "confirmed", _("Confirmed")
    ARRIVED = "arrived", _("Arrived")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")


# Appointments that hold workshop capacity and reserved parts.
OPEN_STATUSES = (Status.BOOKED, Status.CONFIRMED)
CAPACITY_STATUSES = (Status.BOOKED, Status.CONFIRMED, Status.ARRIVED)

ALLOWED: dict[str, frozenset[str]] = {
    Status.BOOKED: frozenset({Status.CONFIRMED, Status.ARRIVED, Status.NO_SHOW, Status.CANCELLED}),
    Status.CONFIRMED: frozenset({Status.ARRIVED, Status.NO_SHOW, Status.CANCELLED}),
    Status.ARRIVED: frozenset(),
    Status.NO_SHOW: frozenset(),
    Status.CANCELLED: frozenset(),
}

APPOINTMENT_STATES = StateTable(
    name="appointment",
    model="appointments.Appointment",
    statuses=Status,
    allowed=ALLOWED,
    stamps={
        Status.CONFIRMED: "confirmed_at",
        Status.ARRIVED: "arrived_at",
        Status.NO_SHOW: "no_show_at",
        Status.CANCELLED: "cancelled_at",
    },
    refusal=gettext_noop("An appointment that is %(current)s cannot become %(target)s."),
)
