"""A car not repaired: declined lines kept, the diagnosis fee billed (or waived), the car out."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from pypdf import PdfReader

from dealership import tablet
from dealership.errors import DomainError
from dealership.rules import rule_set
from dealership.tests.factories import LabourOperationFactory
from delivery import services
from delivery.not_repaired import diagnosis_fee_waive, diagnosis_report, visit_not_repaired
from delivery.selectors import bill_for, order_in_force
from reception.models import DeclinedWork, NotRepairedReason, Visit
from reception.selectors import vehicle_history
from reception.services import visit_transition, visit_walkaround_sign
from reception.states import VisitStatus
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url
from workorders.models import LineKind
from workorders.services import work_order_start
from workorders.states import OrderStatus
from workshop.models import Job
from workshop.services import jobs_materialise

from .factories import default_lines, error_code, signed_visit, staff

pytestmark = pytest.mark.django_db
S = VisitStatus


@pytest.fixture
def fee():
    """The store's diagnosis fee: ¥200 (the seeded ZD-FEE is ¥150; the store set its own)."""
    LabourOperationFactory(
        code="DIAG-200", name_zh="故障诊断费", name_en="Diagnosis fee", price=Decimal("200.00")
    )
    rule_set("workorders.diagnosis_fee_operation", "DIAG-200")


def _draft_visit(advisor):
    """A checked-in, walked-around visit with the estimate on a draft (brake pads ¥300 + ¥700)."""
    visit = WalkedAroundVisitFactory(advisor=advisor)
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="张三"
    )
    work_order_start(visit=visit, actor=advisor, lines=default_lines())
    return visit


def _decline(visit, actor, reason=NotRepairedReason.DECLINED):
    return visit_not_repaired(
        visit=visit,
        actor=actor,
        reason=reason,
        findings="前刹车片剩余2毫米，建议更换。",
        signature=signature_data_url(),
        signer_name="张三",
    )


def test_a_declined_estimate_keeps_the_lines_and_bills_the_fee_only(fee):
    advisor = staff("advisor")
    visit = _draft_visit(advisor)

    moved = _decline(visit, advisor)

    assert moved.status == S.READY_FOR_PICKUP
    assert moved.not_repaired_reason == NotRepairedReason.DECLINED
    declined = DeclinedWork.objects.filter(vehicle=visit.vehicle).order_by("id")
    assert [(d.description, d.estimated_amount) for d in declined] == [
        ("更换前刹车片", Decimal("300.00")),
        ("前刹车片", Decimal("700.00")),
    ]
    order = order_in_force(moved)
    assert order.status == OrderStatus.SIGNED and order.signer_name == "张三"
    assert [(ln.kind, ln.code, ln.amount) for ln in order.lines.all()] == [
        (LineKind.FEE, "DIAG-200", Decimal("200.00"))
    ]
    report = diagnosis_report(moved)
    assert report.declined_total == Decimal("1000.00")  # 300 + 700, kept for the next visit
    assert report.fee_total == Decimal("200.00")
    # The next check-in of this car shows what was declined, with the estimate.
    shown = vehicle_history(visit.vehicle).declined
    assert sorted((d.description, d.estimated_amount) for d in shown) == [
        ("前刹车片", Decimal("700.00")),
        ("更换前刹车片", Decimal("300.00")),
    ]
    # Nothing for the workshop: a fee line never becomes a job.
    jobs_materialise(visit_ids=[visit.pk])
    assert not Job.objects.filter(visit=visit).exists()


def test_the_fee_is_settled_without_a_final_check_then_gate_pass_and_hand_back(fee):
    advisor, cashier = staff("advisor"), staff("cashier")
    visit = _draft_visit(advisor)
    _decline(visit, advisor, NotRepairedReason.DIAGNOSIS_ONLY)

    bill = bill_for(visit)
    assert bill.customer_total == Decimal("200.00")
    settlement = services.settlement_create(
        visit=visit, actor=cashier, payments=[{"method": "wechat", "amount": "200.00"}]
    )
    assert settlement.paid_total == Decimal("200.00")
    assert [(ln.kind, ln.amount) for ln in settlement.lines.all()] == [
        (LineKind.FEE, Decimal("200.00"))
    ]
    services.gate_pass_issue(visit=visit, actor=cashier)
    delivered = services.visit_hand_back(
        visit=visit,
        actor=advisor,
        signature=signature_data_url(),
        signer_name="张三",
        belongings_returned=True,
        keys_returned=True,
        covers_removed=True,
        returned_belongings=list(visit.belongings.values_list("pk", flat=True)),
        registration_returned=True,
        service_book_returned=True,
    )
    assert delivered.status == S.DELIVERED
    assert delivered.delivery.keys_returned and delivered.delivery.handback_signer == "张三"


