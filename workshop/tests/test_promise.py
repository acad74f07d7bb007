"""Promise watch: the advisor's progress check at 80 %, alerts before a promise is missed,
the new time recorded with a reason and sent to the customer."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from dealership.errors import DomainError
from dealership.models import DueTask, Message
from dealership.rules import rule_set
from reception.models import Visit
from workshop import duties, selectors, services
from workshop.models import Job, PromiseWatch
from workshop.states import SELF_CHECK_ITEMS

from .factories import make_signed_visit

pytestmark = pytest.mark.django_db

SHANGHAI = timezone.get_fixed_timezone(8 * 60)


def _dispatch(controller, tech, bay, **kwargs):
    visit = make_signed_visit(**kwargs)
    services.jobs_materialise(visit_ids=[visit.pk])
    services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    visit.refresh_from_db()
    return visit


def _tasks(kind):
    return DueTask.objects.filter(kind=kind).order_by("slot")


def test_the_progress_check_is_due_at_80_percent_of_the_planned_time(controller, tech, bay):
    visit = _dispatch(controller, tech, bay, promised_in=timedelta(hours=5))
    watch = PromiseWatch.objects.get(visit=visit)
    (check,) = _tasks(duties.PROGRESS_CHECK)
    planned = visit.promised_at - watch.planned_from
    assert abs((check.due_at - (watch.planned_from + planned * 0.8)).total_seconds()) < 1
    assert check.for_person and check.assigned_to == visit.advisor


def test_the_percentage_is_a_store_setting(controller, tech, bay):
    rule_set("workshop.progress_check_percent", 50)
    visit = _dispatch(controller, tech, bay, promised_in=timedelta(hours=4))
    watch = PromiseWatch.objects.get(visit=visit)
    (check,) = _tasks(duties.PROGRESS_CHECK)
    assert abs((check.due_at - (watch.planned_from + timedelta(hours=2))).total_seconds()) < 1


def test_a_same_day_promise_is_checked_30_minutes_before():
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    promised = datetime(2026, 3, 2, 17, 0, tzinfo=SHANGHAI)
    times = duties.promise_check_times(planned_from=start, promised_at=promised)
    assert times == {duties.SAME_DAY: datetime(2026, 3, 2, 16, 30, tzinfo=SHANGHAI)}


def test_a_later_promise_is_also_checked_the_day_before():
    start = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
    promised = datetime(2026, 3, 4, 11, 0, tzinfo=SHANGHAI)
    times = duties.promise_check_times(planned_from=start, promised_at=promised)
    assert times[duties.DAY_BEFORE] == datetime(2026, 3, 3, 16, 0, tzinfo=SHANGHAI)
    assert times[duties.SAME_DAY] == datetime(2026, 3, 4, 10, 30, tzinfo=SHANGHAI)


def test_a_check_that_projects_a_miss_alerts_the_advisor(controller, tech, bay):
    # Three hours of work left, promised in two: the check must alert.
    visit = _dispatch(controller, tech, bay, jobs=3, promised_in=timedelta(hours=2))
    check = _tasks(duties.PROMISE_CHECK).get(slot=duties.SAME_DAY)
    result = duties.check_promise(check)
    assert result["alerted"]
    alert = DueTask.objects.get(kind=duties.PROMISE_ALERT)
    assert alert.for_person and alert.assigned_to == visit.advisor and alert.state == "pending"
    assert alert.customer == visit.customer
    assert alert.subject.get_absolute_url() == f"/workshop/visits/{visit.pk}/"


def test_a_check_on_time_does_not_alert(controller, tech, bay):
    _dispatch(controller, tech, bay, jobs=1, promised_in=timedelta(hours=5))
    check = _tasks(duties.PROMISE_CHECK).get(slot=duties.SAME_DAY)
    assert duties.check_promise(check)["on_time"]
    assert not DueTask.objects.filter(kind=duties.PROMISE_ALERT).exists()


def test_moving_the_promise_records_the_reason_messages_the_customer_and_moves_the_checks(
    controller, tech, bay
):
    visit = _dispatch(controller, tech, bay, jobs=3, promised_in=timedelta(hours=2))
    duties.check_promise(_tasks(duties.PROMISE_CHECK).get(slot=duties.SAME_DAY))
    new_time = timezone.now() + timedelta(hours=5)

    services.promise_move(
        visit=visit, actor=visit.advisor, promised_at=new_time, reason="配件晚到一小时"
    )

    visit.refresh_from_db()
    assert visit.promised_at == new_time
    assert visit.history.first().history_change_reason == "配件晚到一小时"
    alert = DueTask.objects.get(kind=duties.PROMISE_ALERT)
    assert (alert.state, alert.outcome, alert.completed_by) == ("done", "moved", visit.advisor)
    check = _tasks(duties.PROMISE_CHECK).get(slot=duties.SAME_DAY)
    assert check.due_at == new_time - timedelta(minutes=30) and check.state == "pending"
    notice = DueTask.objects.get(kind=duties.PROMISE_NOTICE)
    duties.send_promise_notice(notice)
    message = Message.objects.get(template="workshop_promise_moved")
    assert "配件晚到一小时" in message.body
    assert timezone.localtime(new_time).strftime("%H:%M") in message.body


def test_a_new_time_needs_a_reason_and_must_be_ahead(controller, tech, bay):
    visit = _dispatch(controller, tech, bay)
    before = Visit.objects.get(pk=visit.pk).promised_at
    with pytest.raises(DomainError):
        services.promise_move(
            visit=visit,
            actor=visit.advisor,
            promised_at=timezone.now() + timedelta(hours=1),
            reason="",
        )
    with pytest.raises(DomainError):
        services.promise_move(
            visit=visit,
            actor=visit.advisor,
            promised_at=timezone.now() - timedelta(hours=1),
            reason="x",
        )
    assert Visit.objects.get(pk=visit.pk).promised_at == before
    assert not DueTask.objects.filter(kind=duties.PROMISE_NOTICE).exists()


def test_the_checks_stop_once_the_car_passed_qc(controller, tech, bay):
    visit = _dispatch(controller, tech, bay)
    Visit.objects.filter(pk=visit.pk).update(status="qc_passed")
    check = _tasks(duties.PROMISE_CHECK).get(slot=duties.SAME_DAY)
    assert duties.check_promise(check) == {"skipped": "qc_passed"}


def test_the_progress_check_is_dropped_once_the_work_is_done(controller, tech, bay):
    visit = _dispatch(controller, tech, bay, jobs=1)
    job = Job.objects.get(visit=visit)
    services.job_clock_on(job=job, actor=tech.user)
    services.job_clock_off(job=job, actor=tech.user, self_check=[k for k, _l in SELF_CHECK_ITEMS])
    assert _tasks(duties.PROGRESS_CHECK).get().state == "cancelled"
    assert _tasks(duties.PROMISE_CHECK).get(slot=duties.SAME_DAY).state == "pending"


def test_the_managers_promise_alerts_are_the_boards_risky_cards_in_its_order():
    missed = make_signed_visit(jobs=1, promised_in=timedelta(hours=-1))
    at_risk = make_signed_visit(jobs=2, hours="3.00", promised_in=timedelta(hours=2))
    make_signed_visit(jobs=1, promised_in=timedelta(hours=8))  # on time: no alert
    express_missed = make_signed_visit(
        jobs=1, hours="0.50", work_type="maintenance", promised_in=timedelta(minutes=-5)
    )
    services.jobs_materialise()
    now = timezone.now()
    board = selectors.board(now=now)
    risky = [
        (card.visit.pk, card.risk, card.visit.board_url, card.visit.promised_text)
        for lane in board.lanes
        for card in lane.cards
        if card.risk in ("missed", "at_risk")
    ]
    alerts = selectors.promises_at_risk(now=now)
    assert [
        (alert.visit.pk, alert.risk, alert.visit.board_url, alert.visit.promised_text)
        for alert in alerts
    ] == risky
    assert [(alert.visit.pk, alert.risk) for alert in alerts] == [
        (express_missed.pk, "missed"),  # the express lane comes first on the board
        (missed.pk, "missed"),
        (at_risk.pk, "at_risk"),
    ]
    assert alerts[0].visit.vehicle.plate == express_missed.vehicle.plate
