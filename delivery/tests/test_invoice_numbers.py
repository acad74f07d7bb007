"""Invoice numbers: one sequence a year, no gap and no duplicate, even with cashiers at once.

The concurrent tests need PostgreSQL (row locks); run them with DATABASE_URL set.
"""

import threading
import time

import pytest
from django.db import connection
from django.utils import translation

from dealership.errors import DomainError
from delivery import services
from delivery.models import InvoiceCounter, Settlement
from delivery.tests.factories import checked_visit, staff
from reception.models import Visit

CASH = [{"method": "cash", "amount": "1000.00"}]


def _serial(number: str) -> int:
    return int(number.rsplit("-", 1)[1])


@pytest.mark.django_db
def test_numbers_follow_each_other_within_the_year():
    numbers = []
    for _ in range(3):
        visit, _order = checked_visit()
        numbers.append(
            services.settlement_create(visit=visit, actor=staff("cashier"), payments=CASH)
        )
    year = numbers[0].settled_at.astimezone().strftime("%Y")
    assert [s.invoice_number for s in numbers] == [f"JS{year}-{n:06d}" for n in (1, 2, 3)]


@pytest.mark.django_db
def test_a_settlement_that_fails_after_taking_its_number_gives_it_back(monkeypatch):
    first, _ = checked_visit()
    second, _ = checked_visit()

    def broken(**kwargs):
        raise RuntimeError("power cut")

    monkeypatch.setattr(services, "visit_transition", broken)
    with pytest.raises(RuntimeError):
        services.settlement_create(visit=first, actor=staff("cashier"), payments=CASH)
    monkeypatch.undo()

    assert not Settlement.objects.exists()
    assert InvoiceCounter.objects.filter(last_number__gt=0).count() == 0
    settlement = services.settlement_create(visit=second, actor=staff("cashier"), payments=CASH)
    assert _serial(settlement.invoice_number) == 1


def _settle_at_once(visits, cashiers):
    """Every cashier settles their visit at the same moment, each on its own connection."""
    barrier = threading.Barrier(len(visits))
    results: dict[int, tuple[str, float]] = {}
    errors: list[BaseException] = []

    def settle(index):
        try:
            barrier.wait(timeout=30)
            settlement = services.settlement_create(
                visit=Visit.objects.get(pk=visits[index].pk), actor=cashiers[index], payments=CASH
            )
            results[index] = (settlement.invoice_number, time.monotonic())
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=settle, args=(i,)) for i in range(len(visits))]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    return results, started


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("cashiers", [2, 6])
def test_cashiers_settling_at_once_get_no_gap_and_no_duplicate(
    require_postgres, monkeypatch, cashiers
):
    visits = [checked_visit()[0] for _ in range(cashiers)]
    people = [staff("cashier") for _ in range(cashiers)]
    hold = 0.3
    real = services._invoice_number

    def slow(now):
        # Keep the counter's row lock a moment, so the others really have to wait for it.
        number = real(now)
        time.sleep(hold)
        return number

    monkeypatch.setattr(services, "_invoice_number", slow)

    results, started = _settle_at_once(visits, people)

    numbers = sorted(_serial(number) for number, _at in results.values())
    assert numbers == list(range(1, cashiers + 1))
    assert Settlement.objects.count() == cashiers
    assert InvoiceCounter.objects.get().last_number == cashiers
    # They took turns on the counter: the last one finished after everyone's hold.
    assert max(at for _n, at in results.values()) - started >= hold * cashiers
    print(
        f"\n{cashiers} cashiers at once: numbers {numbers}, "
        f"{max(at for _n, at in results.values()) - started:.2f} s in all"
    )


@pytest.mark.django_db(transaction=True)
def test_two_cashiers_settling_the_same_car_one_wins_the_other_is_told(require_postgres):
    visit, _order = checked_visit()
    people = [staff("cashier"), staff("cashier")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def settle(person):
        try:
            barrier.wait(timeout=30)
            with translation.override("en"):
                settlement = services.settlement_create(
                    visit=Visit.objects.get(pk=visit.pk), actor=person, payments=CASH
                )
            outcomes.append(settlement.invoice_number)
        except DomainError as error:
            outcomes.append(error.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=settle, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    numbers = [o for o in outcomes if o.startswith("JS")]
    refusals = [o for o in outcomes if not o.startswith("JS")]
    assert len(numbers) == 1 and len(refusals) == 1
    assert "settled already" in refusals[0] and numbers[0] in refusals[0]
    assert Settlement.objects.filter(visit=visit).count() == 1
    assert InvoiceCounter.objects.get().last_number == 1
