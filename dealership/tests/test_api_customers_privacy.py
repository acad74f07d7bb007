"""The customer page's privacy actions and the privacy requests through the API
(dealership.api_customers_privacy, issue 18.1): each call with a real API token, as an
integration sends it; the right role, the wrong one (403), another customer's object (404),
bad input (400 by field, nothing changed) and the same records as the pages."""

import io
import json
import zipfile
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.links import customer_link_create
from dealership.models import (
    ConsentRecord,
    Customer,
    CustomerLink,
    PrivacyRequest,
    TimelineEvent,
)
from dealership.tests.factories import CustomerFactory, VehicleFactory
from dealership.tokens import api_token_issue
from reception.models import Visit
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

PRIVACY = "/api/privacy-requests/"


def _api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.credentials(HTTP_AUTHORIZATION=f"Token {api_token_issue(user=user, name='dms')[1]}")
    return client


def _links(customer, count=2):
    for _ in range(count):
        customer_link_create(obj=customer, purpose="portal", customer=customer)
    return list(CustomerLink.objects.filter(customer=customer).order_by("id"))


def _timeline(customer, prefix):
    return list(
        TimelineEvent.objects.filter(customer=customer, kind__startswith=prefix)
        .order_by("id")
        .values_list("kind", "summary")
    )


def _timeline_codes(customer, prefix):
    """The lines as stored: kind, the text's code and parameters (rendered when read)."""
    return [
        (kind, data.get("summary_code"), data.get("summary_params"))
        for kind, data in TimelineEvent.objects.filter(customer=customer, kind__startswith=prefix)
        .order_by("id")
        .values_list("kind", "data")
    ]


# ---------------------------------------------------------------- customer links


def test_staff_list_and_revoke_a_customers_links_as_on_the_page(make_staff):
    customer = CustomerFactory()
    first, second = _links(customer)
    expired = _links(customer, 1)[-1]
    CustomerLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    cashier = make_staff("cashier")
    api = _api(cashier)

    listed = api.get(f"/api/customers/{customer.pk}/links/")
    assert listed.status_code == 200
    assert [row["id"] for row in listed.json()] == [second.pk, first.pk]
    assert listed.json()[0]["purpose_label"] == "Customer portal"

    revoked = api.post(
        f"/api/customers/{customer.pk}/links/{first.pk}/revoke/", {"reason": "手机丢了"}
    )
    assert revoked.status_code == 200, revoked.content
    first.refresh_from_db()
    assert first.revoked_by == cashier and first.revoke_reason == "手机丢了"
    assert revoked.json()["revoked_at"] and revoked.json()["revoke_reason"] == "手机丢了"
    again = api.post(f"/api/customers/{customer.pk}/links/{first.pk}/revoke/", {"reason": "x"})
    assert again.status_code == 400
    assert again.json() == {"link": ["This link is already revoked."]}

    everything = api.post(f"/api/customers/{customer.pk}/links/revoke-all/", {"reason": "换号"})
    assert everything.json() == {"revoked": 1, "detail": "1 link revoked."}
    second.refresh_from_db()
    assert second.revoked_by == cashier and second.revoke_reason == "换号"
    assert api.get(f"/api/customers/{customer.pk}/links/").json() == []


@pytest.mark.parametrize(
    ("reason", "message"),
    [("  ", "Say why the link is revoked."), ("x" * 201, "no more than 200 characters")],
)
def test_a_revoke_without_a_good_reason_is_a_400_and_revokes_nothing(make_staff, reason, message):
    customer = CustomerFactory()
    [link] = _links(customer, 1)
    api = _api(make_staff("advisor"))
    for url in (
        f"/api/customers/{customer.pk}/links/{link.pk}/revoke/",
        f"/api/customers/{customer.pk}/links/revoke-all/",
    ):
        response = api.post(url, {"reason": reason}, format="json")
        assert response.status_code == 400
        assert message.lower() in response.json()["reason"][0].lower()
    link.refresh_from_db()
    assert link.revoked_at is None


