"""Two advisors at once on PostgreSQL: one edit wins, the other is refused, nothing is lost."""

import threading

import pytest
from django.db import connection, transaction

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


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _wait_until_blocked(pid: int) -> None:
    """Return once backend `pid` waits for a lock another transaction holds."""
    with connection.cursor() as cursor:
        for _ in range(10_000):
            cursor.execute("SELECT 1 FROM pg_locks WHERE pid = %s AND NOT granted", [pid])
            if cursor.fetchone():
                return
            threading.Event().wait(0.01)
    raise AssertionError("the second advisor never waited for the first one's tag")


def test_one_key_tag_taken_by_two_advisors_at_once(require_postgres, make_staff):
    """Both advisors pass the tag check before either commits (the first one's transaction
    is held open until the second one waits on the database's unique index): the second
    gets the domain's message, not the constraint's name."""
    advisor = make_staff("advisor")
    one, two = VisitFactory(), VisitFactory()
    first_wrote, second_blocked = threading.Event(), threading.Event()
    second_pid: list[int] = []
    results: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                results["first"] = visit_walkaround_update(visit=one, actor=advisor, key_tag="K1")
                first_wrote.set()
                assert second_blocked.wait(30)
        finally:
            first_wrote.set()
            connection.close()

    def second():
        try:
            assert first_wrote.wait(30)
            second_pid.append(_backend_pid())
            results["second"] = visit_walkaround_update(visit=two, actor=advisor, key_tag="K1")
        except DomainError as error:
            results["second"] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    assert first_wrote.wait(30)
    while not second_pid:
        threading.Event().wait(0.01)
    _wait_until_blocked(second_pid[0])
    second_blocked.set()
    for thread in threads:
        thread.join(timeout=30)
    refused = results["second"]
    assert isinstance(refused, DomainError), refused
    assert list(refused.message_dict) == ["key_tag"]
    assert "K1" in refused.messages[0] and "reception_visit" not in refused.messages[0]
    assert Visit.objects.get(key_tag="K1") == one


def test_a_tag_committed_between_the_check_and_the_save_gets_the_domains_message(
    require_postgres, make_staff
):
    """The other path of the same race: the first advisor commits after the second one's
    tag check but before its full_clean, whose constraint check then sees the tag."""
    from dealership.constraints import domain_constraints

    VisitFactory(key_tag="K2")
    two = VisitFactory()
    two.key_tag = "K2"
    with pytest.raises(DomainError) as error, domain_constraints(two):
        two.full_clean(exclude=["walkaround_signature", "comeback_of"])
    assert list(error.value.message_dict) == ["key_tag"]
    assert "K2" in error.value.messages[0] and "reception_visit" not in error.value.messages[0]
