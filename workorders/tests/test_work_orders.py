"""Work order rules: lines, discounts, five confirmations, signing, freezing, revisions, locking."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dealership.errors import DomainError
from dealership.rules import rule_set
from dealership.tests.factories import LabourOperationFactory, PartFactory
from reception.models import Visit
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory, signature_data_url
from workorders.models import OrderStatus, WorkOrder, WorkOrderLine
from workorders.selectors import promise_suggestion, work_order_hash
from workorders.services import (
    work_order_line_add,
    work_order_line_remove,
    work_order_line_update,
    work_order_revise,
    work_order_sign,
    work_order_start,
    work_order_update,
)
from workorders.tests.factories import CONFIRMED, ready_to_sign_order

pytestmark = pytest.mark.django_db


def _code(error: DomainError) -> str:
    if hasattr(error, "error_dict"):
        return next(iter(error.error_dict.values()))[0].code
    return error.code


def _sign(order, advisor, **overrides):
    kwargs = {**CONFIRMED, "signature": signature_data_url(), "signer_name": "陈静", **overrides}
    return work_order_sign(order=order, actor=advisor, **kwargs)


@pytest.fixture
def advisor(make_staff):
    return make_staff("advisor")


def test_lines_copy_the_catalogue_and_totals_are_decimal_with_vat_included(advisor):
    visit = VisitFactory()
    order = work_order_start(visit=visit, actor=advisor)
    op = LabourOperationFactory(code="R-BRPF", name_zh="更换前制动片", standard_hours="1.5")
    part = PartFactory(part_number="04465-02220", price="520.00")
    work_order_line_add(order=order, actor=advisor, operation=op, job_type="repair")
    line = work_order_line_add(order=order, actor=advisor, part=part, quantity="2")
    work_order_line_add(
        order=order,
        actor=advisor,
        kind="sublet",
        name="拖车服务",
        manual_reason="目录中没有",
        unit_price="150",
        job_type="warranty",
    )
    order.refresh_from_db()
    assert (line.code, line.unit_price, line.amount) == ("04465-02220", Decimal("520.00"), 1040)
    assert order.parts_total == Decimal("1040.00")
    assert order.labour_total == Decimal("350.00")
    assert order.total == Decimal("1390.00")
    assert order.estimate_total == Decimal("1240.00")  # the warranty line is the maker's
    assert order.vat_included == Decimal("159.91")
    PartFactory._meta.model.objects.filter(pk=part.pk).update(price="999")
    assert WorkOrderLine.objects.get(pk=line.pk).unit_price == Decimal("520.00")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "part", "quantity": "-1"}, "quantity"),
        ({"kind": "part", "quantity": "0"}, "quantity"),
        ({"kind": "part", "unit_price": "-5"}, "unit_price"),
        ({"kind": "fee", "name": "", "manual_reason": "x", "unit_price": "1"}, "name"),
        ({"kind": "fee", "name": "洗车", "unit_price": "1"}, "manual_reason"),
        ({"kind": "other", "name": "洗车", "manual_reason": "x", "unit_price": "1"}, "kind"),
        ({"name": "洗车", "manual_reason": "x", "unit_price": "1"}, "kind"),
        ({"kind": "labour", "name": "臭氧消毒", "manual_reason": "x", "unit_price": "80"}, "hours"),
        ({"kind": "part", "discount_percent": "15"}, "discount_percent"),
    ],
)
def test_bad_lines_are_refused_and_nothing_changes(advisor, data, field):
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    if data.get("kind") == "part":
        data = {**data, "part": PartFactory()}
    with pytest.raises(DomainError) as error:
        work_order_line_add(order=order, actor=advisor, **data)
    assert error.value.field == field
    assert not order.lines.exists()
    assert WorkOrder.objects.get(pk=order.pk).version == 1


def test_discount_above_the_advisor_limit_needs_the_manager(advisor, make_staff):
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    part = PartFactory(price="100")
    with pytest.raises(DomainError) as error:
        work_order_line_add(order=order, actor=advisor, part=part, discount_percent="12")
    assert _code(error.value) == "discount_limit"
    work_order_line_add(order=order, actor=advisor, part=part, discount_percent="10")
    work_order_line_add(
        order=order, actor=make_staff("service_manager"), part=part, discount_percent="30"
    )
    rule_set("workorders.advisor_discount_limit_percent", Decimal("15"))
    work_order_line_add(order=order, actor=advisor, part=part, discount_percent="12")
    order.refresh_from_db()
    assert order.discount_total == Decimal("10") + Decimal("30") + Decimal("12")


def test_customer_supplied_part_costs_nothing_and_carries_the_disclaimer(advisor):
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    line = work_order_line_add(
        order=order, actor=advisor, part=PartFactory(price="300"), customer_supplied=True
    )
    assert (line.unit_price, line.needs_disclaimer) == (Decimal("0"), True)
    line = work_order_line_update(line=line, actor=advisor, customer_supplied=False)
    assert line.unit_price == Decimal("300")


@pytest.mark.parametrize("missing", list(CONFIRMED))
def test_signing_with_a_confirmation_missing_is_refused(advisor, missing):
    order = ready_to_sign_order(advisor=advisor)
    value = None if missing in ("keep_old_parts", "wash") else False
    with pytest.raises(DomainError) as error:
        _sign(order, advisor, **{missing: value})
    assert error.value.field == missing
    stored = WorkOrder.objects.get(pk=order.pk)
    assert (stored.status, stored.signature.name) == (OrderStatus.DRAFT, "")
    assert Visit.objects.get(pk=order.visit_id).status == VisitStatus.CHECKED_IN


def test_an_empty_order_cannot_be_signed(advisor):
    order = ready_to_sign_order(advisor=advisor)
    for line in list(order.lines.all()):
        work_order_line_remove(line=line, actor=advisor)
    with pytest.raises(DomainError) as error:
        _sign(order, advisor)
    assert _code(error.value) == "empty_order"


def test_the_walkaround_is_signed_before_the_order(advisor):
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    work_order_line_add(order=order, actor=advisor, part=PartFactory())
    work_order_update(
        order=order,
        actor=advisor,
        payment_method="cash",
        promised_at=timezone.now() + timedelta(hours=2),
        promised_reason="急",
    )
    with pytest.raises(DomainError) as error:
        _sign(order, advisor)
    assert _code(error.value) == "walkaround_unsigned"


def test_signing_freezes_the_order_and_moves_the_visit(advisor):
    order = ready_to_sign_order(advisor=advisor)
    signed = _sign(order, advisor, keep_old_parts=True)
    visit = Visit.objects.get(pk=order.visit_id)
    assert signed.status == OrderStatus.SIGNED and signed.signer_name == "陈静"
    assert signed.signature.name.endswith(".png") and len(signed.content_hash) == 64
    assert signed.content_hash == work_order_hash(signed)
    assert visit.status == VisitStatus.ORDER_SIGNED
    assert visit.promised_at == signed.promised_at and visit.order_signed_at
    assert visit.progress_token
    line = signed.lines.first()
    for attempt in (
        lambda: work_order_line_add(order=signed, actor=advisor, part=PartFactory()),
        lambda: work_order_line_update(line=line, actor=advisor, quantity=3),
        lambda: work_order_line_remove(line=line, actor=advisor),
        lambda: work_order_update(order=signed, actor=advisor, notes="改"),
        lambda: _sign(signed, advisor),
    ):
        with pytest.raises(DomainError) as error:
            attempt()
        assert _code(error.value) == "order_signed"
    # Tampering behind the services' back is detected by the hash.
    WorkOrderLine.objects.filter(pk=line.pk).update(quantity=5)
    tampered = WorkOrder.objects.get(pk=signed.pk)
    assert tampered.content_hash != work_order_hash(tampered)


def test_approved_additional_work_makes_a_signed_revision(advisor, make_staff):
    order = _sign(ready_to_sign_order(advisor=advisor), advisor)
    extra = LabourOperationFactory(name_zh="更换前制动盘", price="300.00")
    with pytest.raises(DomainError):
        work_order_revise(
            order=order,
            actor=advisor,
            reason="增项",
            add_lines=[{"operation": extra}],
            signed_via="phone",
        )
    revision = work_order_revise(
        order=order,
        actor=make_staff("workshop_controller"),
        reason="制动盘磨损超限",
        add_lines=[{"kind": "labour", "operation": extra, "job_type": "repair"}],
        signed_via="phone",
        approval_note="客户电话同意,10:32",
    )
    order.refresh_from_db()
    assert (revision.revision, revision.status, order.status) == (2, "signed", "superseded")
    assert revision.lines.count() == order.lines.count() + 1
    assert revision.lines.get(is_additional=True).name_zh == "更换前制动盘"
    assert revision.estimate_total == order.estimate_total + Decimal("300.00")
    assert revision.content_hash == work_order_hash(revision)
    assert order.content_hash == work_order_hash(order)
    with pytest.raises(DomainError):
        work_order_revise(order=order, actor=advisor, reason="再改")


def test_a_desk_revision_is_a_draft_until_the_customer_signs_it(advisor):
    order = _sign(ready_to_sign_order(advisor=advisor), advisor)
    draft = work_order_revise(order=order, actor=advisor, reason="客户加做四轮定位")
    assert draft.status == OrderStatus.DRAFT
    assert WorkOrder.objects.get(pk=order.pk).status == OrderStatus.SIGNED
    work_order_line_add(order=draft, actor=advisor, operation=LabourOperationFactory())
    _sign(draft, advisor)
    assert WorkOrder.objects.get(pk=order.pk).status == OrderStatus.SUPERSEDED
    assert Visit.objects.get(pk=order.visit_id).status == VisitStatus.ORDER_SIGNED


def test_a_replaced_revision_cannot_be_signed_or_revised_and_stays_as_it_was(advisor):
    order = _sign(ready_to_sign_order(advisor=advisor), advisor)
    draft = work_order_revise(order=order, actor=advisor, reason="客户加做四轮定位")
    with pytest.raises(DomainError) as error:
        work_order_revise(order=draft, actor=advisor, reason="草稿不能再改版")
    assert _code(error.value) == "not_signed"
    _sign(draft, advisor)
    replaced = WorkOrder.objects.filter(pk=order.pk)
    before = replaced.values().get()
    for attempt in (
        lambda: _sign(order, advisor),
        lambda: work_order_revise(order=order, actor=advisor, reason="旧版"),
    ):
        with pytest.raises(DomainError):
            attempt()
    assert replaced.values().get() == before
    assert before["status"] == OrderStatus.SUPERSEDED
    # The replacement is in the order's history, with why.
    assert replaced.get().history.first().history_change_reason == "replaced by revision 2"


def test_two_advisors_editing_the_same_draft_do_not_lose_an_update(advisor, make_staff):
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    first_copy = WorkOrder.objects.get(pk=order.pk)
    second_copy = WorkOrder.objects.get(pk=order.pk)
    work_order_line_add(
        order=first_copy, actor=advisor, part=PartFactory(), expected_version=first_copy.version
    )
    with pytest.raises(DomainError) as error:
        work_order_update(
            order=second_copy,
            actor=make_staff("advisor"),
            notes="第二位顾问的备注",
            expected_version=second_copy.version,
        )
    assert _code(error.value) == "stale"
    assert "Reload" in error.value.messages[0] or "刷新" in error.value.messages[0]
    stored = WorkOrder.objects.get(pk=order.pk)
    assert stored.notes == "" and stored.lines.count() == 1


def test_promised_time_is_suggested_and_a_different_one_needs_a_reason(advisor):
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    work_order_line_add(
        order=order, actor=advisor, operation=LabourOperationFactory(standard_hours="2")
    )
    now = timezone.now()
    suggestion = promise_suggestion(order, now=now)
    assert suggestion > now + timedelta(hours=2)
    with pytest.raises(DomainError) as error:
        work_order_update(order=order, actor=advisor, promised_at=suggestion + timedelta(days=2))
    assert error.value.field == "promised_reason"
    work_order_update(order=order, actor=advisor, promised_at=promise_suggestion(order))
    assert WorkOrder.objects.get(pk=order.pk).promised_at is not None


# ---------------------------------------------------------------- pages


def test_draft_page_adds_from_catalogue_and_stale_form_shows_a_message(advisor_client):
    visit = VisitFactory()
    user = visit.advisor
    order = work_order_start(visit=visit, actor=user)
    part = PartFactory(part_number="90915-YZZD4", name_zh="机油滤清器")
    found = advisor_client.get(reverse("workorders:catalogue", args=[order.pk]), {"q": "yzzd"})
    assert "机油滤清器" in found.content.decode()
    response = advisor_client.post(
        reverse("workorders:line_add", args=[order.pk]),
        {"version": 1, "kind": "part", "part": part.pk, "quantity": "1", "job_type": "repair"},
    )
    assert response.status_code == 302
    response = advisor_client.post(
        reverse("workorders:terms", args=[order.pk]),
        {"version": 1, "pricing_method": "operation", "followup_channel": "phone", "notes": "x"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert response.status_code == 400
    assert WorkOrder.objects.get(pk=order.pk).notes == ""


def test_sign_page_refuses_missing_confirmation_next_to_the_field(advisor_client, make_staff):
    order = ready_to_sign_order(advisor=make_staff("advisor"))
    response = advisor_client.post(
        reverse("workorders:sign", args=[order.pk]),
        {
            "version": order.version,
            "confirm_items": "on",
            "confirm_cost": "on",
            "keep_old_parts": "no",
            "wash": "yes",
            "signer_name": "陈静",
            "signature": signature_data_url(),
        },
    )
    assert response.status_code == 400
    assert 'id="field-confirm_time"' in response.content.decode()
    assert "field-error" in response.content.decode()
    assert WorkOrder.objects.get(pk=order.pk).status == OrderStatus.DRAFT


def test_order_page_queries_do_not_grow_with_lines(
    advisor_client, make_staff, django_assert_max_num_queries
):
    order = ready_to_sign_order(
        advisor=make_staff("advisor"), parts=[PartFactory() for _ in range(12)]
    )
    with django_assert_max_num_queries(30):
        response = advisor_client.get(reverse("workorders:order", args=[order.pk]))
    assert response.status_code == 200


def test_ticking_customer_supplied_on_the_page_makes_the_part_free(advisor_client, make_staff):
    advisor = make_staff("advisor")
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    line = work_order_line_add(order=order, actor=advisor, part=PartFactory(price="300"))
    order.refresh_from_db()
    response = advisor_client.post(
        reverse("workorders:line_update", args=[line.pk]),
        {
            "version": order.version,
            "quantity": "1",
            "unit_price": "300.00",
            "discount_percent": "0",
            "job_type": "repair",
            "customer_supplied": "on",
        },
    )
    assert response.status_code == 302
    line.refresh_from_db()
    assert (line.customer_supplied, line.unit_price) == (True, Decimal("0"))


def test_revising_from_the_page_opens_a_draft_and_the_signed_one_stays(advisor_client, make_staff):
    order = _sign(ready_to_sign_order(advisor=make_staff("advisor")), make_staff("advisor"))
    assert advisor_client.post(reverse("workorders:revise", args=[order.pk]), {}).status_code == 400
    response = advisor_client.post(
        reverse("workorders:revise", args=[order.pk]), {"reason": "客户加做四轮定位"}
    )
    draft = WorkOrder.objects.get(revision=2)
    assert response.status_code == 302 and response["Location"] == draft.get_absolute_url()
    page = advisor_client.get(draft.get_absolute_url()).content.decode()
    assert "客户加做四轮定位" in page and 'id="to-sign"' in page
    assert WorkOrder.objects.get(pk=order.pk).status == OrderStatus.SIGNED
    pdf = advisor_client.get(reverse("workorders:pdf", args=[draft.pk]))
    assert pdf.status_code == 200  # a draft prints, marked as not a contract


# ---------------------------------------------------------------- order.signed, every path


def _signed(published) -> list[tuple[int, int]]:
    return [(e.data["order"], e.data["revision"]) for e in published.of("order.signed")]


def test_signing_at_the_desk_publishes_order_signed_once(advisor, published):
    with published.commit():
        order = _sign(ready_to_sign_order(advisor=advisor), advisor)
    with published.commit():
        draft = work_order_revise(order=order, actor=advisor, reason="客户加做四轮定位")
    assert _signed(published) == [(order.pk, 1)]  # a desk revision is a draft: not signed yet
    with published.commit():
        _sign(draft, advisor)
    assert _signed(published) == [(order.pk, 1), (draft.pk, 2)]
    assert published.of("order.signed")[-1].data["visit"] == order.visit_id


@pytest.mark.parametrize("signed_via", ["phone", "link"])
def test_consent_by_phone_or_link_publishes_order_signed_once(advisor, published, signed_via):
    order = _sign(ready_to_sign_order(advisor=advisor), advisor)
    with published.commit():
        revision = work_order_revise(
            order=order,
            actor=advisor,
            reason="制动盘磨损超限",
            add_lines=[{"kind": "labour", "operation": LabourOperationFactory()}],
            signed_via=signed_via,
            approval_note="客户同意",
        )
    assert revision.status == OrderStatus.SIGNED
    assert _signed(published) == [(revision.pk, 2)]
    [event] = published.of("order.signed")
    assert event.order_key == f"visit:{order.visit_id}"
    assert event.data["number"] == revision.number


def test_a_refused_consent_publishes_nothing(advisor, published):
    order = _sign(ready_to_sign_order(advisor=advisor), advisor)
    with published.commit(), pytest.raises(DomainError):
        work_order_revise(order=order, actor=advisor, reason="增项", signed_via="phone")
    assert _signed(published) == []