def test_the_manager_waives_the_fee_with_a_reason_and_the_bill_is_zero(fee):
    advisor, manager = staff("advisor"), staff("service_manager")
    visit = _draft_visit(advisor)
    _decline(visit, advisor)

    with pytest.raises(DomainError) as refused:
        diagnosis_fee_waive(visit=visit, actor=staff("cashier"), reason="老客户")
    assert error_code(refused.value) in ("adjustment_limit", "discount_limit")
    with pytest.raises(DomainError):
        diagnosis_fee_waive(visit=visit, actor=manager, reason="  ")

    settlement = diagnosis_fee_waive(visit=visit, actor=manager, reason="老客户，免诊断费")

    assert settlement.customer_total == Decimal("200.00")  # the fee line stays on the bill
    assert settlement.adjustment_amount == Decimal("-200.00")  # 200 waived
    assert settlement.amount_due == Decimal("0.00")  # 200 - 200
    assert settlement.paid_total == Decimal("0.00")
    assert settlement.adjustment_reason.endswith("老客户，免诊断费")
    assert Visit.objects.get(pk=visit.pk).status == S.SETTLED


def test_a_signed_order_not_yet_started_is_revised_to_the_fee(fee):
    visit, order = signed_visit()
    jobs_materialise(visit_ids=[visit.pk])

    moved = _decline(visit, visit.advisor)

    order.refresh_from_db()
    assert order.status == OrderStatus.SUPERSEDED
    in_force = order_in_force(moved)
    assert in_force.revision == 2
    assert [ln.amount for ln in in_force.lines.all()] == [Decimal("200.00")]
    assert moved.status == S.READY_FOR_PICKUP
    # The jobs waiting for dispatch are withdrawn: the board's card shows no work to do.
    assert set(Job.objects.filter(visit=visit).values_list("status", flat=True)) == {"cancelled"}


def test_declining_is_refused_once_work_started_or_after_settling(fee):
    visit, _order = signed_visit()
    jobs_materialise(visit_ids=[visit.pk])
    Job.objects.filter(visit=visit).update(started_at=visit.checked_in_at)
    before = Visit.objects.get(pk=visit.pk)

    with pytest.raises(DomainError) as refused:
        _decline(visit, visit.advisor)

    assert error_code(refused.value) == "work_started"
    after = Visit.objects.get(pk=visit.pk)
    assert (after.status, after.version, after.not_repaired_reason) == (
        before.status,
        before.version,
        "",
    )
    assert not DeclinedWork.objects.filter(visit=visit).exists()

    cancelled = _draft_visit(staff("advisor"))
    visit_transition(visit=cancelled, to=S.CANCELLED, actor=cancelled.advisor, reason="走了")
    with pytest.raises(DomainError) as refused:
        _decline(cancelled, cancelled.advisor)
    assert error_code(refused.value) == "not_declinable"


def test_bad_input_changes_nothing(fee):
    advisor = staff("advisor")
    visit = _draft_visit(advisor)
    with pytest.raises(DomainError) as refused:
        visit_not_repaired(
            visit=visit,
            actor=advisor,
            reason="bored",
            findings="x",
            signature=signature_data_url(),
            signer_name="张三",
        )
    assert refused.value.error_dict.keys() == {"reason"}
    with pytest.raises(DomainError) as refused:
        visit_not_repaired(
            visit=visit,
            actor=advisor,
            reason=NotRepairedReason.DECLINED,
            findings="x",
            signature=signature_data_url(),
            signer_name="",
        )
    assert "signer_name" in refused.value.error_dict
    stored = Visit.objects.get(pk=visit.pk)
    assert stored.status == S.CHECKED_IN and not stored.not_repaired_reason
    assert not DeclinedWork.objects.filter(visit=visit).exists()
    assert order_in_force(stored) is None


