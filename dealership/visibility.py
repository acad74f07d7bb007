"""What each role sees of a customer: the one place that decides it.

Every page, fragment, PDF, export and serializer that shows a customer's contact details
asks here (`customer_view`, `shown`, the `{% load pii %}` filters), so a role sees the same
thing everywhere. The roles that phone, bill or look after customers (the front desk and the
administrator) see every field in full; the workshop (workshop controller, technician, QC
inspector) works on the car, not with the customer: it sees the mobile numbers and the
e-mail masked and the rest of the contact details not at all. A role that sees a number
masked cannot search by it either (`can_search_by_phone`), else it could recover the number
digit by digit.

Who handles money (`sees_money`) is decided here too: invoices, amounts and receipts are
shown to the advisor (estimates and the bill), the cashier, the service manager and the
administrator only.
"""

import re
from dataclasses import dataclass

from .pii import mask_personal_data, mask_phone
from .roles import Role, user_roles

FULL, MASKED, HIDDEN = "full", "masked", "hidden"
_RANK = {HIDDEN: 0, MASKED: 1, FULL: 2}

# A customer's contact details: the fields this table rules. Name, language and the
# do-not-call flag are not contact details and are shown to every staff role.
CONTACT_FIELDS = (
    "mobile",
    "mobile_alt",
    "email",
    "address",
    "company",
    "preferred_contact_time",
    "notes",
)
PHONE_FIELDS = frozenset({"mobile", "mobile_alt"})

_EVERYTHING = dict.fromkeys(CONTACT_FIELDS, FULL)
_WORKSHOP = {
    "mobile": MASKED,
    "mobile_alt": MASKED,
    "email": MASKED,
    "address": HIDDEN,
    "company": HIDDEN,
    "preferred_contact_time": HIDDEN,
    "notes": HIDDEN,
}

CUSTOMER_FIELDS_BY_ROLE: dict[str, dict[str, str]] = {
    Role.ADVISOR: _EVERYTHING,
    Role.CASHIER: _EVERYTHING,
    Role.CUSTOMER_CARE: _EVERYTHING,
    Role.SERVICE_MANAGER: _EVERYTHING,
    Role.ADMIN: _EVERYTHING,
    Role.WORKSHOP_CONTROLLER: _WORKSHOP,
    Role.TECHNICIAN: _WORKSHOP,
    Role.QC_INSPECTOR: _WORKSHOP,
}

MONEY_ROLES = (Role.ADVISOR, Role.CASHIER, Role.SERVICE_MANAGER, Role.ADMIN)


def field_level(user, field: str) -> str:
    """FULL, MASKED or HIDDEN: the most open level among the user's roles (none: hidden)."""
    level = HIDDEN
    for role in user_roles(user) if user is not None else ():
        candidate = CUSTOMER_FIELDS_BY_ROLE.get(role, {}).get(field, HIDDEN)
        if _RANK[candidate] > _RANK[level]:
            level = candidate
    return level


def mask_email(value) -> str:
    """w***@example.com"""
    text = "" if value is None else str(value)
    if not text:
        return ""
    local, at, domain = text.partition("@")
    return f"{local[:1]}***@{domain}" if at else "***"


def mask_value(field: str, value) -> str:
    if not value:
        return ""
    if field in PHONE_FIELDS:
        return mask_phone(value)
    if field == "email":
        return mask_email(value)
    return "***"


def shown(user, field: str, value):
    """`value` as `user` may see it: in full, masked, or empty."""
    level = field_level(user, field)
    if level == FULL:
        return value
    if level == MASKED:
        return mask_value(field, value)
    return ""


def sees_in_full(user, field: str) -> bool:
    return field_level(user, field) == FULL


def can_search_by_phone(user) -> bool:
    """Only a role that sees the numbers in full may find customers by their digits."""
    return all(sees_in_full(user, field) for field in PHONE_FIELDS)


def sees_money(user) -> bool:
    names = user_roles(user) if user is not None else frozenset()
    return bool(names & set(MONEY_ROLES))


_AMOUNT = re.compile(r"[¥￥]\s?-?[0-9][0-9,]*(?:\.[0-9]+)?")
_INVOICE = re.compile(r"\bJS[0-9]{4}-[0-9]{6}\b")


def money_hidden(user, text) -> str:
    """Free text (an event, a message, a reason) without amounts and invoice numbers for the
    roles that do not handle money."""
    text = "" if text is None else str(text)
    if sees_money(user):
        return text
    return without_money(text)


def without_money(text: str) -> str:
    """`text` with its amounts and invoice numbers dotted out (a list asks `sees_money` once
    for all its rows, then calls this per row)."""
    return _INVOICE.sub("JS…", _AMOUNT.sub("¥…", text))


def text_shown(user, text) -> str:
    """Free text as `user` may read it: contact details and customers' link tokens masked
    for the roles that see them masked, amounts hidden from those that do not handle money."""
    text = "" if text is None else str(text)
    if not can_search_by_phone(user):
        text = mask_personal_data(text)
    return money_hidden(user, text)


def recipient_shown(user, to) -> str:
    """A message's address (a phone number or an e-mail) as `user` may see it."""
    to = "" if to is None else str(to)
    return shown(user, "email" if "@" in to else "mobile", to)


@dataclass(frozen=True)
class CustomerView:
    """A customer's contact details as one user may see them (hidden ones are "")."""

    customer: object
    mobile: str
    mobile_alt: str
    email: str
    address: str
    company: str
    preferred_contact_time: str
    notes: str
    phones_in_full: bool

    @property
    def name(self) -> str:
        return self.customer.name

    @property
    def pk(self):
        return self.customer.pk

    @property
    def tel(self) -> str:
        """The number for a `tel:` link, only for those who see it in full."""
        return self.mobile if self.phones_in_full else ""

    @property
    def phones(self) -> str:
        """ "mobile / second phone" as shown."""
        return " / ".join(p for p in (self.mobile, self.mobile_alt) if p)

    def __str__(self) -> str:
        return f"{self.customer.name} {self.mobile}".strip()


def customer_view(user, customer) -> CustomerView | None:
    if customer is None:
        return None
    values = {
        field: shown(user, field, getattr(customer, field, "") or "") for field in CONTACT_FIELDS
    }
    return CustomerView(customer=customer, phones_in_full=can_search_by_phone(user), **values)


def printed_view(customer, viewer=None) -> CustomerView:
    """What a printed document shows of the customer: everything when it is printed for
    the customer (no `viewer`), else what the staff member printing it may see."""
    if viewer is not None:
        return customer_view(viewer, customer)
    values = {field: getattr(customer, field, "") or "" for field in CONTACT_FIELDS}
    return CustomerView(customer=customer, phones_in_full=True, **values)


def serialize_customer_fields(user, data: dict) -> dict:
    """A serializer's output with each contact field as `user` may see it."""
    for field in CONTACT_FIELDS:
        if field in data:
            data[field] = shown(user, field, data[field])
    return data


def sees_contact_details(user) -> bool:
    """Whether the user sees customers' mobile numbers and addresses in full.

    The front desk and the administrator do; the workshop (technician, workshop controller,
    QC inspector) sees masked numbers and no address.
    """
    return sees_in_full(user, "mobile") and sees_in_full(user, "address")
