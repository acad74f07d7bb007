"""Warranty per brand, warranty lines needing the claims clerk, and their claims (issue 16.3)."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from dealership.daterange import add_months
from dealership.rules import rule, rule_set
from dealership.tests.factories import PartFactory, VehicleFactory
from dealership.warranty import Coverage, warranty_status, warranty_terms_parse
from delivery.selectors import bill_for
from delivery.tests.factories import settled_visit, signed_visit, staff
from reception.services import visit_walkaround_sign
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url
from workorders import claims
from workorders.models import Payer, WarrantyClaim, WorkOrderLine
from workorders.services import (
    work_order_revise,
    work_order_sign,
    work_order_start,
    work_order_update,
)
from workorders.states import ClaimStatus, OrderStatus

pytestmark = pytest.mark.django_db
D = Decimal
PART_PRICE = D("500.00")


def _warranty_lines():
    return [{"part": PartFactory(price=PART_PRICE), "job_type": "warranty"}]


def _draft_on(vehicle_dates: dict):
    """A walked-around visit of a car with `vehicle_dates`, its draft order with one warranty
    part of ¥500.00, ready to sign."""
    advisor = staff("advisor")
    vehicle = VehicleFactory(**vehicle_dates)
    visit = WalkedAroundVisitFactory(advisor=advisor, vehicle=vehicle, customer=vehicle.owner)
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="张三"
    )
    order = work_order_start(visit=visit, actor=advisor, lines=_warranty_lines())
    work_order_update(
        order=order,
        actor=advisor,
        payment_method="cash",
        promised_at=timezone.now() + timedelta(hours=3),
        promised_reason="客户要求",
    )
    return advisor, order


def _sign(order, advisor):
    order.refresh_from_db()
    return work_order_sign(
        order=order,
        actor=advisor,
        signature=signature_data_url(),
        signer_name="张三",
        confirm_items=True,
        confirm_cost=True,
        confirm_time=True,
        keep_old_parts=False,
        wash=False,
    )


def _submitted_claim(clerk) -> WarrantyClaim:
    visit, order = signed_visit(lines=_warranty_lines())
    claim = WarrantyClaim.objects.get(line__order=order)
    return claims.claim_submit(claim=claim, actor=clerk, number="FAW-2026-0001")


def _unchanged(claim: WarrantyClaim) -> tuple:
    fresh = WarrantyClaim.objects.get(pk=claim.pk)
    return fresh.status, fresh.approved_amount, fresh.rejection_reason, fresh.version


# ---------------------------------------------------------------- the warranty per brand


def test_warranty_runs_from_the_handover_date_by_the_brands_months_and_km():
    rule_set("vehicles.warranty_terms", "丰田=36/100000; 大众=24/60000; *=12/30000")
    toyota = VehicleFactory(brand="丰田", handover_date=date(2024, 1, 31))
    status = warranty_status(toyota, km=99_000, on=date(2027, 1, 30))
    assert status.coverage == Coverage.WITHIN
    assert status.ends_on == date(2027, 1, 31)  # 2024-01-31 + 36 months
    assert status.term.km == 100_000
    # The end date itself is outside; so is one km over the limit.
    assert warranty_status(toyota, km=99_000, on=date(2027, 1, 31)).coverage == Coverage.OUTSIDE
    assert warranty_status(toyota, km=100_001, on=date(2025, 1, 1)).coverage == Coverage.OUTSIDE


def test_another_brand_gets_the_default_and_the_registration_date_stands_in():
    rule_set("vehicles.warranty_terms", "丰田=36/100000; 大众=24/60000; *=12/30000")
    vw = VehicleFactory(brand="大众", registration_date=date(2025, 8, 31))
    assert warranty_status(vw, km=1000, on=date(2026, 1, 1)).ends_on == date(2027, 8, 31)  # +24
    other = VehicleFactory(brand="比亚迪", registration_date=date(2025, 8, 31))
    assert warranty_status(other, km=1000, on=date(2026, 1, 1)).ends_on == date(2026, 8, 31)


def test_a_car_without_a_sale_date_is_unknown_not_within():
    status = warranty_status(VehicleFactory(), km=10, on=date(2026, 1, 1))
    assert status.coverage == Coverage.UNKNOWN and status.needs_approval


@pytest.mark.parametrize(
    "text", ["丰田=36/100000", "*=36", "*=abc/100", "*=0/1000", "x" * 501, "*=36/100000;丰田"]
)
def test_warranty_terms_the_rule_cannot_read_are_refused(text):
    with pytest.raises(ValidationError):
        warranty_terms_parse(text)


def test_the_manager_cannot_save_unreadable_warranty_terms(client):
    client.force_login(staff("service_manager"))
    response = client.post(
        reverse("store_rules"), {"key": "vehicles.warranty_terms", "value": "丰田 three years"}
    )
    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()
    assert rule("vehicles.warranty_terms") == "丰田=36/100000; *=36/100000"  # unchanged


# ---------------------------------------------------------------- the clerk's go-ahead


def test_a_warranty_line_on_a_car_of_unknown_warranty_cannot_be_signed_unapproved():
    advisor, order = _draft_on({})
    line = order.lines.get()
    with pytest.raises(ValidationError) as refused:
        _sign(order, advisor)
    (error,) = refused.value.error_dict[f"line-{line.pk}"]  # by the line
    assert error.code == "warranty_unapproved"
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT and not WarrantyClaim.objects.exists()


def test_the_clerks_approval_lets_the_order_be_signed_and_opens_a_draft_claim():
    advisor, order = _draft_on({"registration_date": date(2019, 5, 1)})  # long out of warranty
    line = order.lines.get()
    claims.warranty_line_approve(line=line, actor=staff("claims_clerk"))
    signed = _sign(order, advisor)
    assert signed.status == OrderStatus.SIGNED
    claim = WarrantyClaim.objects.get(line=line)
    assert claim.status == ClaimStatus.DRAFT
    # The manufacturer's share is the line's ¥500.00; the customer's estimate is zero.
    assert signed.estimate_total == D("0.00")


def test_a_car_within_warranty_signs_without_the_clerk():
    advisor, order = _draft_on({"handover_date": timezone.localdate() - timedelta(days=200)})
    assert _sign(order, advisor).status == OrderStatus.SIGNED
    assert WarrantyClaim.objects.get().line.payer == Payer.MANUFACTURER


def test_only_the_clerk_or_the_manager_approves_a_line():
    _advisor, order = _draft_on({})
    with pytest.raises(ValidationError):
        claims.warranty_line_approve(line=order.lines.get(), actor=staff("advisor"))
    assert order.lines.get().warranty_approved_at is None
    claims.warranty_line_approve(line=order.lines.get(), actor=staff("service_manager"))
    assert order.lines.get().warranty_approved_at is not None


# ---------------------------------------------------------------- the claim's life


def test_submitting_needs_the_manufacturers_number_within_bounds():
    clerk = staff("claims_clerk")
    _visit, order = signed_visit(lines=_warranty_lines())
    claim = WarrantyClaim.objects.get(line__order=order)
    for number in ("", " ", "N" * 41):
        with pytest.raises(ValidationError):
            claims.claim_submit(claim=claim, actor=clerk, number=number)
        assert _unchanged(claim)[0] == ClaimStatus.DRAFT
    submitted = claims.claim_submit(claim=claim, actor=clerk, number=" FAW-1 ")
    assert (submitted.status, submitted.number) == (ClaimStatus.SUBMITTED, "FAW-1")


def test_approving_more_than_the_line_is_refused_and_changes_nothing():
    clerk = staff("claims_clerk")
    claim = _submitted_claim(clerk)
    before = _unchanged(claim)
    with pytest.raises(ValidationError) as refused:
        claims.claim_approve(claim=claim, actor=clerk, amount="500.01")  # the line is 500.00
    assert "approved_amount" in refused.value.error_dict
    assert _unchanged(claim) == before
    approved = claims.claim_approve(claim=claim, actor=clerk, amount="455.50")
    assert (approved.status, approved.approved_amount) == (ClaimStatus.APPROVED, D("455.50"))


def test_a_claim_does_not_move_backwards_nor_get_a_second_answer():
    clerk = staff("claims_clerk")
    claim = _submitted_claim(clerk)
    claims.claim_reject(claim=claim, actor=clerk, reason="非质量问题", payer=Payer.STORE)
    before = _unchanged(claim)
    attempts = [
        lambda: claims.claim_submit(claim=claim, actor=clerk, number="AGAIN"),
        lambda: claims.claim_reject(claim=claim, actor=clerk, reason="再次", payer=Payer.CUSTOMER),
        lambda: claims.claim_approve(claim=claim, actor=clerk, amount="100.00"),
    ]
    for attempt in attempts:
        with pytest.raises(ValidationError):
            attempt()
        assert _unchanged(claim) == before


def test_a_rejected_claim_bills_the_line_to_the_customer_before_settlement():
    clerk = staff("claims_clerk")
    claim = _submitted_claim(clerk)
    visit = claim.line.order.visit
    assert bill_for(visit).customer_total == D("0.00")  # all the manufacturer's
    rejected = claims.claim_reject(
        claim=claim, actor=clerk, reason="人为损坏", payer=Payer.CUSTOMER
    )
    assert (rejected.rejection_reason, rejected.decided_by) == ("人为损坏", clerk)
    assert rejected.decided_at is not None and not rejected.rejected_after_settlement
    bill = bill_for(visit)
    assert bill.customer_total == D("500.00")  # the ¥500.00 part moved to the customer
    assert bill.by_payer.get(Payer.MANUFACTURER, D("0")) == D("0")


def test_a_rejection_reason_and_payer_are_required():
    clerk = staff("claims_clerk")
    claim = _submitted_claim(clerk)
    for reason, payer in (("", Payer.CUSTOMER), ("x", Payer.INSURER), ("x" * 201, Payer.STORE)):
        with pytest.raises(ValidationError):
            claims.claim_reject(claim=claim, actor=clerk, reason=reason, payer=payer)
    assert _unchanged(claim)[0] == ClaimStatus.SUBMITTED


def test_a_rejection_after_settlement_is_recorded_without_re_billing():
    clerk = staff("claims_clerk")
    visit, order, settlement = settled_visit(lines=_warranty_lines())
    claim = WarrantyClaim.objects.get(line__order=order)
    claims.claim_submit(claim=claim, actor=clerk, number="FAW-9")
    rejected = claims.claim_reject(claim=claim, actor=clerk, reason="超期", payer=Payer.STORE)
    assert rejected.rejected_after_settlement
    assert WorkOrderLine.objects.get(pk=claim.line_id).payer == Payer.MANUFACTURER
    assert settlement.manufacturer_total == D("500.00")  # the bill as it was settled


# ---------------------------------------------------------------- the clerk's pages


def test_the_clerk_works_a_claim_through_the_pages(client):
    clerk = staff("claims_clerk")
    _visit, order = signed_visit(lines=_warranty_lines())
    claim = WarrantyClaim.objects.get(line__order=order)
    client.force_login(clerk)
    listed = client.get(reverse("claims:list"), {"status": "draft"})
    assert listed.status_code == 200 and claim.get_absolute_url() in listed.content.decode()
    page = client.get(claim.get_absolute_url())
    assert page.status_code == 200 and "¥500.00" in page.content.decode()
    response = client.post(
        reverse("claims:submit", args=[claim.pk]), {"number": "FAW-77", "version": 1}
    )
    assert response.status_code == 302
    too_much = client.post(
        reverse("claims:approve", args=[claim.pk]), {"approved_amount": "600", "version": 2}
    )
    assert too_much.status_code == 400
    assert "field-error" in too_much.content.decode()
    assert WarrantyClaim.objects.get(pk=claim.pk).status == ClaimStatus.SUBMITTED
    client.post(
        reverse("claims:approve", args=[claim.pk]), {"approved_amount": "480", "version": 2}
    )
    assert WarrantyClaim.objects.get(pk=claim.pk).approved_amount == D("480.00")


def test_the_clerk_approves_a_waiting_line_from_the_list(client):
    _advisor, order = _draft_on({})
    line = order.lines.get()
    client.force_login(staff("claims_clerk"))
    assert f"waiting-{line.pk}" in client.get(reverse("claims:list")).content.decode()
    client.post(reverse("claims:line_approve", args=[line.pk]))
    assert WorkOrderLine.objects.get(pk=line.pk).warranty_approved_at is not None


@pytest.mark.parametrize("role", ["advisor", "cashier", "technician", "customer_care"])
def test_other_roles_may_not_use_the_claims_pages(client, role):
    _visit, order = signed_visit(lines=_warranty_lines())
    claim = WarrantyClaim.objects.get(line__order=order)
    client.force_login(staff(role))
    assert client.get(reverse("claims:list")).status_code == 403
    assert client.get(claim.get_absolute_url()).status_code == 403
    response = client.post(
        reverse("claims:approve", args=[claim.pk]), {"approved_amount": "1", "version": 1}
    )
    assert response.status_code == 403


def test_the_clerk_may_not_use_the_cashiers_pages(client):
    client.force_login(staff("claims_clerk"))
    assert client.get(reverse("delivery:cashier")).status_code == 403


def test_the_order_page_shows_the_cars_warranty_and_each_warranty_lines_standing(client):
    _advisor, order = _draft_on({})
    line = order.lines.get()
    client.force_login(staff("advisor"))
    html = client.get(order.get_absolute_url()).content.decode()
    assert 'id="warranty"' in html and f"line-warranty-{line.pk}" in html
    # In the default language: the car's warranty is unknown, the line needs the clerk.
    assert "保修未知（无销售日期）" in html and "超出保修：需索赔员批准" in html


# ---------------------------------------------------------------- revisions


def test_the_claim_follows_its_line_into_a_later_revision():
    clerk = staff("claims_clerk")
    claim = _submitted_claim(clerk)
    order = claim.line.order
    revision = work_order_revise(
        order=order,
        actor=order.visit.advisor,
        reason="增加项目",
        signed_via="phone",
        approval_note="客户电话同意",
    )
    claim.refresh_from_db()
    assert claim.line.order_id == revision.pk and claim.status == ClaimStatus.SUBMITTED
    assert list(claims.claims_listed()) == [claim]  # the order in force's claim, once


def test_a_rejected_line_stays_with_its_payer_in_a_later_revision():
    clerk = staff("claims_clerk")
    claim = _submitted_claim(clerk)
    claims.claim_reject(claim=claim, actor=clerk, reason="人为损坏", payer=Payer.STORE)
    order = claim.line.order
    revision = work_order_revise(
        order=order,
        actor=order.visit.advisor,
        reason="增加项目",
        signed_via="phone",
        approval_note="客户电话同意",
    )
    line = revision.lines.get()
    assert line.payer == Payer.STORE and WarrantyClaim.objects.get(line=line) == claim
    assert bill_for(order.visit).by_payer[Payer.STORE] == D("500.00")  # the store bears it


def test_check_in_shows_the_cars_warranty_with_its_end_and_km_limit(client):
    rule_set("vehicles.warranty_terms", "丰田=36/100000; *=12/30000")
    car = VehicleFactory(brand="丰田", handover_date=timezone.localdate() - timedelta(days=30))
    ends = add_months(car.handover_date, 36)
    client.force_login(staff("advisor"))
    html = client.get(reverse("reception:check_in"), {"vehicle": car.pk}).content.decode()
    assert 'id="check-in-warranty"' in html and "在保修期内" in html
    assert ends.isoformat() in html and "100000" in html
