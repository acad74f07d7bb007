"""Help at the desk: the advisor asks for a technician, the controller sends one.

The advisor, with the customer at the desk, asks the workshop for a technician
(a second opinion on a noise, a part to show). The request shows on the board,
with the minutes it has been waiting, until the controller answers by naming
the technician who goes. One open request per visit.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from dealership.errors import DomainError
from dealership.models import Technician, User
from reception.models import Visit
from reception.states import ON_SITE_STATUSES

from .job_moves import workshop_record
from .models import DeskCall

NOTE_MAX_LENGTH = DeskCall._meta.get_field("note").max_length


def desk_call_ask(*, visit: Visit, actor: User, note: str = "") -> DeskCall:
    """Ask the workshop for a technician at the desk for this visit's customer."""
    note = (note or "").strip()
    if len(note) > NOTE_MAX_LENGTH:
        raise DomainError(
            _("Keep it under %(n)s characters.") % {"n": NOTE_MAX_LENGTH}, field="note"
        )
    if visit.status not in ON_SITE_STATUSES:
        raise DomainError(
            _("The car is no longer at the store: nobody can be asked to the desk for it."),
            code="visit_gone",
        )
    try:
        with transaction.atomic():
            call = DeskCall.objects.create(visit=visit, asked_by=actor, note=note)
    except IntegrityError:
        # The partial unique index decides between two advisors asking at once.
        raise DomainError(
            _("A technician has already been asked to the desk for this car."),
            code="already_asked",
        ) from None
    workshop_record(
        visit,
        kind="workshop.desk_call_asked",
        summary=_("a technician was asked to the desk"),
        actor=actor,
        subject=call,
    )
    return call


def desk_call_answer(*, call: DeskCall, technician: Technician | None, actor: User) -> DeskCall:
    """The controller sends a technician to the desk; the request leaves the board."""
    if technician is None or not technician.active:
        raise DomainError(_("Choose an active technician."), field="technician")
    with transaction.atomic():
        locked = DeskCall.objects.select_for_update().select_related("visit").get(pk=call.pk)
        if locked.answered_at is not None:
            raise DomainError(
                _("Already answered: %(tech)s went to the desk.") % {"tech": locked.technician},
                code="already_answered",
            )
        locked.technician = technician
        locked.answered_by = actor
        locked.answered_at = timezone.now()
        locked.save(update_fields=["technician", "answered_by", "answered_at"])
        workshop_record(
            locked.visit,
            kind="workshop.desk_call_answered",
            summary=_("%(tech)s went to the desk") % {"tech": technician},
            actor=actor,
            subject=locked,
        )
    return locked
