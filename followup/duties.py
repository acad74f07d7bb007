"""The due-task kinds of step 8 and the call lists customer care and advisors work through.

Person kinds (calls on a work queue): the 24 h care call, the advisor's 7-day
call, the N+15 new-car call, the lost-customer call and the complaint
escalation for the service manager. Machine kinds: the complaint deadline
watchers and the daily scan. The lists also show two kinds of the appointments
app (maintenance invitation, no-show rebooking).
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from dealership.consent import Purpose, consent_gate_kinds
from dealership.due import KINDS, register_kind
from dealership.roles import Role
from dealership.stored_text import stored_text

CARE_CALL = "followup.care_call"
ADVISOR_CALL = "followup.advisor_call"
NEW_CAR_CALL = "followup.new_car_call"
LOST_CALL = "followup.lost_customer_call"
ESCALATION = "followup.complaint_escalation"
RESPONSE_DEADLINE = "followup.complaint_response_deadline"
CLOSE_DEADLINE = "followup.complaint_close_deadline"
DAILY_SCAN = "followup.daily_scan"

# Kinds of the appointments app shown on our lists.
INVITATION_CALL = "appointments.invitation_call"
REBOOK_CALL = "appointments.rebook_call"

# Calls made after a delivery; when none is open any more, the visit is closed.
VISIT_CALLS = (CARE_CALL, ADVISOR_CALL)

UNREACHABLE = "unreachable"
# Flags the customer record for the desk (dealership.advisors.customer_wrong_number_flag).
WRONG_NUMBER = "wrong_number"
# Outcomes that mean "nobody answered": the call comes back later until attempts run out.
NOT_REACHED_OUTCOMES = frozenset({UNREACHABLE, "not_reached"})
# Outcomes that open a complaint with the note as the customer's words.
ISSUE = "issue"

CARE_OUTCOMES = (
    ("surveyed", _("Reached, survey taken")),
    ("no_survey", _("Reached, did not want the survey")),
    (UNREACHABLE, _("Unreachable")),
    (WRONG_NUMBER, _("Wrong number")),
)
ADVISOR_OUTCOMES = (
    ("satisfied", _("Reached, no problem")),
    (ISSUE, _("Reached, has a problem (opens a complaint)")),
    (UNREACHABLE, _("Unreachable")),
    (WRONG_NUMBER, _("Wrong number")),
)
NEW_CAR_OUTCOMES = ADVISOR_OUTCOMES
LOST_OUTCOMES = (
    ("will_come", _("Will come back / booked")),
    ("moved", _("Moved away")),
    ("sold", _("Sold the car")),
    ("other_shop", _("Services elsewhere")),
    ("price", _("Finds us too expensive")),
    (ISSUE, _("Was unhappy with us (opens a complaint)")),
    ("no_reason", _("Reached, gave no reason")),
    (UNREACHABLE, _("Unreachable")),
)
ESCALATION_OUTCOMES = (
    ("taken_over", _("Taken over by the manager")),
    ("delegated", _("Handed back to the owner with instructions")),
)


# The generic due queue records these calls through the follow-up service (survey,
# complaint, closing the visit), never around it.
RECORDER = "followup.services.call_record"


def register_kinds() -> None:
    """Called from FollowupConfig.ready()."""
    for kind, label, role, outcomes in (
        (CARE_CALL, _("24 h care call"), Role.CUSTOMER_CARE, CARE_OUTCOMES),
        (ADVISOR_CALL, _("7-day advisor call"), Role.ADVISOR, ADVISOR_OUTCOMES),
        (NEW_CAR_CALL, _("New-car call (N+15)"), Role.CUSTOMER_CARE, NEW_CAR_OUTCOMES),
        (LOST_CALL, _("Lost-customer call"), Role.CUSTOMER_CARE, LOST_OUTCOMES),
    ):
        register_kind(kind, label=label, role=role, outcomes=outcomes, recorder=RECORDER)
    register_kind(
        ESCALATION,
        label=_("Complaint escalated to the service manager"),
        role=Role.SERVICE_MANAGER,
        outcomes=ESCALATION_OUTCOMES,
    )
    for kind, label, task in (
        (RESPONSE_DEADLINE, _("Complaint first-response deadline"), "check_response_deadline"),
        (CLOSE_DEADLINE, _("Complaint closure deadline"), "check_close_deadline"),
        (DAILY_SCAN, _("Daily follow-up scan"), "run_daily_scan"),
    ):
        register_kind(kind, label=label, handler=f"followup.tasks.{task}")
    # What a withdrawal of consent cancels (dealership.consent).
    consent_gate_kinds(Purpose.SATISFACTION, CARE_CALL, ADVISOR_CALL, NEW_CAR_CALL)
    consent_gate_kinds(Purpose.MARKETING, LOST_CALL)


@dataclass(frozen=True)
class CallList:
    slug: str
    label: object
    kinds: tuple[str, ...]
    roles: tuple[str, ...]

    @property
    def registered_kinds(self) -> tuple[str, ...]:
        return tuple(kind for kind in self.kinds if kind in KINDS)


CARE_ROLES = (Role.CUSTOMER_CARE, Role.SERVICE_MANAGER)
ADVISOR_ROLES = (Role.ADVISOR, Role.SERVICE_MANAGER)

CALL_LISTS: dict[str, CallList] = {
    item.slug: item
    for item in (
        CallList("care", _("24 h care calls"), (CARE_CALL,), CARE_ROLES),
        CallList("advisor", _("7-day advisor calls"), (ADVISOR_CALL,), ADVISOR_ROLES),
        CallList("new-car", _("New cars (N+15)"), (NEW_CAR_CALL,), CARE_ROLES),
        CallList("invitation", _("Maintenance invitations"), (INVITATION_CALL,), CARE_ROLES),
        CallList("no-show", _("No-show rebooking"), (REBOOK_CALL,), ADVISOR_ROLES),
        CallList("lost", _("Lost customers"), (LOST_CALL,), CARE_ROLES),
    )
}
LIST_ROLES = tuple(sorted({role for item in CALL_LISTS.values() for role in item.roles}))
# Every kind on a list calls the customer: an opt-out cancels them.
CUSTOMER_CALL_KINDS = tuple(kind for item in CALL_LISTS.values() for kind in item.kinds)


def list_of_kind(kind: str) -> CallList | None:
    return next((item for item in CALL_LISTS.values() if kind in item.kinds), None)


# Texts the complaint deadlines write (actions log, the manager's call), as codes.
NO_FIRST_RESPONSE = "followup.no_first_response"
NOT_CLOSED = "followup.not_closed"


@stored_text(NO_FIRST_RESPONSE)
def _no_first_response(params: dict) -> str:
    return _("No first response within %(hours)s h.") % {"hours": params["hours"]}


@stored_text(NOT_CLOSED)
def _not_closed(params: dict) -> str:
    return _("Not closed within %(hours)s h.") % {"hours": params["hours"]}
