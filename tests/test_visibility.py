"""Issue 14 item 4: one place (dealership.visibility) decides what each role sees of a customer.

The workshop (controller, technician, QC inspector) sees the mobile numbers and the e-mail
masked and never the address, company, contact time or notes, on every page, PDF and in
the API; and, seeing the numbers masked, it cannot find a customer by the digits (else it
could recover a number digit by digit).
"""

import re
from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.services import customer_update
from dealership.tests.factories import CustomerFactory, VehicleFactory
from dealership.visibility import can_search_by_phone, customer_view

pytestmark = pytest.mark.django_db

MOBILE, MOBILE_ALT, OLD_MOBILE = "13900001234", "13700005678", "13600009999"
EMAIL, COMPANY, NOTES = "zhao.min@example.cn", "星湖物流有限公司", "只在下午接电话，老客户"
ADDRESS = "苏州市工业园区星湖街328号"
SECRETS = (MOBILE, MOBILE_ALT, OLD_MOBILE, EMAIL, "zhao.min", COMPANY, NOTES, ADDRESS)
WORKSHOP_ROLES = ("workshop_controller", "technician", "qc_inspector")
FRONT_DESK_ROLES = ("advisor", "cashier", "customer_care", "service_manager")


@pytest.fixture
def customer():
    customer = CustomerFactory(
        name="赵敏",
        mobile=OLD_MOBILE,
        mobile_alt=MOBILE_ALT,
        email=EMAIL,
        company=COMPANY,
        address=ADDRESS,
        notes=NOTES,
    )
    # The change history then carries the old number, the e-mail and the notes too.
    return customer_update(customer=customer, actor=None, mobile=MOBILE, notes=NOTES + "。")


@pytest.fixture
def vehicle(customer):
    return VehicleFactory(owner=customer, plate="苏E6A0689")


def _workday(days: int = 3):
    day = timezone.localdate() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _appointment(vehicle):
    from appointments.services import appointment_book
    from appointments.tests.factories import local, make_workshop

    workshop = make_workshop()
    return appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(_workday(), 10),
        operations=[workshop["oil"]],
        actor=None,
    )


