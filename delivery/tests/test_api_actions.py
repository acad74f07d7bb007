"""The delivery pages' actions through the API (issue 18.1): the same services, roles and
messages as the pages. For each: the right role succeeds and the records are those the page
leaves; a wrong role gets 403; a refusal is a 400 with the page's words and changes nothing."""

import json
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils.html import escape

from dealership.rules import rule_set
from dealership.tests.factories import LabourOperationFactory
from delivery import services
from delivery.models import Delivery, Refund, Settlement, TaxInvoiceKind
from delivery.tests.factories import (
    checked_visit,
    default_lines,
    qc_passed_visit,
    ready_visit,
    settled_visit,
    signed_visit,
    staff,
)
from reception.models import DeclinedWork, NotRepairedReason, Visit
from reception.services import visit_walkaround_sign
from reception.states import VisitStatus
from reception.tests.factories import (
    WalkedAroundVisitFactory,
    bomb_data_url,
    signature_data_url,
)
from workorders.services import work_order_start

pytestmark = [pytest.mark.django_db, pytest.mark.urls("delivery.tests.urls")]
S = VisitStatus
D = Decimal


@pytest.fixture
def api(client):
    """`api(role)` logs a new staff member of that role in; `.post(path, data)` sends JSON."""

    class Api:
        user = None

        def as_(self, role):
            self.user = staff(role)
            client.force_login(self.user)
            return self

        def post(self, path, data=None):
            return client.post(
                path,
                json.dumps(data or {}),
                content_type="application/json",
                HTTP_ACCEPT_LANGUAGE="en",
            )

        def schema(self) -> str:
            return client.get(reverse("api-schema")).content.decode()

        def page(self, name, pk, data):
            """The same action through its page (the HTML answer, in English)."""
            return client.post(reverse(name, args=[pk]), data, HTTP_ACCEPT_LANGUAGE="en")

    return Api()


def _visit_url(visit, action: str) -> str:
    return f"/api/delivery/visits/{visit.pk}/{action}/"


def _settlement_url(settlement, action: str) -> str:
    return f"/api/delivery/settlements/{settlement.pk}/{action}/"


def _refused(response, field: str = "non_field_errors") -> str:
    assert response.status_code == 400, response.content
    return response.json()[field][0]


# ---------------------------------------------------------------------------- ready


def test_the_controller_marks_the_car_ready_and_sees_no_money(api):
    visit, _order = qc_passed_visit()
    response = api.as_("workshop_controller").post(_visit_url(visit, "ready"), {})
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == S.READY_FOR_PICKUP and body["ready"] is True
    assert body["bill"] is None and body["invoice_number"] == ""
    visit.refresh_from_db()
    assert visit.status == S.READY_FOR_PICKUP


def test_marking_ready_is_refused_for_a_car_not_through_qc_and_for_the_cashier(api):
    visit, _order = signed_visit()
    assert api.as_("cashier").post(_visit_url(visit, "ready")).status_code == 403
    message = _refused(api.as_("advisor").post(_visit_url(visit, "ready")))
    assert message == (
        f"Visit {visit.number} is “Order signed”: it has not passed quality control yet, "
        "so marking it ready is not possible."
    )
    visit.refresh_from_db()
    assert visit.status == S.ORDER_SIGNED


# ---------------------------------------------------------------------------- final check


def _check_data(visit, order, **overrides) -> dict:
    data = {
        "lines": [line.pk for line in order.lines.all()],
        "odometer_km": (visit.odometer_km or 0) + 3,
        "exterior_matches": True,
        "no_tools_left": True,
        "settings_restored": True,
        "belongings_present": True,
        "old_parts_handling": "shown_disposed",
        "notes": "车况良好",
    }
    data.update(overrides)
    return data


def test_the_advisor_records_the_final_check(api):
    visit, order = ready_visit()
    response = api.as_("advisor").post(_visit_url(visit, "final-check"), _check_data(visit, order))
    assert response.status_code == 200, response.content
    assert response.json()["final_check_done"] is True
    delivery = Delivery.objects.get(visit=visit)
    assert delivery.final_check_done and delivery.final_check_notes == "车况良好"
    assert delivery.delivery_odometer_km == (visit.odometer_km or 0) + 3
    assert delivery.old_parts_handling == "shown_disposed"
    assert sorted(delivery.checked_line_ids) == sorted(line.pk for line in order.lines.all())


