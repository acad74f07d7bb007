"""The work order's actions through the API: lines, terms, signing with the five
confirmations, a revision, the repair-warranty comeback and the warranty claims, with the
pages' services, roles and messages (issue 18 item 1).

Each endpoint: the right role gets the records the page action makes; a role the page
refuses gets 403; a refused action is a 400 with the page's message and changes nothing.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.models import Vehicle
from dealership.tests.factories import PartFactory, VehicleFactory
from delivery.models import Delivery
from delivery.tests.factories import handed_back, settled_visit, signed_visit
from reception.models import Visit
from reception.services import visit_check_in
from reception.tests.factories import signature_data_url
from workorders import claims
from workorders.models import JobType, RepairWarrantyComeback, WarrantyClaim, WorkOrder
from workorders.services import work_order_start
from workorders.states import ClaimStatus, OrderStatus
from workorders.tests.factories import CONFIRMED, ready_to_sign_order

pytestmark = pytest.mark.django_db
D = Decimal
SIGNED_ORDER = "This order is signed and cannot be changed. Make a new revision instead."


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def api(user) -> APIClient:
    client = APIClient()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_authenticate(user)
    return client


def _lines(order: WorkOrder):
    return list(order.lines.order_by("position").values_list("quantity", "unit_price"))


# ------------------------------------------------------------------ lines


def test_the_advisor_changes_and_removes_a_drafts_line(make_staff):
    advisor = make_staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    labour, pads = order.lines.order_by("position")
    client = api(advisor)
    changed = client.patch(
        f"/api/orders/lines/{pads.pk}/",
        {"quantity": "2", "version": order.version},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    # Pads ¥520.00 x 2 = ¥1 040.00.
    assert changed.json()["amount"] == "1040.00"
    order.refresh_from_db()
    # Labour ¥200.00 + pads ¥1 040.00 = ¥1 240.00.
    assert order.estimate_total == D("1240.00")
    removed = client.delete(f"/api/orders/lines/{labour.pk}/?version={order.version}")
    assert removed.status_code == 204
    order.refresh_from_db()
    assert list(order.lines.values_list("pk", flat=True)) == [pads.pk]
    assert order.estimate_total == D("1040.00")


def test_a_stale_or_signed_order_refuses_line_edits_and_nothing_changes(make_staff):
    advisor = make_staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    _labour, pads = order.lines.order_by("position")
    client = api(advisor)
    before = _lines(order)
    stale = client.patch(
        f"/api/orders/lines/{pads.pk}/", {"quantity": "3", "version": 1}, format="json"
    )
    assert stale.status_code == 400
    assert "changed this order at" in stale.json()["non_field_errors"][0]
    stale_delete = client.delete(f"/api/orders/lines/{pads.pk}/?version=1")
    assert stale_delete.status_code == 400
    assert _lines(order) == before
    client.post(
        f"/api/orders/work-orders/{order.pk}/sign/",
        {**CONFIRMED, "signer_name": "陈静", "signature": signature_data_url()},
        format="json",
    )
    signed = client.patch(f"/api/orders/lines/{pads.pk}/", {"quantity": "3"}, format="json")
    assert signed.status_code == 400 and signed.json()["non_field_errors"] == [SIGNED_ORDER]
    assert client.delete(f"/api/orders/lines/{pads.pk}/").json()["non_field_errors"] == [
        SIGNED_ORDER
    ]
    assert _lines(order) == before


def test_roles_the_order_page_refuses_get_403_on_lines(make_staff):
    order = ready_to_sign_order(advisor=make_staff("advisor"))
    pads = order.lines.order_by("position").last()
    for role in ("cashier", "workshop_controller", "claims_clerk"):
        client = api(make_staff(role))
        assert client.patch(f"/api/orders/lines/{pads.pk}/", {"quantity": "5"}).status_code == 403
        assert client.delete(f"/api/orders/lines/{pads.pk}/").status_code == 403
    assert order.lines.count() == 2 and _lines(order)[1][0] == D("1.00")


# ------------------------------------------------------------------ terms


def test_the_terms_change_through_the_api_and_a_past_promise_is_refused(make_staff):
    advisor = make_staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    client = api(advisor)
    saved = client.post(
        f"/api/orders/work-orders/{order.pk}/terms/",
        {"payment_method": "cash", "followup_time": "工作日晚上"},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    order.refresh_from_db()
    assert (order.payment_method, order.followup_time) == ("cash", "工作日晚上")
    promised = order.promised_at
    past = client.post(
        f"/api/orders/work-orders/{order.pk}/terms/",
        {"promised_at": (timezone.now() - timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert past.status_code == 400
    assert past.json()["promised_at"] == ["The promised time is in the past."]
    order.refresh_from_db()
    assert order.promised_at == promised
    assert (
        api(make_staff("cashier"))
        .post(f"/api/orders/work-orders/{order.pk}/terms/", {"payment_method": "card"})
        .status_code
        == 403
    )


# ------------------------------------------------------------------ signing


def test_the_customer_signs_with_the_five_confirmations(make_staff):
    advisor = make_staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    response = api(advisor).post(
        f"/api/orders/work-orders/{order.pk}/sign/",
        {
            **CONFIRMED,
            "signer_name": "陈静",
            "signature": signature_data_url(),
            "version": order.version,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    order.refresh_from_db()
    assert order.status == OrderStatus.SIGNED and order.signer_name == "陈静"
    assert (order.confirm_items, order.confirm_cost, order.confirm_time) == (True, True, True)
    assert (order.keep_old_parts, order.wash) == (False, True)
    assert order.signature.name.endswith(".png")
    assert Visit.objects.get(pk=order.visit_id).status == "order_signed"
    assert response.json()["status"] == "signed"


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"confirm_cost": False}, "confirm_cost", "Confirm the estimated cost with the customer."),
        ({"wash": None}, "wash", "Ask whether the car should be washed."),
        (
            {"signature": signature_data_url(blank=True)},
            "signature",
            "The signature is empty: please sign with your finger.",
        ),
    ],
)
def test_a_signature_the_page_refuses_leaves_the_draft_unsigned(make_staff, change, field, message):
    advisor = make_staff("advisor")
    order = ready_to_sign_order(advisor=advisor)
    body = {**CONFIRMED, "signer_name": "陈静", "signature": signature_data_url(), **change}
    response = api(advisor).post(f"/api/orders/work-orders/{order.pk}/sign/", body, format="json")
    assert response.status_code == 400
    assert response.json()[field] == [message]
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT and not order.signature and order.signed_at is None


def test_a_role_the_signing_page_refuses_gets_403(make_staff):
    order = ready_to_sign_order(advisor=make_staff("advisor"))
    body = {**CONFIRMED, "signer_name": "陈静", "signature": signature_data_url()}
    for role in ("cashier", "qc_inspector", "technician"):
        response = api(make_staff(role)).post(
            f"/api/orders/work-orders/{order.pk}/sign/", body, format="json"
        )
        assert response.status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.DRAFT


# ------------------------------------------------------------------ revision


def test_a_signed_order_is_revised_and_a_draft_is_not(make_staff):
    advisor = make_staff("advisor")
    visit, order = signed_visit(advisor=advisor)
    assert (
        api(make_staff("workshop_controller"))
        .post(f"/api/orders/work-orders/{order.pk}/revise/", {"reason": "x"}, format="json")
        .status_code
        == 403
    )
    client = api(advisor)
    revised = client.post(
        f"/api/orders/work-orders/{order.pk}/revise/", {"reason": "客户加做保养"}, format="json"
    )
    assert revised.status_code == 201, revised.content
    revision = WorkOrder.objects.get(visit=visit, revision=2)
    assert (revision.status, revision.revision_reason) == (OrderStatus.DRAFT, "客户加做保养")
    assert revised.json()["id"] == revision.pk
    again = client.post(
        f"/api/orders/work-orders/{revision.pk}/revise/", {"reason": "再改"}, format="json"
    )
    assert again.status_code == 400
    assert again.json()["non_field_errors"] == ["Only the signed order in force can be revised."]
    assert WorkOrder.objects.filter(visit=visit).count() == 2


# ------------------------------------------------------------------ repair-warranty comeback


def _delivered_recently() -> Visit:
    """A water-pump repair delivered 10 days ago at 20 000 km (within 3 months / 5 000 km)."""
    pump = PartFactory(name_zh="水泵总成", price=D("600.00"))
    visit, _order, _settlement = settled_visit(lines=[{"part": pump, "job_type": "repair"}])
    handed_back(visit)
    on = timezone.now() - timedelta(days=10)
    Visit.objects.filter(pk=visit.pk).update(delivered_at=on)
    Delivery.objects.filter(visit=visit).update(delivery_odometer_km=20000, gate_pass_issued_at=on)
    Vehicle.objects.filter(pk=visit.vehicle_id).update(last_odometer_km=20000)
    visit.refresh_from_db()
    return visit


def test_the_advisor_confirms_a_comeback_within_the_repair_warranty(make_staff):
    earlier = _delivered_recently()
    advisor = make_staff("advisor")
    visit = visit_check_in(vehicle=earlier.vehicle, actor=advisor, concern_text="水泵又漏水")
    order = work_order_start(
        visit=visit, actor=advisor, lines=[{"part": PartFactory(price="600.00")}]
    )
    url = f"/api/orders/visits/{visit.pk}/warranty-comeback/"
    assert api(make_staff("cashier")).post(url).status_code == 403
    response = api(advisor).post(url)
    assert response.status_code == 201, response.content
    record = RepairWarrantyComeback.objects.get(visit=visit)
    assert record.earlier_visit == earlier and response.json()["earlier_visit"] == earlier.pk
    visit.refresh_from_db()
    assert (visit.is_comeback, visit.comeback_of) == (True, earlier)
    assert set(order.lines.values_list("job_type", flat=True)) == {JobType.INTERNAL}
    twice = api(advisor).post(url)
    assert twice.status_code == 400
    assert twice.json()["non_field_errors"] == [
        "This visit is already confirmed as a warranty comeback."
    ]


def test_a_comeback_without_an_earlier_visit_in_warranty_is_refused(make_staff):
    advisor = make_staff("advisor")
    visit = visit_check_in(vehicle=VehicleFactory(), actor=advisor, concern_text="异响")
    response = api(advisor).post(f"/api/orders/visits/{visit.pk}/warranty-comeback/")
    assert response.status_code == 400
    assert response.json()["comeback_of"] == [
        "No earlier visit of this car is within our repair warranty (by date and km): "
        "bill the work as usual."
    ]
    visit.refresh_from_db()
    assert (visit.is_comeback, visit.comeback_of) == (False, None)
    assert not RepairWarrantyComeback.objects.exists()


# ------------------------------------------------------------------ warranty claims


def _warranty_lines():
    return [{"part": PartFactory(price=D("500.00")), "job_type": "warranty"}]


def _claim() -> WarrantyClaim:
    _visit, order = signed_visit(lines=_warranty_lines())
    return WarrantyClaim.objects.get(line__order=order)


def test_the_clerk_submits_and_approves_a_claim_through_the_api(make_staff):
    claim = _claim()
    clerk = api(make_staff("claims_clerk"))
    listed = clerk.get("/api/orders/claims/?status=draft").json()
    assert [row["id"] for row in listed["results"]] == [claim.pk]
    assert clerk.get(f"/api/orders/claims/{claim.pk}/").json()["line_amount"] == "500.00"
    submitted = clerk.post(
        f"/api/orders/claims/{claim.pk}/submit/",
        {"number": " FAW-2026-0001 ", "version": claim.version},
        format="json",
    )
    assert submitted.status_code == 200, submitted.content
    claim.refresh_from_db()
    assert (claim.status, claim.number) == (ClaimStatus.SUBMITTED, "FAW-2026-0001")
    too_much = clerk.post(
        f"/api/orders/claims/{claim.pk}/approve/",
        {"approved_amount": "500.01", "version": claim.version},
        format="json",
    )
    assert too_much.status_code == 400
    assert too_much.json()["approved_amount"] == [
        "The approved amount cannot be more than the line's ¥500.00."
    ]
    claim.refresh_from_db()
    assert (claim.status, claim.approved_amount) == (ClaimStatus.SUBMITTED, None)
    approved = clerk.post(
        f"/api/orders/claims/{claim.pk}/approve/",
        {"approved_amount": "455.50", "version": claim.version},
        format="json",
    )
    assert approved.status_code == 200
    claim.refresh_from_db()
    assert (claim.status, claim.approved_amount) == (ClaimStatus.APPROVED, D("455.50"))


def test_the_clerk_records_a_rejection_and_the_line_goes_to_the_customer(make_staff):
    claim = _claim()
    clerk = api(make_staff("service_manager"))
    clerk.post(
        f"/api/orders/claims/{claim.pk}/submit/",
        {"number": "FAW-9", "version": claim.version},
        format="json",
    )
    claim.refresh_from_db()
    no_reason = clerk.post(
        f"/api/orders/claims/{claim.pk}/reject/",
        {"rejection_reason": " ", "rejected_payer": "customer", "version": claim.version},
        format="json",
    )
    assert no_reason.status_code == 400
    assert list(no_reason.json()) == ["rejection_reason"]
    assert WarrantyClaim.objects.get(pk=claim.pk).status == ClaimStatus.SUBMITTED
    rejected = clerk.post(
        f"/api/orders/claims/{claim.pk}/reject/",
        {"rejection_reason": "非质量问题", "rejected_payer": "customer", "version": claim.version},
        format="json",
    )
    assert rejected.status_code == 200, rejected.content
    claim.refresh_from_db()
    assert (claim.status, claim.rejected_payer) == (ClaimStatus.REJECTED, "customer")
    assert claim.line.payer == "customer"


def test_a_stale_claim_version_is_refused_and_nothing_changes(make_staff):
    claim = _claim()
    response = api(make_staff("claims_clerk")).post(
        f"/api/orders/claims/{claim.pk}/submit/",
        {"number": "FAW-1", "version": claim.version + 1},
        format="json",
    )
    assert response.status_code == 400
    claim.refresh_from_db()
    assert (claim.status, claim.number) == (ClaimStatus.DRAFT, "")


def test_only_the_clerk_and_the_manager_use_the_claims_api(make_staff):
    claim = _claim()
    for role in ("advisor", "cashier", "workshop_controller"):
        client = api(make_staff(role))
        assert client.get("/api/orders/claims/").status_code == 403
        assert client.get(f"/api/orders/claims/{claim.pk}/").status_code == 403
        submit = client.post(
            f"/api/orders/claims/{claim.pk}/submit/",
            {"number": "FAW-1", "version": claim.version},
            format="json",
        )
        assert submit.status_code == 403
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.DRAFT


def test_the_clerk_approves_a_doubtful_warranty_line(make_staff):
    advisor = make_staff("advisor")
    # A car with no sale date: its warranty is unknown, so the line waits for the clerk.
    order = ready_to_sign_order(advisor=advisor)
    line = order.lines.order_by("position").last()  # the pads
    url = f"/api/orders/lines/{line.pk}/warranty-approve/"
    not_warranty = api(make_staff("claims_clerk")).post(url)
    assert not_warranty.status_code == 400
    assert not_warranty.json()["non_field_errors"] == ["This line is not warranty work."]
    api(advisor).patch(f"/api/orders/lines/{line.pk}/", {"job_type": "warranty"}, format="json")
    assert api(advisor).post(url).status_code == 403
    line.refresh_from_db()
    assert line.warranty_approved_at is None
    approved = api(make_staff("claims_clerk")).post(url)
    assert approved.status_code == 200, approved.content
    line.refresh_from_db()
    assert line.warranty_approved_at is not None
    assert claims.warranty_lines_unapproved(order) == []
