"""Writes of the customer portal: signing the phone in (a signed link or a one-time code),
the survey and the complaint the customer gives through it.

The signed-in customer is kept in the session under `portal_customer` (the customer's id)
and `portal_signed_in_at` (ISO time), the same keys WeChat's sign-in writes.
"""

import hashlib
import hmac
import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext as _

from dealership.errors import DomainError
from dealership.links import LinkInvalid, customer_link_create, customer_link_resolve
from dealership.models import Customer, CustomerLink, Message, User
from dealership.notifications import SMS, available_channels, notify
from dealership.pii import mask_openid
from dealership.rules import rule
from dealership.validators import normalize_phone
from dealership.wechat import openid_bind
from followup.complaints import complaint_open
from followup.models import Complaint, ComplaintCategory, ComplaintSource
from followup.services import CallResult, survey_answer_online
from reception.models import Visit

from .models import SignInCode

SESSION_CUSTOMER = "portal_customer"
SESSION_SIGNED_IN_AT = "portal_signed_in_at"
# The portal link the phone signed in with: revoking the link signs the phone out too.
SESSION_LINK = "portal_link"
LINK_PURPOSE = "portal"
# Where dealership.wechat's sign-in leaves the WeChat account it named.
WECHAT_SESSION_OPENID = "wechat_openid"

logger = logging.getLogger(__name__)
CODE_DIGITS = 6
CODE_VALID = timedelta(minutes=5)
CODE_MAX_TRIES = 5
# Complaints one customer may open through the portal in a day (the desk takes more).
COMPLAINTS_PER_DAY = 5
_HASH_SALT = "portal.sign-in-code"


class TooManyTries(Exception):
    """A sign-in limit is used up (per mobile or per address): try again later."""


# ---------------------------------------------------------------- the session


def portal_session_start(session, customer: Customer, *, link: CustomerLink | None = None) -> None:
    """Sign the phone in as `customer` for `PORTAL_SESSION_DAYS` (a new session key)."""
    session.cycle_key()
    session[SESSION_CUSTOMER] = customer.pk
    session[SESSION_SIGNED_IN_AT] = timezone.now().isoformat()
    if link is not None:
        session[SESSION_LINK] = link.pk
    else:
        session.pop(SESSION_LINK, None)
    session.set_expiry(int(settings.PORTAL_SESSION_DAYS) * 86400)
    _wechat_bind(session, customer)


def _wechat_bind(session, customer: Customer) -> None:
    """A phone that came through WeChat's sign-in (dealership.wechat) binds that WeChat account
    to the customer who has now proved their mobile: later messages go by WeChat."""
    openid = session.get(WECHAT_SESSION_OPENID)
    if not openid or customer.wechat_openid == openid:
        return
    try:
        openid_bind(customer=customer, openid=openid)
    except DomainError:
        # Bound to another customer (a shared phone): the desk decides; the sign-in stands.
        logger.info("portal sign-in: WeChat account of %s left unbound", mask_openid(openid))


def portal_session_customer(session) -> Customer | None:
    """The signed-in customer, or None (never signed in, signed out, or signed in too long ago)."""
    pk = session.get(SESSION_CUSTOMER)
    signed_in_at = session.get(SESSION_SIGNED_IN_AT)
    if not isinstance(pk, int) or not isinstance(signed_in_at, str):
        return None
    try:
        since = datetime.fromisoformat(signed_in_at)
    except ValueError:
        return None
    if timezone.is_naive(since):
        since = timezone.make_aware(since)
    if timezone.now() - since > timedelta(days=int(settings.PORTAL_SESSION_DAYS)):
        return None
    link_id = session.get(SESSION_LINK)
    if (
        link_id is not None
        and not CustomerLink.objects.filter(pk=link_id, customer_id=pk, revoked_at=None).exists()
    ):
        return None
    return Customer.objects.filter(pk=pk).first()


def portal_session_end(session) -> None:
    session.pop(SESSION_CUSTOMER, None)
    session.pop(SESSION_SIGNED_IN_AT, None)
    session.pop(SESSION_LINK, None)
    session.cycle_key()


# ---------------------------------------------------------------- the signed link


def portal_link_create(*, customer: Customer, actor: User | None = None) -> str:
    """A signed link that signs the customer's phone in (revocable from the customer's page)."""
    return customer_link_create(obj=customer, purpose=LINK_PURPOSE, customer=customer, actor=actor)


def portal_link_send(*, customer: Customer, actor: User | None, base_url: str) -> Message:
    """Text the customer a link to the portal."""
    token = portal_link_create(customer=customer, actor=actor)
    link = base_url.rstrip("/") + reverse("portal:link", kwargs={"token": token})
    return notify(
        customer=customer,
        template="portal_link",
        context={"link": link},
        channel=SMS if SMS in available_channels() else None,
    )


def portal_link_customer(token: str) -> tuple[Customer, CustomerLink]:
    """The customer a portal link signs in and the link, or LinkInvalid."""
    link = customer_link_resolve(token, purpose=LINK_PURPOSE)
    if link.subject_type.model_class() is not Customer or link.customer_id != link.subject_id:
        raise LinkInvalid
    customer = Customer.objects.filter(pk=link.subject_id).first()
    if customer is None:
        raise LinkInvalid
    return customer, link


