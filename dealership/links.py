"""Customers never log in: they get signed, expiring, revocable links bound to one object.

url = customer_link_url(request, obj=appointment, purpose="booking", view_name=...)
link = customer_link_resolve(token, purpose="booking")   # raises LinkInvalid
customer_links_revoke(obj=appointment, purpose="booking")
customer_link_revoke_by_staff(customer=c, link=link, actor=user, reason="phone lost")
"""

import uuid
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import models, transaction
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .errors import DomainError
from .models import Customer, CustomerLink

_SALT = "dealership.customer-link"


class LinkInvalid(Exception):
    """The link is altered, expired, revoked or meant for something else."""

    def __init__(self, message=None):
        super().__init__(
            message or _("This link is not valid any more. Please ask us for a new one.")
        )


def customer_link_create(
    *,
    obj: models.Model,
    purpose: str,
    customer: Customer | None = None,
    max_age: timedelta | None = None,
    actor=None,
) -> str:
    """Make a link for `obj` and return its signed token (put it in the URL)."""
    link = CustomerLink.objects.create(
        token=uuid.uuid4(),
        purpose=purpose,
        subject_type=ContentType.objects.get_for_model(obj),
        subject_id=obj.pk,
        customer=customer,
        expires_at=timezone.now()
        + (max_age or timedelta(days=settings.CUSTOMER_LINK_MAX_AGE_DAYS)),
        created_by=actor,
    )
    return signing.dumps({"t": str(link.token), "p": purpose}, salt=_SALT, compress=True)


def customer_link_url(*, token: str, view_name: str, request=None) -> str:
    path = reverse(view_name, kwargs={"token": token})
    return request.build_absolute_uri(path) if request is not None else path


def customer_link_resolve(token: str, *, purpose: str, touch: bool = True) -> CustomerLink:
    """The link row for a token, or LinkInvalid. `link.subject` is the one object it opens."""
    try:
        data = signing.loads(token, salt=_SALT)
    except signing.BadSignature as exc:
        raise LinkInvalid from exc
    if data.get("p") != purpose:
        raise LinkInvalid
    link = CustomerLink.objects.select_related("subject_type").filter(token=data.get("t")).first()
    now = timezone.now()
    if link is None or link.purpose != purpose or link.revoked_at or link.expires_at <= now:
        raise LinkInvalid
    if touch:
        link.last_used_at = now
        link.save(update_fields=["last_used_at"])
    return link


def customer_links_revoke(*, obj: models.Model, purpose: str | None = None) -> int:
    """Revoke every open link to `obj` (for one purpose, or all)."""
    links = CustomerLink.objects.filter(
        subject_type=ContentType.objects.get_for_model(obj), subject_id=obj.pk, revoked_at=None
    )
    if purpose:
        links = links.filter(purpose=purpose)
    return links.update(revoked_at=timezone.now())


# ------------------------------------------------ staff revoke a customer's links (issue 18.3)

REVOKE_REASON_MAX_LENGTH = CustomerLink._meta.get_field("revoke_reason").max_length

# What each purpose is, in the reader's language (the purposes are codes of the apps above).
PURPOSE_LABELS = {
    "appointment": _("Booking"),
    "visit_progress": _("Visit progress"),
    "workshop_addition": _("Additional work approval"),
    "portal": _("Customer portal"),
}


def purpose_label(purpose: str) -> str:
    return str(PURPOSE_LABELS.get(purpose, purpose))


def customer_live_links(customer: Customer):
    """The customer's links that still open something (not revoked, not expired)."""
    return CustomerLink.objects.filter(
        customer=customer, revoked_at=None, expires_at__gt=timezone.now()
    ).order_by("-created_at", "-id")


def _clean_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why the link is revoked."), field="reason", code="required")
    if len(reason) > REVOKE_REASON_MAX_LENGTH:
        raise DomainError(
            _("At most %(count)d characters.") % {"count": REVOKE_REASON_MAX_LENGTH},
            field="reason",
            code="max_length",
        )
    return reason


def customer_link_revoke_by_staff(
    *, customer: Customer, link_id: int, actor, reason: str
) -> CustomerLink:
    """Revoke one live link of `customer`: the customer then meets the "link not valid" page."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        link = (
            CustomerLink.objects.select_for_update().filter(pk=link_id, customer=customer).first()
        )
        if link is None:
            raise DomainError(_("This customer has no such link."), field="link", code="unknown")
        if link.revoked_at is not None:
            raise DomainError(_("This link is already revoked."), field="link", code="revoked")
        link.revoked_at = timezone.now()
        link.revoked_by = actor
        link.revoke_reason = reason
        link.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    return link


def customer_links_revoke_all_by_staff(*, customer: Customer, actor, reason: str) -> int:
    """Revoke every live link of `customer` at once; returns how many were revoked."""
    reason = _clean_reason(reason)
    with transaction.atomic():
        ids = list(customer_live_links(customer).select_for_update().values_list("pk", flat=True))
        return CustomerLink.objects.filter(pk__in=ids).update(
            revoked_at=timezone.now(), revoked_by=actor, revoke_reason=reason
        )


def customer_link_page(view):
    """A customer's page behind a link: a LinkInvalid raised anywhere in it answers the one
    "link not valid" page (the store's name and phone, no staff header), never a staff 404."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except LinkInvalid as error:
            return render(request, "link_invalid.html", {"error": error}, status=404)

    return wrapped
