"""Nothing billed that was not done (issue 15, item 1).

A hand-typed labour line is work for the workshop: it becomes a job on the board and on
the technician's list, is clocked and passed by QC, and the final check refuses it until
its job is finished. Lines that are not workshop work say what they are (fee, sublet,
consumables) and are billed without a job.
"""

from decimal import Decimal

import pytest
from django.urls import reverse

from dealership.errors import DomainError
from delivery.models import Delivery, SettlementLine
from delivery.tests.factories import (
    default_lines,
    record_final_check,
    signed_visit,
    staff,
)
from workorders.selectors import order_in_force
from workorders.services import work_order_revise
from workshop import services as workshop
from workshop.models import Job
from workshop.states import QC_ITEMS, SELF_CHECK_ITEMS, JobStatus
from workshop.tests.factories import make_technician

pytestmark = pytest.mark.django_db

OZONE = {
    "kind": "labour",
    "name": "车内臭氧消毒",
    "manual_reason": "目录中没有",
    "hours": "0.3",
    "unit_price": "80",
    "job_type": "repair",
}
DIAGNOSIS_FEE = {
    "kind": "fee",
    "name": "电脑诊断费",
    "manual_reason": "客户要求单独检测",
    "unit_price": "50",
    "job_type": "repair",
}


def _dispatch_all(visit, tech):
    workshop.jobs_materialise(visit_ids=[visit.pk])
    return workshop.jobs_dispatch(
        visit=visit,
        job_ids=list(Job.objects.filter(visit=visit).values_list("pk", flat=True)),
        technician=tech,
        bay=None,
        actor=staff("workshop_controller"),
    )


def _finish_and_pass(visit, jobs, tech):
    for job in jobs:
        workshop.job_clock_on(job=job, actor=tech.user)
        workshop.job_clock_off(
            job=job, actor=tech.user, self_check=[k for k, _l in SELF_CHECK_ITEMS]
        )
    workshop.qc_pass(visit=visit, actor=staff("qc_inspector"), checked=[k for k, _l in QC_ITEMS])
    visit.refresh_from_db()


def test_a_hand_typed_labour_line_is_a_job_on_the_board_and_the_technicians_list(client):
    visit, _order = signed_visit(lines=[*default_lines(), OZONE])
    client.force_login(staff("workshop_controller"))
    assert "车内臭氧消毒" in client.get(reverse("workshop:board")).content.decode()

    tech = make_technician()
    jobs = _dispatch_all(visit, tech)
    ozone = next(job for job in jobs if job.name_zh == "车内臭氧消毒")
    assert ozone.hours == Decimal("0.30")
    client.force_login(tech.user)
    assert "车内臭氧消毒" in client.get(reverse("workshop:my_jobs")).content.decode()

    _finish_and_pass(visit, jobs, tech)
    assert Job.objects.get(pk=ozone.pk).status == JobStatus.DONE
    assert record_final_check(visit, order_in_force(visit)).final_check_done


def test_the_final_check_refuses_labour_that_no_finished_job_stands_behind():
    visit, order = signed_visit()
    tech = make_technician()
    _finish_and_pass(visit, _dispatch_all(visit, tech), tech)
    # The customer agrees by phone to one more hand-typed job after QC.
    work_order_revise(
        order=order,
        actor=visit.advisor,
        reason="客户要求加做臭氧消毒",
        add_lines=[OZONE],
        signed_via="phone",
        approval_note="客户电话同意",
    )
    with pytest.raises(DomainError, match="车内臭氧消毒") as refused:
        record_final_check(visit, order_in_force(visit))
    assert refused.value.error_dict["lines"][0].code == "workshop_not_done"
    assert not Delivery.objects.filter(visit=visit, final_check_at__isnull=False).exists()


def test_a_fee_is_billed_under_its_own_kind_without_a_job():
    visit, _order = signed_visit(lines=[*default_lines(), DIAGNOSIS_FEE])
    tech = make_technician()
    jobs = _dispatch_all(visit, tech)
    assert [job.name_zh for job in jobs] == ["更换前刹车片"]
    _finish_and_pass(visit, jobs, tech)
    assert record_final_check(visit, order_in_force(visit)).final_check_done

    from delivery import services as delivery
    from delivery.selectors import bill_for

    delivery.visit_mark_ready(visit=visit, actor=visit.advisor)
    due = bill_for(visit).customer_total
    assert due == 300 + 700 + 50
    settlement = delivery.settlement_create(
        visit=visit, actor=staff("cashier"), payments=[{"method": "cash", "amount": due}]
    )
    kinds = set(SettlementLine.objects.filter(settlement=settlement).values_list("kind", flat=True))
    assert kinds == {"labour", "part", "fee"}
