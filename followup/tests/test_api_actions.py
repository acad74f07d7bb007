"""The follow-up pages' actions through the API (issue 18.1): complaint assignment and edits,
the list's "not reached", the customer's opt-out, and call outcomes only as the page offers
them. Same services, same roles, same refusals (400 with the page's words, nothing changed)."""

from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from rest_framework.test import APIClient

from dealership.due import due_task_schedule
from dealership.models import DueTask, TimelineEvent
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup import duties as K
from followup.complaints import complaint_close, complaint_open
from followup.models import Complaint, ComplaintAction
from followup.tests.factories import delivered_visit

pytestmark = pytest.mark.django_db


def _client(user, language: str = "en") -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE=language)
    client.force_authenticate(user)
    return client


def _open(actor, **kwargs) -> Complaint:
    customer = kwargs.pop("customer", None) or CustomerFactory()
    data = {"source": "phone", "category": "quality", "description": "修完还是漏油"}
    return complaint_open(customer=customer, actor=actor, **{**data, **kwargs})


def _care_call(visit) -> DueTask:
    return DueTask.objects.get(kind=K.CARE_CALL, subject_id=visit.pk)


def _escalations(complaint):
    return DueTask.objects.filter(
        subject_type=ContentType.objects.get_for_model(Complaint),
        subject_id=complaint.pk,
        kind=K.ESCALATION,
    )


# ---------------------------------------------------------------------------- assignment


