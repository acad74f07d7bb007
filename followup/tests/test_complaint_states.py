"""A complaint's moves through its services: every move a person can make, every refusal.

The table itself (`followup.states.COMPLAINT_STATES`) is walked by tests/test_state_tables.py;
here each refusal a user can reach through a service leaves the complaint as it was.
"""

import pytest

from dealership.errors import DomainError
from dealership.tests.factories import CustomerFactory
from followup.complaints import (
    complaint_action_add,
    complaint_close,
    complaint_open,
    complaint_reopen,
    complaint_update,
)
from followup.models import Complaint
from followup.states import COMPLAINT_STATES, ComplaintStatus

pytestmark = pytest.mark.django_db


def _open(actor) -> Complaint:
    return complaint_open(
        customer=CustomerFactory(),
        actor=actor,
        source="phone",
        category="quality",
        description="修完还是漏油",
    )


def _close(complaint, actor):
    return complaint_close(
        complaint=complaint, actor=actor, resolution="免费更换油封", customer_satisfied=True
    )


def _snapshot(complaint) -> dict:
    complaint.refresh_from_db()
    return {f.attname: getattr(complaint, f.attname) for f in Complaint._meta.concrete_fields}


def test_the_table_is_the_complaints_life():
    S = ComplaintStatus
    assert set(COMPLAINT_STATES.moves()) == {
        (S.OPEN, S.IN_PROGRESS),
        (S.OPEN, S.CLOSED),
        (S.IN_PROGRESS, S.CLOSED),
        (S.CLOSED, S.IN_PROGRESS),
    }


def test_every_allowed_move_through_the_services_raises_the_version(care):
    complaint = _open(care)
    assert complaint.version == 1
    complaint_action_add(complaint=complaint, actor=care, kind="call", text="已致电客户")
    complaint.refresh_from_db()
    assert (complaint.status, complaint.version) == ("in_progress", 2)
    assert complaint.history.first().history_change_reason == "open → in_progress"
    _close(complaint, care)
    complaint.refresh_from_db()
    assert (complaint.status, complaint.version) == ("closed", 3)
    assert complaint.closed_at is not None
    complaint_reopen(complaint=complaint, actor=care, reason="客户说又漏了")
    complaint.refresh_from_db()
    assert (complaint.status, complaint.closed_at, complaint.version) == ("in_progress", None, 4)
    assert complaint.history.first().history_change_reason == "客户说又漏了"
    _close(_open(care), care)  # open → closed, without an answer first


def test_closing_a_closed_complaint_is_refused_and_changes_nothing(care):
    complaint = _open(care)
    _close(complaint, care)
    before = _snapshot(complaint)
    with pytest.raises(DomainError) as refused:
        _close(complaint, care)
    assert refused.value.code == "already_closed"
    assert _snapshot(complaint) == before


def test_reopening_a_complaint_that_is_not_closed_is_refused_and_changes_nothing(care):
    complaint = _open(care)
    before = _snapshot(complaint)
    with pytest.raises(DomainError) as refused:
        complaint_reopen(complaint=complaint, actor=care, reason="客户又来电")
    assert refused.value.code == "not_closed"
    assert complaint.number in refused.value.messages[0]
    assert _snapshot(complaint) == before


def test_a_closed_complaint_takes_no_answer_and_no_correction(care):
    complaint = _open(care)
    _close(complaint, care)
    before = _snapshot(complaint)
    with pytest.raises(DomainError):
        complaint_action_add(complaint=complaint, actor=care, kind="call", text="再次致电")
    with pytest.raises(DomainError):
        complaint_update(complaint=complaint, actor=care, description="改一下")
    assert _snapshot(complaint) == before


def test_a_stale_version_is_refused_with_the_complaints_number(care):
    complaint = _open(care)
    complaint_update(complaint=complaint, actor=care, description="漏油，第二次")
    before = _snapshot(complaint)
    with pytest.raises(DomainError) as refused:
        complaint_close(
            complaint=complaint,
            actor=care,
            resolution="免费更换油封",
            customer_satisfied=True,
            expected_version=1,
        )
    assert refused.value.code == "stale" and complaint.number in refused.value.messages[0]
    assert _snapshot(complaint) == before


def test_a_long_reason_reopens_the_complaint_and_history_keeps_its_start(care):
    # simple_history keeps 100 characters of a reason; a form allows 500.
    complaint = _open(care)
    _close(complaint, care)
    reason = "客户反映同样的问题再次出现，" * 20
    complaint = complaint_reopen(complaint=complaint, actor=care, reason=reason)
    assert complaint.status == "in_progress"
    assert complaint.history.first().history_change_reason == reason[:100]
    assert complaint.actions.filter(kind="reopened").get().text == reason.strip()
