"""The advisor's and manager's start page: additions waiting for the customer's answer."""

from django.db.models import F

from dealership.urltools import url_for_pk

from .models import Addition
from .states import AdditionStatus


def approvals_waiting(request) -> dict:
    """One dict a waiting addition with what the panel prints: not three joined model rows
    built for a plate, a title and a name."""
    addition_url = url_for_pk("workshop:addition")
    additions = list(
        Addition.objects.filter(status=AdditionStatus.PROPOSED)
        .order_by("proposed_at", "id")
        .values(
            "id",
            "title",
            "safety_related",
            "link_sent_at",
            plate=F("visit__vehicle__plate"),
            customer_name=F("visit__customer__name"),
        )
    )
    for addition in additions:
        addition["url"] = addition_url(addition["id"])
    return {"additions": additions}