def test_another_customers_link_is_not_found_and_the_technician_is_refused(make_staff):
    customer, other = CustomerFactory(), CustomerFactory()
    [theirs] = _links(other, 1)
    api = _api(make_staff("advisor"))
    response = api.post(f"/api/customers/{customer.pk}/links/{theirs.pk}/revoke/", {"reason": "x"})
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None
    assert api.get("/api/customers/999999999/links/").status_code == 404
    technician = _api(make_staff("technician"))
    assert technician.get(f"/api/customers/{other.pk}/links/").status_code == 403
    refused = technician.post(f"/api/customers/{other.pk}/links/revoke-all/", {"reason": "x"})
    assert refused.status_code == 403
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


# ---------------------------------------------------------------- consent


def test_consent_through_the_api_makes_the_same_records_as_the_page(client, make_staff):
    advisor = make_staff("advisor")
    by_page, by_api = CustomerFactory(name="甲"), CustomerFactory(name="乙")
    client.force_login(advisor)
    steps = [
        {"purpose": "marketing", "granted": True, "source": "phone"},
        {"purpose": "marketing", "granted": False, "source": "desk"},
        {"purpose": "reminders", "granted": True, "source": "paper"},
    ]
    api = _api(advisor)
    for step in steps:
        page = client.post(
            reverse("customer_consent", args=[by_page.pk]),
            {**step, "granted": "1" if step["granted"] else "0"},
        )
        assert page.status_code == 302
        answer = api.post(f"/api/customers/{by_api.pk}/consent/", step, format="json")
        assert answer.status_code == 201, answer.content

    def records(customer):
        return list(
            ConsentRecord.objects.filter(customer=customer)
            .order_by("id")
            .values_list("purpose", "granted", "source", "text_code", "text", "actor")
        )

    assert records(by_api) == records(by_page) and len(records(by_api)) == 3
    lines = _timeline_codes(by_api, "consent.")
    assert lines == _timeline_codes(by_page, "consent.") and len(lines) == 3
    assert [kind for kind, _code, _params in lines] == [
        "consent.granted",
        "consent.withdrawn",
        "consent.granted",
    ]

    state = api.get(f"/api/customers/{by_api.pk}/consent/").json()
    purposes = {row["purpose"]: row for row in state["purposes"]}
    assert purposes["marketing"]["allowed"] is False
    assert purposes["marketing"]["record"]["source"] == "desk"
    assert purposes["reminders"]["allowed"] is True and purposes["reminders"]["opt_in"]
    assert purposes["service"]["allowed"] is True and purposes["service"]["record"] is None
    assert purposes["marketing"]["grant_text"]
    assert [(row["purpose"], row["granted"]) for row in state["history"]] == [
        ("reminders", True),
        ("marketing", False),
        ("marketing", True),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"purpose": "spying", "granted": True, "source": "desk"}, "purpose"),
        ({"purpose": "marketing", "granted": True, "source": "sms"}, "source"),
        ({"purpose": "marketing", "granted": "maybe", "source": "desk"}, "granted"),
        ({"purpose": "marketing", "source": "desk"}, "granted"),
    ],
)
def test_bad_consent_is_a_400_by_field_and_records_nothing(make_staff, body, field):
    customer = CustomerFactory()
    response = _api(make_staff("customer_care")).post(
        f"/api/customers/{customer.pk}/consent/", body, format="json"
    )
    assert response.status_code == 400 and field in response.json()
    assert not ConsentRecord.objects.exists()


def test_consent_roles_as_on_the_pages(make_staff):
    customer = CustomerFactory()
    body = {"purpose": "marketing", "granted": True, "source": "desk"}
    cashier = _api(make_staff("cashier"))  # sees customers, does not edit them
    assert cashier.get(f"/api/customers/{customer.pk}/consent/").status_code == 200
    assert cashier.post(f"/api/customers/{customer.pk}/consent/", body).status_code == 403
    technician = _api(make_staff("technician"))
    assert technician.get(f"/api/customers/{customer.pk}/consent/").status_code == 403
    assert not ConsentRecord.objects.exists()
    care = _api(make_staff("customer_care"))
    assert care.post("/api/customers/999999999/consent/", body).status_code == 404


