"""Step 1 for the customer, without a log-in: book a time, then move or cancel it."""

import hashlib
from datetime import timedelta

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dealership.links import LinkInvalid, customer_link_page, customer_link_resolve
from dealership.models import Vehicle
from dealership.roles import public_view
from dealership.rules import rule
from dealership.security import client_ip
from dealership.validators import normalize_phone, normalize_plate
from dealership.web import apply_errors

from .. import selectors, services
from ..capacity import hours_needed
from ..forms import RescheduleForm, SelfServiceBookingForm, SelfServiceIdentifyForm
from ..models import Appointment
from .common import base_url, parse_day, preview_context

SESSION_VEHICLE = "appointments.self_service_vehicle"


# --- customer self-service (no log-in) ------------------------------------------------


def _rate_limited(request, bucket: str, *, plate: str = "", mobile: str = "") -> bool:
    """Count one attempt against the visitor's address, the plate and the mobile; True once
    any of them used up the hour's allowance. Per plate and per mobile as well, so guessing
    one car's owner from many addresses stops; per address only, the whole store would
    share one allowance behind a proxy (dealership.security.client_ip reads it right)."""
    limit = rule("appointments.self_service_attempts_per_hour")
    hour = f"{timezone.now():%Y%m%d%H}"
    subjects = [("ip", client_ip(request) or "unknown")]
    if plate:
        subjects.append(("plate", plate))
    if mobile:
        subjects.append(("mobile", mobile))
    counts = []
    for kind, value in subjects:
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        key = f"appointments:rate:{bucket}:{kind}:{digest}:{hour}"
        cache.add(key, 0, 3600)
        try:
            counts.append(cache.incr(key))
        except ValueError:
            cache.set(key, 1, 3600)
            counts.append(1)
    return max(counts) > limit


def _too_many(request):
    return render(
        request,
        "appointments/self_service/too_many.html",
        status=429,
    )


def _session_vehicle(request) -> Vehicle | None:
    pk = request.session.get(SESSION_VEHICLE)
    if not pk:
        return None
    return Vehicle.objects.select_related("owner").filter(pk=pk).first()


