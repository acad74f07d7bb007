"""Issue 20 items 1-2: the roster and the cars carried over take hours from capacity,
the booking page and the board; the controller edits the roster week by week."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from appointments.capacity import capacity_for_days, openings_with_look
from appointments.models import Holiday, OpeningHours
from appointments.tests.factories import days_ahead, make_workshop
from dealership.errors import DomainError
from dealership.models import Technician
from reception.states import VisitStatus
from workshop import roster
from workshop.models import Job, RosterEntry, RosterKind
from workshop.selectors import board

from .factories import make_signed_visit

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    """The service texts are asserted in English; the pages ask for Chinese themselves."""
    with translation.override("en"):
        yield


def _repair_technicians():
    return list(Technician.objects.filter(work_type="repair").order_by("pk"))


# ---------------------------------------------------------------- roster -> capacity


def test_a_technician_on_leave_gives_no_hours_and_a_part_day_its_remaining_hours(controller):
    make_workshop()  # two repair technicians, 8 h each
    day = days_ahead(3)
    first, second = _repair_technicians()
    assert capacity_for_days(day)[day].loads["repair"].total == Decimal("16.00")

    roster.roster_set(technician=first, day=day, kind=RosterKind.LEAVE, actor=controller)
    roster.roster_set(
        technician=second, day=day, kind=RosterKind.PART_DAY, hours_off="3", actor=controller
    )
    capacity = capacity_for_days(day)[day]
    assert capacity.loads["repair"].total == Decimal("5.00")  # 0 + (8 - 3)
    assert capacity.loads["repair"].bookable == Decimal("4.00")  # less the 20 % walk-in reserve
    assert capacity.loads["maintenance"].total == Decimal("16.00")  # other teams untouched
    assert (capacity.away, capacity.part_days) == (1, 1)
    assert "1 technician on leave or training" in capacity.reduction_text
    assert "1 technician on a part day" in capacity.reduction_text
    # the day before and after are whole again
    other = capacity_for_days(day + timedelta(days=1))[day + timedelta(days=1)]
    assert other.loads["repair"].total == Decimal("16.00") and not other.reduced

    assert roster.roster_clear(technician=first, day=day, actor=controller) is True
    assert capacity_for_days(day)[day].loads["repair"].total == Decimal("13.00")


def test_training_takes_the_whole_day_unless_hours_are_given(controller):
    make_workshop()
    day = days_ahead(2)
    first, _second = _repair_technicians()
    roster.roster_set(technician=first, day=day, kind=RosterKind.TRAINING, actor=controller)
    assert capacity_for_days(day)[day].loads["repair"].total == Decimal("8.00")
    roster.roster_set(
        technician=first, day=day, kind=RosterKind.TRAINING, hours_off="2", actor=controller
    )
    assert RosterEntry.objects.filter(technician=first, day=day).count() == 1  # replaced
    assert capacity_for_days(day)[day].loads["repair"].total == Decimal("14.00")


def test_a_short_opening_day_caps_the_hours_before_the_part_day_is_taken_off(controller):
    make_workshop()
    day = days_ahead(4)
    OpeningHours.objects.update_or_create(
        weekday=day.weekday(),
        defaults={"opens": "08:30", "closes": "12:30", "closed": False},
    )
    first, _second = _repair_technicians()
    roster.roster_set(
        technician=first, day=day, kind=RosterKind.PART_DAY, hours_off="1.5", actor=controller
    )
    # min(8 h, 4 h open) - 1.5 h off = 2.5 h, plus 4 h of the other technician
    assert capacity_for_days(day)[day].loads["repair"].total == Decimal("6.50")


@pytest.mark.parametrize(
    ("kind", "hours_off", "field"),
    [
        (RosterKind.PART_DAY, None, "hours_off"),  # a part day says how many hours
        (RosterKind.PART_DAY, "8", "hours_off"),  # nothing left: that is a whole day
        (RosterKind.LEAVE, "0", "hours_off"),
        (RosterKind.LEAVE, "25", "hours_off"),
        (RosterKind.LEAVE, "abc", "hours_off"),
        ("holiday", None, "kind"),
    ],
)
def test_bad_roster_input_is_refused_and_changes_nothing(controller, kind, hours_off, field):
    make_workshop()
    technician = _repair_technicians()[0]
    day = days_ahead(1)
    roster.roster_set(technician=technician, day=day, kind=RosterKind.LEAVE, actor=controller)
    with pytest.raises(DomainError) as error:
        roster.roster_set(
            technician=technician, day=day, kind=kind, hours_off=hours_off, actor=controller
        )
    assert error.value.field == field
    entry = RosterEntry.objects.get(technician=technician, day=day)
    assert entry.kind == RosterKind.LEAVE and entry.hours_off is None


def test_the_roster_refuses_days_far_away_and_long_notes(controller):
    make_workshop()
    technician = _repair_technicians()[0]
    with pytest.raises(DomainError) as error:
        roster.roster_set(
            technician=technician,
            day=days_ahead(roster.ROSTER_DAYS_AHEAD + 1),
            kind=RosterKind.LEAVE,
            actor=controller,
        )
    assert error.value.field == "day"
    with pytest.raises(DomainError) as error:
        roster.roster_set(
            technician=technician,
            day=days_ahead(1),
            kind=RosterKind.LEAVE,
            note="假" * 201,
            actor=controller,
        )
    assert error.value.field == "note"
    assert not RosterEntry.objects.exists()


# ---------------------------------------------------------------- carry-over


def test_a_car_still_in_at_the_last_close_takes_the_next_open_days_hours():
    make_workshop()
    now = timezone.now()
    last_close, next_day = roster._last_close_and_next_day(now)
    held = make_signed_visit(
        jobs=2,
        hours="1.50",
        status=VisitStatus.IN_PROGRESS,
        checked_in_at=last_close - timedelta(hours=3),
    )
    # One job partly done: 1.5 h standard, 1 h clocked -> 0.5 h left; the other from its line.
    Job.objects.create(
        visit=held,
        name_zh="刹车",
        hours=Decimal("1.50"),
        actual_hours=Decimal("1.00"),
        status="paused",
        work_type="repair",
        position=1,
    )
    Job.objects.create(
        visit=held,
        name_zh="换油",
        hours=Decimal("1.50"),
        status="waiting",
        work_type="repair",
        position=2,
    )
    # checked in after the close: not carried over
    make_signed_visit(jobs=1, hours="4.00", status=VisitStatus.ORDER_SIGNED, checked_in_at=now)
    # ready for pick-up: out of the workshop's hands
    make_signed_visit(
        jobs=1,
        hours="4.00",
        status=VisitStatus.READY_FOR_PICKUP,
        checked_in_at=last_close - timedelta(days=1),
    )

    capacity = capacity_for_days(next_day, next_day + timedelta(days=1))
    carried = capacity[next_day]
    assert carried.carry_over_cars == 1
    assert carried.loads["repair"].carried == Decimal("2.00")
    # 12.8 h bookable less the 2 h carried over
    assert carried.loads["repair"].free_bookable == Decimal("10.80")
    assert "1 carry-over car" in carried.reduction_text
    assert capacity[next_day + timedelta(days=1)].carry_over_cars == 0  # the next day only


def test_a_car_without_jobs_yet_carries_over_its_orders_labour_hours():
    make_workshop()
    last_close, next_day = roster._last_close_and_next_day(timezone.now())
    make_signed_visit(
        jobs=2,
        hours="2.25",
        status=VisitStatus.ORDER_SIGNED,
        checked_in_at=last_close - timedelta(minutes=5),
    )
    load = capacity_for_days(next_day)[next_day].loads["repair"]
    assert load.carried == Decimal("4.50")
    assert load.free_bookable == Decimal("8.30")


def test_two_on_leave_and_a_carry_over_car_are_the_reason_the_day_offers_fewer_hours(controller):
    make_workshop()
    last_close, next_day = roster._last_close_and_next_day(timezone.now())
    for technician in Technician.objects.filter(work_type="maintenance"):
        roster.roster_set(
            technician=technician, day=next_day, kind=RosterKind.LEAVE, actor=controller
        )
    make_signed_visit(
        jobs=1,
        hours="3.00",
        status=VisitStatus.ON_HOLD,
        checked_in_at=last_close - timedelta(hours=1),
    )
    capacity = capacity_for_days(next_day)[next_day]
    # repair 12.8 - 3 carried, body 6.4, maintenance 0
    assert capacity.free_hours == Decimal("16.20")
    assert capacity.reduction_text == (
        "2 technicians on leave or training, 1 carry-over car: 16.2 h free"
    )


def test_roster_and_carry_over_cost_capacity_a_fixed_number_of_queries(
    controller, django_assert_max_num_queries
):
    make_workshop()
    last_close, next_day = roster._last_close_and_next_day(timezone.now())
    for technician in Technician.objects.all():
        roster.roster_set(
            technician=technician, day=next_day, kind=RosterKind.TRAINING, actor=controller
        )
    for _car in range(5):
        visit = make_signed_visit(
            jobs=1, status=VisitStatus.IN_PROGRESS, checked_in_at=last_close - timedelta(hours=1)
        )
        Job.objects.create(visit=visit, name_zh="保养", hours=Decimal("1"), position=1)
        make_signed_visit(
            jobs=2, status=VisitStatus.ORDER_SIGNED, checked_in_at=last_close - timedelta(hours=1)
        )
    # opening hours and holidays (2, shared with the carry-over), the technicians, the roster,
    # the cars, their jobs, their lines, the appointments and their lines
    with django_assert_max_num_queries(9):
        capacity = capacity_for_days(next_day, next_day + timedelta(days=6))
    assert capacity[next_day].carry_over_cars == 10
    assert capacity[next_day].away == Technician.objects.count()


def test_the_days_and_their_carry_over_read_the_opening_hours_and_holidays_once():
    make_workshop()
    last_close, next_day = roster._last_close_and_next_day(timezone.now())
    make_signed_visit(
        jobs=1,
        hours="3.00",
        status=VisitStatus.ON_HOLD,
        checked_in_at=last_close - timedelta(hours=1),
    )
    with CaptureQueriesContext(connection) as queries:
        capacity = capacity_for_days(next_day, next_day + timedelta(days=6))
    assert capacity[next_day].carry_over_cars == 1
    tables = " ".join(query["sql"] for query in queries.captured_queries)
    assert tables.count('FROM "appointments_openinghours"') == 1
    assert tables.count('FROM "appointments_holiday"') == 1


def test_the_carry_over_looks_only_three_weeks_either_way_in_opening_hours_read_for_more():
    """A week viewed far ahead passes its days too: a later open day is no next open day."""
    make_workshop()
    today = timezone.localdate()
    Holiday.objects.bulk_create(
        Holiday(day=today + timedelta(days=offset), name="Closed for works")
        for offset in range(-roster.OPENING_LOOK, roster.OPENING_LOOK + 1)
    )
    far = today + timedelta(days=roster.OPENING_LOOK + 7)
    opening = openings_with_look(far, far + timedelta(days=6), today)
    assert any(opens for opens, _closes, _name in opening.values())  # the far week opens
    assert roster._last_close_and_next_day(timezone.now(), opening) == (None, None)


# ---------------------------------------------------------------- the board


def test_the_board_uses_todays_roster_and_marks_carry_over_cards(controller):
    make_workshop()
    today = timezone.localdate()
    away, part = _repair_technicians()
    roster.roster_set(technician=away, day=today, kind=RosterKind.LEAVE, actor=controller)
    roster.roster_set(
        technician=part, day=today, kind=RosterKind.PART_DAY, hours_off="2", actor=controller
    )
    last_close, _next_day = roster._last_close_and_next_day(timezone.now())
    held = make_signed_visit(
        status=VisitStatus.ORDER_SIGNED, checked_in_at=last_close - timedelta(hours=2)
    )
    fresh = make_signed_visit(status=VisitStatus.ORDER_SIGNED, checked_in_at=timezone.now())

    data = board()
    loads = {load.technician.pk: load for load in data.loads}
    assert loads[away.pk].available == 0
    assert loads[part.pk].available == Decimal("6.00")
    assert data.away == 1 and data.carry_over == 1
    cards = {card.visit.pk: card for lane in data.lanes for card in lane.cards}
    assert cards[held.pk].visit.carry_over is True
    assert cards[fresh.pk].visit.carry_over is False


def test_the_board_page_shows_the_roster_line_and_the_carry_over_tag(client, controller):
    make_workshop()
    today = timezone.localdate()
    roster.roster_set(
        technician=_repair_technicians()[0], day=today, kind=RosterKind.LEAVE, actor=controller
    )
    last_close, _next_day = roster._last_close_and_next_day(timezone.now())
    held = make_signed_visit(
        status=VisitStatus.ORDER_SIGNED, checked_in_at=last_close - timedelta(hours=2)
    )
    client.force_login(controller)
    html = client.get(reverse("workshop:board"), HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "今天 1 名技师不在岗" in html and "1 辆滞留车" in html
    card = html.split(f'id="visit-{held.pk}"', 1)[1].split("</header>", 1)[0]
    assert "滞留车" in card


# ---------------------------------------------------------------- the roster page


def test_the_controller_sets_and_clears_a_day_on_the_roster_week(client, controller):
    make_workshop()
    technician = _repair_technicians()[0]
    day = days_ahead(8)
    client.force_login(controller)
    page = client.get(reverse("workshop:roster"), {"week": day.isoformat()})
    assert page.status_code == 200
    html = page.content.decode()
    assert f'id="cell-{technician.pk}-{day.isoformat()}"' in html
    assert html.count("<tr>") == 1 + Technician.objects.filter(active=True).count()

    response = client.post(
        reverse("workshop:roster"),
        {
            "technician": technician.pk,
            "day": day.isoformat(),
            "kind": "part_day",
            "hours_off": "4",
            "note": "家长会",
            "action": "set",
        },
    )
    assert response.status_code == 302
    assert response["Location"].endswith(f"?week={roster.week_start(day).isoformat()}")
    entry = RosterEntry.objects.get(technician=technician, day=day)
    assert (entry.kind, entry.hours_off, entry.note) == ("part_day", Decimal("4.00"), "家长会")
    assert entry.history.first().history_user == controller
    html = client.get(response["Location"]).content.decode()
    cell = html.split(f'id="cell-{technician.pk}-{day.isoformat()}"', 1)[1].split("</td>", 1)[0]
    assert "半天班" in cell and "4 h" in cell

    client.post(
        reverse("workshop:roster"),
        {"technician": technician.pk, "day": day.isoformat(), "action": "clear"},
    )
    assert not RosterEntry.objects.exists()


def test_a_bad_cell_is_answered_next_to_its_field_and_saves_nothing(client, controller):
    make_workshop()
    technician = _repair_technicians()[0]
    day = days_ahead(2)
    client.force_login(controller)
    response = client.post(
        reverse("workshop:roster"),
        {
            "technician": technician.pk,
            "day": day.isoformat(),
            "kind": "part_day",
            "hours_off": "",
            "action": "set",
        },
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    cell = response.content.decode().split(f'id="cell-{technician.pk}-{day.isoformat()}"', 1)[1]
    cell = cell.split("</td>", 1)[0]
    assert "<details open>" in cell and "半天班须填写离岗工时" in cell
    assert not RosterEntry.objects.exists()
    for junk in ({"technician": "x", "day": "2026-13-45"}, {"week": "\x00" * 3}):
        answer = client.post(reverse("workshop:roster"), junk, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert answer.status_code == 400
        assert 'id="roster-error"' in answer.content.decode()
    assert client.get(reverse("workshop:roster"), {"week": "nonsense"}).status_code == 200


def test_the_roster_page_is_the_controllers_and_the_managers(client, make_staff):
    for role, expected in (
        ("workshop_controller", 200),
        ("service_manager", 200),
        ("advisor", 403),
        ("technician", 403),
    ):
        client.force_login(make_staff(role))
        assert client.get(reverse("workshop:roster")).status_code == expected, role


def test_the_appointments_board_gives_the_days_reason(client, controller, make_staff):
    make_workshop()
    day = days_ahead(2)
    for technician in _repair_technicians():
        roster.roster_set(technician=technician, day=day, kind=RosterKind.LEAVE, actor=controller)
    client.force_login(make_staff("advisor"))
    html = client.get(
        reverse("appointments:board"),
        {"day": day.isoformat(), "view": "day"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    ).content.decode()
    reason = html.split('id="capacity-reason">', 1)[1].split("</p>", 1)[0]
    assert reason == "2 名技师休假或培训：剩余 19.2 工时可约"  # maintenance 12.8 + body 6.4
