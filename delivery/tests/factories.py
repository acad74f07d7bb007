"""Visits walked to the start of delivery through the real services of steps 2–3.

The workshop's moves (dispatch … QC passed) are made with reception's
`visit_transition`, so these tests do not depend on the workshop app.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth.models import Group
from django.utils import timezone

from dealership.tests.factories import LabourOperationFactory, PartFactory, UserFactory
from delivery import services
from delivery.models import OldPartsHandling
from delivery.selectors import bill_for, order_in_force
from reception.services import visit_transition, visit_walkaround_sign
from reception.states import VisitStatus
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url
from workorders.models import LineKind
from workorders.services import (
    work_order_line_update,
    work_order_revise,
    work_order_sign,
    work_order_start,
    work_order_update,
)
from workshop.models import Job
from workshop.services import jobs_materialise
from workshop.states import JobStatus

S = VisitStatus
TO_QC = (S.DISPATCHED, S.IN_PROGRESS, S.WORK_DONE, S.QC_PASSED)


def staff(role: str, username: str | None = None):
    # A flush by an earlier live-server (transactional) test drops the groups the migration made.
    Group.objects.get_or_create(name=role)
    kwargs = {"roles": [role]}
    if username:
        kwargs["username"] = username
    return UserFactory(**kwargs)


def default_lines() -> list[dict]:
    """A brake job: pads (labour, with a care note) and the pads themselves (a part)."""
    operation = LabourOperationFactory(
        name_zh="更换前刹车片",
        name_en="Front brake pads replacement",
        price=Decimal("300.00"),
        standard_hours=Decimal("1.50"),
        care_note_zh="新刹车片需要磨合，前200公里请保持车距、避免急刹。",
        care_note_en="New pads bed in: keep your distance and avoid hard braking for 200 km.",
    )
    part = PartFactory(name_zh="前刹车片", name_en="Front brake pads", price=Decimal("700.00"))
    return [
        {"operation": operation, "job_type": "repair"},
        {"part": part, "quantity": "1", "job_type": "repair"},
    ]


def signed_visit(
    *,
    lines: list[dict] | None = None,
    keep_old_parts: bool = False,
    wash: bool = False,
    promised_in: timedelta = timedelta(hours=3),
    advisor=None,
):
    """A checked-in visit whose order is signed (revision 1). Returns (visit, order)."""
    advisor = advisor or staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="张三"
    )
    if any(line.get("job_type") == "warranty" for line in lines or ()):
        # Warranty work is on a car within its warranty: registered a year ago (issue 16.3).
        visit.vehicle.registration_date = timezone.localdate() - timedelta(days=365)
        visit.vehicle.save(update_fields=["registration_date"])
    order = work_order_start(visit=visit, actor=advisor, lines=lines or default_lines())
    work_order_update(
        order=order,
        actor=advisor,
        payment_method="cash",
        promised_at=timezone.now() + promised_in,
        promised_reason="客户要求",
    )
    work_order_sign(
        order=order,
        actor=advisor,
        signature=signature_data_url(),
        signer_name="张三",
        confirm_items=True,
        confirm_cost=True,
        confirm_time=True,
        keep_old_parts=keep_old_parts,
        wash=wash,
    )
    visit.refresh_from_db()
    order.refresh_from_db()
    return visit, order


def sign_revision(revision, actor):
    work_order_sign(
        order=revision,
        actor=actor,
        signature=signature_data_url(),
        signer_name="张三",
        confirm_items=True,
        confirm_cost=True,
        confirm_time=True,
        keep_old_parts=False,
        wash=False,
    )


def reprice_labour(order, actor, price: str):
    """A later revision, signed at the desk, where the labour line costs `price` (not an
    addition: the work the customer agreed to simply costs more)."""
    revision = work_order_revise(order=order, actor=actor, reason="实际工时调整")
    labour = revision.lines.get(kind="labour", is_additional=False)
    work_order_line_update(line=labour, actor=actor, unit_price=price)
    sign_revision(revision, actor)
    return revision


def finish_jobs(visit):
    """The workshop's side of `walk`: every labour line of the order in force has a
    finished job (the final check refuses labour that no finished job stands behind)."""

    jobs_materialise(visit_ids=[visit.pk])
    Job.objects.filter(visit=visit).exclude(status=JobStatus.CANCELLED).update(
        status=JobStatus.DONE, finished_at=timezone.now()
    )


def walk(visit, statuses, actor):
    for status in statuses:
        if status == S.WORK_DONE:
            finish_jobs(visit)
        visit_transition(visit=visit, to=status, actor=actor)
    return visit


def qc_passed_visit(**kwargs):
    visit, order = signed_visit(**kwargs)
    walk(visit, TO_QC, visit.advisor)
    return visit, order


def ready_visit(**kwargs):
    visit, order = qc_passed_visit(**kwargs)
    services.visit_mark_ready(visit=visit, actor=visit.advisor, wash_done=bool(order.wash))
    return visit, order


def record_final_check(visit, order, actor=None):
    has_parts = any(ln.kind == LineKind.PART for ln in order.lines.all())
    handling = (
        OldPartsHandling.NONE
        if not has_parts
        else OldPartsHandling.HANDED_OVER
        if order.keep_old_parts
        else OldPartsHandling.SHOWN_DISPOSED
    )

    in_force = order_in_force(visit)
    return services.final_check_record(
        visit=visit,
        actor=actor or visit.advisor,
        checked_line_ids=[line.pk for line in in_force.lines.all()],
        odometer_km=(visit.odometer_km or 0) + 3,
        exterior_matches=True,
        no_tools_left=True,
        settings_restored=True,
        belongings_present=True,
        old_parts_handling=handling,
    )


def checked_visit(**kwargs):
    visit, order = ready_visit(**kwargs)
    record_final_check(visit, order)
    return visit, order


def settled_visit(*, cashier=None, **kwargs):
    visit, order = checked_visit(**kwargs)
    cashier = cashier or staff("cashier")
    due = bill_for(visit).customer_total
    payments = [{"method": "cash", "amount": due}] if due else []
    settlement = services.settlement_create(visit=visit, actor=cashier, payments=payments)
    visit.refresh_from_db()
    return visit, order, settlement


def error_code(error) -> str | None:
    """The code of a DomainError, whether it names a field or not."""
    if hasattr(error, "error_dict"):
        return next(iter(error.error_dict.values()))[0].code
    return error.code


def handed_back(visit, *, cashier=None):
    """A settled visit's gate pass issued and the car handed back, every item ticked: the
    visit delivered, its follow-up calls planned, as at the desk."""
    services.gate_pass_issue(visit=visit, actor=cashier or staff("cashier"))
    return services.visit_hand_back(
        visit=visit,
        actor=visit.advisor,
        signature=signature_data_url(),
        signer_name="张三",
        belongings_returned=True,
        keys_returned=True,
        covers_removed=True,
    )
