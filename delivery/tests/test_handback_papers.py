"""Documents and keys: the keychain noted at check-in, and the hand-back that confirms every
document, key and listed item received went back (refused by the field otherwise)."""

import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from dealership.errors import DomainError
from delivery import pdf, services
from delivery.models import Delivery
from delivery.tests.factories import settled_visit, staff
from reception.models import Belonging, ValuablesHandling, Visit
from reception.services import visit_walkaround_update
from reception.states import VisitStatus
from reception.tests.factories import WalkedAroundVisitFactory, signature_data_url

pytestmark = pytest.mark.django_db


def _car_with_papers():
    """A settled car with its gate pass, received with both documents, two keys and a remote,
    an umbrella left in the car, a laptop locked at the desk and a phone the customer kept."""
    visit, _order, _settlement = settled_visit()
    Visit.objects.filter(pk=visit.pk).update(
        registration_received=True,
        service_book_received=True,
        key_count=2,
        keychain_notes="遥控器",
    )
    umbrella = Belonging.objects.create(visit=visit, description="雨伞")
    laptop = Belonging.objects.create(
        visit=visit,
        description="笔记本电脑",
        is_valuable=True,
        handling=ValuablesHandling.LOCKED_AT_DESK,
    )
    Belonging.objects.create(
        visit=visit,
        description="手机",
        is_valuable=True,
        handling=ValuablesHandling.TAKEN_BY_CUSTOMER,
    )
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    visit.refresh_from_db()
    return visit, umbrella, laptop


def _everything(umbrella, laptop) -> dict:
    return {
        "belongings_returned": True,
        "returned_belongings": [umbrella.pk, laptop.pk],
        "registration_returned": True,
        "service_book_returned": True,
        "keys_returned": True,
        "covers_removed": True,
    }


def _hand_back(visit, **ticks):
    return services.visit_hand_back(
        visit=visit,
        actor=visit.advisor,
        signature=signature_data_url(),
        signer_name="张三",
        **ticks,
    )


def test_the_keychain_is_noted_at_check_in():
    visit = WalkedAroundVisitFactory()
    visit_walkaround_update(
        visit=visit, actor=visit.advisor, key_count=3, keychain_notes="遥控器、门禁卡"
    )
    stored = Visit.objects.get(pk=visit.pk)
    assert (stored.key_count, stored.keychain_notes) == (3, "遥控器、门禁卡")


def test_no_key_count_is_refused_at_check_in():
    visit = WalkedAroundVisitFactory()
    with pytest.raises(DomainError) as error:
        visit_walkaround_update(visit=visit, actor=visit.advisor, key_count=0)
    assert error.value.field == "key_count"
    assert Visit.objects.get(pk=visit.pk).key_count == 1


@pytest.mark.parametrize(
    ("untick", "field", "words"),
    [
        ("registration_returned", "registration_returned", "registration certificate"),
        ("service_book_returned", "service_book_returned", "service book"),
        ("keys_returned", "keys_returned", "2 keys"),
        ("umbrella", "returned_belongings", "雨伞"),
        ("laptop", "returned_belongings", "笔记本电脑"),
    ],
)
def test_anything_received_and_not_ticked_refuses_the_hand_back(untick, field, words):
    visit, umbrella, laptop = _car_with_papers()
    ticks = _everything(umbrella, laptop)
    if untick in ("umbrella", "laptop"):
        left_out = umbrella if untick == "umbrella" else laptop
        ticks["returned_belongings"] = [
            pk for pk in ticks["returned_belongings"] if pk != left_out.pk
        ]
    else:
        ticks[untick] = False
    before = Delivery.objects.get(visit=visit)

    with pytest.raises(DomainError) as error:
        _hand_back(visit, **ticks)

    assert error.value.field == field
    assert words in error.value.messages[0]
    after = Delivery.objects.get(visit=visit)
    assert after.version == before.version and not after.handed_back
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.SETTLED


def test_what_the_customer_kept_or_never_handed_in_is_not_asked():
    visit, _order, _settlement = settled_visit()
    Belonging.objects.create(
        visit=visit,
        description="手机",
        is_valuable=True,
        handling=ValuablesHandling.TAKEN_BY_CUSTOMER,
    )
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    _hand_back(visit, belongings_returned=True, keys_returned=True, covers_removed=True)
    delivery = Delivery.objects.get(visit=visit)
    assert delivery.handed_back
    assert not delivery.registration_returned and not delivery.service_book_returned


def test_the_hand_back_records_what_went_back_and_the_sheet_shows_it():
    visit, umbrella, laptop = _car_with_papers()
    _hand_back(visit, **_everything(umbrella, laptop))
    delivery = Delivery.objects.get(visit=visit)
    assert delivery.registration_returned and delivery.service_book_returned
    assert delivery.keys_returned
    assert sorted(delivery.returned_belonging_ids) == sorted([umbrella.pk, laptop.pk])

    content = pdf.delivery_sheet_pdf(Visit.objects.get(pk=visit.pk), language="zh-hans")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    for words in ("行驶证", "保养手册", "2 把钥匙", "遥控器", "雨伞", "笔记本电脑"):
        assert words in text
    assert "手机" not in text


def test_the_hand_back_page_asks_each_item_and_shows_a_missing_one_by_its_field(client):
    visit, umbrella, laptop = _car_with_papers()
    client.force_login(staff("advisor"))
    url = reverse("delivery:hand_back", args=[visit.pk])
    page = client.get(url).content.decode()
    for name in ("registration_returned", "service_book_returned", "returned_belongings"):
        assert f'name="{name}"' in page
    assert "手机" not in page.split('id="hand-back-form"')[1]

    data = {
        "signer_name": "张三",
        "signature": signature_data_url(),
        "belongings_returned": "on",
        "returned_belongings": [str(umbrella.pk)],
        "registration_returned": "on",
        "service_book_returned": "on",
        "keys_returned": "on",
        "covers_removed": "on",
    }
    response = client.post(url, data, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "笔记本电脑" in response.context["form"].errors["returned_belongings"][0]
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.SETTLED

    response = client.post(url, {**data, "returned_belongings": [str(umbrella.pk), str(laptop.pk)]})
    assert response.status_code == 302
    assert Visit.objects.get(pk=visit.pk).status == VisitStatus.DELIVERED