# ---------------------------------------------------------------- WeChat unbind


def test_wechat_unbind_as_on_the_page(make_staff):
    customer = CustomerFactory(wechat_openid="oQ7x_5AbCdEfGhIjKlMnOpQrStUv")
    url = f"/api/customers/{customer.pk}/wechat-unbind/"
    assert _api(make_staff("customer_care")).post(url).status_code == 403
    api = _api(make_staff("advisor"))
    assert api.post(url).json() == {"unbound": True, "detail": "WeChat unbound."}
    customer.refresh_from_db()
    assert customer.wechat_openid == ""
    assert _timeline(customer, "customer.wechat") == [("customer.wechat_unbound", "WeChat unbound")]
    assert api.post(url).json() == {
        "unbound": False,
        "detail": "No WeChat was bound to this customer.",
    }
    assert api.post("/api/customers/999999999/wechat-unbind/").status_code == 404


# ---------------------------------------------------------------- privacy requests


@pytest.fixture
def manager(make_staff):
    return make_staff("service_manager")


def _record(api, who, kind, **extra):
    body = {
        "customer": who.pk,
        "kind": kind,
        "channel": "desk",
        "received_at": (timezone.now() - timedelta(hours=1)).isoformat(),
        "note": "本人到店申请",
        **extra,
    }
    body = {key: value for key, value in body.items() if value is not None}
    response = api.post(PRIVACY, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_the_manager_records_lists_and_answers_a_request(manager):
    customer = CustomerFactory(mobile="13812340000")
    api = _api(manager)
    made = _record(api, customer, "correct")
    assert made["is_open"] and made["recorded_by"] == str(manager)
    by_mobile = _record(api, customer, "see", customer=None, customer_mobile="138 1234 0000")
    assert by_mobile["customer"] == customer.pk
    other = _record(api, CustomerFactory(), "see")

    listed = api.get(PRIVACY, {"customer": customer.pk}).json()["results"]
    assert {row["id"] for row in listed} == {made["id"], by_mobile["id"]}
    assert other["id"] in [
        row["id"] for row in api.get(PRIVACY, {"open": "true"}).json()["results"]
    ]

    url = f"{PRIVACY}{made['id']}/answer/"
    empty = api.post(url, {"answer": "  "}, format="json")
    assert empty.status_code == 400
    assert empty.json() == {"answer": ["Write what was done for the customer."]}
    answered = api.post(url, {"answer": "地址已更正"}, format="json")
    assert answered.status_code == 200 and not answered.json()["is_open"]
    assert answered.json()["answer"] == "地址已更正"
    twice = api.post(url, {"answer": "again"}, format="json")
    assert twice.status_code == 400 and "already answered" in twice.json()["non_field_errors"][0]
    assert _timeline(customer, "privacy.") == [
        ("privacy.request", "Privacy request recorded: Correct their data"),
        ("privacy.request", "Privacy request recorded: See their data"),
        ("privacy.answered", "Privacy request answered: Correct their data"),
    ]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"customer": None, "customer_mobile": "13900000000"}, "customer_mobile"),
        ({"customer": 999999999}, "customer"),
        ({"customer": None}, "customer"),
        ({"kind": "sell"}, "kind"),
        ({"channel": "pigeon"}, "channel"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"note": "x" * 2001}, "note"),
    ],
)
def test_bad_requests_are_a_400_by_field_and_record_nothing(manager, changes, field):
    customer = CustomerFactory()
    body = {
        "customer": customer.pk,
        "kind": "see",
        "channel": "desk",
        "received_at": timezone.now().isoformat(),
        **changes,
    }
    body = {key: value for key, value in body.items() if value is not None}
    response = _api(manager).post(PRIVACY, body, format="json")
    assert response.status_code == 400 and field in response.json(), response.content
    assert not PrivacyRequest.objects.exists()


