"""The workshop's state tables: a job's life and an addition's life.

One `StateTable` per stateful model (`dealership.transitions`), moved by the
services in `workshop.services` and `workshop.additions` (the
visit's own table lives in `reception.states`).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from dealership.transitions import StateTable
from reception.states import VisitStatus


class JobStatus(models.TextChoices):
    PROPOSED = "proposed", _("Awaiting the customer's approval")
    WAITING = "waiting", _("Waiting for dispatch")
    DISPATCHED = "dispatched", _("Dispatched")
    IN_PROGRESS = "in_progress", _("In progress")
    PAUSED = "paused", _("Paused")
    DONE = "done", _("Done")
    CANCELLED = "cancelled", _("Cancelled")


J = JobStatus

JOB_STATES = StateTable(
    name="job",
    model="workshop.Job",
    statuses=JobStatus,
    allowed={
        # Approved additional work goes to the technician who found it, or waits for dispatch.
        J.PROPOSED: frozenset({J.WAITING, J.DISPATCHED, J.CANCELLED}),
        # Withdrawn before anyone took it: the customer declined the repair.
        J.WAITING: frozenset({J.DISPATCHED, J.CANCELLED}),
        # Re-dispatching a job nobody is working on moves it to another technician or bay.
        J.DISPATCHED: frozenset({J.DISPATCHED, J.IN_PROGRESS}),
        J.IN_PROGRESS: frozenset({J.PAUSED, J.DONE}),
        J.PAUSED: frozenset({J.IN_PROGRESS, J.DISPATCHED}),
        # QC failed: back to the technician as rework.
        J.DONE: frozenset({J.DISPATCHED}),
        J.CANCELLED: frozenset(),
    },
    stamps={J.DISPATCHED: "dispatched_at", J.IN_PROGRESS: "started_at", J.DONE: "finished_at"},
    # The work started once, however often it paused.
    first_time_only=frozenset({"started_at"}),
)
# Jobs on a technician's plate today.
ASSIGNED_JOB_STATUSES = frozenset({J.DISPATCHED, J.IN_PROGRESS, J.PAUSED})


class ClockFlag(models.TextChoices):
    """An implausible clock-off, flagged to the controller (the rules `workshop.clock_*`)."""

    UNDER_A_MINUTE = "under_minute", _("Clocked for less than a minute")
    TOO_SHORT = "too_short", _("Clocked far below the standard hours")
    TOO_LONG = "too_long", _("Clocked far above the standard hours")


class PauseReason(models.TextChoices):
    AWAITING_PARTS = "awaiting_parts", _("Awaiting parts")
    AWAITING_APPROVAL = "awaiting_approval", _("Awaiting the customer's approval")
    BREAK = "break", _("Break")
    END_OF_SHIFT = "end_of_shift", _("End of shift")
    OTHER_JOB = "other_job", _("Called to another job")
    OTHER = "other", _("Other (say why)")


# Pauses that put the whole car on hold when nothing else on it is being worked on.
HOLD_PAUSES = {
    PauseReason.AWAITING_PARTS: "awaiting_parts",
    PauseReason.AWAITING_APPROVAL: "awaiting_approval",
}


class AdditionStatus(models.TextChoices):
    PROPOSED = "proposed", _("Waiting for the customer's answer")
    APPROVED = "approved", _("Approved")
    DECLINED = "declined", _("Declined")
    WITHDRAWN = "withdrawn", _("Withdrawn")


A = AdditionStatus

ADDITION_STATES = StateTable(
    name="addition",
    model="workshop.Addition",
    statuses=AdditionStatus,
    allowed={
        A.PROPOSED: frozenset({A.APPROVED, A.DECLINED, A.WITHDRAWN}),
        A.APPROVED: frozenset(),
        A.DECLINED: frozenset(),
        A.WITHDRAWN: frozenset(),
    },
    stamps={A.APPROVED: "answered_at", A.DECLINED: "answered_at"},
    refusal=gettext_noop("This additional work is “%(current)s”; it cannot become “%(target)s”."),
)

V = VisitStatus
# Visits whose jobs are on the board (the signed order in force makes the jobs).
BOARD_STATUSES = (
    V.ORDER_SIGNED,
    V.DISPATCHED,
    V.IN_PROGRESS,
    V.ON_HOLD,
    V.WORK_DONE,
    V.QC_FAILED,
    V.REWORK,
    V.QC_PASSED,
    V.READY_FOR_PICKUP,
)
# Visits whose jobs may be dispatched, and visits the workshop is working on.
DISPATCHABLE_VISIT = frozenset({V.ORDER_SIGNED, V.DISPATCHED, V.IN_PROGRESS, V.ON_HOLD, V.REWORK})
WORKING_VISIT = frozenset({V.DISPATCHED, V.IN_PROGRESS, V.ON_HOLD, V.REWORK})


class AnswerChannel(models.TextChoices):
    PHONE = "phone", _("By phone")
    LINK = "link", _("Through the customer's link")


SELF_CHECK_ITEMS = (
    ("work_done", _("The work is done as the order describes")),
    ("parts_fastened", _("Parts fitted and fastened, torque where specified")),
    ("fluids_leaks", _("Fluid levels and leaks checked")),
    ("no_warnings", _("No warning lamps or fault codes left")),
    ("clean", _("Car clean, covers in place, replaced parts bagged if kept")),
)

QC_ITEMS = (
    ("work_items_done", _("Every job on the order is done")),
    ("no_tools_left", _("No tools, rags or loose parts left in the car")),
    ("torque_checked", _("Torque-critical items (wheels, brakes, suspension) checked to spec")),
    ("road_test", _("Road test done")),
)
ROAD_TEST = "road_test"
