"""The store's own repair warranty (issue 16 item 5): terms per work type, the cover of a
delivered visit counted by hand, the comeback within it billed to the store, the
certificate handed over with the gate pass."""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from dealership.models import TimelineEvent, Vehicle
from dealership.rules import rule, rule_set
from dealership.tests.factories import LabourOperationFactory, PartFactory
from delivery import services
from delivery.certificate import warranty_certificate_pdf
from delivery.models import Delivery
from delivery.selectors import bill_for, order_in_force
from delivery.tests.factories import (
    TO_QC,
    error_code,
    handed_back,
    record_final_check,
    settled_visit,
    sign_revision,
    signed_visit,
    staff,
    walk,
)
from reception.models import Visit
from reception.services import visit_check_in, visit_walkaround_sign
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url
from reports.figures import sales_figures, visit_figures
from reports.selectors import period_from
from workorders.models import JobType, RepairWarrantyComeback
from workorders.pdf import work_order_pdf
from workorders.repair_warranty import add_months, warranty_comeback_confirm, warranty_in_force
from workorders.selectors import totals_by_payer
from workorders.services import (
    work_order_line_add,
    work_order_line_update,
    work_order_start,
    work_order_update,
)

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")


def _lines(work_type: str = "repair") -> list[dict]:
    operation = LabourOperationFactory(
        name_zh="更换水泵", name_en="Water pump replacement", work_type=work_type, price="400.00"
    )
    part = PartFactory(name_zh="水泵总成", name_en="Water pump", price=Decimal("600.00"))
    return [
        {"operation": operation, "job_type": "repair"},
        {"part": part, "quantity": "1", "job_type": "repair"},
    ]


def _delivered(*, on: datetime, km: int, work_type: str = "repair") -> Visit:
    """A visit settled, gate pass issued, handed back; delivered `on` at `km` (set by hand)."""
    visit, _order, _settlement = settled_visit(lines=_lines(work_type))
    handed_back(visit)
    Visit.objects.filter(pk=visit.pk).update(delivered_at=on)
    Delivery.objects.filter(visit=visit).update(delivery_odometer_km=km, gate_pass_issued_at=on)
    Vehicle.objects.filter(pk=visit.vehicle_id).update(last_odometer_km=km)
    visit.refresh_from_db()
    return visit


def _jan_10() -> datetime:
    return datetime(2026, 1, 10, 15, 30, tzinfo=SHANGHAI)


# ------------------------------------------------------------------ dates and km by hand


def test_months_are_added_on_the_calendar():
    assert add_months(date(2026, 1, 10), 3) == date(2026, 4, 10)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)  # February 2026 has 28 days
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)  # over the year end
    assert add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)  # leap year


def test_delivered_10_january_at_20000_km_is_in_warranty_until_10_april_or_25000_km():
    # Repair: 3 months / 5 000 km from 10 Jan at 20 000 km -> 10 Apr 2026 or 20 000 + 5 000 km.
    visit = _delivered(on=_jan_10(), km=20000)
    hint = warranty_in_force(visit.vehicle, on=date(2026, 4, 10), odometer_km=25000)
    assert hint.visit == visit
    assert hint.cover.ends_on == date(2026, 4, 10)
    assert hint.cover.until_km == 25000


@pytest.mark.parametrize(
    ("on", "km"),
    [(date(2026, 4, 11), 20500), (date(2026, 2, 1), 25001)],  # a day late; one km over
)
def test_whichever_comes_first_ends_the_warranty(on, km):
    visit = _delivered(on=_jan_10(), km=20000)
    assert warranty_in_force(visit.vehicle, on=on, odometer_km=km) is None


def test_body_and_paint_keeps_its_own_longer_term():
    # Body & paint 12 months / 20 000 km: 10 Jan 2026 -> 10 Jan 2027 or 20 000 + 20 000 km.
    # The part line (repair, 3 months) has ended by July; the paint work still holds.
    visit = _delivered(on=_jan_10(), km=20000, work_type="body_paint")
    hint = warranty_in_force(visit.vehicle, on=date(2026, 7, 1), odometer_km=30000)
    assert (hint.cover.term.work_type, hint.cover.ends_on, hint.cover.until_km) == (
        "body_paint",
        date(2027, 1, 10),
        40000,
    )


