"""`{% load pii %}` then `{{ customer.mobile|mask_phone_for:request.user }}`: customers'
contact details in full for the roles that phone or bill them, masked for the others
(`dealership.roles.sees_contact_details`)."""

from django import template

from dealership.roles import sees_contact_details as _sees_contact_details
from dealership.security import mask_phone as _mask_phone

register = template.Library()


@register.filter
def mask_phone(value):
    return _mask_phone(value)


@register.filter
def mask_phone_for(value, user):
    """The number in full for the roles that call customers, masked for the others
    (technicians, workshop controller, QC inspector)."""
    if user and _sees_contact_details(user):
        return value
    return _mask_phone(value)


@register.filter
def sees_contact_details(user) -> bool:
    """`{% if request.user|sees_contact_details %}` around an address."""
    return bool(user) and _sees_contact_details(user)
