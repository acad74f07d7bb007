"""An implausible clock-off is flagged to the controller (issue 15, item 7)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dealership.models import TimelineEvent
from workshop import services
from workshop.models import ClockEntry, Job
from workshop.states import SELF_CHECK_ITEMS, ClockFlag

from .factories import make_signed_visit

pytestmark = pytest.mark.django_db

ALL_CHECKS = [key for key, _label in SELF_CHECK_ITEMS]


def _clocked(controller, tech, bay, *, minutes: float, hours: str = "1.50") -> Job:
    visit = make_signed_visit(jobs=1, hours=hours)
    services.jobs_materialise(visit_ids=[visit.pk])
    (job,) = services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    services.job_clock_on(job=job, actor=tech.user)
    # The technician clocked on `minutes` ago (the clock's own columns, not a sleep).
    started = timezone.now() - timedelta(minutes=minutes)
    ClockEntry.objects.filter(job=job).update(started_at=started)
    Job.objects.filter(pk=job.pk).update(clocked_on_at=started)
    services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)
    return Job.objects.get(pk=job.pk)


def test_a_clock_off_of_no_time_against_standard_hours_is_flagged_on_the_board(
    client, controller, tech, bay
):
    job = _clocked(controller, tech, bay, minutes=0)
    assert job.clock_flag == ClockFlag.UNDER_A_MINUTE
    assert TimelineEvent.objects.filter(kind="workshop.clock_flagged").count() == 1
    client.force_login(controller)
    board = client.get(reverse("workshop:board")).content.decode()
    assert "clock-flag" in board and str(ClockFlag.UNDER_A_MINUTE.label) in board
    visit_page = client.get(reverse("workshop:visit", args=[job.visit_id])).content.decode()
    assert "clock-flag" in visit_page


@pytest.mark.parametrize(
    ("minutes", "flag"),
    [(5, ClockFlag.TOO_SHORT), (85, ""), (6 * 60, ClockFlag.TOO_LONG)],
)
def test_clocked_time_far_from_the_standard_is_flagged(controller, tech, bay, minutes, flag):
    job = _clocked(controller, tech, bay, minutes=minutes)
    assert job.clock_flag == flag
    assert TimelineEvent.objects.filter(kind="workshop.clock_flagged").exists() == bool(flag)
