"""`{% load pii %}` then `{{ customer.mobile|mask_phone_for:request.user }}`, or
`{% with c=customer|contact_for:request.user %}{{ c.mobile }} {{ c.email }}{% endwith %}`:
customers' contact details as the user's role may see them (`dealership.visibility`)."""

from django import template

from dealership.pii import mask_openid as _mask_openid
from dealership.security import mask_phone as _mask_phone
from dealership.visibility import customer_view, money_hidden, sees_money, shown
from dealership.visibility import sees_contact_details as _sees_contact_details

register = template.Library()


@register.filter
def mask_phone(value):
    return _mask_phone(value)


@register.filter
def mask_openid(value):
    return _mask_openid(value)


@register.filter
def mask_phone_for(value, user):
    """The number in full for the roles that call customers, masked for the others
    (technicians, workshop controller, QC inspector)."""
    return shown(user, "mobile", value)


@register.filter
def contact_for(customer, user):
    """The customer's contact details as `user` may see them (`visibility.CustomerView`)."""
    return customer_view(user, customer)


@register.filter
def sees_contact_details(user) -> bool:
    """`{% if request.user|sees_contact_details %}` around an address."""
    return bool(user) and _sees_contact_details(user)


@register.filter
def money_hidden_for(text, user) -> str:
    """Free text without amounts and invoice numbers for roles that do not handle money."""
    return money_hidden(user, text)


@register.filter
def handles_money(user) -> bool:
    """`{% if request.user|handles_money %}` around invoices, amounts and receipts."""
    return bool(user) and sees_money(user)
