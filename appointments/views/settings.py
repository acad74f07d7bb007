"""The store's booking settings (service manager): opening hours, holidays, campaigns."""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dealership.roles import Role, has_role, role_required
from dealership.web import submit

from .. import services
from ..access import BOARD_ROLES
from ..forms import CampaignForm, HolidayForm, OpeningHoursForm
from ..models import Campaign, Holiday, OpeningHours, Weekday

# --- store settings (service manager) ---------------------------------------------------


@role_required(Role.SERVICE_MANAGER)
@require_http_methods(["GET", "POST"])
def opening_hours(request):
    rows = {row.weekday: row for row in OpeningHours.objects.all()}
    forms = []
    for weekday, label in Weekday.choices:
        row = rows.get(weekday) or OpeningHours(
            weekday=weekday, opens="08:30", closes="17:30", closed=False
        )
        form = OpeningHoursForm(
            request.POST if request.method == "POST" else None,
            instance=row,
            prefix=f"d{weekday}",
        )
        form.weekday_label = label
        form.weekday = weekday
        forms.append(form)
    holiday_form = HolidayForm()
    if request.method == "POST" and all(form.is_valid() for form in forms):
        try:
            with transaction.atomic():
                for form in forms:
                    services.opening_hours_set(
                        weekday=form.weekday, actor=request.user, **form.cleaned_data
                    )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Opening hours saved."))
            return redirect("appointments:opening_hours")
    today = timezone.localdate()
    return render(
        request,
        "appointments/opening_hours.html",
        {
            "forms": forms,
            "holiday_form": holiday_form,
            "holidays": Holiday.objects.filter(day__gte=today - timedelta(days=30)),
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.SERVICE_MANAGER)
@require_POST
def holiday_add(request):
    form = HolidayForm(request.POST)
    if form.is_valid():
        try:
            services.holiday_add(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Holiday saved."))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("appointments:opening_hours")


@role_required(Role.SERVICE_MANAGER)
@require_POST
def holiday_remove(request, pk: int):
    holiday = get_object_or_404(Holiday, pk=pk)
    services.holiday_remove(holiday=holiday, actor=request.user)
    messages.success(request, _("Holiday removed."))
    return redirect("appointments:opening_hours")


@role_required(*BOARD_ROLES)
def campaigns(request):
    return render(
        request,
        "appointments/campaigns.html",
        {
            "campaigns": Campaign.objects.select_related("labour_operation"),
            "can_manage": has_role(request.user, [Role.SERVICE_MANAGER]),
        },
    )


@role_required(Role.SERVICE_MANAGER)
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk: int | None = None):
    campaign = get_object_or_404(Campaign, pk=pk) if pk else None
    return submit(
        request,
        CampaignForm(request.POST or None, instance=campaign),
        lambda data: services.campaign_save(
            campaign=Campaign.objects.get(pk=pk) if pk else None,
            actor=request.user,
            **{name: value for name, value in data.items() if name != "vin_list"},
        ),
        message=_("Campaign saved."),
        done=lambda _campaign: redirect("appointments:campaigns"),
        show_form=lambda form: render(
            request,
            "appointments/campaign_form.html",
            {"form": form, "campaign": campaign},
            status=400 if request.method == "POST" else 200,
        ),
    )


@role_required(Role.SERVICE_MANAGER)
@require_POST
def campaign_notify(request, pk: int):
    """Message the owners the campaign matches who allow it (see `services.campaign_notify`)."""
    campaign = get_object_or_404(Campaign, pk=pk)
    try:
        count = services.campaign_notify(campaign=campaign, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            _("%(count)s messages planned (only to owners who allow them).") % {"count": count},
        )
    return redirect("appointments:campaigns")
