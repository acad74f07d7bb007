"""API tokens (issue 18.2): a person's (or an integration account's) named, expiring keys.

key = api_token_issue(user=user, name="DMS sync")[1]   # shown once, never stored
api_token_rename(token=token, user=user, name="DMS nightly")
api_token_revoke(token=token, user=user)

A client sends `Authorization: Token <key>`. `ApiTokenAuthentication` finds the token by the
key's digest, refuses a revoked or expired one (401), records the last use, and leaves the
token on the request so every history row written by the request names it
(`attribute_history_to_token`, connected in `DealershipConfig.ready`).

Why a model of our own and not DRF's `authtoken` (one token per user, stored in clear) or
django-rest-knox (no names, no per-store expiry rule, its own login views): a few dozen lines
here give several named tokens, a digest at rest, the store's `api.token_days` rule and the
last use, with nothing to configure.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions
from simple_history.models import HistoricalRecords

from .errors import DomainError
from .models import ApiToken
from .rules import rule

KEYWORD = "Token"
KEY_BYTES = 20  # 40 hexadecimal characters, as DRF's own tokens
# A name of the token in history's change reason (whose column holds 100 characters).
HISTORY_MARK = "api-token:"
REASON_MAX_LENGTH = 100
# The last use is written at most this often per token (an integration may call many
# times a second; the page shows the minute).
TOUCH_EVERY = timedelta(seconds=60)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise DomainError(_("Give the token a name."), field="name", code="required")
    if len(name) > ApiToken.NAME_MAX_LENGTH:
        raise DomainError(
            _("At most %(count)d characters.") % {"count": ApiToken.NAME_MAX_LENGTH},
            field="name",
            code="max_length",
        )
    return name


def _own(token: ApiToken, user) -> ApiToken:
    """The token row under a lock, if it is `user`'s own and not revoked."""
    locked = ApiToken.objects.select_for_update().filter(pk=token.pk, user=user).first()
    if locked is None:
        raise DomainError(_("This is not one of your tokens."), code="not_owner")
    if locked.revoked_at is not None:
        raise DomainError(_("This token is already revoked."), code="revoked")
    return locked


def api_token_issue(*, user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user`, valid for the store's `api.token_days`; returns the row and
    the key (the only time the key exists in clear)."""
    name = _clean_name(name)
    key = secrets.token_hex(KEY_BYTES)
    now = timezone.now()
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user,
            name=name,
            digest=_digest(key),
            prefix=key[:8],
            created_at=now,
            expires_at=now + timedelta(days=rule("api.token_days")),
        )
    return token, key


def api_token_rename(*, token: ApiToken, user, name: str) -> ApiToken:
    """Rename one of the user's own tokens (the key stays the same)."""
    name = _clean_name(name)
    with transaction.atomic():
        token = _own(token, user)
        token.name = name
        token.save(update_fields=["name"])
    return token


def api_token_revoke(*, token: ApiToken, user) -> ApiToken:
    """Revoke one of the user's own tokens: from now on it gets 401."""
    with transaction.atomic():
        token = _own(token, user)
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def api_tokens_of(user):
    """The user's tokens, newest first (revoked and expired ones too, marked on the page)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Token <key>` against `ApiToken`: 401 for an unknown, revoked or
    expired key, or a user who is no longer active."""

    def authenticate(self, request):
        parts = authentication.get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(_("Invalid token header."))
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed(_("Invalid token.")) from exc
        token = ApiToken.objects.select_related("user").filter(digest=_digest(key)).first()
        now = timezone.now()
        if token is None or token.revoked_at is not None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token has expired."))
        if token.last_used_at is None or now - token.last_used_at >= TOUCH_EVERY:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
            token.last_used_at = now
        # The Django request, which simple-history's middleware keeps for the history rows.
        request._request.api_token = token
        return token.user, token

    def authenticate_header(self, request):
        return KEYWORD


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The token scheme in the OpenAPI schema (`Authorization: Token <key>`)."""

    target_class = ApiTokenAuthentication
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="HTTP_AUTHORIZATION", token_prefix=KEYWORD
        )


def history_reason_with_token(reason: str | None, token_name: str) -> str:
    """The change reason with the token's name after it, within the column's 100 characters
    (the reason is shortened, never the token's mark)."""
    mark = f"{HISTORY_MARK}{token_name}"
    if not reason:
        return mark[:REASON_MAX_LENGTH]
    room = REASON_MAX_LENGTH - len(mark) - 1
    return f"{reason[: max(room, 0)]} {mark}"[-REASON_MAX_LENGTH:].strip()


def token_of_history_reason(reason: str | None) -> str:
    """The token's name a history row's change reason carries, or "" (a page's change)."""
    _before, mark, name = (reason or "").partition(HISTORY_MARK)
    return name if mark else ""


def attribute_history_to_token(sender, history_instance, **kwargs):
    """`pre_create_historical_record`: a write made with a token names the token in the
    history row's change reason (`history_user` is the token's user already)."""
    request = getattr(HistoricalRecords.context, "request", None)
    token = getattr(request, "api_token", None)
    if token is None:
        return
    history_instance.history_change_reason = history_reason_with_token(
        history_instance.history_change_reason, token.name
    )