@public_view
@require_http_methods(["GET", "POST"])
def self_book(request):
    """Step 1: plate + mobile. Step 2: services and a free slot. Then the signed page."""
    vehicle = _session_vehicle(request)
    if request.GET.get("restart") == "1":
        request.session.pop(SESSION_VEHICLE, None)
        vehicle = None
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    if vehicle is None:
        form = SelfServiceIdentifyForm(request.POST or None)
        if request.method == "POST":
            if _rate_limited(
                request,
                "identify",
                plate=normalize_plate(request.POST.get("plate", "")),
                mobile=normalize_phone(request.POST.get("mobile", "")),
            ):
                return _too_many(request)
            if form.is_valid():
                try:
                    vehicle = services.self_service_find_vehicle(**form.cleaned_data)
                except ValidationError as error:
                    apply_errors(form, error)
                else:
                    request.session.cycle_key()
                    request.session[SESSION_VEHICLE] = vehicle.pk
                    return redirect("appointments:self_book")
        return render(
            request,
            "appointments/self_service/identify.html",
            {"form": form},
            status=400 if request.method == "POST" else 200,
        )

    day = parse_day(request.GET.get("day"), earliest.date())
    form = SelfServiceBookingForm(request.POST or None, initial={"day": day})
    alternatives = []
    if request.method == "POST":
        if _rate_limited(
            request, "book", plate=vehicle.plate or "", mobile=vehicle.owner.mobile or ""
        ):
            return _too_many(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.self_service_book(
                    vehicle=vehicle,
                    start=data["start"],
                    operations=list(data["operations"]),
                    plan=data["plan"],
                    concern_text=data["concern_text"],
                    waiting=data["waiting"],
                    base_url=base_url(request),
                )
            except services.SlotUnavailable as error:
                alternatives = error.alternatives
                apply_errors(form, error)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                request.session.pop(SESSION_VEHICLE, None)
                messages.success(
                    request, _("Thank you, your appointment is booked. We sent you a message.")
                )
                return redirect("appointments:manage", token=appointment.link_token)
    params = request.POST if request.method == "POST" else request.GET
    return render(
        request,
        "appointments/self_service/book.html",
        {
            "form": form,
            "vehicle": vehicle,
            "alternatives": alternatives,
            **preview_context(params, day=parse_day(params.get("day"), day), earliest=earliest),
        },
        status=400 if request.method == "POST" else 200,
    )


@public_view
def self_book_slots(request):
    """htmx: slot picker for the self-service page (only after plate + mobile matched)."""
    if _session_vehicle(request) is None:
        raise Http404
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    context = preview_context(
        request.GET, day=parse_day(request.GET.get("day"), earliest.date()), earliest=earliest
    )
    return render(request, "appointments/self_service/_slots.html", context)


def _resolve(token: str) -> Appointment:
    link = customer_link_resolve(token, purpose=services.LINK_PURPOSE)
    if link.subject_type.model_class() is not Appointment:
        raise LinkInvalid
    try:
        return selectors.appointment_detail(link.subject_id)
    except Appointment.DoesNotExist as exc:
        raise LinkInvalid from exc


@public_view
@require_http_methods(["GET", "POST"])
@customer_link_page
def manage(request, token: str):
    """The customer's own appointment behind the signed link: view, move or cancel."""
    appointment = _resolve(token)
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    form = RescheduleForm(
        request.POST if request.POST.get("action") == "reschedule" else None,
        initial={"day": max(timezone.localtime(appointment.start).date(), earliest.date())},
    )
    alternatives = []
    if request.method == "POST":
        if _rate_limited(request, "manage"):
            return _too_many(request)
        action = request.POST.get("action")
        try:
            if action == "cancel":
                services.appointment_cancel(
                    appointment=appointment, actor=None, reason=_("Cancelled online")
                )
                messages.success(request, _("Your appointment is cancelled."))
                return redirect("appointments:manage", token=token)
            if action == "reschedule" and form.is_valid():
                moved = services.appointment_reschedule(
                    appointment=appointment,
                    start=form.cleaned_data["start"],
                    earliest=earliest,
                    actor=None,
                    base_url=base_url(request),
                )
                messages.success(request, _("Your appointment is moved. We sent you a message."))
                return redirect("appointments:manage", token=moved.link_token)
        except services.SlotUnavailable as error:
            alternatives = error.alternatives
            apply_errors(form, error)
        except ValidationError as error:
            if action == "reschedule":
                apply_errors(form, error)
            else:
                for message in error.messages:
                    messages.error(request, message)
        appointment = selectors.appointment_detail(appointment.pk)
    operations = [line.operation for line in appointment.lines.all() if line.operation_id]
    day = form.cleaned_data.get("day") if form.is_bound and form.is_valid() else None
    picker = selectors.slot_picker(
        day=day or max(timezone.localtime(appointment.start).date(), earliest.date()),
        needs=hours_needed(operations),
        earliest=earliest,
        exclude_appointment=appointment.pk,
    )
    return render(
        request,
        "appointments/self_service/manage.html",
        {
            "appointment": appointment,
            "token": token,
            "form": form,
            "picker": picker,
            "selected": "",
            "alternatives": alternatives,
        },
        status=400 if request.method == "POST" else 200,
    )


@public_view
@customer_link_page
def manage_slots(request, token: str):
    """htmx: free times to move the customer's own appointment to."""
    appointment = _resolve(token)
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    operations = [line.operation for line in appointment.lines.all() if line.operation_id]
    picker = selectors.slot_picker(
        day=parse_day(request.GET.get("day"), earliest.date()),
        needs=hours_needed(operations),
        earliest=earliest,
        exclude_appointment=appointment.pk,
    )
    return render(
        request,
        "appointments/self_service/_slots.html",
        {"picker": picker, "selected": "", "slots_url": request.path},
    )