def test_the_managers_terms_apply():
    rule_set("workorders.repair_warranty_months_repair", 6)
    rule_set("workorders.repair_warranty_km_repair", 10000)
    # Repair labour + repair part, repair now 6 months / 10 000 km: 10 Jul 2026 or 30 000 km.
    visit = _delivered(on=_jan_10(), km=20000, work_type="repair")
    hint = warranty_in_force(visit.vehicle, on=date(2026, 7, 10), odometer_km=30000)
    assert (hint.cover.ends_on, hint.cover.until_km) == (date(2026, 7, 10), 30000)


# ------------------------------------------------------------ the comeback, billed to the store


def _comeback(delivered_days_ago: int = 10, km: int = 20000):
    earlier = _delivered(on=timezone.now() - timedelta(days=delivered_days_ago), km=km)
    advisor = staff("advisor")
    visit = visit_check_in(vehicle=earlier.vehicle, actor=advisor, concern_text="水泵又漏水")
    order = work_order_start(visit=visit, actor=advisor, lines=_lines())
    return earlier, visit, order, advisor


def test_a_confirmed_warranty_comeback_is_billed_to_the_store():
    earlier, visit, order, advisor = _comeback()
    record = warranty_comeback_confirm(visit=visit, actor=advisor)

    visit.refresh_from_db()
    assert (visit.is_comeback, visit.comeback_of) == (True, earlier)
    # Delivered 10 days ago at 20 000 km, repair 3 months / 5 000 km.
    assert record.covered_until_km == 25000
    assert record.covered_until == add_months(timezone.localtime(earlier.delivered_at).date(), 3)
    order.refresh_from_db()
    assert set(order.lines.values_list("job_type", flat=True)) == {JobType.INTERNAL}
    # Labour 400 + pump 600 = 1 000.00 on the store; the customer pays nothing.
    assert totals_by_payer(order) == [("Store (internal)", Decimal("1000.00"))]

    # A line added later goes to the store too; the advisor may still change it, with a reason.
    line = work_order_line_add(
        order=order, actor=advisor, part=PartFactory(price="50.00"), job_type="repair"
    )
    assert line.job_type == JobType.INTERNAL
    with pytest.raises(ValidationError) as refused:
        work_order_line_update(line=line, actor=advisor, job_type=JobType.REPAIR)
    assert error_code(refused.value) == "reason_required"
    line.refresh_from_db()
    assert line.job_type == JobType.INTERNAL
    changed = work_order_line_update(
        line=line,
        actor=advisor,
        job_type=JobType.REPAIR,
        job_type_reason="客户要求加装，与返修无关",
    )
    assert changed.job_type == JobType.REPAIR
    event = TimelineEvent.objects.filter(kind="order.line_off_warranty").get()
    assert "客户要求加装，与返修无关" in str(event.summary_text)


def test_confirming_with_no_earlier_visit_in_warranty_is_refused_and_changes_nothing():
    # Delivered 100 days ago: past the 3 months of every term.
    _earlier, visit, order, advisor = _comeback(delivered_days_ago=100)
    with pytest.raises(ValidationError) as refused:
        warranty_comeback_confirm(visit=visit, actor=advisor)
    assert error_code(refused.value) == "no_warranty_visit"
    visit.refresh_from_db()
    assert (visit.is_comeback, visit.comeback_of) == (False, None)
    assert not RepairWarrantyComeback.objects.exists()
    assert set(order.lines.values_list("job_type", flat=True)) == {JobType.REPAIR}


def test_confirming_twice_is_refused():
    _earlier, visit, _order, advisor = _comeback()
    warranty_comeback_confirm(visit=visit, actor=advisor)
    with pytest.raises(ValidationError) as refused:
        warranty_comeback_confirm(visit=visit, actor=advisor)
    assert error_code(refused.value) == "confirmed"


