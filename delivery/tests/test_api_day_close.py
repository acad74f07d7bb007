"""The day close through the API (delivery.api_day_close), with real API tokens: the same
figures, refusals and roles as the page (delivery/tests/test_day_close.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.tests.factories import LabourOperationFactory, PartFactory
from dealership.tokens import api_token_issue
from delivery import services
from delivery.models import DayClose
from delivery.states import DayCloseStatus
from delivery.tests.factories import checked_visit, staff

pytestmark = pytest.mark.django_db

URL = "/api/delivery/day-closes/"
D = Decimal


def _api(user) -> APIClient:
    client = APIClient()
    key = api_token_issue(user=user, name="cash office")[1]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def paid_day():
    """One bill paid today: ¥1 000 cash and ¥1 345.60 by card."""
    cashier = staff("cashier")
    visit = checked_visit(
        lines=[
            {"operation": LabourOperationFactory(price=D("345.60")), "job_type": "repair"},
            {"part": PartFactory(price=D("2000.00")), "quantity": "1", "job_type": "repair"},
        ]
    )[0]
    bill = services.settlement_create(
        visit=visit,
        actor=cashier,
        payments=[
            {"method": "cash", "amount": "1000.00"},
            {"method": "card", "amount": "1345.60"},
        ],
    )
    return {"cashier": cashier, "bill": bill, "day": timezone.localdate()}


def _counts(day, /, **overrides) -> dict:
    body = {
        "day": f"{day:%Y-%m-%d}",
        "counted_cash": "1000.00",
        "counted_card": "1345.60",
        "counted_alipay": "0.00",
        "counted_wechat": "0.00",
        "counted_transfer": "0.00",
    }
    return {**body, **overrides}


def test_the_cashier_sees_the_days_figures_closes_it_and_lists_the_close(paid_day):
    api = _api(paid_day["cashier"])
    figures = api.get(f"{URL}figures/")
    assert figures.status_code == 200, figures.content
    body = figures.json()
    lines = {line["method"]: line for line in body["methods"]}
    assert (lines["cash"]["expected"], lines["card"]["expected"]) == ("1000.00", "1345.60")
    assert lines["cash"]["counted"] is None and not body["is_closed"]
    assert body["totals"]["paid"] == "2345.60"
    assert body["settlements"] == [paid_day["bill"].pk]

    closed = api.post(f"{URL}close/", _counts(paid_day["day"]), format="json")
    assert closed.status_code == 201, closed.content
    assert closed.json()["status"] == "closed"
    assert closed.json()["expected_card"] == "1345.60"
    close = DayClose.objects.get(day=paid_day["day"])
    assert close.closed_by == paid_day["cashier"]

    after = api.get(f"{URL}figures/", {"day": f"{paid_day['day']:%Y-%m-%d}"}).json()
    assert after["is_closed"] and after["totals"]["variance"] == "0.00"
    listed = api.get(URL).json()
    assert [row["day"] for row in listed["results"]] == [f"{paid_day['day']:%Y-%m-%d}"]


def test_a_variance_without_a_reason_is_refused_by_its_field(paid_day):
    api = _api(paid_day["cashier"])
    response = api.post(
        f"{URL}close/", _counts(paid_day["day"], counted_cash="990.00"), format="json"
    )
    assert response.status_code == 400
    [message] = response.json()["variance_reason"]
    assert "现金" in message or "Cash" in message
    assert not DayClose.objects.exists()
    with_reason = api.post(
        f"{URL}close/",
        _counts(paid_day["day"], counted_cash="990.00", variance_reason="找零少了十元"),
        format="json",
    )
    assert with_reason.status_code == 201
    assert DayClose.objects.get().variance_reason == "找零少了十元"


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"counted_cash": "-1.00"}, "counted_cash"),
        ({"counted_card": "abc"}, "counted_card"),
        ({"counted_alipay": "99999999.99"}, "counted_alipay"),
        ({"counted_wechat": None}, "counted_wechat"),
        ({"day": "2026-13-40"}, "day"),
        ({"day": "0001-01-01"}, "day"),
        ({"day": "9999-12-31"}, "day"),
        ({"variance_reason": "长" * 501}, "variance_reason"),
    ],
)
def test_bad_input_is_a_400_by_field_and_writes_nothing(paid_day, overrides, field):
    api = _api(paid_day["cashier"])
    response = api.post(f"{URL}close/", _counts(paid_day["day"], **overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not DayClose.objects.exists()


def test_closing_twice_or_a_future_day_is_refused(paid_day):
    api = _api(paid_day["cashier"])
    assert api.post(f"{URL}close/", _counts(paid_day["day"]), format="json").status_code == 201
    again = api.post(f"{URL}close/", _counts(paid_day["day"]), format="json")
    assert again.status_code == 400 and "day" in again.json()
    tomorrow = paid_day["day"] + timedelta(days=1)
    future = api.post(f"{URL}close/", _counts(tomorrow), format="json")
    assert future.status_code == 400 and "day" in future.json()
    assert DayClose.objects.count() == 1


def test_only_the_manager_reopens_and_says_why(paid_day):
    cashier_api = _api(paid_day["cashier"])
    cashier_api.post(f"{URL}close/", _counts(paid_day["day"]), format="json")
    day = f"{paid_day['day']:%Y-%m-%d}"
    refused = cashier_api.post(f"{URL}reopen/", {"day": day, "reason": "重点"}, format="json")
    assert refused.status_code == 403
    manager_api = _api(staff("service_manager"))
    no_reason = manager_api.post(f"{URL}reopen/", {"day": day, "reason": ""}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()
    never_closed = manager_api.post(
        f"{URL}reopen/", {"day": "2020-01-02", "reason": "补录"}, format="json"
    )
    assert never_closed.status_code == 400 and "day" in never_closed.json()
    assert DayClose.objects.get().status == DayCloseStatus.CLOSED
    reopened = manager_api.post(f"{URL}reopen/", {"day": day, "reason": "漏记退款"}, format="json")
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "reopened"
    assert reopened.json()["reopen_reason"] == "漏记退款"
    # The cashier closes it again, as on the page.
    again = cashier_api.post(f"{URL}close/", _counts(paid_day["day"]), format="json")
    assert again.status_code == 201


def test_the_pdf_is_a_pdf(paid_day):
    api = _api(paid_day["cashier"])
    response = api.get(f"{URL}pdf/", {"day": f"{paid_day['day']:%Y-%m-%d}"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    asked = api.get(f"{URL}pdf/", HTTP_ACCEPT="application/pdf")
    assert asked.status_code == 200 and asked.content.startswith(b"%PDF")
    bad_day = api.get(f"{URL}pdf/", {"day": "yesterday"})
    assert bad_day.status_code == 400 and "day" in bad_day.json()


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1999-12-31"])
def test_a_day_out_of_range_is_a_400_not_a_failure(paid_day, day):
    api = _api(paid_day["cashier"])
    for path in ("figures/", "pdf/"):
        response = api.get(f"{URL}{path}", {"day": day}, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 400
        assert response.json()["day"] == ["Choose a day from 2000-01-01 to today."]
    manager_api = _api(staff("service_manager"))
    reopen = manager_api.post(f"{URL}reopen/", {"day": day, "reason": "补录"}, format="json")
    assert reopen.status_code == 400 and "day" in reopen.json()


@pytest.mark.parametrize("role", ["advisor", "workshop_controller", "customer_care", "technician"])
def test_other_roles_get_403_and_change_nothing(paid_day, role):
    api = _api(staff(role))
    assert api.get(URL).status_code == 403
    assert api.get(f"{URL}figures/").status_code == 403
    assert api.get(f"{URL}pdf/").status_code == 403
    response = api.post(f"{URL}close/", _counts(paid_day["day"]), format="json")
    assert response.status_code == 403
    assert not DayClose.objects.exists()


def test_anonymous_gets_401():
    assert APIClient().get(f"{URL}figures/").status_code == 401