def test_a_complaint_is_given_to_an_advisor(care, make_staff):
    complaint = _open(care)
    advisor = make_staff("advisor")
    response = _client(care).post(
        f"/api/followup/complaints/{complaint.pk}/assign/", {"owner": advisor.pk}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["owner"] == advisor.pk
    complaint.refresh_from_db()
    assert complaint.owner == advisor
    action = ComplaintAction.objects.get(complaint=complaint, kind="assigned")
    assert action.actor == care
    assert TimelineEvent.objects.filter(kind="complaint.assigned").count() == 1


def test_a_closed_complaint_is_not_reassigned_and_a_technician_may_not_assign(care, make_staff):
    complaint = _open(care)
    advisor = make_staff("advisor")
    url = f"/api/followup/complaints/{complaint.pk}/assign/"
    assert _client(make_staff("technician")).post(url, {"owner": advisor.pk}).status_code == 403
    complaint_close(complaint=complaint, actor=care, resolution="已解决", customer_satisfied=True)
    refused = _client(care).post(url, {"owner": advisor.pk}, format="json")
    assert refused.status_code == 400
    assert refused.data == {
        "non_field_errors": ["This complaint is closed; reopen it to change it."]
    }
    assert Complaint.objects.get(pk=complaint.pk).owner == care
    assert not ComplaintAction.objects.filter(kind="assigned").exists()


# ---------------------------------------------------------------------------- edits


def test_an_edit_that_makes_it_important_sends_it_to_the_manager(care, manager):
    complaint = _open(care)
    response = _client(care).post(
        f"/api/followup/complaints/{complaint.pk}/edit/",
        {
            "version": complaint.version,
            "description": "修完还是漏油，客户已找律师",
            "third_parties": ["lawyer"],
            "amount": "800.00",
        },
        format="json",
    )
    assert response.status_code == 200, response.data
    complaint.refresh_from_db()
    assert complaint.description == "修完还是漏油，客户已找律师"
    assert complaint.third_parties == ["lawyer"] and complaint.amount == Decimal("800.00")
    assert complaint.category == "quality"  # not sent, not changed
    assert complaint.severity == "important" and response.data["severity"] == "important"
    assert _escalations(complaint).filter(slot="important").exists()
    assert ComplaintAction.objects.filter(complaint=complaint, kind="changed").count() == 1


def test_an_edit_is_refused_for_another_customers_visit_or_a_stale_version(care, make_staff):
    complaint = _open(care)
    url = f"/api/followup/complaints/{complaint.pk}/edit/"
    version = complaint.version
    assert _client(make_staff("cashier")).post(url, {"version": version}).status_code == 403
    other = delivered_visit()
    refused = _client(care).post(url, {"version": version, "visit": other.pk}, format="json")
    assert refused.status_code == 400
    assert refused.data == {"visit": ["This visit belongs to another customer."]}
    stale = _client(care).post(url, {"version": version + 1, "description": "x"}, format="json")
    assert stale.status_code == 400
    assert stale.data == {
        "non_field_errors": [
            f"Someone else changed complaint {complaint.number} while you were editing. "
            "Reload the page to see their changes."
        ]
    }
    unchanged = Complaint.objects.get(pk=complaint.pk)
    assert (unchanged.visit, unchanged.description, unchanged.version) == (
        None,
        "修完还是漏油",
        version,
    )
    assert not ComplaintAction.objects.filter(kind="changed").exists()


# ---------------------------------------------------------------------------- calls


def test_not_reached_puts_the_call_back_on_the_list(care):
    task = _care_call(delivered_visit())
    response = _client(care).post(
        f"/api/followup/calls/{task.pk}/not-reached/", {"attempts_seen": 0}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data["retry_at"] is not None and response.data["state"] == "pending"
    task.refresh_from_db()
    assert task.state == "pending" and len(task.payload["attempts"]) == 1
    assert task.payload["attempts"][0]["by"] == care.pk


def test_not_reached_twice_from_one_list_is_refused_and_an_advisor_may_not(care, make_staff):
    task = _care_call(delivered_visit())
    url = f"/api/followup/calls/{task.pk}/not-reached/"
    assert _client(make_staff("advisor")).post(url, {"attempts_seen": 0}).status_code == 403
    assert _client(care).post(url, {"attempts_seen": 0}, format="json").status_code == 200
    again = _client(care).post(url, {"attempts_seen": 0}, format="json")
    assert again.status_code == 400
    (message,) = again.data["outcome"]
    assert message.startswith(f"Already recorded by {care}") and message.endswith(
        "Reload the list."
    )
    task.refresh_from_db()
    assert len(task.payload["attempts"]) == 1


def test_a_booking_outcome_is_not_offered_on_the_call_as_on_the_page(care):
    vehicle = VehicleFactory()
    task = due_task_schedule(
        kind=K.INVITATION_CALL,
        subject=vehicle,
        slot="20000",
        due_at=timezone.now(),
        customer=vehicle.owner,
    )
    url = f"/api/followup/calls/{task.pk}/outcome/"
    refused = _client(care).post(url, {"outcome": "booked", "attempts_seen": 0}, format="json")
    assert refused.status_code == 400
    assert refused.data == {
        "outcome": ["Select a valid choice. booked is not one of the available choices."]
    }
    task.refresh_from_db()
    assert task.state == "pending" and not task.outcome
    later = _client(care).post(url, {"outcome": "later", "attempts_seen": 0}, format="json")
    assert later.status_code == 200, later.data
    task.refresh_from_db()
    assert (task.state, task.outcome) == ("done", "later")


# ---------------------------------------------------------------------------- opt-out


def test_the_customer_opts_out_and_back_in(care):
    visit = delivered_visit()
    customer = visit.customer
    url = f"/api/followup/customers/{customer.pk}/opt-out/"
    response = _client(care).post(
        url, {"do_not_call": True, "reason": "客户要求不要再打电话"}, format="json"
    )
    assert response.status_code == 200, response.data
    assert response.data == {"customer": customer.pk, "do_not_call": True}
    customer.refresh_from_db()
    assert customer.do_not_call
    assert not DueTask.objects.filter(customer=customer, state="pending", for_person=True)
    event = TimelineEvent.objects.get(kind="customer.opt_out")
    assert "客户要求不要再打电话" in event.summary
    back = _client(care).post(url, {"do_not_call": False}, format="json")
    assert back.status_code == 200 and back.data["do_not_call"] is False
    customer.refresh_from_db()
    assert not customer.do_not_call


def test_opt_out_needs_the_choice_and_a_front_office_role(care, make_staff):
    customer = CustomerFactory()
    url = f"/api/followup/customers/{customer.pk}/opt-out/"
    assert _client(make_staff("technician")).post(url, {"do_not_call": True}).status_code == 403
    refused = _client(care).post(url, {"reason": "x"}, format="json")
    assert refused.status_code == 400 and list(refused.data) == ["do_not_call"]
    customer.refresh_from_db()
    assert not customer.do_not_call
    assert not TimelineEvent.objects.filter(kind="customer.opt_out").exists()
