"""QC: the inspector's re-check passes only with every item ticked; a fail sends jobs back as
rework, counted on the visit, and the car comes back for another check."""

import pytest
from django.urls import reverse

from dealership.errors import DomainError
from dealership.models import DueTask, Technician
from reception.models import Visit, VisitTransition
from reception.states import VisitStatus
from workshop import duties, services
from workshop.models import Job, QualityCheck
from workshop.states import QC_ITEMS, SELF_CHECK_ITEMS, JobStatus

from .factories import make_signed_visit, make_technician, refusal_code

pytestmark = pytest.mark.django_db

J = JobStatus
V = VisitStatus
ALL_CHECKS = [key for key, _label in SELF_CHECK_ITEMS]
ALL_QC = [key for key, _label in QC_ITEMS]


def _work_done(controller, tech, bay, *, work_type="repair", jobs=2):
    visit = make_signed_visit(jobs=jobs, work_type=work_type)
    services.jobs_materialise(visit_ids=[visit.pk])
    done = services.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=bay,
        actor=controller,
    )
    for job in done:
        services.job_clock_on(job=job, actor=tech.user)
        services.job_clock_off(job=job, actor=tech.user, self_check=ALL_CHECKS)
    visit.refresh_from_db()
    assert visit.status == V.WORK_DONE
    return visit


def test_qc_pass_with_every_item_ticked_moves_the_car_to_qc_passed(
    controller, tech, bay, inspector
):
    visit = _work_done(controller, tech, bay)
    check = services.qc_pass(visit=visit, actor=inspector, checked=ALL_QC)
    visit.refresh_from_db()
    assert visit.status == V.QC_PASSED and visit.qc_passed_at
    assert check.passed and check.road_test_needed and all(check.checklist.values())
    pending = DueTask.objects.filter(kind__in=[duties.PROGRESS_CHECK, duties.PROMISE_CHECK])
    assert not pending.filter(state="pending").exists()


@pytest.mark.parametrize("left_out", ALL_QC)
def test_qc_pass_with_an_item_unchecked_is_refused_and_changes_nothing(
    left_out, controller, tech, bay, inspector
):
    visit = _work_done(controller, tech, bay)
    with pytest.raises(DomainError) as refused:
        services.qc_pass(visit=visit, actor=inspector, checked=[k for k in ALL_QC if k != left_out])
    assert refusal_code(refused.value) == "checklist_incomplete"
    assert Visit.objects.get(pk=visit.pk).status == V.WORK_DONE
    assert not QualityCheck.objects.exists()


def test_maintenance_only_needs_no_road_test(controller, tech, bay, inspector):
    visit = _work_done(controller, tech, bay, work_type="maintenance")
    check = services.qc_pass(
        visit=visit, actor=inspector, checked=[k for k in ALL_QC if k != "road_test"]
    )
    assert check.passed and not check.road_test_needed


def test_qc_fail_sends_the_jobs_back_as_rework_counted_on_the_visit(
    controller, tech, bay, inspector
):
    visit = _work_done(controller, tech, bay)
    first, second = Job.objects.filter(visit=visit).order_by("position")
    with pytest.raises(DomainError):
        services.qc_fail(visit=visit, actor=inspector, reason="")
    check = services.qc_fail(
        visit=visit, actor=inspector, reason="左前轮螺栓未按扭矩拧紧", job_ids=[first.pk]
    )
    visit.refresh_from_db()
    assert visit.status == V.REWORK and visit.rework_count == 1
    assert list(VisitTransition.objects.filter(visit=visit).values_list("to_status", flat=True))[
        -2:
    ] == [V.QC_FAILED, V.REWORK]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.rework_count, first.technician) == (J.DISPATCHED, 1, tech)
    assert first.self_checked_at is None
    assert second.status == J.DONE
    assert list(check.rework_jobs.all()) == [first]

    # Back to the technician, redone, re-inspected, passed.
    services.job_clock_on(job=first, actor=tech.user)
    assert Visit.objects.get(pk=visit.pk).status == V.IN_PROGRESS
    services.job_clock_off(job=first, actor=tech.user, self_check=ALL_CHECKS)
    assert Visit.objects.get(pk=visit.pk).status == V.WORK_DONE
    services.qc_pass(visit=visit, actor=inspector, checked=ALL_QC)
    visit.refresh_from_db()
    assert visit.status == V.QC_PASSED and visit.rework_count == 1


