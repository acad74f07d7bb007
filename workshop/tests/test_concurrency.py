"""Two people at the same moment on PostgreSQL: row locks let exactly one win; the other is told.

Each side runs in its own thread with its own database connection, released together.
"""

import threading

import pytest
from django.db import connection

from dealership.errors import DomainError
from workshop import services
from workshop.models import ClockEntry, Job
from workshop.states import JobStatus

from .factories import make_signed_visit, make_technician

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("require_postgres", "role_groups"),
]


def _race(*calls):
    """Run the calls at the same moment; return what each returned or raised."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except Exception as exc:  # noqa: BLE001 - the refusal is the result under test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_controllers_dispatching_the_same_job_at_once_one_wins(make_staff, bay):
    first_controller = make_staff("workshop_controller")
    second_controller = make_staff("workshop_controller")
    first_tech, second_tech = make_technician(), make_technician()
    visit = make_signed_visit(jobs=2)
    services.jobs_materialise()
    ids = list(Job.objects.filter(visit=visit).values_list("pk", flat=True))

    def dispatch(actor, tech):
        return lambda: services.jobs_dispatch(
            visit=visit, job_ids=ids, technician=tech, bay=bay, actor=actor
        )

    results = _race(
        dispatch(first_controller, first_tech), dispatch(second_controller, second_tech)
    )

    refusals = [r for r in results if isinstance(r, DomainError)]
    assert len(refusals) == 1, results
    assert "已由" in refusals[0].messages[0] or "already dispatched" in refusals[0].messages[0]
    winner = first_tech if refusals[0] is results[1] else second_tech
    assert set(Job.objects.filter(visit=visit).values_list("technician", flat=True)) == {winner.pk}


def test_one_technician_clocking_on_two_jobs_at_once_gets_one(controller, bay):
    tech = make_technician()
    visits = [make_signed_visit(jobs=1) for _ in range(2)]
    services.jobs_materialise()
    jobs = []
    for visit in visits:
        jobs += services.jobs_dispatch(
            visit=visit,
            job_ids=list(visit.jobs.values_list("pk", flat=True)),
            technician=tech,
            bay=bay,
            actor=controller,
        )

    results = _race(
        lambda: services.job_clock_on(job=jobs[0], actor=tech.user),
        lambda: services.job_clock_on(job=jobs[1], actor=tech.user),
    )

    assert sum(isinstance(r, DomainError) for r in results) == 1, results
    assert ClockEntry.objects.filter(technician=tech, ended_at__isnull=True).count() == 1
    assert (
        Job.objects.filter(pk__in=[j.pk for j in jobs], status=JobStatus.IN_PROGRESS).count() == 1
    )
