"""Test data of step 8: a delivered visit (walked through reception's real transitions)."""

from django.utils import timezone

from dealership.tests.factories import CustomerFactory, UserFactory, VehicleFactory
from followup.services import followup_schedule_after_delivery
from reception.models import Visit
from reception.services import visit_transition
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory

S = VisitStatus
PATH_TO_DELIVERY = (
    S.ORDER_SIGNED,
    S.DISPATCHED,
    S.IN_PROGRESS,
    S.WORK_DONE,
    S.QC_PASSED,
    S.READY_FOR_PICKUP,
    S.SETTLED,
    S.DELIVERED,
)


def walk_to_delivered(visit: Visit, actor) -> Visit:
    """Move a checked-in visit through every step up to delivered, as the apps would."""
    for status in PATH_TO_DELIVERY:
        visit = visit_transition(visit=visit, to=status, actor=actor)
    return visit


def delivered_visit(*, customer=None, vehicle=None, advisor=None, actor=None, schedule=True):
    """A visit delivered just now; with `schedule`, its follow-up calls planned as delivery does."""
    if vehicle is None:
        vehicle = VehicleFactory(owner=customer or CustomerFactory())
    advisor = advisor or UserFactory(roles=["advisor"])
    visit = VisitFactory(vehicle=vehicle, customer=vehicle.owner, advisor=advisor)
    visit = walk_to_delivered(visit, actor or advisor)
    assert visit.delivered_at is not None and visit.delivered_at <= timezone.now()
    if schedule:
        followup_schedule_after_delivery(visit=visit, actor=actor or advisor)
    return visit
