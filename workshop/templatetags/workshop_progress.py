"""`{% workshop_progress visit %}`: the workshop's part of the customer's progress page.

Reception owns the page behind the order's QR code (`reception:progress`); it
includes this tag to show the stage, the promised time and the approvals
waiting, rendered in the customer's language.
"""

from django import template
from django.template.loader import render_to_string
from django.utils import translation

from ..selectors import customer_progress

register = template.Library()


@register.simple_tag(takes_context=True)
def workshop_progress(context, visit):
    with translation.override(visit.customer.language):
        return render_to_string(
            "workshop/_customer_progress.html",
            {"progress": customer_progress(visit)},
            request=context.get("request"),
        )
