from django import template

from dealership.rules import rule

register = template.Library()


@register.simple_tag
def store_contact() -> dict:
    """The store's name, phone and address (every portal page shows them)."""
    return {
        "name": rule("store.name"),
        "phone": rule("store.phone"),
        "address": rule("store.address"),
    }


@register.filter
def tel(phone: str) -> str:
    """A phone number as a tel: address (digits and + only)."""
    return "".join(ch for ch in str(phone or "") if ch.isdigit() or ch == "+")
