"""Staff revoke a customer's links from the customer page (issue 18.3)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from .forms import LinkRevokeForm
from .links import customer_link_revoke_by_staff, customer_links_revoke_all_by_staff
from .models import Customer
from .roles import role_required
from .views import CUSTOMER_VIEWERS
from .web import apply_errors, refusal_text


def _revoke(request, pk: int, call) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = LinkRevokeForm(request.POST)
    if form.is_valid():
        try:
            text = call(customer, form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, text)
    if form.errors:
        messages.error(request, refusal_text(form))
    return redirect(customer.get_absolute_url() + "#customer-links")


@role_required(*CUSTOMER_VIEWERS)
@require_POST
def customer_link_revoke(request, pk: int):
    """One link (`link` in the form), with a reason."""

    def call(customer, data):
        customer_link_revoke_by_staff(
            customer=customer, link_id=data["link"] or 0, actor=request.user, reason=data["reason"]
        )
        return _("Link revoked: the customer can no longer open it.")

    return _revoke(request, pk, call)


@role_required(*CUSTOMER_VIEWERS)
@require_POST
def customer_links_revoke_all(request, pk: int):
    """Every live link of the customer, with one reason."""

    def call(customer, data):
        count = customer_links_revoke_all_by_staff(
            customer=customer, actor=request.user, reason=data["reason"]
        )
        return ngettext("%(count)d link revoked.", "%(count)d links revoked.", count) % {
            "count": count
        }

    return _revoke(request, pk, call)
