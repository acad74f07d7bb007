"""`{% load pii %}` then `{{ customer.mobile|mask_phone }}` for roles that need no phone."""

from django import template

from dealership.security import mask_phone as _mask_phone

register = template.Library()


@register.filter
def mask_phone(value):
    return _mask_phone(value)


@register.filter
def mask_phone_for(value, user):
    """The number in full for the roles that call customers, masked for the others
    (technicians, workshop controller, QC inspector)."""
    from dealership.roles import FRONT_DESK, has_role

    if user is not None and has_role(user, FRONT_DESK):
        return value
    return _mask_phone(value)
