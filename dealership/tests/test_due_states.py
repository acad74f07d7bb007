"""A due task's moves through the engine's services: refusals leave the row as it was.

The table (`dealership.states.DUE_TASK_STATES`) is walked by tests/test_state_tables.py;
the engine's set-based moves (claim, cancel, miss, take back) check it once per pair.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from dealership.due import (
    due_task_complete,
    due_task_retry,
    due_task_schedule,
    due_tasks_cancel_for,
    due_tasks_dispatch,
)
from dealership.errors import DomainError
from dealership.models import DueTask
from dealership.roles import Role
from dealership.states import DUE_TASK_STATES, DueTaskState
from dealership.tests.factories import CustomerFactory, VehicleFactory
from dealership.tests.test_due import schedule  # noqa: F401 - registers the test kinds
from dealership.transitions import move_all

pytestmark = pytest.mark.django_db
State = DueTaskState


@pytest.fixture
def vehicle():
    return VehicleFactory(owner=CustomerFactory(language="en"))


def _call(vehicle, *, minutes=-60, slot=""):
    return due_task_schedule(
        kind="test.call",
        subject=vehicle,
        due_at=timezone.now() + timedelta(minutes=minutes),
        slot=slot,
        customer=vehicle.owner,
    )


def _snapshot(task) -> dict:
    task.refresh_from_db()
    return {f.attname: getattr(task, f.attname) for f in DueTask._meta.concrete_fields}


def test_retrying_a_task_that_did_not_fail_is_refused_and_changes_nothing(vehicle, make_staff):
    manager = make_staff(Role.SERVICE_MANAGER)
    task = _call(vehicle)
    before = _snapshot(task)
    with pytest.raises(DomainError) as refused:
        due_task_retry(task=task, actor=manager)
    assert refused.value.code == "not_failed"
    assert _snapshot(task) == before


def test_a_cancelled_call_takes_no_outcome_and_stays_cancelled(vehicle, make_staff):
    care = make_staff(Role.CUSTOMER_CARE)
    task = _call(vehicle)
    assert due_tasks_cancel_for(vehicle) == 1
    before = _snapshot(task)
    assert before["state"] == State.CANCELLED and before["finished_at"] is not None
    with pytest.raises(DomainError) as refused:
        due_task_complete(task=task, actor=care, outcome="reached")
    assert refused.value.error_dict["outcome"][0].code == "cancelled"
    assert _snapshot(task) == before


def test_a_done_call_is_not_cancelled_by_its_cause(vehicle, make_staff):
    care = make_staff(Role.CUSTOMER_CARE)
    task = due_task_complete(task=_call(vehicle), actor=care, outcome="reached")
    before = _snapshot(task)
    assert due_tasks_cancel_for(vehicle) == 0
    assert _snapshot(task) == before


def test_a_missed_call_can_still_be_recorded(vehicle, make_staff):
    care = make_staff(Role.CUSTOMER_CARE)
    task = _call(vehicle, minutes=-3 * 24 * 60)
    due_tasks_dispatch()
    task.refresh_from_db()
    assert task.state == State.MISSED
    done = due_task_complete(task=task, actor=care, outcome="reached")
    assert (done.state, done.outcome, done.completed_by) == (State.DONE, "reached", care)


def test_a_bulk_move_the_table_forbids_is_a_mistake_and_updates_nothing(vehicle, make_staff):
    care = make_staff(Role.CUSTOMER_CARE)
    task = due_task_complete(task=_call(vehicle), actor=care, outcome="reached")
    before = _snapshot(task)
    with pytest.raises(ValueError, match="due_task"):
        move_all(
            DUE_TASK_STATES,
            DueTask.objects.filter(pk=task.pk),
            State.CLAIMED,
            from_=(State.PENDING, State.DONE),
        )
    assert _snapshot(task) == before
