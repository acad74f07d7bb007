"""`{% messages_sent_panel vehicle since until %}`: the messages of a visit on its page."""

from django import template

from dealership.selectors import messages_sent

register = template.Library()


@register.inclusion_tag("dealership/_messages_sent.html")
def messages_sent_panel(vehicle, since, until=None):
    """Messages sent to the customer about `vehicle` from `since` (booking or check-in) on."""
    rows = messages_sent(vehicle_id=vehicle.pk, since=since, until=until) if since else []
    return {"sent_messages": rows}
