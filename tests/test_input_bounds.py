"""Issue 14, items 1-4: every input has a bound, and going past it is a message, never a 500.

A signature or photo bomb is refused before it is decoded, text has a length
fitting its use, amounts fit their columns, and exported cells never start a formula.
"""

import io

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
from reception.tests.factories import (
    WalkedAroundVisitFactory,
    bomb_data_url,
    bomb_png,
    signature_data_url,
)
from reception.visit_states import VisitStatus
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
