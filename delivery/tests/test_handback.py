"""Gate pass only after payment; the customer's signed hand-back delivers the visit and plans
the follow-up calls in the same transaction."""

from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType

from dealership.errors import DomainError
from dealership.models import DueTask
from delivery import services
from delivery.duties import READY_NOTICE
from delivery.models import Delivery
from delivery.tests.factories import checked_visit, error_code, settled_visit, staff
from reception.models import Visit
from reception.states import VisitStatus
from reception.tests.factories import signature_data_url

pytestmark = pytest.mark.django_db
S = VisitStatus


def _hand_back(visit, **overrides):
    data = {
        "visit": visit,
        "actor": visit.advisor,
        "signature": signature_data_url(),
        "signer_name": "张三",
        "belongings_returned": True,
        "keys_returned": True,
        "covers_removed": True,
    }
    data.update(overrides)
    return services.visit_hand_back(**data)


def _tasks(visit):
    return DueTask.objects.filter(
        subject_type=ContentType.objects.get_for_model(Visit), subject_id=visit.pk
    )


def test_a_gate_pass_before_payment_is_refused():
    visit, _order = checked_visit()
    with pytest.raises(DomainError, match="only after payment"):
        services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    assert not Delivery.objects.get(visit=visit).gate_pass_issued


def test_the_gate_pass_is_issued_once_after_settlement():
    visit, _order, settlement = settled_visit()
    delivery = services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    assert delivery.gate_pass_number == "CM" + settlement.invoice_number[2:]
    with pytest.raises(DomainError, match="issued already"):
        services.gate_pass_issue(visit=visit, actor=staff("cashier"))


def test_hand_back_without_a_gate_pass_is_refused():
    visit, _order, _settlement = settled_visit()
    with pytest.raises(DomainError, match="gate pass"):
        _hand_back(visit)
    assert Visit.objects.get(pk=visit.pk).status == S.SETTLED


def test_hand_back_before_payment_is_refused():
    visit, _order = checked_visit()
    with pytest.raises(DomainError, match="only after payment"):
        _hand_back(visit)
    assert Visit.objects.get(pk=visit.pk).status == S.READY_FOR_PICKUP


@pytest.mark.parametrize(
    ("field", "match"),
    [
        ("belongings_returned", "belongings"),
        ("keys_returned", "keys"),
        ("covers_removed", "covers"),
    ],
)
def test_each_hand_back_point_must_be_done(field, match):
    visit, _order, _settlement = settled_visit()
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    with pytest.raises(DomainError, match=match):
        _hand_back(visit, **{field: False})
    assert Visit.objects.get(pk=visit.pk).status == S.SETTLED


def test_a_blank_signature_is_refused():
    visit, _order, _settlement = settled_visit()
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    with pytest.raises(DomainError, match="empty"):
        _hand_back(visit, signature=signature_data_url(blank=True))
    assert not Delivery.objects.get(visit=visit).handed_back


def test_the_signed_hand_back_delivers_and_plans_the_24h_and_7_day_calls():
    visit, _order, _settlement = settled_visit()
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))

    _hand_back(visit)

    stored = Visit.objects.get(pk=visit.pk)
    assert stored.status == S.DELIVERED and stored.delivered_at is not None
    assert visit.status == S.DELIVERED
    delivery = Delivery.objects.get(visit=visit)
    assert delivery.handback_signature and delivery.handback_signer == "张三"
    assert delivery.keys_returned and delivery.belongings_returned and delivery.covers_removed
    tasks = {task.kind: task for task in _tasks(visit)}
    assert tasks["followup.care_call"].due_at == stored.delivered_at + timedelta(hours=24)
    assert tasks["followup.advisor_call"].due_at == stored.delivered_at + timedelta(days=7)
    assert tasks[READY_NOTICE].state == "cancelled"


def test_a_failure_planning_the_follow_up_leaves_the_car_undelivered(monkeypatch):
    visit, _order, _settlement = settled_visit()
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))

    def broken(**kwargs):
        raise RuntimeError("follow-up down")

    monkeypatch.setattr(services, "_AFTER_HAND_BACK_STEPS", [broken])
    with pytest.raises(RuntimeError):
        _hand_back(visit)
    assert Visit.objects.get(pk=visit.pk).status == S.SETTLED
    assert not Delivery.objects.get(visit=visit).handed_back


def test_delivering_twice_is_refused_and_changes_nothing():
    visit, _order, _settlement = settled_visit()
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    _hand_back(visit)
    before = Delivery.objects.get(visit=visit)

    with pytest.raises(DomainError, match="already delivered") as error:
        _hand_back(visit, signer_name="李四")

    assert error_code(error.value) == "already_delivered"
    after = Delivery.objects.get(visit=visit)
    assert (after.handback_signer, after.version) == ("张三", before.version)


def test_a_void_after_delivery_is_refused():
    visit, _order, settlement = settled_visit()
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    _hand_back(visit)
    with pytest.raises(DomainError, match="refund instead"):
        services.settlement_void(settlement=settlement, actor=staff("service_manager"), reason="x")


def test_parts_the_customer_keeps_are_handed_over_at_the_hand_back():
    visit, _order, _settlement = settled_visit(keep_old_parts=True)
    services.gate_pass_issue(visit=visit, actor=staff("cashier"))
    with pytest.raises(DomainError, match="replaced parts"):
        _hand_back(visit)
    _hand_back(visit, old_parts_returned=True)
    assert Delivery.objects.get(visit=visit).old_parts_returned
