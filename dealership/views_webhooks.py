"""The service manager's webhook page (issue 18.4): subscriptions, their deliveries, replay."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from . import webhooks
from .events import Event
from .models import WebhookDelivery, WebhookSubscription
from .roles import Role, role_required
from .web import apply_errors


class SubscriptionForm(forms.Form):
    url = forms.URLField(
        label=gettext_lazy("Address (URL)"),
        max_length=500,
        assume_scheme="https",
        help_text=gettext_lazy("Where the events are posted; https://"),
    )
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"), choices=Event.choices, widget=forms.CheckboxSelectMultiple
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)


def _page(
    request, *, form=None, secret="", created=None, rotated=None, edit_errors=None, status=200
):
    subscriptions = webhooks.subscriptions_with_deliveries()
    for subscription in subscriptions:
        bound = (edit_errors or {}).get(subscription.pk)
        subscription.form = bound or SubscriptionForm(
            initial={
                "url": subscription.url,
                "events": subscription.events,
                "active": subscription.active,
            },
            prefix=f"s{subscription.pk}",
        )
    return render(
        request,
        "dealership/webhooks.html",
        {
            "form": form or SubscriptionForm(),
            "subscriptions": subscriptions,
            "secret": secret,
            "created": created,
            "rotated": rotated,
            "grace_hours": settings.WEBHOOK_SECRET_GRACE_HOURS,
        },
        status=status,
    )


@role_required(Role.SERVICE_MANAGER)
def webhook_list(request):
    """The subscriptions with their recent deliveries; a POST adds one and shows its secret
    this once (never stored in a message or shown again)."""
    if request.method != "POST":
        return _page(request)
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        try:
            subscription, secret = webhooks.subscription_create(
                actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return _page(request, secret=secret, created=subscription)
    return _page(request, form=form, status=400)


@role_required(Role.SERVICE_MANAGER)
@require_POST
def webhook_edit(request, pk: int):
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    form = SubscriptionForm(request.POST, prefix=f"s{pk}")
    if form.is_valid():
        try:
            webhooks.subscription_update(
                subscription=subscription, actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Subscription saved."))
            return redirect("webhooks")
    return _page(request, edit_errors={pk: form}, status=400)


@role_required(Role.SERVICE_MANAGER)
@require_POST
def webhook_replay(request, pk: int):
    delivery = get_object_or_404(WebhookDelivery, pk=pk)
    try:
        webhooks.delivery_replay(delivery=delivery, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The event will be sent again within a minute."))
    return redirect("webhooks")


@role_required(Role.SERVICE_MANAGER)
@require_POST
def webhook_rotate(request, pk: int):
    """A new secret for the subscription, shown this once; the old one signs too for the
    grace period."""
    subscription = get_object_or_404(WebhookSubscription, pk=pk)
    subscription, secret = webhooks.subscription_rotate_secret(
        subscription=subscription, actor=request.user
    )
    return _page(request, secret=secret, rotated=subscription)
