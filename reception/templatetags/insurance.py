"""The walk-around's offer to open an insurance job for the body damage it found, and the
visit's insurance job once opened."""

from django import template

from reception.insurance import offers_insurance
from reception.models import InsuranceCase

register = template.Library()


@register.inclusion_tag("reception/_insurance_offer.html", takes_context=True)
def insurance_offer(context, visit, *, show_case=False):
    case = InsuranceCase.objects.filter(visit=visit).first() if show_case else None
    return {
        "visit": visit,
        "case": case,
        "offer": case is None and offers_insurance(visit),
        "request": context.get("request"),
        "csrf_token": context.get("csrf_token"),
    }
