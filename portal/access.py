"""Who may open a portal page: the customer signed in on this phone, and only for their own
things (the selectors answer 404 for anybody else's ids)."""

from functools import wraps

from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from dealership.roles import public_view

from .services import portal_session_customer


def portal_page(view):
    """A portal page: no staff log-in, the portal session instead (else the sign-in page).
    The view gets the signed-in customer as its second argument."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        customer = portal_session_customer(request.session)
        if customer is None:
            target = reverse("portal:sign_in")
            if request.method == "GET":
                target += "?" + urlencode({"next": request.get_full_path()})
            return redirect(target)
        request.portal_customer = customer
        return view(request, customer, *args, **kwargs)

    return public_view(wrapped)
