"""The delivery pages: what each role sees, forms in, errors next to the field, bounded queries."""

from decimal import Decimal

import pytest
from django.urls import reverse

from dealership.tests.factories import TEST_PASSWORD, PartFactory
from delivery.models import Delivery, Settlement
from delivery.services import gate_pass_issue
from delivery.tests.factories import (
    TO_QC,
    checked_visit,
    handed_back,
    qc_passed_visit,
    ready_visit,
    record_final_check,
    reprice_labour,
    settled_visit,
    signed_visit,
    staff,
    walk,
)
from reception.models import Visit
from reception.states import VisitStatus
from reception.tests.factories import signature_data_url
from workorders.selectors import order_in_force

pytestmark = pytest.mark.django_db
S = VisitStatus


@pytest.fixture
def as_role(client):
    def login(role):
        user = staff(role)
        client.force_login(user)
        return user

    return login


def _page(client, visit):
    return client.get(reverse("delivery:visit", args=[visit.pk]))


def test_the_page_shows_the_steps_in_chinese(client, as_role):
    visit, _order = ready_visit()
    as_role("advisor")
    response = _page(client, visit)
    text = response.content.decode()
    assert response.status_code == 200
    for word in ("终检", "结算", "交车说明单", "出门证"):
        assert word in text
    assert visit.number in text


def test_mark_ready_from_the_page(client, as_role):
    visit, _order = qc_passed_visit()
    as_role("workshop_controller")
    response = client.post(reverse("delivery:ready", args=[visit.pk]), {})
    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == S.READY_FOR_PICKUP


