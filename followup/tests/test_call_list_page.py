"""The call-list and complaints pages' rows from value rows and their kept queries."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from appointments.models import Appointment
from dealership import compiled
from dealership.due import due_task_schedule
from dealership.models import DueTask
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup import duties as K
from followup import selectors
from followup.complaints import complaint_open
from followup.models import Complaint
from followup.states import ComplaintStatus
from followup.tests.factories import delivered_visit

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("customers_opted_in")]


def _due(task: DueTask, when, **changes) -> DueTask:
    DueTask.objects.filter(pk=task.pk).update(due_at=when, run_after=when, **changes)
    task.refresh_from_db()
    return task


def _every_kind_of_row(make_staff):
    """Calls of every list: on a visit (with a car in the payload), assigned, tried twice,
    on a car (a green plate), on the customer (a car in the payload), on an appointment,
    one due tomorrow."""
    now = timezone.now()
    named = make_staff("customer_care", username="named1")
    named.first_name, named.last_name = "小明", "王"
    named.save()
    visits = [delivered_visit() for _ in range(3)]
    care = [DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk) for visit in visits]
    _due(care[0], now - timedelta(days=1), assigned_to=named)
    tries = [{"at_local": "12-01 10:00", "by_name": "王小明"}, {"at_local": "12-01 15:30"}]
    _due(care[1], now - timedelta(hours=2), payload={**care[1].payload, "attempts": tries})
    _due(care[2], selectors.end_of_today(now) + timedelta(hours=3))
    for visit in visits:
        _due(DueTask.objects.get(kind=K.ADVISOR_CALL, subject_id=visit.pk), now)
    green = VehicleFactory(plate="苏E12345D")
    due_task_schedule(
        kind=K.NEW_CAR_CALL,
        subject=green,
        due_at=now - timedelta(hours=1),
        customer=green.owner,
        payload={"handover": "2026-01-02"},
    )
    invited = VehicleFactory()
    due_task_schedule(
        kind=K.INVITATION_CALL,
        subject=invited,
        slot="10000",
        due_at=now,
        customer=invited.owner,
        payload={"due_on": "2030-01-01", "km": 10000},
    )
    lost = CustomerFactory(preferred_contact_time="下午")
    lost_car = VehicleFactory(owner=lost)
    due_task_schedule(
        kind=K.LOST_CALL,
        subject=lost,
        due_at=now - timedelta(minutes=5),
        customer=lost,
        payload={"vehicle": lost_car.pk, "reason": "not_seen", "months": 14, "last_visit": "x"},
    )
    missed_car = VehicleFactory()
    appointment = Appointment.objects.create(
        customer=missed_car.owner,
        vehicle=missed_car,
        advisor=visits[0].advisor,
        start=now - timedelta(days=1),
        end=now - timedelta(days=1) + timedelta(hours=1),
    )
    due_task_schedule(
        kind=K.REBOOK_CALL, subject=appointment, due_at=now, customer=missed_car.owner
    )
    return now


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_page_prints_what_the_rows_of_every_list_print(make_staff, care, manager, language):
    now = _every_kind_of_row(make_staff)
    advisor = DueTask.objects.filter(kind=K.ADVISOR_CALL).first().subject.advisor
    with translation.override(language):
        for user in (care, manager, advisor):
            for call_list in selectors.lists_for(user):
                expected = selectors.call_list_lines(
                    selectors.call_list_rows(call_list=call_list, user=user, now=now)
                )
                lines = selectors.call_list_page_lines(call_list=call_list, user=user, now=now)
                assert lines == expected, (user.username, call_list.slug)
    # Every kind of row was on some list.
    lines = selectors.call_list_page_lines(call_list=K.CALL_LISTS["care"], user=manager, now=now)
    assert [line["attempt_count"] for line in lines] == ["0", "2"]
    assert lines[0]["assigned_to"] == "王小明" and lines[0]["visit"] and lines[0]["vehicle"]
    (new_car,) = selectors.call_list_page_lines(
        call_list=K.CALL_LISTS["new-car"], user=care, now=now
    )
    assert new_car["plate_class"] == "plate nev" and new_car["reason"]
    (missed,) = selectors.call_list_page_lines(
        call_list=K.CALL_LISTS["no-show"], user=manager, now=now
    )
    assert missed["vehicle"] and not missed["visit"]


def test_the_page_needs_no_more_queries_than_the_rows(make_staff, manager):
    now = _every_kind_of_row(make_staff)
    for call_list in selectors.lists_for(manager):
        with CaptureQueriesContext(connection) as rows:
            selectors.call_list_rows(call_list=call_list, user=manager, now=now)
        with CaptureQueriesContext(connection) as lines:
            selectors.call_list_page_lines(call_list=call_list, user=manager, now=now)
        assert len(lines) <= len(rows), call_list.slug


def test_the_page_shows_a_change_right_away(client, care):
    visit = delivered_visit()
    _due(DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk), timezone.now())
    client.force_login(care)
    url = reverse("followup:call_list", args=["care"])
    assert visit.customer.name in client.get(url).content.decode()

    visit.customer.name = "改过的名字"
    visit.customer.save()
    visit.vehicle.plate = "苏A99999"
    visit.vehicle.save()

    page = client.get(url).content.decode()
    assert "改过的名字" in page and "苏A99999" in page


def test_the_lists_queries_are_kept_compiled(care, manager):
    """The builders keep their values as parameters (else every page compiles them again),
    and a kept query answers as its queryset."""
    visit = delivered_visit()
    now = timezone.now()
    _due(DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk), now - timedelta(hours=1))
    tonight = selectors.end_of_today(now)
    kinds = (K.CARE_CALL,)
    for user in (care, manager):
        roles = selectors._whose(user)
        own = selectors._own(user, roles)
        cases = [
            (selectors._line_rows, (kinds, roles, 50), (tonight, *own)),
            (selectors._count_rows, (kinds, roles), (tonight, now, *own)),
        ]
        for build, fixed, values in cases:
            types = tuple(type(value) for value in values)
            assert compiled._compiled(build, fixed, types) is not None
            assert compiled.value_rows(build, *values, fixed=fixed) == list(build(*fixed, *values))
    assert compiled._compiled(selectors._line_visits, (), (int, int)) is not None
    assert compiled._compiled(selectors._line_subject_vehicles, (Appointment,), (int,))
    # A moment is a parameter: the count of overdue calls follows the clock, one SQL text.
    fixed = (kinds, selectors._whose(care))
    early = compiled.value_rows(
        selectors._count_rows, tonight, now - timedelta(hours=2), care.pk, fixed=fixed
    )
    late = compiled.value_rows(selectors._count_rows, tonight, now, care.pk, fixed=fixed)
    assert [row["overdue"] for row in early] == [0] and [row["overdue"] for row in late] == [1]


# --------------------------------------------------------------------- the complaints page


def _complaints_of_every_kind(care, manager):
    """Open, in progress (answered late), important, escalated, mine, nobody's, closed (one
    late), with and without a car (one green)."""
    now = timezone.now()
    cars = (delivered_visit().vehicle, None, VehicleFactory(plate="苏E12345D"))
    opened = []
    for number, category in enumerate(["quality", "price", "attitude", "time", "parts"]):
        vehicle = cars[number % 3]
        complaint = complaint_open(
            customer=vehicle.owner if vehicle is not None else CustomerFactory(),
            actor=care,
            source="phone",
            category=category,
            description="修完还是漏油",
            vehicle=vehicle,
            safety_related=number == 2,
            owner=(care, manager, None)[number % 3],
        )
        opened.append(complaint)
    Complaint.objects.filter(pk=opened[0].pk).update(
        status=ComplaintStatus.IN_PROGRESS, responded_at=now + timedelta(days=30)
    )
    Complaint.objects.filter(pk=opened[1].pk).update(escalated_at=now)
    Complaint.objects.filter(pk=opened[3].pk).update(
        status=ComplaintStatus.CLOSED, closed_at=now + timedelta(days=60)
    )
    Complaint.objects.filter(pk=opened[4].pk).update(
        status=ComplaintStatus.CLOSED, closed_at=now - timedelta(hours=1)
    )
    return now


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_complaints_page_prints_what_the_complaints_rows_print(care, manager, language):
    now = _complaints_of_every_kind(care, manager)
    with translation.override(language):
        for user in (care, manager):
            for show in selectors.COMPLAINT_FILTERS:
                expected = selectors.complaint_lines(
                    selectors.complaint_list(show=show, user=user), now=now
                )
                lines = selectors.complaint_page_lines(show=show, user=user, now=now)
                assert lines == expected, (user.username, show)
                assert lines or show in ("escalated", "important"), show


def test_the_complaints_counts_are_the_aggregate(care, manager):
    _complaints_of_every_kind(care, manager)
    for user in (care, manager):
        open_ = Q(status__in=(ComplaintStatus.OPEN, ComplaintStatus.IN_PROGRESS))
        expected = Complaint.objects.aggregate(
            open=Count("id", filter=open_),
            important=Count("id", filter=Q(severity="important") & open_),
            escalated=Count("id", filter=Q(escalated_at__isnull=False) & open_),
            mine=Count("id", filter=Q(owner=user) & open_),
        )
        assert selectors.complaint_counts(user=user) == expected
        # The important one went to the manager.
        assert (expected["open"], expected["mine"]) == (3, 1 if user == care else 2)
    Complaint.objects.all().delete()
    assert selectors.complaint_counts(user=care) == dict.fromkeys(expected, 0)


def test_the_complaints_queries_are_kept_compiled(care):
    for show in selectors.COMPLAINT_FILTERS:
        types = (int,) if show == "mine" else ()
        fixed = (show, selectors.LIST_LIMIT)
        assert compiled._compiled(selectors._complaint_line_rows, fixed, types), show
    assert compiled._compiled(selectors._complaint_count_row, (), (int,))


def test_the_tabs_show_a_new_call_and_the_list_shown_right_away(client, care):
    client.force_login(care)
    url = reverse("followup:call_list", args=["care"])
    first = delivered_visit()
    _due(DueTask.objects.get(kind=K.CARE_CALL, subject_id=first.pk), timezone.now())
    page = client.get(url).content.decode()
    assert '<span class="tag"\n' in page and ">1</span></a>" in page
    assert page.count('aria-current="page"') == 1

    second = delivered_visit()
    _due(
        DueTask.objects.get(kind=K.CARE_CALL, subject_id=second.pk),
        timezone.now() - timedelta(hours=1),
    )
    page = client.get(url).content.decode()
    assert '<span class="tag bad"' in page and ">2</span></a>" in page
    lost = client.get(reverse("followup:call_list", args=["lost"])).content.decode()
    assert f'href="{reverse("followup:call_list", args=["lost"])}"\n        aria-current' in lost
