"""`{% desk_call_panel visit %}`: "Ask a technician to the desk" on the advisor's visit page.

Reception owns the visit page; it includes this tag, as it includes the
customer progress tag, so the request and its answer live in the workshop.
"""

from django import template
from django.template.loader import render_to_string
from django.utils import timezone

from dealership.roles import has_role
from reception.states import ON_SITE_STATUSES

from ..models import DeskCall
from ..views import ADVISORS

register = template.Library()


@register.simple_tag(takes_context=True)
def desk_call_panel(context, visit):
    request = context.get("request")
    if request is None or not has_role(request.user, ADVISORS):
        return ""
    last = (
        DeskCall.objects.filter(visit=visit)
        .select_related("technician")
        .order_by("-asked_at", "-id")
        .first()
    )
    waiting = None
    if last is not None and last.is_open:
        waiting = max(int((timezone.now() - last.asked_at).total_seconds() // 60), 0)
    return render_to_string(
        "workshop/_desk_call_panel.html",
        {
            "visit": visit,
            "last": last,
            "waiting": waiting,
            "can_ask": visit.status in ON_SITE_STATUSES and (last is None or not last.is_open),
            "next": request.get_full_path(),
        },
        request=request,
    )
