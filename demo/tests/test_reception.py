import pytest

from demo.steps.reception import seed_visits
from demo.store import seed_customers, seed_store
from reception.models import Visit
from workorders.models import WorkOrder

pytestmark = pytest.mark.django_db


def test_demo_visits_are_made_once_at_three_stages():
    seed_store()
    seed_customers(6)
    assert seed_visits() == 3
    assert seed_visits() == 0
    statuses = sorted(Visit.objects.values_list("status", flat=True))
    assert statuses == ["checked_in", "checked_in", "order_signed"]
    assert WorkOrder.objects.filter(status="signed").count() == 1
