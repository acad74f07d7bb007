"""Log-in throttling and personal data kept out of logs and lists.

- `ThrottledLoginView`: after `LOGIN_MAX_FAILURES` failed log-ins for one user name from
  one address, that pair is locked for `LOGIN_LOCKOUT_SECONDS` (cache-based, so it holds
  across web processes when the cache is Redis). The form says so and for how long; a
  locked pair is refused without checking the password, so guessing goes no further.
- `PersonalDataFilter`: a logging filter that masks mobile numbers, e-mail addresses,
  ID-card numbers, `address=...` values and customers' signed link tokens in every record
  it sees; settings.LOGGING puts it on every handler.
- `mask_phone`: 13812345678 -> 138****5678 (the template filter of the same name in
  dealership/templatetags/pii.py).
"""

import hashlib

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import BadRequest, ValidationError
from django.utils.translation import ngettext

# The personal-data helpers live in .pii, which logging loads before the apps are ready.
from .pii import PersonalDataFilter, mask_personal_data, mask_phone  # noqa: F401

LOGIN_MAX_FAILURES = getattr(settings, "LOGIN_MAX_FAILURES", 5)
LOGIN_LOCKOUT_SECONDS = getattr(settings, "LOGIN_LOCKOUT_SECONDS", 15 * 60)


# ---------------------------------------------------------------------- log-in throttling


def client_ip(request) -> str:
    """The caller's address (REMOTE_ADDR: a proxy in front must set it, not a header)."""
    return request.META.get("REMOTE_ADDR", "") if request else ""


def _key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.strip().lower()}|{ip}".encode()).hexdigest()[:32]
    return f"login-failures:{digest}"


def login_failures(username: str, ip: str) -> int:
    return cache.get(_key(username, ip), 0)


def login_locked(username: str, ip: str) -> bool:
    return login_failures(username, ip) >= LOGIN_MAX_FAILURES


def login_failed(username: str, ip: str) -> int:
    """Count one failure; the count lives for the lock-out period after the last one."""
    key = _key(username, ip)
    count = cache.get(key, 0) + 1
    cache.set(key, count, LOGIN_LOCKOUT_SECONDS)
    return count


def login_succeeded(username: str, ip: str) -> None:
    cache.delete(_key(username, ip))


def lockout_message() -> str:
    minutes = max(1, LOGIN_LOCKOUT_SECONDS // 60)
    return ngettext(
        "Too many failed log-ins. Try again in %(minutes)d minute or ask the administrator.",
        "Too many failed log-ins. Try again in %(minutes)d minutes or ask the administrator.",
        minutes,
    ) % {"minutes": minutes}


class ThrottledAuthenticationForm(AuthenticationForm):
    def clean(self):
        username = self.cleaned_data.get("username") or ""
        ip = client_ip(self.request)
        if login_locked(username, ip):
            raise ValidationError(lockout_message(), code="locked")
        try:
            cleaned = super().clean()
        except ValidationError:
            if login_failed(username, ip) >= LOGIN_MAX_FAILURES:
                raise ValidationError(lockout_message(), code="locked") from None
            raise
        login_succeeded(username, ip)
        return cleaned


class ThrottledLoginView(LoginView):
    authentication_form = ThrottledAuthenticationForm
    redirect_authenticated_user = True


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