def test_a_rework_job_goes_only_to_its_technician(controller, tech, bay, inspector):
    visit = _work_done(controller, tech, bay, jobs=1)
    services.qc_fail(visit=visit, actor=inspector, reason="异响仍在")
    job = Job.objects.get(visit=visit)
    with pytest.raises(DomainError):
        services.job_clock_on(job=job, actor=make_technician().user)


@pytest.mark.parametrize(
    "status",
    [s for s in V if s != V.WORK_DONE],
    ids=str,
)
def test_qc_is_refused_unless_the_work_is_done(status, inspector):
    visit = make_signed_visit(jobs=1, status=status)
    with pytest.raises(DomainError):
        services.qc_pass(visit=visit, actor=inspector, checked=ALL_QC)
    with pytest.raises(DomainError):
        services.qc_fail(visit=visit, actor=inspector, reason="x")
    assert Visit.objects.get(pk=visit.pk).status == status
    assert not QualityCheck.objects.exists()


def test_a_second_inspector_is_told_the_car_was_already_checked(
    controller, tech, bay, inspector, make_staff
):
    visit = _work_done(controller, tech, bay)
    services.qc_pass(visit=visit, actor=inspector, checked=ALL_QC)
    with pytest.raises(DomainError) as refused:
        services.qc_fail(visit=visit, actor=make_staff("qc_inspector"), reason="x")
    assert refusal_code(refused.value) == "already_checked"
    assert str(inspector) in refused.value.messages[0]


def _qc_row(page: str, visit) -> str:
    """The QC list's row of `visit` (up to its inspect link), "" when it is not listed."""
    link = reverse("workshop:qc_inspect", args=[visit.pk])
    if link not in page:
        return ""
    return page.split(link)[0].rsplit("<tr>", 1)[1]


def test_the_qc_list_shows_each_change_at_once_in_the_readers_language(
    client, controller, tech, bay, inspector
):
    """The lists' HTML is kept under a digest of what they show (workshop/_qc_lists.html)."""
    visit = _work_done(controller, tech, bay, jobs=1)
    job = Job.objects.get(visit=visit)
    url = reverse("workshop:qc")
    client.force_login(inspector)
    row = _qc_row(client.get(url).content.decode(), visit)
    assert visit.vehicle.plate in row and job.name_zh in row and f"({tech.name})" in row
    assert "Rework" not in row and "返工" not in row

    Technician.objects.filter(pk=tech.pk).update(name="新来的师傅")
    Job.objects.filter(pk=job.pk).update(name_en="Brake <pads>")
    row = _qc_row(client.get(url).content.decode(), visit)
    assert "(新来的师傅)" in row and job.name_zh in row and "Brake" not in row
    client.cookies["django_language"] = "en"
    page = client.get(url).content.decode()
    assert "Waiting for inspection" in page
    assert "Brake &lt;pads&gt;" in _qc_row(page, visit)

    Job.objects.filter(pk=job.pk).update(technician=None)
    assert "(—)" in _qc_row(client.get(url).content.decode(), visit)

    services.qc_fail(visit=visit, actor=inspector, reason="左前轮螺栓未按扭矩拧紧")
    page = client.get(url).content.decode()
    assert not _qc_row(page, visit) and "No car waiting for inspection." in page
    recent = page.split("Recent inspections")[1]
    assert visit.vehicle.plate in recent and "Failed" in recent
    assert f"{inspector}:" in recent and "左前轮螺栓未按扭矩拧紧" in recent