# ---------------------------------------------------------------- the one-time code


def _count(bucket: str, subject: str, seconds: int) -> int:
    """One more attempt in `bucket` for `subject` within a window of `seconds`."""
    window = int(timezone.now().timestamp()) // seconds
    digest = hashlib.sha256(subject.encode()).hexdigest()[:32]
    key = f"portal:rate:{bucket}:{digest}:{window}"
    cache.add(key, 0, seconds)
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, seconds)
        return 1


def _check_address(ip: str) -> None:
    if _count("ip", ip or "unknown", 3600) > rule("portal.sign_in_tries_per_hour"):
        raise TooManyTries


def _clean_mobile(mobile: str) -> str:
    mobile = normalize_phone(str(mobile or ""))
    if not (len(mobile) == 11 and mobile.isdigit() and mobile.startswith("1")):
        raise DomainError(
            _("A mobile number has 11 digits and starts with 13–19, e.g. 13812345678."),
            field="mobile",
            code="mobile",
        )
    return mobile


def _code_hash(mobile: str, code: str) -> str:
    return salted_hmac(_HASH_SALT, f"{mobile}:{code}", algorithm="sha256").hexdigest()


def portal_code_request(*, mobile: str, ip: str) -> None:
    """Send a sign-in code to `mobile` when a customer has it on file.

    The caller's answer is the same whether the mobile is on file or not (no
    enumeration). Limits: `portal.codes_per_10_minutes` and `portal.codes_per_day`
    per mobile, `portal.sign_in_tries_per_hour` per address (TooManyTries). A new
    code voids the mobile's earlier ones.
    """
    mobile = _clean_mobile(mobile)
    _check_address(ip)
    short = _count("mobile10", mobile, 600)
    day = _count("mobileday", mobile, 86400)
    if short > rule("portal.codes_per_10_minutes") or day > rule("portal.codes_per_day"):
        raise TooManyTries
    customer = Customer.objects.filter(mobile=mobile).order_by("pk").first()
    if customer is None:
        return
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    now = timezone.now()
    with transaction.atomic():
        SignInCode.objects.filter(mobile=mobile, used_at=None).update(used_at=now)
        SignInCode.objects.create(
            customer=customer,
            mobile=mobile,
            code_hash=_code_hash(mobile, code),
            created_at=now,
            expires_at=now + CODE_VALID,
        )
    notify(
        customer=customer,
        template="portal_code",
        context={"code": code, "minutes": int(CODE_VALID.total_seconds() // 60)},
        channel=SMS if SMS in available_channels() else None,
        hidden=("code",),
    )


def _wrong_code() -> DomainError:
    return DomainError(
        _("This code is wrong or no longer valid. Check the text or ask for a new code."),
        field="code",
        code="wrong_code",
    )


def portal_code_verify(*, mobile: str, code: str, ip: str) -> Customer:
    """The customer the code was sent to, once; DomainError otherwise.

    A code is good for 5 minutes and one use; the fifth wrong try voids it.
    Wrong, expired, used or never sent all answer the same.
    """
    mobile = _clean_mobile(mobile)
    code = str(code or "").strip()
    if not (len(code) == CODE_DIGITS and code.isdigit()):
        raise DomainError(
            _("Enter the 6 digits of the code we sent you."), field="code", code="code_format"
        )
    _check_address(ip)
    now = timezone.now()
    with transaction.atomic():
        row = (
            SignInCode.objects.select_for_update()
            .filter(mobile=mobile, used_at=None, expires_at__gt=now)
            .select_related("customer")
            .order_by("-created_at", "-id")
            .first()
        )
        if row is None or row.failed_tries >= CODE_MAX_TRIES:
            raise _wrong_code()
        if hmac.compare_digest(row.code_hash, _code_hash(mobile, code)):
            row.used_at = now
            row.save(update_fields=["used_at"])
            return row.customer
        row.failed_tries += 1
        if row.failed_tries >= CODE_MAX_TRIES:
            row.used_at = now
        row.save(update_fields=["failed_tries", "used_at"])
    raise _wrong_code()


# ---------------------------------------------------------------- survey and complaint


def portal_survey_answer(*, customer: Customer, visit: Visit, answers: dict) -> CallResult:
    """The customer's own answer to the visit's satisfaction survey (see followup)."""
    if visit.customer_id != customer.pk:
        raise DomainError(_("This visit belongs to another customer."), code="not_yours")
    return survey_answer_online(visit=visit, answers=answers)


def portal_complaint_open(
    *, customer: Customer, visit: Visit, category: str, description: str
) -> Complaint:
    """A complaint the customer opens about one of their visits."""
    if visit.customer_id != customer.pk:
        raise DomainError(_("This visit belongs to another customer."), field="visit")
    if category not in ComplaintCategory.values:
        raise DomainError(_("Choose a category."), field="category")
    if _count("complaint", str(customer.pk), 86400) > COMPLAINTS_PER_DAY:
        raise TooManyTries
    return complaint_open(
        customer=customer,
        actor=None,
        source=ComplaintSource.PORTAL,
        category=category,
        description=description,
        vehicle=visit.vehicle,
        visit=visit,
    )
