"""An appointment's life: booked, perhaps confirmed, then arrived, a no-show or cancelled;
and a deposit's: held, then credited on the bill, refunded, or kept for a no-show.

The services in `appointments.services` move an appointment through
`APPOINTMENT_STATES` (a new booking starts as booked) and a deposit through
`DEPOSIT_STATES` (a deposit starts held).
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


class DepositStatus(models.TextChoices):
    HELD = "held", _("Held")
    APPLIED = "applied", _("Credited on the bill")
    REFUNDED = "refunded", _("Refunded")
    FORFEITED = "forfeited", _("Kept for a no-show")


DEPOSIT_STATES = StateTable(
    name="deposit",
    model="appointments.Deposit",
    statuses=DepositStatus,
    allowed={
        DepositStatus.HELD: frozenset(
            {DepositStatus.APPLIED, DepositStatus.REFUNDED, DepositStatus.FORFEITED}
        ),
        # A voided bill gives its deposits back to the visit's next bill.
        DepositStatus.APPLIED: frozenset({DepositStatus.HELD}),
        DepositStatus.REFUNDED: frozenset(),
        DepositStatus.FORFEITED: frozenset(),
    },
    stamps={
        DepositStatus.APPLIED: "applied_at",
        DepositStatus.REFUNDED: "refunded_at",
        DepositStatus.FORFEITED: "forfeited_at",
    },
    subject_field="receipt_number",
    refusal=gettext_noop("Deposit %(subject)s is %(current)s; it cannot become %(target)s."),
)
