"""WeChat web authorisation (the customer opens the portal from the store's WeChat menu) and
the desk's unbind button on the customer page."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from .models import Customer
from .notifications import DeliveryFailed
from .roles import Role, public_view, role_required
from .urltools import absolute_url, safe_next
from .wechat import (
    OAuthRefused,
    oauth_authorize_url,
    oauth_nonce,
    oauth_openid,
    oauth_state_check,
    oauth_state_issue,
    openid_unbind,
    portal_session_sign_in,
)

PENDING = "wechat_oauth"
NEXT_MAX_LENGTH = 500
WECHAT_UNBINDERS = (Role.ADVISOR, Role.SERVICE_MANAGER)


def _configured() -> None:
    if not settings.WECHAT_APP_ID:
        raise Http404


@public_view
@require_GET
def oauth_start(request):
    """To WeChat's silent authorisation, with a signed state bound to this browser's session;
    `next` (a page of this site) is where the callback ends."""
    _configured()
    next_url = safe_next(request, "/")
    # A local path, short, without control characters (a newline would break the redirect).
    if (
        len(next_url) > NEXT_MAX_LENGTH
        or not next_url.startswith("/")
        or any(ord(char) < 32 or ord(char) == 127 for char in next_url)
    ):
        next_url = "/"
    nonce = oauth_nonce()
    request.session[PENDING] = {"nonce": nonce, "next": next_url}
    redirect_uri = absolute_url(reverse("wechat_oauth_callback"))
    return redirect(oauth_authorize_url(redirect_uri, oauth_state_issue(nonce)))


@public_view
@require_GET
def oauth_callback(request):
    """WeChat sends the visitor back with `code` and `state`: check both, keep the openid,
    sign a customer bound to it into the portal, go on to `next`."""
    _configured()
    pending = request.session.pop(PENDING, None)
    if not isinstance(pending, dict):
        pending = {}
    try:
        oauth_state_check(request.GET.get("state", "")[:200], str(pending.get("nonce", "")))
        openid = oauth_openid(request.GET.get("code", "")[:200])
    except OAuthRefused as refused:
        return render(request, "link_invalid.html", {"error": str(refused)}, status=400)
    except DeliveryFailed:
        error = _("WeChat did not answer. Please open the page again in a moment.")
        return render(request, "link_invalid.html", {"error": error}, status=502)
    portal_session_sign_in(request.session, openid)
    return redirect(pending.get("next") or "/")


@role_required(*WECHAT_UNBINDERS)
@require_POST
def customer_wechat_unbind(request, pk: int):
    """The customer's WeChat is no longer theirs (a new phone, a shared account)."""
    customer = get_object_or_404(Customer, pk=pk)
    if openid_unbind(customer=customer, actor=request.user):
        messages.success(request, _("WeChat unbound."))
    else:
        messages.info(request, _("No WeChat was bound to this customer."))
    return redirect(customer.get_absolute_url())
