"""Enquiries: logging, the 15-minute response rule, outcomes (issue 20 item 8)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from appointments.services import appointment_book
from appointments.tests.factories import days_ahead, local, make_workshop
from dealership.errors import DomainError
from dealership.rules import rule_set
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup.enquiries import (
    enquiries_for_day,
    enquiry_close,
    enquiry_log,
    enquiry_respond,
    online_answered_in_time,
)
from followup.models import Complaint, Enquiry
from reports.enquiries import enquiry_figures
from reports.periods import Period

pytestmark = pytest.mark.django_db


def _ago(minutes):
    return timezone.now() - timedelta(minutes=minutes)


def test_a_known_mobile_finds_the_customer_and_a_call_is_answered_as_taken(care):
    customer = CustomerFactory(mobile="13900001111")
    enquiry = enquiry_log(actor=care, channel="phone", topic="price", caller_mobile="139 0000 1111")
    assert enquiry.customer == customer
    assert enquiry.first_response_at == enquiry.received_at


def test_an_online_message_waits_for_its_first_response(care):
    enquiry = enquiry_log(actor=care, channel="wechat", topic="booking", caller_name="李先生")
    assert enquiry.first_response_at is None
    enquiry = enquiry_respond(enquiry=enquiry, actor=care)
    first = enquiry.first_response_at
    assert first is not None
    assert enquiry_respond(enquiry=enquiry, actor=care).first_response_at == first


@pytest.mark.parametrize(
    "data, field",
    [
        ({"channel": "fax", "topic": "price", "caller_name": "x"}, "channel"),
        ({"channel": "phone", "topic": "weather", "caller_name": "x"}, "topic"),
        ({"channel": "phone", "topic": "price"}, "caller_name"),
        ({"channel": "phone", "topic": "price", "caller_mobile": "12345"}, "caller_mobile"),
        ({"channel": "phone", "topic": "price", "caller_name": "x" * 101}, "caller_name"),
    ],
)
def test_bad_input_is_refused_by_field_and_nothing_is_logged(care, data, field):
    with pytest.raises(DomainError) as refused:
        enquiry_log(actor=care, **data)
    assert field in refused.value.message_dict
    assert not Enquiry.objects.exists()


def test_a_time_in_the_future_is_refused(care):
    with pytest.raises(DomainError) as refused:
        enquiry_log(
            actor=care, channel="web", topic="other", caller_name="x", received_at=_ago(-10)
        )
    assert "received_at" in refused.value.message_dict


def test_overdue_messages_are_flagged_on_the_list_open_ones_first(care):
    rule_set("followup.enquiry_response_minutes", 15)
    late = enquiry_log(
        actor=care, channel="web", topic="repair", caller_name="甲", received_at=_ago(20)
    )
    fresh = enquiry_log(
        actor=care, channel="wechat", topic="repair", caller_name="乙", received_at=_ago(5)
    )
    closed = enquiry_log(
        actor=care, channel="phone", topic="price", caller_name="丙", received_at=_ago(30)
    )
    enquiry_close(enquiry=closed, actor=care, outcome="answered")
    rows = enquiries_for_day(timezone.localdate())
    assert [row.enquiry for row in rows] == [late, fresh, closed]
    assert [row.overdue for row in rows] == [True, False, False]
    assert rows[0].waiting_minutes >= 20

    # A longer rule: the same message is not overdue any more.
    rule_set("followup.enquiry_response_minutes", 30)
    assert not enquiries_for_day(timezone.localdate())[0].overdue


def test_share_answered_in_time_counts_online_messages_only(care):
    rule_set("followup.enquiry_response_minutes", 15)
    in_time = enquiry_log(
        actor=care, channel="web", topic="price", caller_name="a", received_at=_ago(10)
    )
    enquiry_respond(enquiry=in_time, actor=care)
    enquiry_log(actor=care, channel="wechat", topic="price", caller_name="b", received_at=_ago(40))
    late = enquiry_log(
        actor=care, channel="wechat", topic="price", caller_name="c", received_at=_ago(60)
    )
    enquiry_respond(enquiry=late, actor=care)
    enquiry_log(actor=care, channel="phone", topic="price", caller_name="d")
    figures = online_answered_in_time(Enquiry.objects.all())
    assert figures == {"total": 3, "in_time": 1, "share": 33.3}
    report = enquiry_figures(Period.containing("day", timezone.localdate()))
    assert report["total"] == 4 and report["open"] == 4
    assert report["online"]["share"] == 33.3


def test_booked_links_the_appointment_and_names_the_customer(care, make_staff):
    workshop = make_workshop()
    vehicle = VehicleFactory(owner=CustomerFactory())
    enquiry = enquiry_log(actor=care, channel="wechat", topic="booking", caller_name="新客户")
    with pytest.raises(DomainError) as refused:
        enquiry_close(enquiry=enquiry, actor=care, outcome="booked")
    assert "appointment" in refused.value.message_dict
    appointment = appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"]],
        actor=care,
    )
    enquiry = enquiry_close(enquiry=enquiry, actor=care, outcome="booked", appointment=appointment)
    assert enquiry.appointment == appointment and enquiry.customer == vehicle.owner
    assert enquiry.first_response_at is not None and enquiry.closed_at is not None
    with pytest.raises(DomainError):
        enquiry_close(enquiry=enquiry, actor=care, outcome="answered")


def test_another_customers_appointment_is_refused(care):
    workshop = make_workshop()
    vehicle = VehicleFactory(owner=CustomerFactory())
    appointment = appointment_book(
        customer=vehicle.owner,
        vehicle=vehicle,
        start=local(days_ahead(5), 9),
        operations=[workshop["oil"]],
        actor=care,
    )
    enquiry = enquiry_log(actor=care, channel="phone", topic="booking", customer=CustomerFactory())
    with pytest.raises(DomainError) as refused:
        enquiry_close(enquiry=enquiry, actor=care, outcome="booked", appointment=appointment)
    assert "appointment" in refused.value.message_dict
    enquiry.refresh_from_db()
    assert enquiry.closed_at is None


def test_complaint_outcome_opens_a_complaint_with_the_customers_words(care):
    customer = CustomerFactory()
    stranger = enquiry_log(actor=care, channel="phone", topic="complaint", caller_name="匿名")
    with pytest.raises(DomainError):
        enquiry_close(enquiry=stranger, actor=care, outcome="complaint", note="很差")
    enquiry = enquiry_log(actor=care, channel="phone", topic="complaint", customer=customer)
    enquiry = enquiry_close(
        enquiry=enquiry, actor=care, outcome="complaint", note="等了三个小时", category="time"
    )
    complaint = Complaint.objects.get()
    assert enquiry.complaint == complaint
    assert complaint.customer == customer and complaint.description == "等了三个小时"
    assert complaint.source == "phone"


@pytest.mark.parametrize("role", ["advisor", "customer_care", "service_manager"])
def test_the_desk_logs_and_closes_enquiries_on_the_page(client, make_staff, role):
    client.force_login(make_staff(role))
    url = reverse("followup:enquiries")
    answer = client.post(
        url, {"channel": "wechat", "topic": "price", "caller_name": "王女士", "note": "保养多少钱"}
    )
    assert answer.status_code == 302
    enquiry = Enquiry.objects.get()
    page = client.get(url).content.decode()
    assert f'id="enquiry-{enquiry.pk}"' in page and "王女士" in page

    detail = reverse("followup:enquiry", args=[enquiry.pk])
    client.post(detail, {"respond": "1"})
    enquiry.refresh_from_db()
    assert enquiry.first_response_at is not None
    assert client.post(detail, {"outcome": "answered"}).status_code == 302
    enquiry.refresh_from_db()
    assert enquiry.outcome == "answered"


def test_a_refusal_is_shown_next_to_the_field(client, make_staff):
    client.force_login(make_staff("customer_care"))
    answer = client.post(
        reverse("followup:enquiries"), {"channel": "phone", "topic": "price", "caller_mobile": "1"}
    )
    assert answer.status_code == 400
    assert answer.context["form"].errors["caller_mobile"]
    assert not Enquiry.objects.exists()


def test_an_overdue_message_is_highlighted_on_the_page(client, make_staff):
    care = make_staff("customer_care")
    enquiry_log(actor=care, channel="web", topic="price", caller_name="x", received_at=_ago(30))
    client.force_login(care)
    page = client.get(reverse("followup:enquiries")).content.decode()
    assert 'class="enquiry-overdue"' in page


def test_the_report_shows_the_share_answered_in_time(client, make_staff):
    care = make_staff("customer_care")
    enquiry = enquiry_log(actor=care, channel="web", topic="price", caller_name="x")
    enquiry_respond(enquiry=enquiry, actor=care)
    client.force_login(make_staff("service_manager"))
    page = client.get(reverse("reports:report")).content.decode()
    assert 'id="enquiries-in-time"' in page and "100.0%" in page


def test_from_the_customer_page_the_enquiry_is_logged_for_that_customer(client, make_staff):
    customer = CustomerFactory()
    client.force_login(make_staff("advisor"))
    page = client.get(reverse("customer_detail", args=[customer.pk])).content.decode()
    assert f"{reverse('followup:enquiries')}?customer={customer.pk}" in page
    form_page = client.get(reverse("followup:enquiries") + f"?customer={customer.pk}")
    assert 'id="enquiry-customer"' in form_page.content.decode()
    client.post(
        reverse("followup:enquiries"),
        {"customer": customer.pk, "channel": "walk_in", "topic": "parts"},
    )
    assert Enquiry.objects.get().customer == customer


def test_the_list_page_query_count_does_not_grow_with_rows(
    client, make_staff, django_assert_max_num_queries
):
    care = make_staff("customer_care")
    client.force_login(care)
    url = reverse("followup:enquiries")

    def log(n):
        for i in range(n):
            enquiry_log(
                actor=care, channel="web", topic="price", customer=CustomerFactory(), note=str(i)
            )

    log(2)
    client.get(url)  # warm the rules cache and the session
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    log(25)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200
