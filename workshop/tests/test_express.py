"""The express lane (快修): which cars, the target from check-in, the alert; time in status."""

import re
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from dealership.rules import rule_set
from reception.models import Visit
from reception.states import VisitStatus
from workshop import express, selectors, services

from .factories import make_signed_visit

pytestmark = pytest.mark.django_db

BOARD = reverse("workshop:board")
V = VisitStatus


def _job(work_type="maintenance", hours="0.50", catalogue=None):
    return SimpleNamespace(
        work_type=work_type,
        hours=Decimal(hours),
        catalogue_hours=None if catalogue is None else Decimal(catalogue),
    )


def test_express_is_all_maintenance_under_the_limit_by_the_catalogue():
    assert express.is_express([_job(hours="0.50"), _job(hours="0.40")], max_minutes=60)
    assert not express.is_express([_job(hours="0.50"), _job(hours="0.50")], max_minutes=60)
    assert not express.is_express([_job(), _job(work_type="repair", hours="0.2")], max_minutes=60)
    assert not express.is_express([], max_minutes=60)
    # The catalogue's time counts, not what was typed on the order line.
    assert not express.is_express([_job(hours="0.50", catalogue="1.50")], max_minutes=60)
    assert express.is_express([_job(hours="2.00", catalogue="0.75")], max_minutes=60)


def test_the_express_limit_is_a_rule():
    jobs = [_job(hours="1.00")]
    assert not express.is_express(jobs)
    rule_set("workshop.express_max_minutes", 90)
    assert express.is_express(jobs)


def test_the_express_target_from_check_in_is_a_rule():
    now = timezone.now()
    assert not express.express_overdue(now - timedelta(minutes=59), now)
    assert express.express_overdue(now - timedelta(minutes=61), now)
    rule_set("workshop.express_target_minutes", 90)
    assert not express.express_overdue(now - timedelta(minutes=61), now)


def test_duration_text_for_a_card():
    with translation.override("en"):
        assert express.duration_text(timedelta(minutes=7)) == "7 min"
        assert express.duration_text(timedelta(minutes=125)) == "2 h 05 min"
        assert express.duration_text(timedelta(hours=52)) == "2 d 4 h"
    assert express.duration_text(timedelta(minutes=125)) == "2 小时 05 分钟"


def _express_car(*, minutes_ago: int, status=V.ORDER_SIGNED):
    visit = make_signed_visit(jobs=1, hours="0.50", work_type="maintenance", status=status)
    Visit.objects.filter(pk=visit.pk).update(
        checked_in_at=timezone.now() - timedelta(minutes=minutes_ago),
        status_changed_at=timezone.now() - timedelta(minutes=minutes_ago // 2),
    )
    services.jobs_materialise(visit_ids=[visit.pk])
    return visit


def _lane_of(board, visit) -> str:
    return next(lane.key for lane in board.lanes for c in lane.cards if c.visit.pk == visit.pk)


def test_express_cars_get_their_own_lane_and_late_ones_are_counted():
    late = _express_car(minutes_ago=75, status=V.IN_PROGRESS)
    fresh = _express_car(minutes_ago=20)
    ready = _express_car(minutes_ago=90, status=V.READY_FOR_PICKUP)
    repair = make_signed_visit(jobs=1, hours="0.50", work_type="repair")
    with translation.override("en"):
        board = selectors.board()
    assert _lane_of(board, late) == "express"
    assert _lane_of(board, fresh) == "express"
    assert _lane_of(board, ready) == "ready"  # done: no longer counted against the target
    assert _lane_of(board, repair) == "waiting"
    assert board.express_overdue == 1
    card = next(c for c in board.lanes[0].cards if c.visit.pk == late.pk)
    assert card.express_overdue and card.since_check_in_text == "1 h 15 min"


def test_a_longer_maintenance_order_stays_in_the_status_lanes():
    visit = make_signed_visit(jobs=2, hours="0.75", work_type="maintenance")
    assert _lane_of(selectors.board(), visit) == "waiting"


def test_the_board_shows_the_express_alert_and_time_in_status(client, make_staff):
    client.force_login(make_staff("workshop_controller"))
    late = _express_car(minutes_ago=80, status=V.DISPATCHED)
    other = make_signed_visit(jobs=1, hours="2.00")
    Visit.objects.filter(pk=other.pk).update(
        status_changed_at=timezone.now() - timedelta(minutes=130)
    )
    page = client.get(BOARD).content.decode()
    assert "快修" in page
    assert "1 辆快修车超过目标时间" in page
    assert re.search(rf'class="wcard risk-\w+ express express-late" id="visit-{late.pk}"', page)
    other_card = page.split(f'id="visit-{other.pk}"')[1].split("</article>")[0]
    assert "当前状态已" in other_card and "2 小时 10 分钟" in other_card


def test_the_board_speaks_english_on_the_switch(client, make_staff):
    client.force_login(make_staff("workshop_controller"))
    client.cookies["django_language"] = "en"
    _express_car(minutes_ago=70)
    page = client.get(BOARD).content.decode()
    assert "1 express car is over its target time" in page
    assert "in this status for <strong>35 min</strong>" in page
    assert "since check-in <strong>1 h 10 min</strong>" in page
