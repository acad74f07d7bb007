"""The customer's own advisor (专属顾问) and the wrong-number flag the desk must see.

Who the advisors are (active staff with the advisor role), setting a customer's own
advisor, and flagging / clearing a mobile a follow-up call found wrong. Which advisor an
online booking goes to is decided by `appointments.advisors`, which reads these.
"""

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .errors import DomainError
from .models import Customer, User
from .roles import Role
from .services import timeline_record
from .stored_text import StoredMessage


def advisors_active() -> QuerySet[User]:
    """Active staff with the advisor role, in a fixed order (the rotation's tie-break)."""
    return User.objects.filter(groups__name=Role.ADVISOR, is_active=True).order_by("id")


def customer_advisor_set(
    *, customer: Customer, advisor: User | None, actor: User | None
) -> Customer:
    """Give the customer their own advisor (or none); online bookings then go to them.

    Refuses someone who is not an active advisor, changing nothing.
    """
    if advisor is not None and not advisors_active().filter(pk=advisor.pk).exists():
        raise DomainError(
            _("Choose an active service advisor."), field="advisor", code="not_an_advisor"
        )
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.advisor_id == (advisor.pk if advisor else None):
            return customer
        customer.advisor = advisor
        customer.save(update_fields=["advisor"])
        timeline_record(
            kind="customer.advisor",
            summary=StoredMessage(gettext_noop("Own advisor: %(name)s"), name=str(advisor))
            if advisor
            else StoredMessage(gettext_noop("Own advisor removed")),
            customer=customer,
            subject=customer,
            actor=actor,
        )
    return customer


def customer_wrong_number_flag(*, customer: Customer, actor: User | None) -> Customer:
    """A call found the customer's mobile wrong: the desk sees a banner until it is corrected."""
    with transaction.atomic():
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.wrong_number_at is None:
            customer.wrong_number_at = timezone.now()
            customer.save(update_fields=["wrong_number_at"])
            timeline_record(
                kind="customer.wrong_number",
                summary=StoredMessage(gettext_noop("Mobile reported wrong by a follow-up call")),
                customer=customer,
                subject=customer,
                actor=actor,
            )
    return customer
