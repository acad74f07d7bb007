"""Time per status (median, 90th percentile) per work type; consultation time per advisor."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from reception.models import InsuranceCase, Visit, VisitTransition
from reception.states import VisitStatus
from reports.periods import MONTH, Period
from reports.status_times import consultation_by_advisor, percentile, status_times
from workshop import services
from workshop.tests.factories import make_signed_visit

pytestmark = pytest.mark.django_db

V = VisitStatus
SHANGHAI = ZoneInfo("Asia/Shanghai")
MARCH = Period.containing(MONTH, date(2026, 3, 1))
T0 = datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)


def _visit(*, work_type="repair", hours="2.00", jobs=1, signed_after=10, advisor=None, **kw):
    """A visit checked in at T0 whose order was signed `signed_after` minutes later."""
    extra = {"advisor": advisor} if advisor else {}
    visit = make_signed_visit(jobs=jobs, hours=hours, work_type=work_type, **extra, **kw)
    Visit.objects.filter(pk=visit.pk).update(
        checked_in_at=T0, order_signed_at=T0 + timedelta(minutes=signed_after)
    )
    services.jobs_materialise(visit_ids=[visit.pk])
    visit.refresh_from_db()
    return visit


def _moves(visit, *steps):
    """(status reached, minutes after check-in) in order; the first leaves checked_in."""
    previous = V.CHECKED_IN
    for status, minutes in steps:
        VisitTransition.objects.create(
            visit=visit, from_status=previous, to_status=status, at=T0 + timedelta(minutes=minutes)
        )
        previous = status


def _row(result, work_type, status):
    return next(r for r in result.rows if (r.work_type, r.status) == (work_type, status))


def test_percentile_interpolates_like_postgres():
    values = [float(v) for v in range(1, 11)]
    assert percentile(values, 0.5) == 5.5
    assert percentile(values, 0.9) == pytest.approx(9.1)
    assert percentile([4.0], 0.9) == 4.0


def test_time_per_status_by_work_type_median_and_90th_percentile():
    # Three general repairs wait 10, 20 and 60 minutes for dispatch after signing at 5 min.
    for waited in (10, 20, 60):
        _moves(
            _visit(),
            (V.ORDER_SIGNED, 5),
            (V.DISPATCHED, 5 + waited),
            (V.IN_PROGRESS, 5 + waited + 30),
        )
    express = _visit(work_type="maintenance", hours="0.50")
    _moves(express, (V.ORDER_SIGNED, 3), (V.DISPATCHED, 8))
    body = _visit(work_type="body_paint", hours="6.00")
    _moves(body, (V.ORDER_SIGNED, 20))
    insured = _visit()
    InsuranceCase.objects.create(visit=insured, insurer="picc")
    _moves(insured, (V.ORDER_SIGNED, 40))
    result = status_times(MARCH)
    signed = _row(result, "repair", V.ORDER_SIGNED)
    assert (signed.count, signed.median_minutes, signed.p90_minutes) == (3, 20.0, 52.0)
    assert _row(result, "repair", V.DISPATCHED).median_minutes == 30.0
    # The status a car is still in is not counted.
    assert not [r for r in result.rows if r.status == V.IN_PROGRESS]
    assert _row(result, "express", V.ORDER_SIGNED).median_minutes == 5.0
    body_checkin = _row(result, "body", V.CHECKED_IN)
    assert (body_checkin.count, body_checkin.median_minutes) == (2, 30.0)
    assert [r.work_type for r in result.rows][0] == "express"


def test_consultation_time_is_reported_per_advisor_as_a_median(make_staff):
    wang, li = make_staff("advisor"), make_staff("advisor")
    for user, (last, first) in ((wang, ("王", "芳")), (li, ("李", "明"))):
        user.last_name, user.first_name = last, first
        user.save(update_fields=["last_name", "first_name"])
    for minutes in (4, 8, 30):
        _visit(advisor=wang, signed_after=minutes)
    _visit(advisor=li, signed_after=12)
    unsigned = _visit(advisor=li)
    Visit.objects.filter(pk=unsigned.pk).update(order_signed_at=None)
    rows = {row.name: (row.count, row.median_minutes) for row in consultation_by_advisor(MARCH)}
    assert rows == {str(wang): (3, 8.0), str(li): (1, 12.0)}


def test_the_report_page_shows_both_sections(client, make_staff):
    advisor = make_staff("advisor")
    visit = _visit(advisor=advisor, signed_after=9)
    _moves(visit, (V.ORDER_SIGNED, 9))
    client.force_login(make_staff("service_manager"))
    page = client.get(reverse("reports:report") + "?period=month&date=2026-03-01")
    text = page.content.decode()
    assert page.status_code == 200
    assert "各状态停留时间" in text and "顾问接待时长" in text
    assert f'data-work-type="repair" data-status="{V.CHECKED_IN}"' in text
    assert "9 分钟" in text and "9.0" in text