# ------------------------------------------------------------------ pages


def test_check_in_flags_the_car_within_our_warranty(client):
    earlier = _delivered(on=timezone.now() - timedelta(days=40), km=20000)
    client.force_login(staff("advisor"))
    page = client.get(reverse("reception:check_in"), {"vehicle": earlier.vehicle.pk})
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="warranty-comeback-hint"' in text
    # Delivered at 20 000 km with 5 000 km of warranty: until 25 000 km (pages are in Chinese).
    assert f"在 {earlier.number} 的本店维修质保期内" in text and "25000 公里" in text


def test_the_advisor_confirms_on_the_work_order_and_others_are_refused(client):
    earlier, visit, order, _advisor = _comeback()
    url = reverse("workorders:warranty_comeback", args=[visit.pk])
    page = reverse("workorders:order", args=[order.pk])
    for role in ("technician", "qc_inspector", "cashier"):
        client.force_login(staff(role))
        assert client.post(url).status_code == 403
    client.force_login(staff("advisor"))
    shown = client.get(page).content.decode()
    assert 'id="confirm-warranty-comeback"' in shown and "本店维修质量保证" in shown
    assert client.post(url).status_code == 302
    assert RepairWarrantyComeback.objects.get(visit=visit).earlier_visit == earlier
    assert 'id="warranty-comeback"' in client.get(page).content.decode()


def test_confirming_without_a_visit_in_warranty_says_why_on_the_page(client):
    _earlier, visit, _order, _advisor = _comeback(delivered_days_ago=100)
    client.force_login(staff("advisor"))
    answer = client.post(reverse("workorders:warranty_comeback", args=[visit.pk]))
    assert answer.status_code == 400
    assert "该车没有仍在本店维修质保期内" in answer.content.decode()


@pytest.mark.parametrize("value", ["0", "37", "abc"])
def test_a_warranty_term_out_of_bounds_is_refused_on_the_rules_page(client, value):
    client.force_login(staff("service_manager"))
    key = "workorders.repair_warranty_months_repair"
    answer = client.post(reverse("store_rules"), {"key": key, "value": value})
    assert answer.status_code == 400
    assert rule(key) == 3


def test_the_manager_sets_a_warranty_term_and_an_advisor_may_not(client):
    key = "workorders.repair_warranty_km_body_paint"
    client.force_login(staff("advisor"))
    assert client.post(reverse("store_rules"), {"key": key, "value": "30000"}).status_code == 403
    client.force_login(staff("service_manager"))
    assert client.post(reverse("store_rules"), {"key": key, "value": "30000"}).status_code == 302
    assert rule(key) == 30000
    answer = client.post(reverse("store_rules"), {"key": key, "value": "100001"})
    assert "请输入 500 到 100000 之间的数字。" in answer.content.decode()


# ------------------------------------------------------------------ the certificate


def _text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


def test_the_certificate_states_the_car_the_work_and_the_terms_in_chinese():
    visit = _delivered(on=_jan_10(), km=20000)
    visit.customer.language = "zh-hans"
    text = _text(warranty_certificate_pdf(visit, Delivery.objects.get(visit=visit)))
    assert "质 量 保 证 凭 证" in text  # the title is spaced out
    assert visit.number in text and visit.vehicle.plate in text and visit.vehicle.vin in text
    assert "2026-01-10 · 20000 km" in text  # Chinese numbers are not grouped
    assert "更换水泵" in text and "水泵总成" in text
    # Repair: 10 Jan + 3 months = 2026-04-10, 20 000 + 5 000 = 25 000 km.
    assert "一般维修 3 个月或 5000 公里 2026-04-10 25000 km" in text
    assert "客户签字" in text


def test_the_certificate_in_english():
    visit = _delivered(on=_jan_10(), km=20000)
    visit.customer.language = "en"
    text = _text(warranty_certificate_pdf(visit, Delivery.objects.get(visit=visit)))
    assert "Quality warranty certificate" in text and "Water pump replacement" in text
    assert "3 months or 5,000 km" in text and "2026-04-10" in text