def test_a_final_check_below_the_check_in_odometer_is_refused_as_on_the_page(api):
    visit, order = ready_visit()
    assert visit.odometer_km
    low = visit.odometer_km - 1
    assert api.as_("cashier").post(_visit_url(visit, "final-check")).status_code == 403
    client = api.as_("advisor")
    response = client.post(
        _visit_url(visit, "final-check"), _check_data(visit, order, odometer_km=low)
    )
    message = _refused(response, "odometer_km")
    assert message == (
        f"The odometer reads {low} km, below the {visit.odometer_km} km at check-in."
    )
    page = client.page("delivery:final_check", visit.pk, _check_data(visit, order, odometer_km=low))
    assert page.status_code == 400 and escape(message) in page.content.decode()
    assert not Delivery.objects.filter(visit=visit, final_check_at__isnull=False).exists()


# ---------------------------------------------------------------------------- overrun approval


def test_the_advisor_records_the_customers_approval_of_an_overrun(api):
    visit, _order = checked_visit()
    response = api.as_("advisor").post(
        _visit_url(visit, "approval"), {"amount": "1200.00", "via": "phone", "note": "客户同意"}
    )
    assert response.status_code == 200, response.content
    delivery = Delivery.objects.get(visit=visit)
    assert delivery.overrun_approved_amount == D("1200.00")
    assert (delivery.overrun_approved_via, delivery.overrun_approval_note) == ("phone", "客户同意")
    assert delivery.overrun_recorded_by == api.user


def test_an_approval_below_the_customers_share_is_refused(api):
    visit, _order = checked_visit()
    assert api.as_("workshop_controller").post(_visit_url(visit, "approval")).status_code == 403
    response = api.as_("advisor").post(
        _visit_url(visit, "approval"), {"amount": "999.99", "via": "phone", "note": "客户同意"}
    )
    # The brake job: labour 300 + pads 700 = 1000.00 is the customer's share.
    assert _refused(response, "amount") == (
        "The customer's share is ¥1,000.00: the approval must cover at least that."
    )
    assert Delivery.objects.get(visit=visit).overrun_approved_amount is None


# ---------------------------------------------------------------------------- settlement


