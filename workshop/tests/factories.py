"""Test data for the workshop: visits with a signed order, technicians with a log-in."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from dealership.models import Technician
from dealership.tests.factories import (
    BayFactory,
    LabourOperationFactory,
    PartFactory,
    TechnicianFactory,
    UserFactory,
)
from reception.states import VisitStatus
from reception.tests.factories import VisitFactory
from workorders.models import LineKind, OrderStatus, WorkOrder, WorkOrderLine

__all__ = ["BayFactory", "PartFactory", "make_signed_visit", "make_technician"]


def make_technician(*, username: str | None = None, team: str = "机修组", **kwargs) -> Technician:
    """A technician with a log-in (role technician)."""
    user = UserFactory(roles=["technician"], **({"username": username} if username else {}))
    return TechnicianFactory(user=user, name=f"技师{user.pk}", team=team, **kwargs)


def make_signed_visit(
    *,
    jobs: int = 2,
    hours: str = "1.00",
    work_type: str = "repair",
    promised_in: timedelta = timedelta(hours=6),
    status: str = VisitStatus.ORDER_SIGNED,
    **kwargs,
):
    """A visit whose first work order revision is signed, with `jobs` labour lines.

    Built directly (a test shortcut): the signing itself is tested in workorders.
    """
    now = timezone.now()
    visit = VisitFactory(
        status=status, promised_at=now + promised_in, order_signed_at=now, **kwargs
    )
    order = WorkOrder.objects.create(
        visit=visit,
        revision=1,
        status=OrderStatus.SIGNED,
        promised_at=visit.promised_at,
        payment_method="cash",
        signer_name=visit.customer.name,
        signed_at=now,
        signed_via="tablet",
    )
    for position in range(1, jobs + 1):
        operation = LabourOperationFactory(work_type=work_type, standard_hours=hours)
        WorkOrderLine.objects.create(
            order=order,
            position=position,
            kind=LineKind.LABOUR,
            operation=operation,
            code=operation.code,
            name_zh=operation.name_zh,
            name_en=operation.name_en,
            hours=Decimal(hours),
            unit_price=operation.price,
        )
    return visit


def refusal_code(error) -> str:
    """The code of a DomainError, whether it names a field or not."""
    if hasattr(error, "error_dict"):
        return next(iter(error.error_dict.values()))[0].code
    return error.code
