"""The QC failure reason reaches the technician who redoes the job (issue 15, item 3)."""

import pytest
from django.urls import reverse

from workshop import services
from workshop.models import Job
from workshop.states import QC_ITEMS, SELF_CHECK_ITEMS

from .factories import make_signed_visit

pytestmark = pytest.mark.django_db

REASON = "路试时制动仍有轻微异响，请重新检查制动片安装"
ALL_CHECKS = [key for key, _label in SELF_CHECK_ITEMS]


def _finish(job, tech):
    services.job_clock_on(job=job, actor=tech.user)
    services.job_clock_off(job=Job.objects.get(pk=job.pk), actor=tech.user, self_check=ALL_CHECKS)


def test_the_rework_reason_shows_on_my_jobs_and_the_board_until_the_rework_passes(
    client, controller, tech, bay, inspector
):
    visit = make_signed_visit(jobs=1)
    services.jobs_materialise(visit_ids=[visit.pk])
    (job,) = services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    _finish(job, tech)
    client.force_login(tech.user)
    assert "rework-reason" not in client.get(reverse("workshop:my_jobs")).content.decode()

    services.qc_fail(visit=visit, actor=inspector, reason=REASON, job_ids=[job.pk])
    page = client.get(reverse("workshop:my_jobs")).content.decode()
    assert f'id="rework-reason-{job.pk}"' in page and REASON in page
    services.job_clock_on(job=Job.objects.get(pk=job.pk), actor=tech.user)
    assert REASON in client.get(reverse("workshop:my_jobs")).content.decode()
    client.force_login(controller)
    assert REASON in client.get(reverse("workshop:board")).content.decode()

    services.job_clock_off(job=Job.objects.get(pk=job.pk), actor=tech.user, self_check=ALL_CHECKS)
    services.qc_pass(visit=visit, actor=inspector, checked=[k for k, _l in QC_ITEMS])
    client.force_login(tech.user)
    page = client.get(reverse("workshop:my_jobs")).content.decode()
    assert f'id="job-{job.pk}"' in page and REASON not in page