def test_the_cashier_settles_a_split_payment_with_an_adjustment_and_an_invoice_request(api):
    visit, _order = checked_visit()
    response = api.as_("cashier").post(
        _visit_url(visit, "settle"),
        {
            "payments": [
                {"method": "cash", "amount": "500.00"},
                {"method": "wechat", "amount": "499.50", "reference": "WX-4200001"},
            ],
            "adjustment_amount": "-0.50",
            "adjustment_reason": "抹零",
            "cash_tendered": "600.00",
            "tax_invoice_kind": "ordinary",
            "buyer_name": "张三",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    settlement = Settlement.objects.get(visit=visit)
    assert body["invoice_number"] == settlement.invoice_number
    assert settlement.status == "paid" and settlement.settled_by == api.user
    assert settlement.customer_total == D("1000.00")  # labour 300 + pads 700
    assert settlement.amount_due == D("999.50")  # 1000.00 - 0.50
    assert settlement.paid_total == D("999.50")  # 500.00 cash + 499.50 WeChat
    assert settlement.change_given == D("100.00")  # 600.00 handed over - 500.00 cash
    assert settlement.adjustment_reason == "抹零"
    assert sorted(settlement.payments.values_list("method", "amount", "reference")) == [
        ("cash", D("500.00"), ""),
        ("wechat", D("499.50"), "WX-4200001"),
    ]
    assert settlement.tax_invoice_kind == TaxInvoiceKind.ORDINARY
    assert settlement.buyer_name == "张三" and settlement.awaits_tax_invoice
    visit.refresh_from_db()
    assert visit.status == S.SETTLED


def test_a_deposit_taken_at_booking_is_credited_by_the_api_too(api):
    from delivery.tests.test_settlement_deposits import _visit_with_deposit

    visit, deposit = _visit_with_deposit("800.00")
    response = api.as_("cashier").post(
        _visit_url(visit, "settle"), {"payments": [{"method": "cash", "amount": "1545.60"}]}
    )
    assert response.status_code == 201, response.content
    settlement = Settlement.objects.get(visit=visit)
    assert settlement.deposits_credited == D("800.00")
    assert settlement.paid_total == D("1545.60")  # 2345.60 - 800.00 deposit
    deposit.refresh_from_db()
    assert deposit.invoice_number == settlement.invoice_number


def test_a_settlement_that_does_not_add_up_is_refused_and_nothing_is_stored(api):
    visit, _order = checked_visit()
    assert api.as_("advisor").post(_visit_url(visit, "settle")).status_code == 403
    client = api.as_("cashier")
    response = client.post(
        _visit_url(visit, "settle"), {"payments": [{"method": "cash", "amount": "900.00"}]}
    )
    message = _refused(response, "payments")
    assert message == (
        "The payments add up to ¥900.00 but the amount due is ¥1,000.00. "
        "Correct the payments, or record an adjustment with its reason."
    )
    page = client.page("delivery:settle", visit.pk, {"cash_amount": "900.00"})
    assert page.status_code == 400 and escape(message) in page.content.decode()
    assert not Settlement.objects.filter(visit=visit).exists()
    visit.refresh_from_db()
    assert visit.status == S.READY_FOR_PICKUP


def test_a_cashiers_adjustment_over_the_limit_is_refused(api):
    visit, _order = checked_visit()
    response = api.as_("cashier").post(
        _visit_url(visit, "settle"),
        {
            "payments": [{"method": "cash", "amount": "900.00"}],
            "adjustment_amount": "-100",
            "adjustment_reason": "老客户优惠",
        },
    )
    assert response.status_code == 400 and "adjustment_amount" in response.json()
    assert not Settlement.objects.filter(visit=visit).exists()


# ---------------------------------------------------------------------------- gate pass


def test_the_gate_pass_after_payment_and_not_before(api):
    visit, _order = checked_visit()
    assert api.as_("advisor").post(_visit_url(visit, "gate-pass")).status_code == 403
    client = api.as_("cashier")
    message = _refused(client.post(_visit_url(visit, "gate-pass")))
    assert message == "Settle the bill first: the gate pass is issued only after payment."
    page = client.page("delivery:gate_pass", visit.pk, {})
    assert page.status_code == 400 and escape(message) in page.content.decode()
    assert not Delivery.objects.get(visit=visit).gate_pass_issued

    settled, _order, settlement = settled_visit()
    response = client.post(_visit_url(settled, "gate-pass"))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["gate_pass_issued"] is True
    assert body["gate_pass_number"] == f"CM{settlement.invoice_number[2:]}"
    assert Delivery.objects.get(visit=settled).gate_pass_issued_by == api.user


# ---------------------------------------------------------------------------- hand-back


def _gated_visit():
    visit, _order, settlement = settled_visit()
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    return visit, settlement


def _hand_back_data(**overrides) -> dict:
    data = {
        "signature": signature_data_url(),
        "signer_name": "张三",
        "belongings_returned": True,
        "keys_returned": True,
        "covers_removed": True,
        "registration_returned": True,
        "service_book_returned": True,
    }
    data.update(overrides)
    return data


def test_the_customer_signs_the_hand_back_through_the_api(api):
    visit, _settlement = _gated_visit()
    response = api.as_("advisor").post(_visit_url(visit, "hand-back"), _hand_back_data())
    assert response.status_code == 200, response.content
    assert response.json()["delivered"] is True
    visit.refresh_from_db()
    assert visit.status == S.DELIVERED
    delivery = Delivery.objects.get(visit=visit)
    assert delivery.handback_signer == "张三" and delivery.handed_back_by == api.user
    assert delivery.keys_returned and delivery.covers_removed
    assert delivery.handback_signature.read().startswith(b"\x89PNG")


TOO_LARGE = "The signature image is too large; clear the pad and sign again."


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"covers_removed": False},
            "covers_removed",
            "Remove the protective covers in front of the customer.",
        ),
        (
            {"signature": signature_data_url(blank=True)},
            "signature",
            "The signature is empty: please sign with your finger.",
        ),
        (
            {"signature": "data:image/jpeg;base64,AAAA"},
            "signature",
            "The signature is not a PNG image.",
        ),
        ({"signature": bomb_data_url(13_000)}, "signature", TOO_LARGE),
        ({"signature": "data:image/png;base64," + "A" * 600_000}, "signature", TOO_LARGE),
    ],
)
def test_an_incomplete_hand_back_is_refused_and_the_car_stays(api, overrides, field, message):
    visit, _settlement = _gated_visit()
    response = api.as_("advisor").post(_visit_url(visit, "hand-back"), _hand_back_data(**overrides))
    assert _refused(response, field) == message
    visit.refresh_from_db()
    assert visit.status == S.SETTLED
    delivery = Delivery.objects.get(visit=visit)
    assert delivery.handed_back_at is None and not delivery.handback_signature


