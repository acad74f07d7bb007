"""Two advisors at once on PostgreSQL: one edit wins, the other is refused, nothing is lost."""

import threading

import pytest
from django.db import connection

from dealership.errors import DomainError
from dealership.tests.factories import PartFactory
from reception.models import Visit
from reception.services import visit_check_in, visit_walkaround_update
from reception.tests.factories import VisitFactory
from workorders.models import WorkOrder
from workorders.services import work_order_line_add, work_order_start

pytestmark = pytest.mark.django_db(transaction=True)


def _race(*calls):
    """Run the calls at the same moment in threads; return each one's result or DomainError."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        barrier.wait()
        try:
            results[index] = call()
        except DomainError as error:
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_two_advisors_adding_to_the_same_draft_version(require_postgres, make_staff):
    first, second = make_staff("advisor"), make_staff("advisor")
    order = work_order_start(visit=VisitFactory(), actor=first)
    part_a, part_b = PartFactory(), PartFactory()
    results = _race(
        lambda: work_order_line_add(
            order=WorkOrder.objects.get(pk=order.pk), actor=first, part=part_a, expected_version=1
        ),
        lambda: work_order_line_add(
            order=WorkOrder.objects.get(pk=order.pk), actor=second, part=part_b, expected_version=1
        ),
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert len(refused) == 1 and refused[0].code == "stale"
    stored = WorkOrder.objects.get(pk=order.pk)
    assert (stored.lines.count(), stored.version) == (1, 2)


def test_the_same_car_checked_in_twice_at_once_gives_one_visit(require_postgres, make_staff):
    first, second = make_staff("advisor"), make_staff("advisor")
    vehicle = VisitFactory(status="closed").vehicle
    results = _race(
        lambda: visit_check_in(vehicle=vehicle, actor=first),
        lambda: visit_check_in(vehicle=vehicle, actor=second),
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1
    assert Visit.objects.filter(vehicle=vehicle, status="checked_in").count() == 1


def test_one_key_tag_taken_by_two_advisors_at_once(require_postgres, make_staff):
    advisor = make_staff("advisor")
    one, two = VisitFactory(), VisitFactory()
    results = _race(
        lambda: visit_walkaround_update(visit=one, actor=advisor, key_tag="K1"),
        lambda: visit_walkaround_update(visit=two, actor=advisor, key_tag="K1"),
    )
    assert sum(isinstance(r, DomainError) for r in results) == 1
    assert Visit.objects.filter(key_tag="K1").count() == 1
