"""Insurance (accident) jobs: the insurer, the report, the adjuster and the amounts.

The advisor opens the job when the walk-around finds body damage (or the customer says it
is an accident) and fills it in as the insurer's adjuster (定损员) works: the approved amount
(定损金额) and the customer's excess (免赔额). Until the bill is settled the advisor may
change them; each change is kept in the row's history. The bill splits the insurance lines
by them (`delivery.selectors.insurance_split`).
"""

import re
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dealership.errors import DomainError
from dealership.models import User
from dealership.money import to_money, yuan
from dealership.services import timeline_record
from dealership.stored_text import StoredMessage
from dealership.text import clean_text
from dealership.transitions import lock_row, save_versioned
from dealership.validators import normalize_phone

from .models import (
    INSURANCE_AMOUNT_MAX,
    InsuranceCase,
    InsuranceOfferDismissal,
    Insurer,
    Visit,
)
from .services import visit_lock
from .states import VisitStatus

# Once the bill is paid the amounts are the settlement's record; the job is no longer edited.
CLOSED_STATUSES = frozenset(
    {VisitStatus.SETTLED, VisitStatus.DELIVERED, VisitStatus.CLOSED, VisitStatus.CANCELLED}
)
FIELDS = (
    "insurer",
    "insurer_name",
    "policy_number",
    "report_number",
    "adjuster_name",
    "adjuster_phone",
    "approved_amount",
    "excess",
)
_PHONE_RE = re.compile(r"^\d{5,15}$")


def offers_insurance(visit: Visit) -> bool:
    """The walk-around found body damage, no insurance job is open and nobody said no."""
    return (
        visit.status not in CLOSED_STATUSES
        and visit.damage_marks.exists()
        and not InsuranceCase.objects.filter(visit=visit).exists()
        and not InsuranceOfferDismissal.objects.filter(visit=visit).exists()
    )


def _amount(value: Any, *, field: str) -> Decimal | None:
    if value in (None, ""):
        return None
    amount = to_money(value, field=field)
    if amount < 0:
        raise DomainError(_("An amount cannot be negative."), field=field)
    if amount > INSURANCE_AMOUNT_MAX:
        raise DomainError(
            _("At most %(max)s.") % {"max": yuan(INSURANCE_AMOUNT_MAX)}, field=field, code="max"
        )
    return amount


def _clean(values: dict) -> dict:
    """The form's values checked and tidied; a refusal names the field."""
    insurer = values.get("insurer") or ""
    if insurer not in Insurer.values:
        raise DomainError(_("Choose the insurer."), field="insurer")
    limits = {"insurer_name": 60, "policy_number": 40, "report_number": 40, "adjuster_name": 50}
    texts = {
        name: clean_text(values.get(name), field=name, max_length=limit)
        for name, limit in limits.items()
    }
    if insurer == Insurer.OTHER and not texts["insurer_name"]:
        raise DomainError(_("Give the name of the insurer."), field="insurer_name")
    if insurer != Insurer.OTHER:
        texts["insurer_name"] = ""
    phone = normalize_phone(
        clean_text(values.get("adjuster_phone"), field="adjuster_phone", max_length=20)
    )
    if phone and not _PHONE_RE.match(phone):
        raise DomainError(
            _("A phone number has 5 to 15 digits, e.g. 13812345678 or 02188886666."),
            field="adjuster_phone",
        )
    approved = _amount(values.get("approved_amount"), field="approved_amount")
    excess = _amount(values.get("excess"), field="excess") or Decimal("0.00")
    if approved is not None and excess > approved:
        raise DomainError(
            _("The excess (%(excess)s) cannot be more than the approved amount (%(approved)s).")
            % {"excess": yuan(excess), "approved": yuan(approved)},
            field="excess",
            code="excess_above_approved",
        )
    return {
        "insurer": insurer,
        **texts,
        "adjuster_phone": phone,
        "approved_amount": approved,
        "excess": excess,
    }


def _refuse_closed(visit: Visit) -> None:
    if visit.status in CLOSED_STATUSES:
        raise DomainError(
            _(
                "Visit %(number)s is %(status)s: the insurance job can no longer change "
                "(void the bill first if it is wrong)."
            )
            % {"number": visit.number, "status": VisitStatus(visit.status).label},
            code="closed",
        )


def insurance_case_save(
    *, visit: Visit, actor: User, expected_version: int | None = None, **values
) -> InsuranceCase:
    """Open the visit's insurance job, or change it (until the bill is settled)."""
    cleaned = _clean(values)
    with transaction.atomic():
        locked = visit_lock(visit)
        _refuse_closed(locked)
        case = InsuranceCase.objects.filter(visit=locked).first()
        if case is None:
            case = InsuranceCase(visit=locked, opened_by=actor, opened_at=timezone.now())
            for name, value in cleaned.items():
                setattr(case, name, value)
            case.full_clean()
            case._change_reason = "opened"
            case.save()
            summary = gettext_noop("%(number)s: insurance job opened (%(insurer)s)")
        else:
            case = lock_row(case, expected_version=expected_version)
            changed = [name for name in FIELDS if getattr(case, name) != cleaned[name]]
            if not changed:
                return case
            for name in changed:
                setattr(case, name, cleaned[name])
            case.full_clean()
            save_versioned(case, changed, reason="insurance job changed")
            summary = gettext_noop("%(number)s: insurance job changed (%(insurer)s)")
        timeline_record(
            kind="visit.insurance",
            summary=StoredMessage(summary, number=locked.number, insurer=case.insurer_label),
            customer=locked.customer,
            vehicle=locked.vehicle,
            subject=locked,
            actor=actor,
            data={
                "approved_amount": str(case.approved_amount or ""),
                "excess": str(case.excess),
            },
        )
    return case


def insurance_offer_dismiss(*, visit: Visit, actor: User) -> InsuranceOfferDismissal:
    """The advisor does not want an insurance job for the damage found: stop offering it."""
    with transaction.atomic():
        locked = visit_lock(visit)
        dismissal, _created = InsuranceOfferDismissal.objects.get_or_create(
            visit=locked, defaults={"dismissed_by": actor}
        )
    return dismissal
