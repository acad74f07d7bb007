"""The workshop demo puts one car in each lane, through the real services, once."""

import pytest

from demo.steps.workshop import DEMO_NOTE, seed_workshop_demo
from demo.store import seed_customers, seed_store
from reception.models import Visit
from reception.states import VisitStatus
from workshop.models import Addition

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("role_groups")]


def test_the_demo_fills_every_lane_once():
    seed_store()
    seed_customers(10)
    assert seed_workshop_demo() == 6
    assert seed_workshop_demo() == 0
    statuses = set(Visit.objects.filter(advisor_notes=DEMO_NOTE).values_list("status", flat=True))
    assert statuses == {
        VisitStatus.ORDER_SIGNED,
        VisitStatus.DISPATCHED,
        VisitStatus.IN_PROGRESS,
        VisitStatus.ON_HOLD,
        VisitStatus.WORK_DONE,
        VisitStatus.QC_PASSED,
    }
    (addition,) = Addition.objects.filter(status="proposed", safety_related=True)
    # The finding, the proposed work and its price belong together: brake pads, labour and part.
    assert addition.title == "更换前制动片" and addition.lines.count() == 2 and addition.price > 0
