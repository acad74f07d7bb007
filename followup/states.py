"""A complaint's life: its statuses and the one table of allowed moves.

Open until the first answer to the customer, then being resolved until it is
closed; a closed complaint is reopened when the customer comes back about it.
The services in `followup.complaints` move it through `dealership.transitions.move`.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext_lazy

from dealership.transitions import StateTable


class ComplaintStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("complaint", "Open")
    IN_PROGRESS = "in_progress", _("Answered, being resolved")
    CLOSED = "closed", pgettext_lazy("complaint", "Closed")


S = ComplaintStatus

COMPLAINT_STATES = StateTable(
    name="complaint",
    model="followup.Complaint",
    statuses=ComplaintStatus,
    allowed={
        S.OPEN: frozenset({S.IN_PROGRESS, S.CLOSED}),
        S.IN_PROGRESS: frozenset({S.CLOSED}),
        S.CLOSED: frozenset({S.IN_PROGRESS}),
    },
    stamps={S.CLOSED: "closed_at"},
    refusal=gettext_noop("Complaint %(subject)s is “%(current)s”; it cannot become “%(target)s”."),
)
