"""The board's queries are compiled once per process (dealership.compiled): what the board
shows still follows the day, its filters and the data written since the last view."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.tests.factories import make_workshop
from dealership.models import Technician
from reception.states import VisitStatus
from workshop import roster, services
from workshop.models import Job, RosterKind
from workshop.selectors import board

from .factories import make_signed_visit

pytestmark = pytest.mark.django_db


def _hours_off(data, technician):
    return next(load.hours_off for load in data.loads if load.technician == technician)


def test_the_board_reads_each_days_roster_from_sql_it_keeps(controller):
    make_workshop()
    technician = Technician.objects.filter(work_type="repair").order_by("pk").first()
    now = timezone.now()
    tomorrow = now + timedelta(days=1)
    roster.roster_set(
        technician=technician,
        day=timezone.localdate(tomorrow),
        kind=RosterKind.LEAVE,
        actor=controller,
    )

    assert _hours_off(board(now=now), technician) == 0
    assert _hours_off(board(now=tomorrow), technician) is None  # away the whole day
    assert _hours_off(board(now=now), technician) == 0


def test_a_car_signed_after_a_board_view_shows_its_jobs_on_the_next(client, controller):
    client.force_login(controller)
    first = make_signed_visit(status=VisitStatus.ORDER_SIGNED)
    assert f'id="visit-{first.pk}"' in client.get(reverse("workshop:board")).content.decode()

    second = make_signed_visit(status=VisitStatus.ORDER_SIGNED)
    html = client.get(reverse("workshop:board")).content.decode()

    assert f'id="visit-{second.pk}"' in html
    assert Job.objects.filter(visit=second).count() == 2


def test_each_team_filter_shows_its_own_cars(client, controller, tech, bay):
    waiting = make_signed_visit(status=VisitStatus.ORDER_SIGNED)
    theirs = make_signed_visit(status=VisitStatus.DISPATCHED)
    services.jobs_materialise()
    Job.objects.filter(visit=theirs).update(technician=tech, bay=bay)
    client.force_login(controller)

    def cards(team):
        html = client.get(reverse("workshop:board"), {"team": team}).content.decode()
        return {visit.pk for visit in (waiting, theirs) if f'id="visit-{visit.pk}"' in html}

    # Waiting cars show under every team; a dispatched car under its technician's only.
    assert cards(tech.team) == {waiting.pk, theirs.pk}
    assert cards("another team") == {waiting.pk}
    assert cards(tech.team) == {waiting.pk, theirs.pk}
