"""`{% messages_sent_panel vehicle since until %}`: the messages of a visit on its page."""

from django import template

from dealership.selectors import messages_sent
from dealership.visibility import recipient_shown, text_shown

register = template.Library()


@register.inclusion_tag("dealership/_messages_sent.html", takes_context=True)
def messages_sent_panel(context, vehicle, since, until=None):
    """Messages sent to the customer about `vehicle` from `since` (booking or check-in) on,
    as the viewer's role may read them (dealership.visibility): the workshop sees the address
    and the customer's links masked, roles that do not handle money no amounts."""
    rows = messages_sent(vehicle_id=vehicle.pk, since=since, until=until) if since else []
    user = getattr(context.get("request"), "user", None)
    for message in rows:
        message.to = recipient_shown(user, message.to)
        message.body = text_shown(user, message.body)
    return {"sent_messages": rows}
