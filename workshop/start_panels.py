"""The advisor's and manager's start page: additions waiting for the customer's answer."""

from .models import Addition
from .states import AdditionStatus


def approvals_waiting(request) -> dict:
    additions = (
        Addition.objects.filter(status=AdditionStatus.PROPOSED)
        .select_related("visit", "visit__vehicle", "visit__customer")
        .order_by("proposed_at", "id")
    )
    return {"additions": list(additions)}