def test_the_hand_back_asks_for_the_keys_in_the_pages_words(api):
    visit, _settlement = _gated_visit()
    assert (
        api.as_("cashier").post(_visit_url(visit, "hand-back"), _hand_back_data()).status_code
        == 403
    )
    response = api.as_("advisor").post(
        _visit_url(visit, "hand-back"), _hand_back_data(keys_returned=False)
    )
    errors = response.json()
    assert response.status_code == 400 and "keys_returned" in errors
    assert errors["keys_returned"][0].startswith("Give the customer the")


# ---------------------------------------------------------------------------- not repaired


@pytest.fixture
def fee():
    """The store's diagnosis fee: ¥200."""
    LabourOperationFactory(
        code="DIAG-200", name_zh="故障诊断费", name_en="Diagnosis fee", price=D("200.00")
    )
    rule_set("workorders.diagnosis_fee_operation", "DIAG-200")


def _draft_visit():
    advisor = staff("advisor")
    visit = WalkedAroundVisitFactory(advisor=advisor)
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="张三"
    )
    work_order_start(visit=visit, actor=advisor, lines=default_lines())
    return visit


def _decline_data(**overrides) -> dict:
    data = {
        "reason": NotRepairedReason.DECLINED,
        "findings": "前刹车片剩余2毫米，建议更换。",
        "signer_name": "张三",
        "signature": signature_data_url(),
    }
    data.update(overrides)
    return data


def test_the_advisor_records_a_declined_repair_and_the_manager_waives_the_fee(api, fee):
    visit = _draft_visit()
    response = api.as_("advisor").post(_visit_url(visit, "not-repaired"), _decline_data())
    assert response.status_code == 200, response.content
    assert response.json()["status"] == S.READY_FOR_PICKUP
    visit.refresh_from_db()
    assert visit.not_repaired_reason == NotRepairedReason.DECLINED
    assert visit.diagnosis_findings == "前刹车片剩余2毫米，建议更换。"
    assert DeclinedWork.objects.filter(visit=visit).count() == 2  # labour and pads kept

    response = api.as_("service_manager").post(
        _visit_url(visit, "waive-fee"), {"reason": "老客户，免诊断费"}
    )
    assert response.status_code == 201, response.content
    settlement = Settlement.objects.get(visit=visit)
    assert response.json()["invoice_number"] == settlement.invoice_number
    assert settlement.adjustment_amount == D("-200.00")  # the ¥200 fee waived
    assert settlement.amount_due == D("0.00")  # 200 - 200
    assert settlement.adjustment_reason.endswith("老客户，免诊断费")
    assert Visit.objects.get(pk=visit.pk).status == S.SETTLED


def test_a_decline_without_findings_is_refused_and_nothing_changes(api, fee):
    visit = _draft_visit()
    assert (
        api.as_("cashier").post(_visit_url(visit, "not-repaired"), _decline_data()).status_code
        == 403
    )
    response = api.as_("advisor").post(
        _visit_url(visit, "not-repaired"), _decline_data(findings="   ")
    )
    assert response.status_code == 400 and "findings" in response.json()
    visit.refresh_from_db()
    assert visit.not_repaired_reason == "" and visit.status == S.CHECKED_IN
    assert not DeclinedWork.objects.filter(visit=visit).exists()


def test_a_cashier_may_not_waive_the_whole_fee_and_an_advisor_may_not_ask(api, fee):
    visit = _draft_visit()
    api.as_("advisor").post(_visit_url(visit, "not-repaired"), _decline_data())
    assert api.post(_visit_url(visit, "waive-fee"), {"reason": "老客户"}).status_code == 403
    response = api.as_("cashier").post(_visit_url(visit, "waive-fee"), {"reason": "老客户"})
    assert response.status_code == 400, response.content
    assert not Settlement.objects.filter(visit=visit).exists()


# ---------------------------------------------------------------------------- void, refund


