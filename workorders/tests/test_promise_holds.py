"""Issue 20 item 3: the promised time suggested at check-in holds. It waits for parts on order,
counts the hours left on the cars ahead shared by the technicians at work today (the roster),
adds the margin rule; another time needs a reason, which the timeline keeps."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from appointments.models import Appointment, AppointmentLine, StockStatus
from dealership.errors import DomainError
from dealership.models import TimelineEvent
from dealership.rules import rule_set
from dealership.tests.factories import LabourOperationFactory, PartFactory, TechnicianFactory
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory
from workorders.models import WorkOrder
from workorders.promise import promise_suggestion_for
from workorders.services import work_order_line_add, work_order_start, work_order_update
from workshop import roster
from workshop.models import Job, RosterKind
from workshop.tests.factories import make_signed_visit

pytestmark = pytest.mark.django_db


def _at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=timezone.get_default_timezone())


@pytest.fixture
def advisor(make_staff):
    return make_staff("advisor")


@pytest.fixture
def technicians(db):
    return [TechnicianFactory(hours_per_day=Decimal("8")) for _ in range(2)]


def _draft(advisor, *, hours="1", **visit):
    order = work_order_start(visit=VisitFactory(**visit), actor=advisor)
    work_order_line_add(
        order=order, actor=advisor, operation=LabourOperationFactory(standard_hours=hours)
    )
    return WorkOrder.objects.get(pk=order.pk)


def _car_in_work(hours: str):
    visit = make_signed_visit(jobs=0, status=VisitStatus.IN_PROGRESS)
    Job.objects.create(
        visit=visit, name_zh="大修", hours=Decimal(hours), status="waiting", position=1
    )
    return visit


def test_the_cars_ahead_are_shared_by_the_technicians_at_work_today(advisor, technicians):
    _car_in_work("8")
    today = timezone.localdate()
    morning = _at(today, 9)
    order = _draft(advisor)
    both = promise_suggestion_for(order, now=morning)
    assert (both.queue_hours, both.technicians, both.own_hours) == (Decimal("8.00"), 2, 1)
    assert both.at == _at(today, 14, 30)  # 9:00 + 8 h / 2 + 1 h + 30 min margin

    roster.roster_set(technician=technicians[0], day=today, kind=RosterKind.LEAVE, actor=advisor)
    one = promise_suggestion_for(order, now=morning)
    assert one.technicians == 1
    # 9:00 + 8 h = 17:00, 1 h to 18:00, the margin the next morning at 8:30
    assert one.at == _at(today + timedelta(days=1), 8, 30)


def test_the_hours_already_clocked_on_the_cars_ahead_are_not_counted_again(advisor, technicians):
    car = _car_in_work("6")
    car.jobs.update(actual_hours=Decimal("4"), status="paused")
    order = _draft(advisor)
    assert promise_suggestion_for(order, now=_at(timezone.localdate(), 9)).queue_hours == 2


def test_a_part_on_order_holds_the_promise_until_it_arrives(advisor, technicians):
    expected = timezone.localdate() + timedelta(days=3)
    appointment = Appointment.objects.create(
        customer=(visit := VisitFactory()).customer,
        vehicle=visit.vehicle,
        start=_at(timezone.localdate(), 9),
        end=_at(timezone.localdate(), 11),
        status="arrived",
    )
    AppointmentLine.objects.create(
        appointment=appointment,
        part=PartFactory(stock_on_hand=0),
        quantity=1,
        price=Decimal("3280"),
        stock_status=StockStatus.TO_ORDER,
        expected_on=expected,
    )
    visit.appointment = appointment
    visit.save(update_fields=["appointment"])
    order = work_order_start(visit=visit, actor=advisor)
    work_order_line_add(
        order=order, actor=advisor, operation=LabourOperationFactory(standard_hours="2")
    )
    suggestion = promise_suggestion_for(order, now=_at(timezone.localdate(), 9))
    assert suggestion.parts_expected == expected
    assert suggestion.at == _at(expected, 10, 30)  # 8:00 arrival + 2 h + 30 min

    AppointmentLine.objects.filter(appointment=appointment).update(
        stock_status=StockStatus.RECEIVED
    )
    received = promise_suggestion_for(order, now=_at(timezone.localdate(), 9))
    assert received.parts_expected is None
    assert received.at == _at(timezone.localdate(), 11, 30)


def test_the_margin_is_a_rule(advisor, technicians):
    order = _draft(advisor)
    morning = _at(timezone.localdate(), 9)
    assert promise_suggestion_for(order, now=morning).at == _at(timezone.localdate(), 10, 30)
    rule_set("workorders.promise_buffer_minutes", 90)
    later = promise_suggestion_for(order, now=morning)
    assert later.margin_minutes == 90 and later.at == _at(timezone.localdate(), 11, 30)


def test_another_time_needs_a_reason_and_the_timeline_keeps_it(advisor, technicians):
    order = _draft(advisor)
    suggested = promise_suggestion_for(order).at
    later = suggested + timedelta(days=1)
    with pytest.raises(DomainError) as error:
        work_order_update(order=order, actor=advisor, promised_at=later)
    assert error.value.field == "promised_reason"
    assert not TimelineEvent.objects.filter(kind="order.promise_override").exists()

    work_order_update(
        order=order, actor=advisor, promised_at=later, promised_reason="客户明天下午才有空"
    )
    event = TimelineEvent.objects.get(kind="order.promise_override")
    assert "客户明天下午才有空" in event.summary
    assert event.data["reason"] == "客户明天下午才有空"
    assert event.actor == advisor

    # the suggestion itself is no override: nothing more on the timeline
    other = _draft(advisor)
    work_order_update(order=other, actor=advisor, promised_at=promise_suggestion_for(other).at)
    assert TimelineEvent.objects.filter(kind="order.promise_override").count() == 1


def test_the_api_gives_the_draft_suggestion_and_its_basis(advisor, technicians):
    _car_in_work("4")
    order = _draft(advisor, hours="1.5")
    api = APIClient()
    api.force_authenticate(advisor)
    body = api.get(f"/api/orders/work-orders/{order.pk}/").json()
    suggestion = body["promise_suggestion"]
    assert suggestion["technicians"] == 2
    assert Decimal(suggestion["queue_hours"]) == 4
    assert Decimal(suggestion["own_hours"]) == Decimal("1.5")
    assert suggestion["margin_minutes"] == 30
    assert suggestion["parts_expected"] is None
    assert datetime.fromisoformat(suggestion["at"]) > timezone.now()


def test_the_order_page_shows_what_the_suggestion_rests_on(advisor, technicians, client):
    _car_in_work("4")
    order = _draft(advisor, hours="1.5")
    client.force_login(advisor)
    html = client.get(f"/orders/{order.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert html.status_code == 200
    basis = html.content.decode().split('id="promise-basis"', 1)[1].split("</small>", 1)[0]
    assert "前方待修 4 工时由今天在岗的 2 名技师分担" in basis and "本车 1.50 工时" in basis


def test_the_order_list_leaves_the_suggestion_to_each_orders_answer(advisor, technicians):
    order = _draft(advisor)
    api = APIClient()
    api.force_authenticate(advisor)
    listed = api.get("/api/orders/work-orders/", {"visit": order.visit_id}).json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert [row["id"] for row in rows] == [order.pk]
    assert rows[0]["promise_suggestion"] is None
