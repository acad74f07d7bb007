"""Something to say on a follow-up call (issue 20 item 9): what the car needs next.

The next maintenance by the same estimate as the invitations, work the customer declined
that is still not done, and the open recalls and service campaigns the car falls under.
A bounded number of queries, whatever the car's history.
"""

from dataclasses import dataclass, field
from datetime import date

from django.utils import timezone

from appointments.selectors import next_maintenance_for, open_campaigns_for
from dealership.models import Vehicle
from reception.models import DeclinedWork

DECLINED_SHOWN = 5


@dataclass
class TalkingPoints:
    next_service_on: date | None = None
    next_service_km: int | None = None
    next_service_plan: object = None
    next_service_overdue: bool = False
    declined: list = field(default_factory=list)
    campaigns: list = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.next_service_on or self.declined or self.campaigns)


def talking_points_for(vehicle: Vehicle | None, *, today: date | None = None) -> TalkingPoints:
    """What the caller can bring up about `vehicle` (nothing without a vehicle)."""
    today = today or timezone.localdate()
    points = TalkingPoints()
    if vehicle is None:
        return points
    due = next_maintenance_for(vehicle, today=today)
    if due is not None:
        points.next_service_on = due.due_on
        points.next_service_km = due.milestone_km
        points.next_service_plan = due.plan
        points.next_service_overdue = due.due_on < today
    points.declined = list(
        DeclinedWork.objects.filter(vehicle=vehicle, done_at__isnull=True).order_by("-declined_at")[
            :DECLINED_SHOWN
        ]
    )
    points.campaigns = open_campaigns_for(vehicle)
    return points
