"""Report figures that mean something, with their definitions a click away (issue 15, item 7).

Too few clocked hours show as "too little data" with the reason, not as 81 000 %; the QC
failure rate counts cars failed at QC in the period whether delivered or not.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from delivery.tests.factories import settled_visit, staff
from reports.figures import period_figures, technician_hours
from reports.periods import MONTH, Period
from workshop import services as workshop
from workshop.models import ClockEntry, Job
from workshop.states import SELF_CHECK_ITEMS
from workshop.tests.factories import make_signed_visit, make_technician

pytestmark = pytest.mark.django_db


def _month():
    return Period.containing(MONTH, timezone.localdate())


def _clock(tech, minutes):
    """`minutes` clocked by `tech` on a job, ending now."""
    visit = make_signed_visit(jobs=1)
    workshop.jobs_materialise(visit_ids=[visit.pk])
    job = Job.objects.get(visit=visit)
    now = timezone.now()
    ClockEntry.objects.create(
        job=job, technician=tech, started_at=now - timedelta(minutes=minutes), ended_at=now
    )


def _productivity_row(page: str) -> str:
    start = page.index('data-figure="productivity"')
    return page[start : page.index("</tr>", start)]


def test_too_few_clocked_hours_show_as_too_little_data_with_the_reason(client):
    settled_visit()  # 1.5 standard hours sold
    tech = make_technician()
    _clock(tech, 6)
    figures = period_figures(_month(), now=timezone.now())
    assert figures["productivity"] is None and "0.10" in figures["productivity_note"]
    (row,) = [r for r in technician_hours(_month()) if r["name"] == tech.name]
    assert row["productivity"] is None and row["productivity_note"]

    client.force_login(staff("service_manager"))
    page = client.get(reverse("reports:report")).content.decode()
    row_html = _productivity_row(page)
    assert "数据不足" in row_html and "0.10" in row_html and "%" not in row_html.split("</td>")[1]

    _clock(tech, 60)
    figures = period_figures(_month(), now=timezone.now())
    assert figures["productivity"] is not None and not figures["productivity_note"]


def test_a_car_failed_at_qc_counts_before_it_is_delivered(client):
    controller, inspector = staff("workshop_controller"), staff("qc_inspector")
    tech = make_technician()
    visit = make_signed_visit(jobs=1)
    workshop.jobs_materialise(visit_ids=[visit.pk])
    (job,) = workshop.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=None,
        actor=controller,
    )
    workshop.job_clock_on(job=job, actor=tech.user)
    workshop.job_clock_off(job=job, actor=tech.user, self_check=[k for k, _ in SELF_CHECK_ITEMS])
    workshop.qc_fail(visit=visit, actor=inspector, reason="制动异响", job_ids=[job.pk])
    figures = period_figures(_month(), now=timezone.now())
    assert figures["qc_failed"] == 1 and figures["qc_fail_rate"] == 100
    assert figures["rework_rate"] is None  # nothing delivered yet: rework counts at delivery

    client.force_login(staff("service_manager"))
    page = client.get(reverse("reports:report")).content.decode()
    start = page.index('data-figure="rework_rate"')
    row = page[start : page.index("</tr>", start)]
    assert '<details class="figure-definition" data-definition="rework">' in row
    assert "仍在车间的车辆交车后才计入" in row and 'id="definition-rework"' in page
    drill = client.get(reverse("reports:drill") + "?figure=qc_failed&period=month")
    assert visit.number in drill.content.decode()
