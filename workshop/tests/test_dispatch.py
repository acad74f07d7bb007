"""Dispatch by skill and load: the board's suggested technician, and the one-click take."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from dealership.models import LabourOperation
from reception.states import VisitStatus
from workshop import dispatch, selectors, services
from workshop.models import Job
from workshop.states import JobStatus

from .factories import make_signed_visit, make_technician

pytestmark = pytest.mark.django_db

BOARD = reverse("workshop:board")
D = Decimal


def _waiting(visit):
    services.jobs_materialise(visit_ids=[visit.pk])
    return list(Job.objects.filter(visit=visit).order_by("position"))


def _require(visit, level: str):
    LabourOperation.objects.filter(workorderline__order__visit=visit).update(required_skill=level)


def _suggested(board, visit) -> list:
    card = next(c for lane in board.lanes for c in lane.cards if c.visit.pk == visit.pk)
    return [job.suggested for job in card.jobs]


def test_only_a_technician_with_the_required_skill_is_suggested():
    make_technician(skill_level="apprentice", hours_per_day=D("8"))
    master = make_technician(skill_level="master", hours_per_day=D("4"))
    visit = make_signed_visit(jobs=1, hours="2.00")
    _waiting(visit)
    _require(visit, "skilled")
    # The apprentice has more hours left, but only the master has the skill.
    assert _suggested(selectors.board(), visit) == [master]


def test_the_technician_with_most_hours_left_today_gets_the_job(make_staff):
    busy = make_technician(hours_per_day=D("8"))
    free = make_technician(hours_per_day=D("8"))
    earlier = make_signed_visit(jobs=1, hours="5.00")
    services.jobs_dispatch(
        visit=earlier,
        job_ids=[job.pk for job in _waiting(earlier)],
        technician=busy,
        bay=None,
        actor=make_staff("workshop_controller"),
    )
    visit = make_signed_visit(jobs=1, hours="1.00")
    _waiting(visit)
    assert _suggested(selectors.board(), visit) == [free]


def test_suggestions_spread_the_day_over_the_technicians():
    first, second = make_technician(), make_technician()
    visit = make_signed_visit(jobs=2, hours="3.00")
    _waiting(visit)
    # Each suggestion books its hours: the second job goes to the other technician.
    assert set(_suggested(selectors.board(), visit)) == {first, second}


def test_maintenance_goes_to_the_express_team_first():
    repair = make_technician(work_type="repair", hours_per_day=D("8"))
    express = make_technician(team="快修组", work_type="maintenance", hours_per_day=D("2"))
    maintenance = make_signed_visit(jobs=1, hours="0.50", work_type="maintenance")
    fix = make_signed_visit(jobs=1, hours="0.50", work_type="repair")
    _waiting(maintenance)
    _waiting(fix)
    board = selectors.board()
    assert _suggested(board, maintenance) == [express]
    assert _suggested(board, fix) == [repair]


def test_repair_keeps_the_express_team_free_while_others_have_the_hours():
    express = make_technician(team="快修组", work_type="maintenance", hours_per_day=D("8"))
    repair = make_technician(work_type="repair", hours_per_day=D("3"))
    visit = make_signed_visit(jobs=2, hours="2.00", work_type="repair")
    _waiting(visit)
    # The first job fits the repair technician; the second no longer does: express helps.
    assert _suggested(selectors.board(), visit) == [repair, express]


def test_maintenance_falls_back_to_anyone_when_the_express_team_has_no_hours_left():
    repair = make_technician(work_type="repair", hours_per_day=D("8"))
    make_technician(team="快修组", work_type="maintenance", hours_per_day=D("0.25"))
    visit = make_signed_visit(jobs=1, hours="0.50", work_type="maintenance")
    _waiting(visit)
    assert _suggested(selectors.board(), visit) == [repair]


def test_nobody_is_suggested_when_no_one_has_the_skill_and_the_board_says_so(client, make_staff):
    make_technician(skill_level="semi_skilled")
    visit = make_signed_visit(jobs=1)
    _waiting(visit)
    _require(visit, "master")
    assert _suggested(selectors.board(), visit) == [None]
    client.force_login(make_staff("workshop_controller"))
    assert "没有技师具备所需技能" in client.get(BOARD).content.decode()


def test_the_hours_available_provider_can_be_swapped(settings):
    """A roster answers instead of the shift: a technician on leave has no hours today."""
    on_leave = make_technician(hours_per_day=D("8"))
    working = make_technician(hours_per_day=D("8"))
    settings.WORKSHOP_HOURS_AVAILABLE = "workshop.tests.test_dispatch.first_on_leave"
    visit = make_signed_visit(jobs=1)
    _waiting(visit)
    board = selectors.board()
    assert {load.technician: load.available for load in board.loads} == {
        on_leave: D("0"),
        working: D("8"),
    }
    assert _suggested(board, visit) == [working]


def first_on_leave(technicians, day):
    """A stand-in roster for the test above: the first technician is on leave."""
    first = min(t.pk for t in technicians)
    return {t.pk: (D("0") if t.pk == first else t.hours_per_day) for t in technicians}


def test_suggest_picks_by_skill_then_hours_then_express():
    apprentice = make_technician(skill_level="apprentice")
    skilled = make_technician(skill_level="skilled", work_type="maintenance")
    candidates = [
        dispatch.Candidate(technician=apprentice, remaining=D("6")),
        dispatch.Candidate(technician=skilled, remaining=D("3")),
    ]
    pick = dispatch.suggest(
        required_skill="apprentice", work_type="repair", hours=D("1"), candidates=candidates
    )
    assert pick.technician == apprentice
    pick = dispatch.suggest(
        required_skill="apprentice", work_type="maintenance", hours=D("1"), candidates=candidates
    )
    assert pick.technician == skilled
    pick = dispatch.suggest(
        required_skill="master", work_type="repair", hours=D("1"), candidates=candidates
    )
    assert pick is None


def test_one_click_takes_the_suggestion_and_the_controller_can_still_pick_anyone(
    client, make_staff
):
    controller = make_staff("workshop_controller")
    client.force_login(controller)
    suggested = make_technician(hours_per_day=D("8"))
    other = make_technician(hours_per_day=D("2"))
    visit = make_signed_visit(jobs=2)
    first, second = _waiting(visit)
    page = client.get(BOARD).content.decode()
    # The one-click form posts the suggested technician for the first job.
    form = re.search(
        rf'name="jobs" value="{first.pk}">.*?name="technician" value="(\d+)"', page, re.S
    )
    assert int(form.group(1)) == suggested.pk
    response = client.post(
        reverse("workshop:dispatch", args=[visit.pk]),
        {"jobs": [first.pk], f"expect-{first.pk}": "", "technician": suggested.pk},
    )
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.technician == suggested and first.status == JobStatus.DISPATCHED
    # The dispatch form still lists every technician: the controller picks another one.
    client.post(
        reverse("workshop:dispatch", args=[visit.pk]),
        {"jobs": [second.pk], f"expect-{second.pk}": "", "technician": other.pk},
    )
    second.refresh_from_db()
    assert second.technician == other
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DISPATCHED