def test_wash_pending_is_shown_next_to_the_checkbox(client, as_role):
    visit, _order = qc_passed_visit(wash=True)
    as_role("advisor")
    response = client.post(
        reverse("delivery:ready", args=[visit.pk]), {}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 400
    assert "wash" in response.context["ready_form"].errors["wash_done"][0]
    assert Visit.objects.get(pk=visit.pk).status == S.QC_PASSED


def test_final_check_form(client, as_role):
    visit, order = ready_visit()
    as_role("advisor")
    data = {
        "lines": [line.pk for line in order.lines.all()],
        "odometer_km": visit.odometer_km + 2,
        "exterior_matches": "on",
        "no_tools_left": "on",
        "settings_restored": "on",
        "belongings_present": "on",
        "old_parts_handling": "shown_disposed",
    }
    missing_tools = {k: v for k, v in data.items() if k != "no_tools_left"}
    response = client.post(reverse("delivery:final_check", args=[visit.pk]), missing_tools)
    assert response.status_code == 400
    assert response.context["check_form"].errors["no_tools_left"]

    response = client.post(reverse("delivery:final_check", args=[visit.pk]), data)
    assert response.status_code == 302
    assert Delivery.objects.get(visit=visit).final_check_done
    # The advisor sees what was recorded, with the form folded away under "check again".
    page = client.get(reverse("delivery:visit", args=[visit.pk])).content.decode()
    result = page.split('id="final-check-result"')[1].split("</ul>")[0]
    assert f"{visit.odometer_km + 2} km" in result


def test_cashier_settles_with_a_split_payment_and_sees_the_invoice(client, as_role):
    visit, _order = checked_visit()
    as_role("cashier")
    url = reverse("delivery:settle", args=[visit.pk])
    response = client.post(url, {"card_amount": "600", "alipay_amount": "300"})
    assert response.status_code == 400
    assert "¥900.00" in response.content.decode()  # the mismatch is explained
    assert not Settlement.objects.exists()

    response = client.post(url, {"card_amount": "600", "alipay_amount": "400.00"}, follow=True)
    settlement = Settlement.objects.get(visit=visit)
    assert settlement.paid_total == Decimal("1000.00")
    assert settlement.invoice_number in response.content.decode()


def test_settle_before_qc_shows_the_refusal(client, as_role):
    visit, _order = signed_visit()
    as_role("cashier")
    response = client.post(
        reverse("delivery:settle", args=[visit.pk]),
        {"cash_amount": "1000"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "quality control" in response.content.decode()


def test_gate_pass_button_before_payment_is_refused_with_a_message(client, as_role):
    visit, _order = checked_visit()
    as_role("cashier")
    response = client.post(reverse("delivery:gate_pass", args=[visit.pk]))
    assert response.status_code == 400
    assert not Delivery.objects.get(visit=visit).gate_pass_issued


def test_void_by_a_cashier_is_refused_on_the_page(client, as_role):
    visit, _order, settlement = settled_visit()
    as_role("cashier")
    response = client.post(
        reverse("delivery:void", args=[settlement.pk]),
        {"reason": "录错"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400
    assert "Only the service manager" in response.content.decode()
    assert Settlement.objects.get(pk=settlement.pk).is_paid


def test_hand_back_page_signs_and_delivers(client, as_role):
    visit, _order, _settlement = settled_visit()
    gate_pass_issue(visit=visit, actor=staff("cashier"))
    as_role("advisor")
    url = reverse("delivery:hand_back", args=[visit.pk])
    assert client.get(url).status_code == 200
    data = {
        "signer_name": "张三",
        "belongings_returned": "on",
        "keys_returned": "on",
        "covers_removed": "on",
        "signature": "",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert response.context["form"].errors["signature"]

    response = client.post(url, {**data, "signature": signature_data_url()})
    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == S.DELIVERED
    # The tablet waits on the hand-back screen for the staff member's password.
    assert response["Location"] == reverse("tablet_locked")
    client.post(reverse("tablet_locked"), {"password": TEST_PASSWORD})
    png = client.get(reverse("delivery:handback_signature", args=[visit.pk]))
    assert png.status_code == 200 and png["Content-Type"] == "image/png"


def test_a_missing_hand_back_signature_file_is_a_404_not_a_500(client, as_role):
    visit, _order, _settlement = settled_visit()
    handed_back(visit)
    stored = Delivery.objects.get(visit=visit).handback_signature
    assert stored
    stored.storage.delete(stored.name)
    as_role("advisor")
    response = client.get(reverse("delivery:handback_signature", args=[visit.pk]))
    assert response.status_code == 404


def test_pdfs_are_served(client, as_role):
    visit, _order, settlement = settled_visit()
    as_role("cashier")
    gate = reverse("delivery:gate_pass_pdf", args=[visit.pk])
    assert client.get(gate).status_code == 302  # no gate pass yet
    gate_pass_issue(visit=visit, actor=staff("cashier"))
    for url in (
        gate,
        reverse("delivery:sheet_pdf", args=[visit.pk]),
        reverse("delivery:receipt_pdf", args=[settlement.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.content.startswith(b"%PDF")


def test_nav_entries(client, as_role):
    as_role("cashier")
    text = client.get(reverse("delivery:cashier")).content.decode()
    assert 'href="/delivery/cashier/"' in text and "结算" in text
    as_role("advisor")
    text = client.get(reverse("delivery:board")).content.decode()
    assert 'href="/delivery/"' in text and "交车" in text


@pytest.mark.parametrize("name", ["delivery:board", "delivery:cashier"])
def test_lists_keep_a_fixed_number_of_queries(client, as_role, django_assert_max_num_queries, name):
    as_role("service_manager")
    ready_visit()
    checked_visit()
    settled_visit()
    with django_assert_max_num_queries(12) as few:
        client.get(reverse(name))
    for _ in range(3):
        ready_visit()
        settled_visit()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse(name))
    assert response.status_code == 200


def test_the_visit_page_query_count_does_not_grow_with_lines(
    client, as_role, django_assert_max_num_queries
):

    small, _ = checked_visit()
    many_lines = [{"part": PartFactory(), "job_type": "repair"} for _ in range(12)]
    big, _ = checked_visit(lines=many_lines)
    as_role("service_manager")
    with django_assert_max_num_queries(40) as first:
        _page(client, small)
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert _page(client, big).status_code == 200


def test_the_customers_approval_of_an_overrun_recorded_on_the_page(client, as_role):
    visit, order = signed_visit()
    reprice_labour(order, visit.advisor, "500.00")
    walk(visit, TO_QC, visit.advisor)
    client.force_login(visit.advisor)
    client.post(reverse("delivery:ready", args=[visit.pk]))
    record_final_check(visit, order_in_force(visit))
    page = _page(client, visit).content.decode()
    assert 'id="overrun-warning"' in page and "¥1100.00" in page

    url = reverse("delivery:approve_overrun", args=[visit.pk])
    response = client.post(url, {"amount": "1200.00", "via": "phone", "note": ""})
    assert response.status_code == 400 and response.context["approval_form"].errors["note"]
    response = client.post(url, {"amount": "1200.00", "via": "phone", "note": "客户同意多付200元"})
    assert response.status_code == 302
    assert 'id="overrun-warning"' not in _page(client, visit).content.decode()

    as_role("cashier")
    client.post(reverse("delivery:settle", args=[visit.pk]), {"wechat_amount": "1200.00"})
    assert Settlement.objects.get(visit=visit).overrun_approved
