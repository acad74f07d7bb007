"""The walk-around, damage marks, belongings, signature, concern and insurance job through
the API: the pages' services, roles and messages (issue 18 item 1).

Each endpoint: the right role gets the records the page action makes; a role the page
refuses gets 403; a refused action is a 400 with the page's message and changes nothing.
"""

import base64
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from reception.models import Belonging, DamageMark, InsuranceCase, InsuranceOfferDismissal, Visit
from reception.services import belonging_add, damage_mark_add, visit_walkaround_sign
from reception.tests.factories import (
    VisitFactory,
    WalkedAroundVisitFactory,
    bomb_data_url,
    signature_data_url,
)

pytestmark = pytest.mark.django_db

SIGNED = "The customer signed the walk-around; it can no longer be changed."


@pytest.fixture
def api(make_staff):
    """An API client in English as the given role (the advisor by default)."""

    def make(role: str = "advisor") -> APIClient:
        client = APIClient()
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        client.force_authenticate(make_staff(role))
        return client

    return make


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _png_bytes(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(buffer, "PNG")
    return buffer.getvalue()


def _signed(visit: Visit) -> Visit:
    visit_walkaround_sign(
        visit=visit, actor=visit.advisor, signature=signature_data_url(), signer_name="陈静"
    )
    return visit


# ------------------------------------------------------------------ the walk-around


def test_the_advisor_records_the_walkaround_through_the_api(api):
    visit = VisitFactory()
    response = api().post(
        f"/api/reception/visits/{visit.pk}/walkaround/",
        {
            "version": visit.version,
            "odometer_km": 42_000,
            "fuel_level": 4,
            "covers": "three",
            "warning_lamps": ["abs"],
            "key_tag": "k12",
            "key_count": 2,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    visit.refresh_from_db()
    assert (visit.odometer_km, visit.fuel_level, visit.covers) == (42_000, 4, "three")
    assert visit.warning_lamps == ["abs"]
    assert (visit.key_tag, visit.key_count) == ("K12", 2)  # the page's upper-case tag
    assert visit.vehicle.__class__.objects.get(pk=visit.vehicle_id).last_odometer_km == 42_000
    assert response.json()["key_tag"] == "K12"


def test_a_role_the_walkaround_page_refuses_gets_403(api):
    visit = VisitFactory()
    response = api("cashier").post(
        f"/api/reception/visits/{visit.pk}/walkaround/", {"odometer_km": 1}, format="json"
    )
    assert response.status_code == 403
    visit.refresh_from_db()
    assert visit.odometer_km is None


def test_a_lower_odometer_without_a_reason_is_refused_with_the_pages_message(api):
    visit = VisitFactory(previous_odometer_km=50_000)
    response = api().post(
        f"/api/reception/visits/{visit.pk}/walkaround/",
        {"odometer_km": 40_000, "covers": "three"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["odometer_km"] == [
        "The odometer reads 40000 km, below the 50000 km recorded before. "
        "Check the reading, or give the reason (e.g. instrument cluster replaced)."
    ]
    visit.refresh_from_db()
    assert (visit.odometer_km, visit.covers) == (None, "none")


def test_after_signing_only_the_key_tag_and_parking_spot_change(api):
    visit = _signed(WalkedAroundVisitFactory())
    client = api()
    refused = client.post(
        f"/api/reception/visits/{visit.pk}/walkaround/", {"odometer_km": 43_000}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["non_field_errors"] == [SIGNED]
    moved = client.post(
        f"/api/reception/visits/{visit.pk}/walkaround/", {"parking_spot": "B-07"}, format="json"
    )
    assert moved.status_code == 200
    visit.refresh_from_db()
    assert (visit.odometer_km, visit.parking_spot) == (42_000, "B-07")


# ------------------------------------------------------------------ damage marks


def test_a_damage_mark_with_a_photo_as_a_file_part(api):
    visit = VisitFactory()
    photo = SimpleUploadedFile("dent.png", _png_bytes(), content_type="image/png")
    response = api().post(
        f"/api/reception/visits/{visit.pk}/damage-marks/",
        {"kind": "dent", "x": "20.5", "y": "30", "note": "左前门", "photo": photo},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    mark = DamageMark.objects.get(visit=visit)
    assert (mark.kind, mark.x, mark.y, mark.note) == ("dent", Decimal("20.50"), 30, "左前门")
    # Re-encoded as the page does: a JPEG, whatever was sent.
    assert mark.photo.name.endswith(".jpg")
    assert Image.open(mark.photo.open()).format == "JPEG"
    assert response.json()["photo"] == f"/reception/damage/{mark.pk}/photo/"


def test_a_damage_mark_with_a_photo_as_a_data_url(api):
    visit = VisitFactory()
    data_url = "data:image/png;base64," + base64.b64encode(_png_bytes("blue")).decode()
    response = api().post(
        f"/api/reception/visits/{visit.pk}/damage-marks/",
        {"kind": "scratch", "x": 10, "y": 90, "photo": data_url},
        format="json",
    )
    assert response.status_code == 201, response.content
    mark = DamageMark.objects.get(visit=visit)
    assert Image.open(mark.photo.open()).size == (40, 30)


@pytest.mark.parametrize(
    ("photo", "message"),
    [
        (
            "data:image/png;base64,bm90IGEgcGhvdG8=",
            "This file is not a photo (JPEG, PNG, WebP or GIF).",
        ),
        ("data:image/png;base64,%%%", "This file is not a photo (JPEG, PNG, WebP or GIF)."),
        ("https://example.com/a.jpg", "Send the photo as a file or a data URL."),
        (bomb_data_url(), "This photo has too many pixels; take it at a lower resolution."),
    ],
)
def test_a_photo_that_is_not_one_is_refused_by_the_field_and_no_mark_is_made(api, photo, message):
    visit = VisitFactory()
    response = api().post(
        f"/api/reception/visits/{visit.pk}/damage-marks/",
        {"kind": "scratch", "x": 10, "y": 90, "photo": photo},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["photo"] == [message]
    assert not DamageMark.objects.exists()


def test_damage_marks_are_refused_after_signing_and_to_other_roles(api):
    visit = _signed(WalkedAroundVisitFactory())
    body = {"kind": "scratch", "x": 10, "y": 10}
    url = f"/api/reception/visits/{visit.pk}/damage-marks/"
    assert api("qc_inspector").post(url, body, format="json").status_code == 403
    refused = api().post(url, body, format="json")
    assert refused.status_code == 400
    assert refused.json()["non_field_errors"] == [SIGNED]
    assert not DamageMark.objects.exists()


def test_a_damage_mark_is_taken_back_until_the_customer_signs(api):
    visit = WalkedAroundVisitFactory()
    mark = damage_mark_add(visit=visit, actor=visit.advisor, kind="dent", x=1, y=2)
    url = f"/api/reception/damage-marks/{mark.pk}/"
    assert api("workshop_controller").delete(url).status_code == 403
    assert api().delete(url).status_code == 204
    assert not DamageMark.objects.exists()
    kept = damage_mark_add(visit=visit, actor=visit.advisor, kind="dent", x=1, y=2)
    _signed(visit)
    refused = api().delete(f"/api/reception/damage-marks/{kept.pk}/")
    assert refused.status_code == 400
    assert refused.json()["non_field_errors"] == [SIGNED]
    assert DamageMark.objects.filter(pk=kept.pk).exists()


# ------------------------------------------------------------------ belongings


def test_belongings_are_added_and_removed_as_on_the_page(api):
    visit = VisitFactory()
    client = api()
    added = client.post(
        f"/api/reception/visits/{visit.pk}/belongings/",
        {"description": " 行车记录仪 ", "is_valuable": True, "handling": "locked"},
        format="json",
    )
    assert added.status_code == 201, added.content
    item = Belonging.objects.get(visit=visit)
    assert (item.description, item.is_valuable, item.handling) == ("行车记录仪", True, "locked")
    assert client.delete(f"/api/reception/belongings/{item.pk}/").status_code == 204
    assert not Belonging.objects.exists()


def test_a_valuable_left_in_the_car_is_refused_with_the_pages_message(api):
    visit = VisitFactory()
    response = api().post(
        f"/api/reception/visits/{visit.pk}/belongings/",
        {"description": "笔记本电脑", "is_valuable": True},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["handling"] == [
        "Valuables do not stay in the car: hand them to the customer or lock them at the desk."
    ]
    assert not Belonging.objects.exists()


def test_belongings_refuse_other_roles_and_a_signed_walkaround(api):
    visit = WalkedAroundVisitFactory()
    item = belonging_add(visit=visit, actor=visit.advisor, description="雨伞")
    assert api("cashier").delete(f"/api/reception/belongings/{item.pk}/").status_code == 403
    assert (
        api("cashier")
        .post(f"/api/reception/visits/{visit.pk}/belongings/", {"description": "伞"}, format="json")
        .status_code
        == 403
    )
    _signed(visit)
    refused = api().delete(f"/api/reception/belongings/{item.pk}/")
    assert refused.status_code == 400 and refused.json()["non_field_errors"] == [SIGNED]
    added = api().post(
        f"/api/reception/visits/{visit.pk}/belongings/", {"description": "伞"}, format="json"
    )
    assert added.status_code == 400 and added.json()["non_field_errors"] == [SIGNED]
    assert list(Belonging.objects.values_list("description", flat=True)) == ["雨伞"]


# ------------------------------------------------------------------ the signature


def test_the_customer_signs_the_walkaround_with_a_data_url(api):
    visit = WalkedAroundVisitFactory()
    response = api().post(
        f"/api/reception/visits/{visit.pk}/walkaround-sign/",
        {"signer_name": "陈静", "signature": signature_data_url(), "version": visit.version},
        format="json",
    )
    assert response.status_code == 200, response.content
    visit.refresh_from_db()
    assert visit.walkaround_signer == "陈静" and visit.walkaround_signed_at is not None
    assert visit.walkaround_signature.name.endswith(".png")
    assert response.json()["walkaround_signed_at"] is not None


@pytest.mark.parametrize(
    ("factory", "signature", "field", "message"),
    [
        (VisitFactory, signature_data_url(), "odometer_km", "Read the odometer."),
        (
            WalkedAroundVisitFactory,
            signature_data_url(blank=True),
            "signature",
            "The signature is empty: please sign with your finger.",
        ),
        (
            WalkedAroundVisitFactory,
            bomb_data_url(),
            "signature",
            "The signature image is too large; clear the pad and sign again.",
        ),
    ],
)
def test_a_signature_the_page_refuses_is_refused_and_nothing_is_signed(
    api, factory, signature, field, message
):
    visit = factory()
    response = api().post(
        f"/api/reception/visits/{visit.pk}/walkaround-sign/",
        {"signer_name": "陈静", "signature": signature},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()[field] == [message]
    visit.refresh_from_db()
    assert visit.walkaround_signed_at is None and not visit.walkaround_signature


def test_a_role_the_signing_page_refuses_gets_403(api):
    visit = WalkedAroundVisitFactory()
    response = api("customer_care").post(
        f"/api/reception/visits/{visit.pk}/walkaround-sign/",
        {"signer_name": "陈静", "signature": signature_data_url()},
        format="json",
    )
    assert response.status_code == 403
    visit.refresh_from_db()
    assert visit.walkaround_signed_at is None


# ------------------------------------------------------------------ the concern


def test_the_concern_is_recorded_and_frozen_once_signed(api):
    visit = WalkedAroundVisitFactory()
    client = api()
    saved = client.post(
        f"/api/reception/visits/{visit.pk}/concern/",
        {"concern_text": "冷车启动异响", "diagnosis": "怀疑皮带老化"},
        format="json",
    )
    assert saved.status_code == 200, saved.content
    visit.refresh_from_db()
    assert (visit.concern_text, visit.diagnosis) == ("冷车启动异响", "怀疑皮带老化")
    _signed(visit)
    refused = client.post(
        f"/api/reception/visits/{visit.pk}/concern/", {"concern_text": "改了"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["concern_text"] == [
        "The customer signed their concern; it is kept word for word and cannot change."
    ]
    visit.refresh_from_db()
    assert visit.concern_text == "冷车启动异响"
    assert (
        api("workshop_controller")
        .post(f"/api/reception/visits/{visit.pk}/concern/", {"diagnosis": "x"}, format="json")
        .status_code
        == 403
    )


# ------------------------------------------------------------------ the insurance job


def test_the_insurance_job_is_opened_changed_and_the_offer_dismissed(api):
    visit = VisitFactory()
    client = api()
    opened = client.post(
        f"/api/reception/visits/{visit.pk}/insurance/",
        {"insurer": "picc", "report_number": "RPT-1", "approved_amount": "3000", "excess": "500"},
        format="json",
    )
    assert opened.status_code == 200, opened.content
    case = InsuranceCase.objects.get(visit=visit)
    assert (case.insurer, case.report_number) == ("picc", "RPT-1")
    assert (case.approved_amount, case.excess) == (Decimal("3000.00"), Decimal("500.00"))
    changed = client.post(
        f"/api/reception/visits/{visit.pk}/insurance/",
        {"insurer": "picc", "report_number": "RPT-2", "version": opened.json()["version"]},
        format="json",
    )
    assert changed.status_code == 200
    case.refresh_from_db()
    assert case.report_number == "RPT-2"
    dismissed = client.post(f"/api/reception/visits/{visit.pk}/insurance-dismiss/")
    assert dismissed.status_code == 200
    assert InsuranceOfferDismissal.objects.filter(visit=visit).exists()


def test_an_insurance_job_the_page_refuses_is_refused_and_nothing_changes(api):
    visit = VisitFactory()
    client = api()
    refused = client.post(
        f"/api/reception/visits/{visit.pk}/insurance/",
        {"insurer": "picc", "approved_amount": "100", "excess": "500"},
        format="json",
    )
    assert refused.status_code == 400
    assert refused.json()["excess"] == [
        "The excess (¥500.00) cannot be more than the approved amount (¥100.00)."
    ]
    assert not InsuranceCase.objects.exists()
    cancelled = VisitFactory(status="cancelled")
    closed = client.post(
        f"/api/reception/visits/{cancelled.pk}/insurance/", {"insurer": "picc"}, format="json"
    )
    assert closed.status_code == 400
    assert closed.json()["non_field_errors"] == [
        f"Visit {cancelled.number} is Cancelled: the insurance job can no longer change "
        "(void the bill first if it is wrong)."
    ]
    assert not InsuranceCase.objects.exists()


def test_roles_the_insurance_page_refuses_get_403(api):
    visit = VisitFactory()
    for url, body in (
        (f"/api/reception/visits/{visit.pk}/insurance/", {"insurer": "picc"}),
        (f"/api/reception/visits/{visit.pk}/insurance-dismiss/", {}),
    ):
        assert api("cashier").post(url, body, format="json").status_code == 403
    assert not InsuranceCase.objects.exists()
    assert not InsuranceOfferDismissal.objects.exists()


def test_a_data_url_over_the_request_limit_is_a_413_that_says_to_send_a_file(api, settings):
    visit = VisitFactory()
    raw = bytes(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)  # base64 makes it a third larger again
    response = api().post(
        f"/api/reception/visits/{visit.pk}/damage-marks/",
        {
            "kind": "dent",
            "x": 1,
            "y": 1,
            "photo": "data:image/jpeg;base64," + base64.b64encode(raw).decode(),
        },
        format="json",
    )
    assert response.status_code == 413
    assert response.json() == {
        "detail": "The request is too large (at most 2.5 MB without files); "
        "send the photos as files (multipart)."
    }
    assert not DamageMark.objects.exists()


def test_one_photo_over_the_per_file_limit_is_a_400_on_photo_in_the_pages_words(
    api, monkeypatch, settings
):
    """A file part over MAX_PHOTO_BYTES: a 400 on `photo` with the page's message."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from dealership import images

    monkeypatch.setattr(images, "MAX_PHOTO_BYTES", 1024 * 1024)
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
    visit = VisitFactory()
    big = SimpleUploadedFile("big.jpg", bytes(1_200_000), content_type="image/jpeg")
    response = api().post(
        f"/api/reception/visits/{visit.pk}/damage-marks/",
        {"kind": "dent", "x": 1, "y": 1, "photo": big},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json() == {"photo": ["A photo may be at most 1 MB; this one is 1.1 MB."]}
    assert not DamageMark.objects.exists()
