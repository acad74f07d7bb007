"""Bad input everywhere: oversized or fake photos refused, markup shown as text on the pages
and in the PDFs, SQL-looking input harmless."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader
from rest_framework.test import APIClient

from dealership import images
from dealership.errors import DomainError
from dealership.images import photo_reencode
from dealership.models import Customer
from dealership.tests.factories import CustomerFactory, VehicleFactory
from reception.models import DamageMark
from reception.pdf import key_tag_pdf
from reception.tests.factories import VisitFactory, WalkedAroundVisitFactory
from workorders.pdf import work_order_pdf
from workorders.tests.factories import ready_to_sign_order

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('x')</script>"
IMG = '<img src=x onerror="alert(1)">'
SQL = "'; DROP TABLE dealership_customer; --"


def _jpeg(size=(64, 48), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (10, 120, 200)).save(out, format="JPEG", **save)
    return out.getvalue()


# ----------------------------------------------------------------------------- photos


def test_a_photo_is_re_encoded_as_a_plain_jpeg_without_its_metadata():
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # camera make; GPS and the rest go the same way
    exif[0x0112] = 6  # orientation: rotate 90°
    out = io.BytesIO()
    Image.new("RGB", (80, 40), (200, 0, 0)).save(out, format="JPEG", exif=exif.tobytes())
    cleaned = photo_reencode(SimpleUploadedFile("car.JPG", out.getvalue(), "image/jpeg"))
    assert cleaned.name == "car.jpg"
    image = Image.open(io.BytesIO(cleaned.read()))
    assert image.format == "JPEG"
    assert image.size == (40, 80)  # turned upright
    assert not image.getexif()


def test_a_png_with_transparency_becomes_a_jpeg_on_white():
    out = io.BytesIO()
    Image.new("RGBA", (30, 30), (0, 0, 0, 0)).save(out, format="PNG")
    image = Image.open(
        io.BytesIO(photo_reencode(SimpleUploadedFile("a.png", out.getvalue())).read())
    )
    assert image.mode == "RGB" and image.getpixel((5, 5)) == (255, 255, 255)


def test_a_huge_photo_is_scaled_down():
    cleaned = photo_reencode(SimpleUploadedFile("big.jpg", _jpeg((5000, 1000))))
    assert max(Image.open(io.BytesIO(cleaned.read())).size) == images.MAX_PHOTO_SIDE


@pytest.mark.parametrize(
    ("content", "code"),
    [
        (b"not an image at all", "not_a_photo"),
        (b"%PDF-1.7\n" + b"x" * 100, "not_a_photo"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "not_a_photo"),
        (_jpeg()[:60], "not_a_photo"),  # truncated
    ],
)
def test_files_that_are_not_photos_are_refused(content, code):
    with pytest.raises(DomainError) as refused:
        photo_reencode(SimpleUploadedFile("x.jpg", content), field="photos")
    assert refused.value.error_dict["photos"][0].code == code


def test_an_oversized_upload_is_refused_before_it_is_decoded(monkeypatch):
    monkeypatch.setattr(images, "MAX_PHOTO_BYTES", 1000)
    with pytest.raises(DomainError) as refused:
        photo_reencode(SimpleUploadedFile("x.jpg", _jpeg((400, 400), quality=100)))
    assert refused.value.error_dict["photo"][0].code == "photo_too_large"


def test_a_decompression_bomb_is_refused(monkeypatch):
    monkeypatch.setattr(images, "MAX_PHOTO_PIXELS", 100 * 100)
    with pytest.raises(DomainError) as refused:
        photo_reencode(SimpleUploadedFile("x.png", _jpeg((200, 200))))
    assert refused.value.error_dict["photo"][0].code == "photo_too_many_pixels"


def test_the_damage_photo_form_refuses_a_fake_photo_next_to_the_field(
    advisor_client, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    visit = WalkedAroundVisitFactory()
    url = reverse("reception:damage_add", args=[visit.pk])
    fake = SimpleUploadedFile("crack.jpg", b"GIF89a<script>alert(1)</script>", "image/jpeg")
    response = advisor_client.post(url, {"kind": "crack", "x": "50", "y": "50", "photo": fake})
    assert response.status_code in (200, 400)
    assert not DamageMark.objects.filter(visit=visit).exists()
    good = SimpleUploadedFile("crack.png", _jpeg(), "image/png")
    response = advisor_client.post(url, {"kind": "crack", "x": "50", "y": "50", "photo": good})
    assert response.status_code == 302
    stored = DamageMark.objects.get(visit=visit).photo
    assert stored.name.endswith(".jpg")
    assert Image.open(stored.open("rb")).format == "JPEG"


# ----------------------------------------------------------------------------- markup


def test_markup_in_text_fields_is_shown_as_text_on_the_pages(advisor_client):
    customer = CustomerFactory(name=SCRIPT, address=IMG, notes=SCRIPT)
    vehicle = VehicleFactory(owner=customer, model=IMG)
    visit = VisitFactory(vehicle=vehicle, customer=customer, concern_text=SCRIPT + IMG)
    pages = [
        reverse("customer_detail", args=[customer.pk]),
        reverse("vehicle_detail", args=[vehicle.pk]),
        reverse("reception:visit", args=[visit.pk]),
        reverse("search") + "?q=" + "alert",
    ]
    for url in pages:
        response = advisor_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert "<script>alert(" not in html, url
        assert "<img src=x" not in html, url
    html = advisor_client.get(reverse("reception:visit", args=[visit.pk])).content.decode()
    assert "&lt;script&gt;alert(" in html


def _pdf_text(content: bytes) -> str:
    return re.sub(
        r"\s+", "", "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    )


def test_markup_in_text_fields_is_printed_as_text_in_the_pdfs(make_staff):
    order = ready_to_sign_order(advisor=make_staff("advisor"))
    visit = order.visit
    Customer.objects.filter(pk=visit.customer_id).update(name=SCRIPT)
    type(visit).objects.filter(pk=visit.pk).update(concern_text=IMG)
    order.refresh_from_db()
    visit.refresh_from_db()
    for content in (work_order_pdf(order), key_tag_pdf(visit)):
        assert content.startswith(b"%PDF")
    order_text = _pdf_text(work_order_pdf(order))
    assert "<script>alert('x')</script>" in order_text  # printed, not interpreted
    assert '<imgsrc=xonerror="alert(1)">' in order_text


# ----------------------------------------------------------------------------- SQL-looking


def test_sql_looking_input_is_stored_and_searched_as_plain_text(advisor_client, make_staff):
    customer = CustomerFactory(name=SQL)
    response = advisor_client.get(reverse("search"), {"q": "' OR '1'='1"})
    assert response.status_code == 200
    assert SQL not in response.content.decode()  # the quote matched nobody
    api = APIClient()
    api.force_authenticate(make_staff("advisor"))
    found = api.get("/api/customers/", {"q": "DROP TABLE"})
    assert found.status_code == 200
    assert [row["id"] for row in found.json()["results"]] == [customer.pk]
    assert api.get("/api/vehicles/", {"q": "1' OR 1=1 --"}).json()["count"] == 0
    assert api.get("/api/vehicles/", {"owner": "1 OR 1=1"}).status_code == 400
    assert Customer.objects.get(pk=customer.pk).name == SQL


def test_a_nul_character_in_a_search_is_harmless(advisor_client):
    response = advisor_client.get(reverse("search"), {"q": "京A\x00"})
    assert response.status_code == 400
    assert advisor_client.get(reverse("search"), {"q": "京A"}).status_code == 200