def test_only_a_not_repaired_visit_skips_the_workshop(fee):
    visit, _order = signed_visit()
    with pytest.raises(DomainError) as refused:
        visit_transition(visit=visit, to=S.READY_FOR_PICKUP, actor=visit.advisor)
    assert error_code(refused.value) == "transition_not_allowed"
    assert Visit.objects.get(pk=visit.pk).status == S.ORDER_SIGNED


# ---------------------------------------------------------------------------- pages


def _pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_advisor_declines_on_the_tablet_and_prints_the_report(client, fee, tmp_path):
    advisor = staff("advisor")
    visit = _draft_visit(advisor)
    client.force_login(advisor)
    url = reverse("delivery:not_repaired", args=[visit.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Front brake pads replacement" in page and "¥300.00" in page

    refused = client.post(url, {"reason": "declined", "findings": "", "signer_name": "张三"})
    assert refused.status_code == 400
    assert Visit.objects.get(pk=visit.pk).status == S.CHECKED_IN

    done = client.post(
        url,
        {
            "reason": "declined",
            "findings": "前刹车片剩余2毫米，建议更换。",
            "signer_name": "张三",
            "signature": signature_data_url(),
        },
    )
    assert done.status_code == 302 and done["Location"] == reverse("tablet_locked")
    assert Visit.objects.get(pk=visit.pk).status == S.READY_FOR_PICKUP
    session = client.session  # the customer gives the tablet back
    del session[tablet.SESSION_KEY]
    session.save()

    response = client.get(reverse("delivery:diagnosis_report_pdf", args=[visit.pk]))
    assert response["Content-Type"] == "application/pdf"
    (tmp_path / "report.pdf").write_bytes(response.content)
    text = _pdf_text(response.content)
    for expected in (
        visit.number,
        "前刹车片剩余2毫米",
        "更换前刹车片",
        "300.00",
        "700.00",
        "1000.00",
    ):
        assert expected in text, expected
    assert "200.00" in text  # the fee
    assert str(advisor) in text


def test_the_pages_refuse_the_wrong_roles(client, fee):
    advisor = staff("advisor")
    visit = _draft_visit(advisor)
    client.force_login(staff("cashier"))
    assert client.get(reverse("delivery:not_repaired", args=[visit.pk])).status_code == 403
    client.force_login(staff("workshop_controller"))
    pdf_url = reverse("delivery:diagnosis_report_pdf", args=[visit.pk])
    assert client.get(pdf_url).status_code == 403
    client.force_login(advisor)
    waive = client.post(reverse("delivery:waive_fee", args=[visit.pk]), {"reason": "x"})
    assert waive.status_code == 403


def test_the_manager_waives_the_fee_on_the_visit_page(client, fee):
    advisor, manager = staff("advisor"), staff("service_manager")
    visit = _draft_visit(advisor)
    _decline(visit, advisor)
    client.force_login(manager)
    page = client.get(reverse("delivery:visit", args=[visit.pk])).content.decode()
    assert 'id="waive-fee-form"' in page
    assert "final check comes before" not in page
    assert 'id="final-check-form"' not in page  # nobody worked on the car: nothing to check

    response = client.post(reverse("delivery:waive_fee", args=[visit.pk]), {"reason": "老客户"})

    assert response.status_code == 302
    settlement = Visit.objects.get(pk=visit.pk).settlements.get()
    assert (settlement.amount_due, settlement.adjustment_amount) == (
        Decimal("0.00"),
        Decimal("-200.00"),  # 200 waived
    )


def test_the_reception_and_work_order_pages_offer_the_exit_to_the_advisor_only(client, fee):
    advisor = staff("advisor")
    visit = _draft_visit(advisor)
    order = visit.work_orders.get()
    link = reverse("delivery:not_repaired", args=[visit.pk])
    client.force_login(advisor)
    assert link in client.get(reverse("reception:visit", args=[visit.pk])).content.decode()
    assert link in client.get(reverse("workorders:order", args=[order.pk])).content.decode()
    client.force_login(staff("workshop_controller"))
    assert link not in client.get(reverse("reception:visit", args=[visit.pk])).content.decode()
