"""One POST to a provider, with the failures sorted: passing ones retry, the rest do not."""

import json
import urllib.error
import urllib.request

from django.conf import settings
from django.utils.translation import gettext

from ..notifications import DeliveryFailed, DeliveryRejected


def provider_post(url: str, *, data: bytes, headers: dict[str, str]) -> tuple[int, dict]:
    """POST `data`; return the HTTP status and the JSON answer.

    A time-out, a refused connection or an answer that is not JSON raises `DeliveryFailed`
    (the due task retries); an HTTP error status comes back with its JSON body so the
    caller reads the provider's error code.
    """
    if not url.startswith(("https://", "http://")):
        raise DeliveryFailed(f"the SMS endpoint {url!r} is not an http(s) address")
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=settings.SMS_TIMEOUT_SECONDS) as response:  # noqa: S310
            status, raw = response.status, response.read(65536)
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read(65536)
    except TimeoutError as error:
        raise DeliveryFailed(f"the SMS provider did not answer in time ({error})") from error
    except urllib.error.URLError as error:
        raise DeliveryFailed(f"the SMS provider cannot be reached ({error.reason})") from error
    if status >= 500:
        raise DeliveryFailed(f"the SMS provider answered HTTP {status}")
    try:
        answer = json.loads(raw or b"{}")
    except ValueError:
        raise DeliveryFailed(f"the SMS provider answered HTTP {status} without JSON") from None
    if not isinstance(answer, dict):
        raise DeliveryFailed(f"the SMS provider answered HTTP {status} with unexpected JSON")
    return status, answer


def template_code(codes: dict[str, str], template: str, provider: str) -> str:
    """The provider's template code for a message kind; none: refused for good, nothing sent."""
    code = codes.get(template, "")
    if not code:
        raise DeliveryRejected(
            gettext("No %(provider)s SMS template code is set for the message “%(template)s”.")
            % {"provider": provider, "template": template}
        )
    return code
