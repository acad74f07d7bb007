"""The ready notice: a due task written when the car is marked ready (see `visit_mark_ready`)."""

from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from dealership.due import register_kind
from dealership.models import DueTask
from dealership.notifications import notify
from reception.models import Visit

READY_NOTICE = "delivery.ready_notice"

# Statuses in which the customer still needs to hear that the car is ready.
_WAITING = ("ready_for_pickup", "settled")


def register_kinds() -> None:
    """Called from DeliveryConfig.ready()."""
    register_kind(
        READY_NOTICE,
        label=_("Car ready: notice to the customer"),
        handler="delivery.duties.send_ready_notice",
        late_cutoff=timedelta(hours=12),
    )


def send_ready_notice(task: DueTask) -> dict:
    """Tell the customer when the car can be collected, unless it has left already."""
    visit = Visit.objects.select_related("customer", "vehicle").get(pk=task.subject_id)
    if visit.status not in _WAITING:
        return {"skipped": visit.status}
    pickup_at = datetime.fromisoformat(task.payload["pickup_at"])
    message = notify(
        customer=visit.customer,
        template="delivery_ready",
        context={"visit": visit, "pickup_at": pickup_at},
        subject=visit,
        vehicle=visit.vehicle,
    )
    return {"message": message.pk}