def test_the_manager_voids_a_bill_and_the_cashier_is_told_to_ask_them(api):
    visit, _order, settlement = settled_visit()
    assert api.as_("advisor").post(_settlement_url(settlement, "void")).status_code == 403
    client = api.as_("cashier")
    message = _refused(client.post(_settlement_url(settlement, "void"), {"reason": "开错"}))
    assert message == "Only the service manager may void a bill. Ask them to do it."
    page = client.page("delivery:void", settlement.pk, {"reason": "开错"})
    assert page.status_code == 400 and escape(message) in page.content.decode()
    settlement.refresh_from_db()
    assert settlement.status == "paid"

    response = api.as_("service_manager").post(
        _settlement_url(settlement, "void"), {"reason": "开错"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "voided" and response.json()["void_reason"] == "开错"
    settlement.refresh_from_db()
    assert settlement.status == "voided" and settlement.voided_by == api.user
    # No paid bill is left: the car is billed again before it leaves.
    assert not Settlement.objects.filter(visit=visit, status="paid").exists()


def test_the_manager_refunds_at_most_what_was_paid(api):
    _visit, _order, settlement = settled_visit()
    assert api.as_("advisor").post(_settlement_url(settlement, "refund")).status_code == 403
    data = {"amount": "100.00", "method": "cash", "reason": "工时多收"}
    refused = api.as_("cashier").post(_settlement_url(settlement, "refund"), data)
    assert _refused(refused) == "Only the service manager may give a refund. Ask them to do it."
    manager = api.as_("service_manager")
    too_much = manager.post(_settlement_url(settlement, "refund"), {**data, "amount": "1000.01"})
    # 1000.00 paid, nothing refunded yet
    assert _refused(too_much, "amount") == "At most ¥1,000.00 can be refunded on this bill."
    assert not Refund.objects.exists()

    response = manager.post(_settlement_url(settlement, "refund"), data)
    assert response.status_code == 201, response.content
    assert response.json()["refunds"][0]["amount"] == "100.00"
    refund = Refund.objects.get(settlement=settlement)
    assert (refund.amount, refund.method, refund.approved_by) == (D("100.00"), "cash", api.user)


# ---------------------------------------------------------------------------- official invoice


def test_the_cashier_records_the_official_invoice_number(api):
    visit, _order = checked_visit()
    settlement = services.settlement_create(
        visit=visit,
        actor=staff("cashier"),
        payments=[{"method": "transfer", "amount": "1000.00"}],
        tax_invoice_kind="ordinary",
        buyer_name="张三",
    )
    assert api.as_("advisor").post(_settlement_url(settlement, "tax-invoice")).status_code == 403
    client = api.as_("cashier")
    bad = client.post(_settlement_url(settlement, "tax-invoice"), {"number": "1234"})
    assert _refused(bad, "number") == (
        "An invoice number has 8 digits (20 for a fully digital invoice)."
    )
    settlement.refresh_from_db()
    assert settlement.tax_invoice_number == ""

    response = client.post(
        _settlement_url(settlement, "tax-invoice"), {"number": " 2544 2000 0000 1234 5678 "}
    )
    assert response.status_code == 200, response.content
    settlement.refresh_from_db()
    assert settlement.tax_invoice_number == "25442000000012345678"
    assert settlement.tax_invoice_issued_by == api.user


def test_a_missing_visit_or_bill_is_a_404(api):
    client = api.as_("service_manager")
    assert client.post("/api/delivery/visits/999999999/gate-pass/").status_code == 404
    assert (
        client.post("/api/delivery/settlements/999999999/void/", {"reason": "x"}).status_code == 404
    )


def test_a_refusal_speaks_the_callers_language_as_the_page_does(client):
    _visit, _order, settlement = settled_visit()
    client.force_login(staff("cashier"))
    response = client.post(
        _settlement_url(settlement, "void"),
        json.dumps({"reason": "开错"}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    message = _refused(response)
    assert "服务经理" in message  # "Only the service manager may void a bill."
    page = client.post(
        reverse("delivery:void", args=[settlement.pk]),
        {"reason": "开错"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert escape(message) in page.content.decode()


def test_every_action_is_in_the_schema(api):
    schema = api.as_("advisor").schema()
    for path in (
        "/api/delivery/visits/{id}/ready/",
        "/api/delivery/visits/{id}/final-check/",
        "/api/delivery/visits/{id}/approval/",
        "/api/delivery/visits/{id}/settle/",
        "/api/delivery/visits/{id}/gate-pass/",
        "/api/delivery/visits/{id}/hand-back/",
        "/api/delivery/visits/{id}/not-repaired/",
        "/api/delivery/visits/{id}/waive-fee/",
        "/api/delivery/settlements/{id}/void/",
        "/api/delivery/settlements/{id}/refund/",
        "/api/delivery/settlements/{id}/tax-invoice/",
    ):
        assert path in schema, path