def _pdf_text(content: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


def _no_secret(text: str, where: str):
    for secret in SECRETS:
        assert secret not in text, (where, secret)


# ------------------------------------------------------------------ the table itself


def test_the_table_masks_the_workshop_and_shows_the_front_desk_everything(make_staff, customer):
    for role in WORKSHOP_ROLES:
        view = customer_view(make_staff(role), customer)
        assert (view.mobile, view.mobile_alt, view.email) == (
            "139****1234",
            "137****5678",
            "z***@example.cn",
        )
        assert (view.address, view.company, view.notes, view.tel) == ("", "", "", "")
        assert not can_search_by_phone(make_staff(role))
    for role in FRONT_DESK_ROLES:
        view = customer_view(make_staff(role), customer)
        assert (view.mobile, view.email, view.company, view.address) == (
            MOBILE,
            EMAIL,
            COMPANY,
            ADDRESS,
        )
        assert can_search_by_phone(make_staff(role))


# ------------------------------------------------------------------ search by digits


@pytest.mark.parametrize("role", WORKSHOP_ROLES)
def test_a_masked_role_finds_nobody_by_phone_digits_in_the_api(make_staff, customer, role):
    client = APIClient()
    client.force_authenticate(make_staff(role))
    for digits in ("1390000", "139", MOBILE, "5678"):
        response = client.get("/api/customers/", {"q": digits})
        found = response.json().get("results", []) if response.status_code == 200 else []
        assert response.status_code in (200, 403), response.status_code
        assert found == [], (role, digits)
        assert MOBILE not in response.content.decode()


@pytest.mark.parametrize("role", WORKSHOP_ROLES)
def test_a_masked_role_finds_nobody_by_phone_digits_on_the_search_page(
    client, make_staff, customer, vehicle, role
):
    client.force_login(make_staff(role))
    for digits in ("1390000", "13900001234", "0001234"):
        for headers in ({}, {"HTTP_HX_REQUEST": "true"}):
            response = client.get(reverse("search"), {"q": digits}, **headers)
            page = response.content.decode()
            assert "赵敏" not in page, (role, digits)
            assert response.status_code in (200, 403)


@pytest.mark.parametrize("role", ("workshop_controller", "qc_inspector"))
def test_a_masked_role_still_finds_a_car_by_plate_and_vin(client, make_staff, vehicle, role):
    client.force_login(make_staff(role))
    for query in ("E6A068", vehicle.vin[-6:]):
        page = client.get(reverse("search"), {"q": query}).content.decode()
        assert "赵敏" in page and "139****1234" in page, query
        _no_secret(page, query)


def test_the_front_desk_still_finds_a_customer_by_digits(client, make_staff, customer):
    client.force_login(make_staff("advisor"))
    assert "赵敏" in client.get(reverse("search"), {"q": "0001234"}).content.decode()
    api = APIClient()
    api.force_authenticate(make_staff("customer_care"))
    rows = api.get("/api/customers/", {"q": "1390000"}).json()["results"]
    assert [row["mobile"] for row in rows] == [MOBILE]


# ------------------------------------------------------------------ pages, PDFs, API


def test_the_controller_sees_masked_phones_on_the_archive_and_the_appointment(
    client, make_staff, customer, vehicle
):
    appointment = _appointment(vehicle)
    client.force_login(make_staff("workshop_controller"))
    pages = {
        "customer archive": reverse("followup:customer_archive", args=[customer.pk]),
        "vehicle archive": reverse("followup:vehicle_archive", args=[vehicle.pk]),
        "appointment": reverse("appointments:detail", args=[appointment.pk]),
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, name
        page = response.content.decode()
        assert "赵敏" in page and "139****1234" in page, name
        assert f"tel:{MOBILE}" not in page, name
        _no_secret(page, name)


def test_the_front_desk_sees_the_full_phone_on_the_archive(client, make_staff, customer):
    client.force_login(make_staff("customer_care"))
    page = client.get(reverse("followup:customer_archive", args=[customer.pk])).content.decode()
    assert f"tel:{MOBILE}" in page and OLD_MOBILE in page  # the number and its history


@pytest.mark.parametrize("role", ("workshop_controller", "qc_inspector"))
def test_email_company_notes_and_address_are_masked_or_hidden_for_the_workshop(
    client, make_staff, customer, vehicle, role
):
    client.force_login(make_staff(role))
    for name in ("customer_detail", "vehicle_detail"):
        obj = customer if name == "customer_detail" else vehicle
        page = client.get(reverse(name, args=[obj.pk])).content.decode()
        assert "139****1234" in page, name
        _no_secret(page, name)
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert "z***@example.cn" in page and "136****9999" in page  # e-mail masked, history masked


def test_the_customers_api_masks_email_and_empties_company_and_notes_for_the_workshop(
    make_staff, customer
):
    client = APIClient()
    client.force_authenticate(make_staff("qc_inspector"))
    data = client.get(f"/api/customers/{customer.pk}/").json()
    assert data["mobile"] == "139****1234" and data["email"] == "z***@example.cn"
    assert (data["address"], data["company"], data["notes"], data["preferred_contact_time"]) == (
        "",
        "",
        "",
        "",
    )
    _no_secret(client.get("/api/customers/").content.decode(), "list")
    client.force_authenticate(make_staff("advisor"))
    data = client.get(f"/api/customers/{customer.pk}/").json()
    assert (data["email"], data["company"], data["notes"]) == (EMAIL, COMPANY, NOTES + "。")


def test_the_work_order_pdf_masks_the_customer_for_the_workshop(client, make_staff, customer):
    from workshop.tests.factories import make_signed_visit

    visit = make_signed_visit(customer=customer, vehicle=VehicleFactory(owner=customer))
    order = visit.work_orders.get()
    url = reverse("workorders:pdf", args=[order.pk])
    client.force_login(make_staff("workshop_controller"))
    text = re.sub(r"\s+", "", _pdf_text(client.get(url).content))
    assert "139****1234" in text
    _no_secret(text, "work order pdf")
    client.force_login(make_staff("advisor"))
    text = re.sub(r"\s+", "", _pdf_text(client.get(url).content))
    assert MOBILE in text and COMPANY in text


def test_the_delivery_sheet_prints_the_customer_as_the_viewer_may_see_it(make_staff):
    from delivery import pdf
    from delivery.tests.factories import checked_visit

    visit, _order = checked_visit()
    mobile = visit.customer.mobile
    masked = re.sub(
        r"\s+", "", _pdf_text(pdf.delivery_sheet_pdf(visit, viewer=make_staff("qc_inspector")))
    )
    assert mobile not in masked and f"{mobile[:3]}****{mobile[-4:]}" in masked
    full = re.sub(
        r"\s+", "", _pdf_text(pdf.delivery_sheet_pdf(visit, viewer=make_staff("advisor")))
    )
    assert mobile in full
    assert mobile in re.sub(r"\s+", "", _pdf_text(pdf.delivery_sheet_pdf(visit)))  # the customer's


def test_messages_on_the_visit_page_are_masked_for_the_workshop(client, make_staff):
    from dealership.models import Message
    from delivery.tests.factories import checked_visit

    visit, _order = checked_visit()
    mobile = visit.customer.mobile
    Message.objects.create(
        to=mobile,
        channel="sms",
        template="test",
        language="zh-hans",
        body=f"您的车已可取，如有疑问请致电 {mobile}。",
        status="sent",
        customer=visit.customer,
        vehicle=visit.vehicle,
    )
    url = reverse("reception:visit", args=[visit.pk])
    client.force_login(make_staff("qc_inspector"))
    page = client.get(url).content.decode()
    assert mobile not in page and f"{mobile[:3]}****{mobile[-4:]}" in page
    client.force_login(make_staff("cashier"))
    assert mobile in client.get(url).content.decode()