def test_the_certificate_page_for_money_roles_and_403_for_the_workshop(client):
    visit = _delivered(on=_jan_10(), km=20000)
    url = reverse("delivery:warranty_certificate_pdf", args=[visit.pk])
    for role in ("technician", "workshop_controller", "customer_care"):
        client.force_login(staff(role))
        assert client.get(url).status_code == 403
    client.force_login(staff("cashier"))
    answer = client.get(url)
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    page = client.get(reverse("delivery:visit", args=[visit.pk])).content.decode()
    assert 'id="warranty-certificate-link"' in page and 'id="exit-papers"' in page


def test_no_certificate_before_the_gate_pass(client):
    visit, _order, _settlement = settled_visit(lines=_lines())
    client.force_login(staff("cashier"))
    url = reverse("delivery:warranty_certificate_pdf", args=[visit.pk])
    assert client.get(url).status_code == 302
    page = client.get(reverse("delivery:visit", args=[visit.pk])).content.decode()
    assert 'id="warranty-certificate-link"' not in page


# ------------------------------------------------------------ the report


def test_the_report_counts_the_warranty_comeback_and_not_its_work_as_revenue():
    earlier = _delivered(on=timezone.now() - timedelta(days=10), km=20000)
    advisor = earlier.advisor
    visit = WalkedAroundVisitFactory(
        vehicle=earlier.vehicle, customer=earlier.customer, advisor=advisor, odometer_km=20800
    )
    visit_walkaround_sign(
        visit=visit, actor=advisor, signature=signature_data_url(), signer_name="张三"
    )
    order = work_order_start(visit=visit, actor=advisor, lines=_lines())
    warranty_comeback_confirm(visit=visit, actor=advisor)
    order.refresh_from_db()
    work_order_update(
        order=order,
        actor=advisor,
        payment_method="cash",
        promised_at=timezone.now() + timedelta(hours=3),
        promised_reason="客户要求",
    )
    sign_revision(order, advisor)
    visit.refresh_from_db()
    walk(visit, TO_QC, advisor)
    services.visit_mark_ready(visit=visit, actor=advisor, wash_done=False)
    record_final_check(visit, order_in_force(visit))
    assert bill_for(visit).customer_total == Decimal("0.00")  # all 1 000.00 on the store
    services.settlement_create(visit=visit, actor=staff("cashier"), payments=[])

    today = period_from("day", None)
    sales = sales_figures(today)
    # Two bills today: the earlier visit (labour 400 + pump 600, the customer's) and the
    # comeback (the same 400 + 600, the store's): revenue is the earlier visit's only.
    assert sales["repair_orders"] == 2
    assert (sales["labour_revenue"], sales["parts_revenue"]) == (
        Decimal("400.00"),
        Decimal("600.00"),
    )
    assert visit_figures(today)["comebacks"] == 1


def test_the_work_order_pdf_prints_the_terms_of_its_work_types():
    _visit, order = signed_visit(lines=_lines("body_paint"))
    text = _text(work_order_pdf(order)).replace("\n", "")
    # Body & paint labour (12 months / 20 000 km) and a repair part (3 months / 5 000 km).
    assert "一般维修 3 个月或 5000 公里; 钣金喷漆 12 个月或 20000 公里" in text
    assert "以先到者为准" in text


def test_the_warranty_look_up_reads_a_fixed_number_of_queries_however_many_visits():
    long_ago = timezone.now() - timedelta(days=100)  # past every 3-month term
    visits = [_delivered(on=long_ago, km=20000) for _ in range(3)]
    vehicle = visits[0].vehicle

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert warranty_in_force(vehicle, odometer_km=20100) is None
        return len(captured)

    alone = queries()
    Visit.objects.filter(pk__in=[v.pk for v in visits]).update(vehicle=vehicle)
    assert queries() == alone
