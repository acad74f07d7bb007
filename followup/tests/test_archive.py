"""The customer archive (客户档案): the whole story per customer and per vehicle."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dealership import compiled
from dealership.models import DueTask
from dealership.notifications import notify
from dealership.services import customer_update, vehicle_update
from dealership.tests.factories import VehicleFactory
from followup import duties as K
from followup import selectors
from followup.archive import archive_for
from followup.complaints import complaint_close, complaint_open
from followup.services import call_record
from followup.tests.factories import delivered_visit

pytestmark = pytest.mark.django_db

GOOD = {"overall": 9, "explanation": 9, "on_time": 9, "car_clean": 9, "would_recommend": 9}


def _story(care, *, customer=None, vehicle=None):
    """One visit with everything that happens around it."""
    visit = delivered_visit(customer=customer, vehicle=vehicle)
    task = DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)
    call_record(task=task, actor=care, outcome="unreachable", attempts_seen=0)
    call_record(
        task=task,
        actor=care,
        outcome="surveyed",
        survey={**GOOD, "customer_words": "洗车很干净"},
    )
    notify(
        customer=visit.customer,
        template="reminder",
        context={"note": "保养提醒"},
        subject=visit,
        vehicle=visit.vehicle,
    )
    complaint_open(
        customer=visit.customer,
        actor=care,
        source="phone",
        category="attitude",
        description="前台态度不好",
        visit=visit,
    )
    return visit


def test_the_customer_archive_shows_visits_calls_surveys_messages_complaints_and_edits(
    client, care
):
    visit = _story(care)
    customer = visit.customer
    customer_update(customer=customer, actor=care, preferred_contact_time="晚上七点后")
    client.force_login(care)

    page = client.get(reverse("followup:customer_archive", args=[customer.pk])).content.decode()

    assert visit.number in page  # the visit's steps and the visits table
    assert "洗车很干净" in page  # the survey, in the customer's words
    assert "保养提醒" in page  # the message sent
    assert "前台态度不好" in page  # the complaint
    assert "晚上七点后" in page  # the edit history
    archive = archive_for(customer_id=customer.pk)
    categories = {entry.category for entry in archive.entries}
    assert {"visits", "calls", "messages", "complaints", "edits"} <= categories
    call = next(e for e in archive.entries if e.category == "calls" and e.title)
    assert any("洗车很干净" in line for line in call.details)
    assert any("未接通" in line or "Not reached" in line for line in call.details)


def test_the_vehicle_archive_keeps_to_its_own_vehicle(client, care):
    first = _story(care)
    second_vehicle = VehicleFactory(owner=first.customer)
    second = _story(care, vehicle=second_vehicle)
    vehicle_update(vehicle=first.vehicle, actor=care, colour="珍珠白")
    client.force_login(care)

    page = client.get(reverse("followup:vehicle_archive", args=[first.vehicle.pk])).content
    page = page.decode()

    assert first.number in page and second.number not in page
    assert "珍珠白" in page
    archive = archive_for(vehicle_id=first.vehicle.pk)
    assert all(e.vehicle in (None, first.vehicle) for e in archive.entries)


def test_the_archive_filters_by_category(client, care):
    visit = _story(care)
    client.force_login(care)
    url = reverse("followup:customer_archive", args=[visit.customer.pk])
    page = client.get(url, {"show": "complaints"}).content.decode()
    assert "前台态度不好" in page and "保养提醒" not in page


def test_the_archive_answers_in_a_fixed_number_of_queries(
    client, care, django_assert_max_num_queries
):
    visit = _story(care)
    customer = visit.customer
    client.force_login(care)
    urls = [
        reverse("followup:customer_archive", args=[customer.pk]),
        reverse("followup:vehicle_archive", args=[visit.vehicle.pk]),
    ]
    counts = []
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts.append(len(queries.captured_queries))
    for _ in range(4):
        _story(care, vehicle=visit.vehicle)
        _story(care, vehicle=VehicleFactory(owner=customer))
        customer_update(customer=customer, actor=care, notes=f"note {_}")
    for url, count in zip(urls, counts, strict=True):
        with django_assert_max_num_queries(count):
            assert client.get(url).status_code == 200


def test_a_missing_customer_or_vehicle_is_404(client, care):
    client.force_login(care)
    assert client.get(reverse("followup:customer_archive", args=[999999])).status_code == 404
    assert client.get(reverse("followup:vehicle_archive", args=[999999])).status_code == 404


def test_the_customer_and_vehicle_pages_link_to_the_archive_for_roles_that_may_open_it(
    client, care, make_staff
):
    vehicle = VehicleFactory()
    pages = {
        reverse("customer_detail", args=[vehicle.owner.pk]): reverse(
            "followup:customer_archive", args=[vehicle.owner.pk]
        ),
        reverse("vehicle_detail", args=[vehicle.pk]): reverse(
            "followup:vehicle_archive", args=[vehicle.pk]
        ),
    }
    client.force_login(care)
    for page, archive_url in pages.items():
        assert f'href="{archive_url}"' in client.get(page).content.decode()
        assert client.get(archive_url).status_code == 200

    # A QC inspector may see the details but not the archive: no link that would answer 403.
    client.force_login(make_staff("qc_inspector"))
    for page, archive_url in pages.items():
        response = client.get(page)
        assert response.status_code == 200
        assert archive_url not in response.content.decode()
        assert client.get(archive_url).status_code == 403


def test_edits_read_as_staff_see_them_labels_and_local_times(care):
    import datetime as dt

    vehicle = VehicleFactory()
    vehicle_update(
        vehicle=vehicle,
        actor=care,
        last_odometer_at=dt.datetime(2026, 3, 1, 2, 30, tzinfo=dt.UTC),
    )
    customer_update(customer=vehicle.owner, actor=care, preferred_channel="wechat")

    lines = [
        entry.text
        for entry in archive_for(vehicle_id=vehicle.pk).entries
        if entry.category == "edits"
    ]
    text = " ".join(lines)
    assert "2026-03-01 10:30" in text  # Asia/Shanghai, to the minute
    assert "+00:00" not in text and not re.search(r"\d:\d\d\.\d", text)
    assert "微信" in text and "wechat" not in text  # the choice's label, not its code


def _box(page: str, box_id: str) -> str:
    return page.split(f'id="{box_id}"', 1)[1].split("</ul>", 1)[0]


def test_the_side_boxes_read_their_labels_in_the_readers_language_and_show_a_change_at_once(
    client, care, make_staff
):
    visit = _story(care)
    (complaint,) = visit.customer.complaints.all()
    client.force_login(care)
    url = reverse("followup:customer_archive", args=[visit.customer.pk])

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    assert "Staff attitude · Open" in _box(english, "archive-complaints")
    assert "服务态度 · 待处理" in _box(chinese, "archive-complaints")
    assert f'href="{complaint.get_absolute_url()}"' in _box(english, "archive-complaints")
    assert "已交车" in chinese.split('id="archive-visits"', 1)[1]  # the visit's status
    assert str(visit.advisor) in english.split('id="archive-visits"', 1)[1]

    complaint_close(complaint=complaint, actor=care, resolution="道歉", customer_satisfied=False)
    again = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "服务态度 · 已结案" in _box(again, "archive-complaints")
    assert "不满意" in _box(again, "archive-complaints")

    # The same lines for a role that may not open complaints: the number without its link.
    client.force_login(make_staff("cashier"))
    cashier = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert complaint.number in _box(cashier, "archive-complaints")
    assert complaint.get_absolute_url() not in cashier


def test_a_planned_call_shows_who_makes_it(client, care):
    visit = _story(care)
    task = DueTask.objects.filter(customer=visit.customer, for_person=True).first()
    DueTask.objects.filter(pk=task.pk).update(state="pending", assigned_to=care)
    client.force_login(care)

    page = client.get(reverse("followup:vehicle_archive", args=[visit.vehicle.pk])).content
    assert f"· {care}" in _box(page.decode(), "open-calls")


def test_every_archive_query_is_compiled_once_with_its_ids_as_parameters():
    # An id that did not become a parameter would fall back to compiling at every view.
    limit = (8,)
    builders = [
        (selectors._customer_row, (), 1),
        (selectors._customers_vehicles, (), 1),
        (selectors._owners_vehicles, (), 1),
        *[
            (build, limit, ids)
            for build in (
                selectors._event_rows,
                selectors._message_rows,
                selectors._survey_rows,
                selectors._complaint_rows,
            )
            for ids in (1, 2)  # the customer's page; the vehicle's
        ],
        (selectors._call_rows, limit, 1),
        (selectors._customer_visit_rows, limit, 1),
        (selectors._vehicle_visit_rows, limit, 1),
        (selectors._customer_history, limit, 1),
        (selectors._vehicles_history, limit, 3),
    ]
    for build, fixed, ids in builders:
        assert compiled._compiled(build, fixed, (int,) * ids) is not None, (build.__name__, ids)


def test_the_timeline_reads_the_systems_lines_in_the_readers_language_with_who_did_them(
    client, care
):
    visit = _story(care)
    client.force_login(care)
    url = reverse("followup:vehicle_archive", args=[visit.vehicle.pk])

    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    chinese = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()

    timeline = english.split('class="archive-timeline', 1)[1]
    assert f"{visit.number}: " in timeline and "→ Delivered" in timeline
    assert f"· {visit.advisor}" in timeline  # who moved the visit
    assert "→ 已交车" in chinese.split('class="archive-timeline', 1)[1]
