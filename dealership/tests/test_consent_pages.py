"""The consent panel and form on the customer page, the opt-ins on the new-customer form, and
the manager's privacy request pages."""

import io
import zipfile

import pytest
from django.urls import reverse
from django.utils import timezone

from dealership.consent import consent_allows
from dealership.models import ConsentRecord, Customer, PrivacyRequest
from dealership.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.force_login(user)
    return client


def test_the_advisor_reads_the_text_and_records_a_grant_shown_on_the_customer_page(
    client, make_staff
):
    advisor = make_staff("advisor")
    customer = CustomerFactory(language="en")
    _login(client, advisor)
    url = reverse("customer_consent", args=[customer.pk])
    page = client.get(url).content.decode()
    assert "reminds me when my car is due for maintenance" in page  # the customer's language

    response = client.post(url, {"purpose": "reminders", "granted": "1", "source": "phone"})
    assert response.status_code == 302
    record = ConsentRecord.objects.get(customer=customer)
    assert record.granted and record.source == "phone" and record.actor == advisor
    detail = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert 'id="consent"' in detail and record.text in detail


def test_a_bad_consent_post_is_refused_by_the_field_and_changes_nothing(client, make_staff):
    customer = CustomerFactory()
    _login(client, make_staff("customer_care"))
    response = client.post(
        reverse("customer_consent", args=[customer.pk]),
        {"purpose": "everything", "granted": "1", "source": "import"},
    )
    assert response.status_code == 400
    assert not ConsentRecord.objects.exists()


def test_the_new_customer_form_offers_unticked_opt_ins_and_records_the_ticked_one(
    client, make_staff
):
    _login(client, make_staff("advisor"))
    page = client.get(reverse("customer_create")).content.decode()
    assert (
        'name="consent_marketing"' in page
        and "checked" not in page.split("consent_marketing")[1][:80]
    )
    response = client.post(
        reverse("customer_create"),
        {
            "name": "王五",
            "mobile": "13712345678",
            "preferred_channel": "sms",
            "language": "zh-hans",
            "consent_marketing": "on",
        },
    )
    assert response.status_code == 302
    customer = Customer.objects.get(mobile="13712345678")
    assert consent_allows(customer, "marketing") and not consent_allows(customer, "reminders")
    assert customer.consents.get().source == "desk"


def test_the_manager_records_a_request_and_answers_it_with_an_export(client, make_staff):
    manager = make_staff("service_manager")
    customer = CustomerFactory(name="赵六")
    _login(client, manager)
    response = client.post(
        reverse("privacy_requests"),
        {
            "customer_mobile": customer.mobile,
            "kind": "export",
            "channel": "letter",
            "received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M"),
            "note": "",
        },
    )
    row = PrivacyRequest.objects.get()
    assert response.status_code == 302 and row.customer == customer
    download = client.post(reverse("privacy_request_export", args=[row.pk]))
    assert download["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(download.content)).namelist()
    assert sorted(names) == ["data.json", "data.xlsx"]
    page = client.get(reverse("privacy_request", args=[row.pk])).content.decode()
    assert 'id="answer"' in page


def test_an_unknown_mobile_is_refused_next_to_the_field(client, make_staff):
    _login(client, make_staff("service_manager"))
    response = client.post(
        reverse("privacy_requests"),
        {
            "customer_mobile": "13000000000",
            "kind": "see",
            "channel": "desk",
            "received_at": "2026-01-05T10:00",
        },
    )
    assert response.status_code == 400
    assert not PrivacyRequest.objects.exists()


def test_the_walk_in_registration_records_the_opt_ins_ticked(client, make_staff):
    _login(client, make_staff("advisor"))
    lookup = client.get(reverse("reception:check_in") + "?q=粤E55555").content.decode()
    assert 'name="consent_reminders"' in lookup
    response = client.post(
        reverse("reception:register_walk_in"),
        {
            "name": "孙七",
            "mobile": "13612345678",
            "plate": "粤E55555",
            "vin": "",
            "model": "凯美瑞",
            "consent_reminders": "on",
        },
    )
    assert response.status_code == 302
    customer = Customer.objects.get(mobile="13612345678")
    assert consent_allows(customer, "reminders") and not consent_allows(customer, "marketing")


def test_a_request_dated_in_the_future_or_long_ago_is_refused_by_the_field(client, make_staff):
    customer = CustomerFactory()
    _login(client, make_staff("service_manager"))
    for when in ("2099-01-01T10:00", "2001-01-01T10:00"):
        response = client.post(
            reverse("privacy_requests"),
            {
                "customer_mobile": customer.mobile,
                "kind": "see",
                "channel": "desk",
                "received_at": when,
            },
        )
        assert response.status_code == 400
        assert 'field-error" id="field-received_at"' in response.content.decode()
    assert not PrivacyRequest.objects.exists()
    assert client.get(reverse("privacy_requests") + "?customer=" + "9" * 40).status_code == 200