def test_a_request_from_the_future_is_refused_with_the_pages_words(manager):
    customer = CustomerFactory()
    response = _api(manager).post(
        PRIVACY,
        {
            "customer": customer.pk,
            "kind": "see",
            "channel": "phone",
            "received_at": (timezone.now() + timedelta(days=1)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json() == {"received_at": ["The request cannot be received in the future."]}


def test_the_export_is_the_zip_and_answers_the_request(manager):
    customer = CustomerFactory(name="李雷")
    VehicleFactory(owner=customer, plate="粤B12345")
    api = _api(manager)
    made = _record(api, customer, "export")
    response = api.post(f"{PRIVACY}{made['id']}/export/", HTTP_ACCEPT="application/zip")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="customer-{customer.pk}.zip"'
    data = json.loads(zipfile.ZipFile(io.BytesIO(response.content)).read("data.json"))
    assert data["customer"][0]["name"] == "李雷"
    assert data["vehicles"][0]["plate"] == "粤B12345"
    row = api.get(f"{PRIVACY}{made['id']}/").json()
    assert not row["is_open"] and row["answered_by"] == str(manager)
    again = api.post(f"{PRIVACY}{made['id']}/export/", HTTP_ACCEPT="application/zip")
    assert again.status_code == 400 and again["Content-Type"] == "application/json"
    assert "already answered" in again.json()["non_field_errors"][0]
    correct = _record(api, customer, "correct")
    wrong_kind = api.post(f"{PRIVACY}{correct['id']}/export/")
    assert wrong_kind.status_code == 400
    assert wrong_kind.json() == {
        "non_field_errors": ["Only a request to see or export data is answered with an export."]
    }


def test_delete_is_refused_while_a_visit_is_open_then_anonymises(manager):
    customer = CustomerFactory(name="张三", mobile="13855556666")
    visit = VisitFactory(customer=customer, vehicle=VehicleFactory(owner=customer))
    api = _api(manager)
    made = _record(api, customer, "delete")
    shown = api.get(f"{PRIVACY}{made['id']}/").json()
    assert len(shown["delete_refusals"]) == 1 and visit.number in shown["delete_refusals"][0]

    refused = api.post(f"{PRIVACY}{made['id']}/delete/")
    assert refused.status_code == 400
    assert refused.json() == {"non_field_errors": shown["delete_refusals"]}
    customer.refresh_from_db()
    assert customer.name == "张三"
    assert PrivacyRequest.objects.get(pk=made["id"]).answered_at is None

    Visit.objects.filter(pk=visit.pk).update(status=VisitStatus.CANCELLED)
    done = api.post(f"{PRIVACY}{made['id']}/delete/")
    assert done.status_code == 200, done.content
    assert not done.json()["is_open"] and done.json()["delete_refusals"] == []
    customer = Customer.objects.get(pk=customer.pk)
    assert customer.name == f"已删除客户 #{customer.pk}" and customer.mobile == "已删除"
    assert ("privacy.answered", "Customer's personal data deleted (anonymised)") in _timeline(
        customer, "privacy."
    )


def test_privacy_requests_are_the_managers_only(make_staff, manager):
    customer = CustomerFactory()
    made = _record(_api(manager), customer, "delete")
    for role in ("advisor", "customer_care", "cashier"):
        api = _api(make_staff(role))
        assert api.get(PRIVACY).status_code == 403
        assert api.get(f"{PRIVACY}{made['id']}/").status_code == 403
        assert api.post(f"{PRIVACY}{made['id']}/delete/").status_code == 403
    customer.refresh_from_db()
    assert not customer.name.startswith("已删除")
    api = _api(manager)
    assert api.get(f"{PRIVACY}999999999/").status_code == 404
    assert api.post(f"{PRIVACY}999999999/export/").status_code == 404
