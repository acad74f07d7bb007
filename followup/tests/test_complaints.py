"""Complaints: severity, owner, deadlines watched by due tasks with escalation, closing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from dealership.errors import DomainError
from dealership.models import DueTask, TimelineEvent
from dealership.rules import rule_set
from dealership.tests.factories import CustomerFactory, VehicleFactory
from followup import duties as K
from followup.complaints import (
    complaint_action_add,
    complaint_assign,
    complaint_close,
    complaint_open,
    complaint_reopen,
    complaint_update,
)
from followup.models import Complaint
from followup.tests.factories import delivered_visit

pytestmark = pytest.mark.django_db


def _open(actor, **kwargs) -> Complaint:
    customer = kwargs.pop("customer", None) or CustomerFactory()
    data = {"source": "phone", "category": "quality", "description": "修完还是漏油"}
    return complaint_open(customer=customer, actor=actor, **{**data, **kwargs})


def _tasks(complaint, **filters):
    return DueTask.objects.filter(
        subject_type=ContentType.objects.get_for_model(Complaint),
        subject_id=complaint.pk,
        **filters,
    )


def test_a_plain_complaint_is_normal_owned_by_whoever_logged_it_with_two_deadlines(care):
    complaint = _open(care)
    assert complaint.number.startswith("TS") and complaint.severity == "normal"
    assert complaint.owner == care and complaint.status == "open"
    assert complaint.respond_by == complaint.opened_at + timedelta(hours=24)
    assert complaint.close_by == complaint.opened_at + timedelta(hours=48)
    kinds = set(_tasks(complaint).values_list("kind", flat=True))
    assert kinds == {K.RESPONSE_DEADLINE, K.CLOSE_DEADLINE}
    assert TimelineEvent.objects.filter(kind="complaint.opened").count() == 1


@pytest.mark.parametrize(
    "details",
    [
        {"safety_related": True},
        {"amount": Decimal("5000")},
        {"third_parties": ["media"]},
        {"third_parties": ["consumer_association", "lawyer"]},
    ],
)
def test_safety_a_large_amount_or_an_outside_party_make_it_important(care, manager, details):
    complaint = _open(care, **details)
    assert complaint.severity == "important"
    assert complaint.owner == manager  # the service manager owns important complaints
    escalation = _tasks(complaint, kind=K.ESCALATION).get()
    assert escalation.slot == "important" and escalation.role == "service_manager"
    assert complaint.escalated_at is not None


def test_the_large_amount_is_a_rule(care):
    rule_set("followup.complaint_important_amount", "20000")
    assert _open(care, amount=Decimal("19999")).severity == "normal"


def test_an_important_complaint_escalates_on_its_deadline(care, manager, run_dispatch):
    complaint = _open(care, safety_related=True, description="刹车失灵")
    opened = complaint.opened_at

    run_dispatch(now=opened + timedelta(hours=23))
    assert not _tasks(complaint, kind=K.ESCALATION, slot="response").exists()

    run_dispatch(now=opened + timedelta(hours=24, minutes=1))

    complaint.refresh_from_db()
    escalation = _tasks(complaint, kind=K.ESCALATION, slot="response").get()
    assert escalation.state == "pending" and escalation.role == "service_manager"
    assert "24" in escalation.note_text
    assert complaint.actions.filter(kind="escalated").count() == 2  # at once, then at 24 h
    assert TimelineEvent.objects.filter(kind="complaint.escalated").count() == 2
    assert _tasks(complaint, kind=K.RESPONSE_DEADLINE).get().state == "done"

    run_dispatch(now=opened + timedelta(hours=48, minutes=1))
    assert _tasks(complaint, kind=K.ESCALATION, slot="close").exists()


def test_a_complaint_answered_in_time_is_not_escalated(care, run_dispatch):
    complaint = _open(care)
    complaint_action_add(complaint=complaint, actor=care, kind="response", text="已致电解释")
    complaint.refresh_from_db()
    assert complaint.status == "in_progress" and complaint.responded_at is not None

    run_dispatch(now=complaint.opened_at + timedelta(hours=25))

    assert not _tasks(complaint, kind=K.ESCALATION).exists()
    assert _tasks(complaint, kind=K.RESPONSE_DEADLINE).get().state == "cancelled"


def test_a_complaint_not_closed_in_48h_escalates_even_when_answered(care, run_dispatch):
    complaint = _open(care)
    complaint_action_add(complaint=complaint, actor=care, kind="call", text="客户同意等配件")
    run_dispatch(now=complaint.opened_at + timedelta(hours=49))
    complaint.refresh_from_db()
    assert complaint.escalated_at is not None
    assert _tasks(complaint, kind=K.ESCALATION, slot="close").exists()


def test_closing_without_a_resolution_is_refused_and_changes_nothing(care):
    complaint = _open(care)
    with pytest.raises(DomainError) as refused:
        complaint_close(complaint=complaint, actor=care, resolution="  ", customer_satisfied=True)
    assert "resolution" in refused.value.message_dict
    with pytest.raises(DomainError) as refused:
        complaint_close(
            complaint=complaint, actor=care, resolution="免费更换油封", customer_satisfied=None
        )
    assert "customer_satisfied" in refused.value.message_dict
    complaint.refresh_from_db()
    assert complaint.status == "open" and complaint.closed_at is None


def test_closing_records_the_resolution_and_satisfaction_and_stops_the_watchers(care):
    complaint = _open(care)
    complaint_close(
        complaint=complaint, actor=care, resolution="免费更换油封", customer_satisfied=False
    )
    complaint.refresh_from_db()
    assert complaint.status == "closed" and complaint.customer_satisfied is False
    assert complaint.resolution == "免费更换油封" and complaint.responded_at is not None
    assert set(_tasks(complaint).values_list("state", flat=True)) == {"cancelled"}
    with pytest.raises(DomainError):
        complaint_close(complaint=complaint, actor=care, resolution="x", customer_satisfied=True)


def test_an_important_complaint_is_closed_by_the_service_manager(care, manager):
    complaint = _open(care, third_parties=["police"])
    with pytest.raises(DomainError):
        complaint_close(complaint=complaint, actor=care, resolution="和解", customer_satisfied=True)
    complaint_close(complaint=complaint, actor=manager, resolution="和解", customer_satisfied=True)


def test_reopening_gives_a_new_closure_deadline(care):
    complaint = _open(care)
    complaint_close(complaint=complaint, actor=care, resolution="已解决", customer_satisfied=True)
    with pytest.raises(DomainError):
        complaint_reopen(complaint=complaint, actor=care, reason="")
    complaint = complaint_reopen(complaint=complaint, actor=care, reason="客户说又漏了")
    assert complaint.status == "in_progress" and complaint.closed_at is None
    assert _tasks(complaint, kind=K.CLOSE_DEADLINE).get().state == "pending"


def test_becoming_important_later_sends_it_to_the_manager(care, manager):
    complaint = _open(care)
    complaint_update(complaint=complaint, actor=care, third_parties=["lawyer"])
    complaint.refresh_from_db()
    assert complaint.severity == "important"
    assert _tasks(complaint, kind=K.ESCALATION, slot="important").exists()


def test_a_visit_of_another_customer_is_refused(care):
    visit = delivered_visit()
    with pytest.raises(DomainError) as refused:
        _open(care, visit=visit)
    assert "visit" in refused.value.message_dict


def test_a_vehicle_and_visit_link_the_complaint(care):
    visit = delivered_visit()
    complaint = _open(care, customer=visit.customer, visit=visit)
    assert complaint.vehicle == visit.vehicle


def test_assigning_needs_a_front_office_role(care, make_staff):
    complaint = _open(care)
    with pytest.raises(DomainError):
        complaint_assign(complaint=complaint, owner=make_staff("technician"), actor=care)
    advisor = make_staff("advisor")
    assert complaint_assign(complaint=complaint, owner=advisor, actor=care).owner == advisor


def test_logging_a_complaint_at_the_desk(client, make_staff):
    advisor = make_staff("advisor")
    vehicle = VehicleFactory()
    client.force_login(advisor)
    found = client.get(reverse("followup:complaint_new"), {"find": vehicle.plate})
    assert found.status_code == 302
    url = found["Location"]
    response = client.post(
        url,
        {
            "source": "desk",
            "category": "price",
            "description": "收费比报价高很多",
            "vehicle": vehicle.pk,
            "amount": "800",
        },
    )
    complaint = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"] == complaint.get_absolute_url()
    assert complaint.customer == vehicle.owner and complaint.owner == advisor
    page = client.get(complaint.get_absolute_url()).content.decode()
    assert "收费比报价高很多" in page


def test_closing_through_the_page_without_a_resolution_shows_the_reason(client, care):
    complaint = _open(care)
    client.force_login(care)
    response = client.post(
        reverse("followup:complaint_close", args=[complaint.pk]),
        {"version": complaint.version, "resolution": "", "customer_satisfied": "yes"},
    )
    assert response.status_code == 400
    assert "关闭投诉前请写明处理结果" in response.content.decode()
    response = client.post(
        reverse("followup:complaint_close", args=[complaint.pk]),
        {"version": complaint.version, "resolution": "退还差价", "customer_satisfied": "yes"},
    )
    assert response.status_code == 302
    complaint.refresh_from_db()
    assert complaint.status == "closed"


def test_complaint_pages_answer_in_a_fixed_number_of_queries(
    client, care, django_assert_max_num_queries
):
    client.force_login(care)
    for _ in range(2):
        _open(care)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("followup:complaints"))
    for _ in range(6):
        complaint = _open(care)
        complaint_action_add(complaint=complaint, actor=care, kind="note", text="备注")
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("followup:complaints"))
    with django_assert_max_num_queries(25):
        assert client.get(complaint.get_absolute_url()).status_code == 200


def test_the_list_shows_a_complaint_changed_since_it_was_last_shown(client, care):
    complaint = _open(care, customer=CustomerFactory(name="<b>王</b>"))
    client.force_login(care)
    page = client.get(reverse("followup:complaints")).content.decode()
    assert f'<a href="{complaint.get_absolute_url()}">{complaint.number}</a>' in page
    assert ">&lt;b&gt;王&lt;/b&gt;</a>" in page and 'class="tag warn"' not in page

    Complaint.objects.filter(pk=complaint.pk).update(escalated_at=timezone.now())

    assert (
        'class="tag warn">已升级</span>'
        in client.get(reverse("followup:complaints")).content.decode()
    )
