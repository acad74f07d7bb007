"""Log-in throttling, the client's address, and personal data kept out of logs and lists.

- Log-in throttling is django-axes (settings `AXES_*`): every log-in form, the admin's
  included, counts failures per user name AND client address; at `AXES_FAILURE_LIMIT` that
  pair is locked for `AXES_COOLOFF_TIME`. Here: the forms that say so in the user's language
  (`ThrottledAuthenticationForm`, `ThrottledAdminAuthenticationForm`) and the 429 answer
  (`lockout_response`, django-axes' `AXES_LOCKOUT_CALLABLE`).
- `client_ip`: the one place that decides a request's client address (log-in throttling
  and the self-service booking limit), trusting `TRUSTED_PROXY_COUNT` proxies.
- `PersonalDataFilter`: a logging filter that masks mobile numbers, e-mail addresses,
  ID-card numbers, `address=...` values and customers' signed link tokens in every record
  it sees; settings.LOGGING puts it on every handler.
- `mask_phone`: 13812345678 -> 138****5678 (the template filter of the same name in
  dealership/templatetags/pii.py).
"""

import ipaddress

from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import BadRequest, ValidationError
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import ngettext

# The personal-data helpers live in .pii, which logging loads before the apps are ready.
from .pii import PersonalDataFilter, mask_personal_data, mask_phone  # noqa: F401

# ---------------------------------------------------------------------- client address


def _valid_ip(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The caller's address.

    Without a trusted proxy (`TRUSTED_PROXY_COUNT` 0) it is REMOTE_ADDR and headers are
    ignored. Behind N trusted proxies each appends the address it received from to
    X-Forwarded-For, so the client is the N-th entry from the right; entries further left
    were written by the client itself and are not believed. A request that did not come
    through all N proxies (too few entries, or not an address) counts as REMOTE_ADDR.
    """
    if request is None:
        return ""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    proxies = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote
    forwarded = [
        item.strip()
        for item in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if item.strip()
    ]
    if len(forwarded) < proxies:
        return remote
    return _valid_ip(forwarded[-proxies]) or remote


# ---------------------------------------------------------------------- log-in throttling


def lockout_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def lockout_message() -> str:
    minutes = lockout_minutes()
    return ngettext(
        "Too many failed log-ins. Try again in %(minutes)d minute or ask the administrator.",
        "Too many failed log-ins. Try again in %(minutes)d minutes or ask the administrator.",
        minutes,
    ) % {"minutes": minutes}


class _LockoutMessageMixin:
    """A refused log-in of a locked-out pair says so next to the form, not "wrong password"."""

    def clean(self):
        try:
            return super().clean()
        except ValidationError:
            if getattr(self.request, "axes_locked_out", False):
                raise ValidationError(lockout_message(), code="locked") from None
            raise


class ThrottledAuthenticationForm(_LockoutMessageMixin, AuthenticationForm):
    """The staff log-in form, saying so when django-axes has locked the attempt out."""


class ThrottledAdminAuthenticationForm(_LockoutMessageMixin, AdminAuthenticationForm):
    """The admin log-in form, with the same lock-out message."""


class ThrottledLoginView(LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


def lockout_response(request, original_response=None, credentials=None):
    """django-axes' answer to a locked-out attempt: the log-in page the view rendered (its
    form carries `lockout_message`) with status 429; a plain message if there is none."""
    if original_response is not None and original_response.status_code == 200:
        original_response.status_code = 429
        return original_response
    return HttpResponse(lockout_message(), status=429, content_type="text/plain; charset=utf-8")


# Files that hold a customer's data: never kept by a browser or a proxy on the way.
_PRIVATE_TYPES = (
    "application/pdf",
    "image/",
    "text/csv",
    "application/vnd.openxmlformats",
    "application/octet-stream",
)


class NoStoreMiddleware:
    """`Cache-Control: no-store` (Django's never-cache headers) on every response to a
    logged-in user, on customer-link pages (a URL with a token), on anonymous pages whose
    session holds something (the online booking after the plate matched), and on files
    (PDFs, images such as signatures and photos, exports). Static files never get here:
    WhiteNoise answers them earlier with its long cache lifetimes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if self._private(request, response):
            add_never_cache_headers(response)
        return response

    @staticmethod
    def _private(request, response) -> bool:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return True
        match = getattr(request, "resolver_match", None)
        if match is not None and "token" in match.kwargs:
            return True
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            return True
        content_type = response.get("Content-Type", "")
        return response.has_header("Content-Disposition") or content_type.startswith(_PRIVATE_TYPES)


class RefuseNulCharactersMiddleware:
    """A page's query string with a NUL character is a 400: PostgreSQL refuses NUL in text,
    so a search for it would otherwise end in a 500. The API answers the same in JSON
    (dealership.api.ApiViewMixin); forms refuse NUL with a field message already."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/") and any(
            "\x00" in key or any("\x00" in value for value in values)
            for key, values in request.GET.lists()
        ):
            raise BadRequest("NUL character in the query string")
        return self.get_response(request)
