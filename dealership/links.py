"""Customers never log in: they get signed, expiring, revocable links bound to one object.

url = customer_link_url(request, obj=appointment, purpose="booking", view_name=...)
link = customer_link_resolve(token, purpose="booking")   # raises LinkInvalid
customer_links_revoke(obj=appointment, purpose="booking")
"""

import uuid
from datetime import timedelta
from functools import wraps

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.db import models
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

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
