"""Working through the call lists: order, outcomes, retries, refusals, opt-out, visit closing."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dealership.due import due_task_schedule
from dealership.errors import DomainError
from dealership.models import Customer, DueTask, TimelineEvent, Vehicle
from dealership.rules import rule_set
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup import duties as K
from followup import selectors
from followup.models import Complaint
from followup.services import call_record, customer_calls_opt_out
from followup.tests.factories import delivered_visit
from reception.states import VisitStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("customers_opted_in")]


def _care_call(visit) -> DueTask:
    return DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)


def _advisor_call(visit) -> DueTask:
    return DueTask.objects.get(kind=K.ADVISOR_CALL, subject_id=visit.pk)


def _make_due(task: DueTask, when) -> DueTask:
    DueTask.objects.filter(pk=task.pk).update(due_at=when, run_after=when)
    task.refresh_from_db()
    return task


def test_the_care_list_shows_calls_due_today_overdue_first_and_leaves_off_opted_out(care):
    now = timezone.now()
    later_today = delivered_visit()
    overdue = delivered_visit()
    tomorrow = delivered_visit()
    opted_out = delivered_visit()
    _make_due(_care_call(later_today), selectors.end_of_today(now) - timedelta(minutes=1))
    _make_due(_care_call(overdue), now - timedelta(days=1))
    _make_due(_care_call(tomorrow), selectors.end_of_today(now) + timedelta(hours=2))
    _make_due(_care_call(opted_out), now - timedelta(days=2))
    opted_out.customer.do_not_call = True
    opted_out.customer.save()

    rows = selectors.call_list_rows(call_list=K.CALL_LISTS["care"], user=care, now=now)

    assert [row.task.subject_id for row in rows] == [overdue.pk, later_today.pk]
    assert rows[0].overdue and not rows[1].overdue
    assert rows[0].vehicle == overdue.vehicle and rows[0].visit == overdue
    # Times in the store's time zone (the later call is due a minute before midnight, local).
    assert rows[1].due_text.endswith("23:58")


def test_the_list_page_links_each_customer_to_their_archive(client, care):
    visit = delivered_visit()
    _make_due(_care_call(visit), timezone.now())
    client.force_login(care)
    page = client.get(reverse("followup:call_list", args=["care"])).content.decode()
    assert reverse("followup:customer_archive", args=[visit.customer.pk]) in page
    assert reverse("followup:call", args=[_care_call(visit).pk]) in page


def test_a_long_list_shows_the_first_calls_and_says_how_many_are_due(client, care, monkeypatch):
    monkeypatch.setattr(selectors, "CALLS_SHOWN", 2)
    now = timezone.now()
    visits = [delivered_visit() for _ in range(3)]
    for hours, visit in zip((3, 2, 1), visits, strict=True):
        _make_due(_care_call(visit), now - timedelta(hours=hours))
    client.force_login(care)

    page = client.get(reverse("followup:call_list", args=["care"])).content.decode()

    assert page.count('<tr id="call-') == 2
    shown = [reverse("followup:call", args=[_care_call(v).pk]) + '"' in page for v in visits]
    assert shown == [True, True, False]  # the most overdue first
    assert "今日到期共 3 个回访，此处显示前 2 个" in page


def test_list_query_count_does_not_grow_with_rows(client, care, django_assert_max_num_queries):
    client.force_login(care)
    url = reverse("followup:call_list", args=["care"])
    for _ in range(2):
        _make_due(_care_call(delivered_visit()), timezone.now())
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(8):
        _make_due(_care_call(delivered_visit()), timezone.now())
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('<tr id="call-') == 10


def test_not_reached_comes_back_later_then_closes_as_unreachable_after_three_tries(care):
    visit = delivered_visit()
    task = _care_call(visit)

    first = call_record(task=task, actor=care, outcome="unreachable", attempts_seen=0)
    assert first.retry_at is not None
    task.refresh_from_db()
    assert task.state == DueTask.State.PENDING
    assert task.due_at == first.retry_at
    assert abs(first.retry_at - (timezone.now() + timedelta(hours=3))) < timedelta(minutes=1)
    assert len(task.payload["attempts"]) == 1

    call_record(task=task, actor=care, outcome="unreachable", attempts_seen=1)
    last = call_record(task=task, actor=care, outcome="unreachable", attempts_seen=2)

    task.refresh_from_db()
    assert last.closed_unreachable
    assert task.state == DueTask.State.DONE and task.outcome == "unreachable"
    assert len(task.result["attempts"]) == 3
    assert TimelineEvent.objects.filter(kind="followup.call_attempt").count() == 2


def test_the_number_of_tries_is_a_rule(care):
    rule_set("followup.call_attempts", 1)
    task = _care_call(delivered_visit())
    assert call_record(task=task, actor=care, outcome="unreachable").closed_unreachable


def test_recording_an_outcome_twice_is_refused(care, make_staff):
    task = _care_call(delivered_visit())
    call_record(task=task, actor=care, outcome="no_survey")
    other = make_staff("customer_care")

    with pytest.raises(DomainError) as refused:
        call_record(task=task, actor=other, outcome="no_survey")

    assert "Already recorded" in refused.value.messages[0] or "已由" in refused.value.messages[0]
    task.refresh_from_db()
    assert task.completed_by == care


def test_the_same_try_recorded_twice_from_two_screens_is_refused(care):
    task = _care_call(delivered_visit())
    call_record(task=task, actor=care, outcome="unreachable", attempts_seen=0)
    with pytest.raises(DomainError):
        call_record(task=task, actor=care, outcome="unreachable", attempts_seen=0)
    task.refresh_from_db()
    assert len(task.payload["attempts"]) == 1


def test_recording_twice_through_the_page_shows_a_clear_message(client, care):
    task = _care_call(delivered_visit())
    client.force_login(care)
    url = reverse("followup:call", args=[task.pk])
    data = {"outcome": "no_survey", "attempts_seen": 0, "stay": "1"}
    assert client.post(url, data).status_code == 302
    response = client.post(url, data)
    # The call is done: the page says who recorded it, and offers no second form.
    assert response.status_code == 400
    assert "已由" in response.content.decode()
    assert "outcome-form" not in response.content.decode()
    quick = client.post(
        reverse("followup:call_not_reached", args=[task.pk]), {"attempts_seen": 0}, follow=True
    )
    assert "已由" in quick.content.decode()


def test_visit_is_closed_when_both_follow_up_calls_are_done(care):
    visit = delivered_visit()
    call_record(task=_care_call(visit), actor=care, outcome="no_survey")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.DELIVERED

    call_record(task=_advisor_call(visit), actor=visit.advisor, outcome="satisfied")

    visit.refresh_from_db()
    assert visit.status == VisitStatus.CLOSED


def test_has_a_problem_opens_a_complaint_with_the_customers_words(care):
    visit = delivered_visit()
    task = _advisor_call(visit)
    with pytest.raises(DomainError):
        call_record(task=task, actor=visit.advisor, outcome=K.ISSUE)

    result = call_record(
        task=task, actor=visit.advisor, outcome=K.ISSUE, note="刹车还是响", category="quality"
    )

    complaint = result.complaint
    assert complaint.description == "刹车还是响" and complaint.category == "quality"
    assert complaint.visit == visit and complaint.source == "call" and complaint.call == task


def test_an_advisors_7_day_call_is_only_on_that_advisors_list(client, make_staff):
    visit = delivered_visit()
    task = _make_due(_advisor_call(visit), timezone.now())
    other = make_staff("advisor")
    rows = selectors.call_list_rows(call_list=K.CALL_LISTS["advisor"], user=other)
    assert rows == []
    client.force_login(other)
    assert client.get(reverse("followup:call", args=[task.pk])).status_code == 403
    client.force_login(visit.advisor)
    assert client.get(reverse("followup:call", args=[task.pk])).status_code == 200


def test_customer_care_may_not_open_the_advisors_list(client, care):
    client.force_login(care)
    assert client.get(reverse("followup:call_list", args=["advisor"])).status_code == 403
    assert client.get(reverse("followup:call_list", args=["nonsense"])).status_code == 404


def test_opting_out_cancels_open_calls_and_keeps_the_customer_off_every_list(care):
    visit = delivered_visit()
    _make_due(_care_call(visit), timezone.now())
    vehicle = VehicleFactory(owner=visit.customer)
    due_task_schedule(
        kind=K.NEW_CAR_CALL, subject=vehicle, due_at=timezone.now(), customer=visit.customer
    )

    customer_calls_opt_out(
        customer=visit.customer, actor=care, do_not_call=True, reason="客户要求不要再打电话"
    )

    visit.customer.refresh_from_db()
    assert visit.customer.do_not_call
    assert not DueTask.objects.filter(customer=visit.customer, state="pending", for_person=True)
    for call_list in K.CALL_LISTS.values():
        if call_list.registered_kinds:
            assert selectors.call_list_rows(call_list=call_list, user=care) == []
    event = TimelineEvent.objects.get(kind="customer.opt_out")
    assert "客户要求不要再打电话" in event.summary
    assert visit.customer.history.first().history_change_reason == "客户要求不要再打电话"


def test_opt_out_through_the_archive_page(client, care):
    customer = CustomerFactory()
    client.force_login(care)
    url = reverse("followup:customer_opt_out", args=[customer.pk])
    client.post(url, {"do_not_call": "1", "reason": "太多电话"})
    customer.refresh_from_db()
    assert customer.do_not_call
    client.post(url, {"do_not_call": "0"})
    customer.refresh_from_db()
    assert not customer.do_not_call


def test_maintenance_invitations_are_worked_from_our_list(client, care):
    vehicle = VehicleFactory()
    task = due_task_schedule(
        kind=K.INVITATION_CALL,
        subject=vehicle,
        slot="10000",
        due_at=timezone.now(),
        customer=vehicle.owner,
        payload={"due_on": "2030-01-01", "km": 10000},
    )
    rows = selectors.call_list_rows(call_list=K.CALL_LISTS["invitation"], user=care)
    assert [row.task for row in rows] == [task]
    assert rows[0].vehicle == vehicle
    client.force_login(care)
    response = client.post(
        reverse("followup:call", args=[task.pk]),
        {"outcome": "later", "attempts_seen": 0, "note": "下个月再来"},
    )
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.state == "done" and task.outcome == "later"


def test_no_complaint_is_opened_by_a_satisfied_answer(care):
    visit = delivered_visit()
    call_record(task=_advisor_call(visit), actor=visit.advisor, outcome="satisfied")
    assert not Complaint.objects.exists()


def test_an_invitation_is_booked_on_the_appointments_page_not_ticked_here(client, care):
    vehicle = VehicleFactory()
    task = due_task_schedule(
        kind=K.INVITATION_CALL,
        subject=vehicle,
        slot="20000",
        due_at=timezone.now(),
        customer=vehicle.owner,
    )
    client.force_login(care)
    page = client.get(reverse("followup:call", args=[task.pk])).content.decode()
    assert f"{reverse('appointments:new')}?vehicle={vehicle.pk}" in page
    assert 'value="booked"' not in page


def test_the_api_lists_the_calls_due_with_their_attempts(client, care):
    now = timezone.now()
    visit = delivered_visit()
    task = _make_due(_care_call(visit), now - timedelta(hours=1))
    task.payload = {**task.payload, "attempts": [{"at": now.isoformat(), "outcome": "no_answer"}]}
    task.save(update_fields=["payload"])
    client.force_login(care)

    response = client.get("/api/followup/calls/", {"list": "care"})

    assert response.status_code == 200
    [row] = response.json()
    assert (row["id"], row["attempts"], row["overdue"]) == (task.pk, 1, True)
    assert row["vehicle"] == visit.vehicle_id and row["customer"] == visit.customer_id


def test_a_list_row_shows_the_earlier_tries_and_the_number_as_the_role_may_see_it(client, care):
    visit = delivered_visit()
    task = _make_due(_care_call(visit), timezone.now())
    tries = [
        {"at_local": "05-01 10:00", "by_name": "王芳"},
        {"at_local": "05-02 11:30", "by_name": "李<强>"},
    ]
    DueTask.objects.filter(pk=task.pk).update(payload={**task.payload, "attempts": tries})
    client.force_login(care)

    page = client.get(reverse("followup:call_list", args=["care"])).content.decode()

    assert 'title="05-01 10:00 王芳; 05-02 11:30 李&lt;强&gt;"\n          >2</span>' in page
    assert 'name="attempts_seen" value="2"' in page
    mobile = visit.customer.mobile
    assert f'<a href="tel:{mobile}"\n           class="muted">{mobile}</a' in page


def test_a_list_row_prints_the_green_plate_the_assignee_and_escapes_what_people_typed(client, care):
    visit = delivered_visit()
    task = _make_due(_care_call(visit), timezone.now())
    Vehicle.objects.filter(pk=visit.vehicle_id).update(plate="粤BD12345")
    Customer.objects.filter(pk=visit.customer_id).update(
        name="<b>王</b>", preferred_contact_time="<i>am</i>"
    )
    DueTask.objects.filter(pk=task.pk).update(assigned_to=care)
    client.force_login(care)

    page = client.get(reverse("followup:call_list", args=["care"])).content.decode()

    assert (
        f'<tr id="call-{task.pk}" class="overdue">' in page or f'<tr id="call-{task.pk}">' in page
    )
    assert 'class="plate nev">粤BD12345</span' in page
    assert ">&lt;b&gt;王&lt;/b&gt;</a>" in page and "· &lt;i&gt;am&lt;/i&gt;</span>" in page
    assert f" {care}</span>" in page.split('<br><span class="muted">')[-1]  # "for <assignee>"
    assert '<span class="muted">0</span>' in page


def test_a_row_changed_since_the_list_was_shown_is_shown_changed(client, care):
    visit = delivered_visit()
    task = _make_due(_care_call(visit), timezone.now())
    client.force_login(care)
    url = reverse("followup:call_list", args=["care"])
    assert f'title="客户档案">{visit.customer.name}</a>' in client.get(url).content.decode()

    Customer.objects.filter(pk=visit.customer_id).update(name="周新名")
    DueTask.objects.filter(pk=task.pk).update(assigned_to=care)
    page = client.get(url).content.decode()

    assert 'title="客户档案">周新名</a>' in page
    assert f" {care}</span>" in page.split('<br><span class="muted">')[-1]


def test_each_visitor_posts_the_rows_forms_with_their_own_token(care, make_staff):
    visit = delivered_visit()
    task = _make_due(_care_call(visit), timezone.now())
    url = reverse("followup:call_list", args=["care"])
    first = Client(enforce_csrf_checks=True)
    first.force_login(make_staff("customer_care", username="care2"))
    first.get(url)  # the rows are cached now, with no token of anyone's in them
    second = Client(enforce_csrf_checks=True)
    second.force_login(care)

    page = second.get(url).content.decode()
    form = page.split(f'action="{reverse("followup:call_not_reached", args=[task.pk])}">')[1]
    token = form.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = second.post(
        reverse("followup:call_not_reached", args=[task.pk]),
        {"csrfmiddlewaretoken": token, "attempts_seen": "0"},
    )

    assert response.status_code == 302
    task.refresh_from_db()
    assert len(task.payload["attempts"]) == 1
