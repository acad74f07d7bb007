"""Pages of step 2. Thin: forms in, services called, errors shown next to the field."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from appointments.models import Appointment
from appointments.selectors import appointment_detail
from dealership.consent import customer_with_vehicle_register_with_consent
from dealership.fragments import cached_fragment
from dealership.links import LinkInvalid, customer_link_resolve
from dealership.models import Vehicle
from dealership.roles import Role, has_role, public_view, role_required
from dealership.selectors import history_entries
from dealership.storage import stored_file_response
from dealership.urltools import safe_next
from dealership.validators import normalize_plate, normalize_vin
from dealership.warranty import warranty_status
from dealership.web import apply_errors, htmx_or, submit
from reception.access import EDITORS, VIEWERS
from workorders.repair_warranty import warranty_in_force
from workorders.selectors import current_order
from workorders.services import work_order_start

from . import progress_push, selectors, services
from .forms import (
    BelongingForm,
    CancelForm,
    CheckInForm,
    ConcernForm,
    DamageForm,
    PlateLookupForm,
    SignatureForm,
    WalkaroundForm,
    WalkInRegisterForm,
)
from .models import Belonging, DamageMark, Visit
from .pdf import key_tag_pdf
from .services import KEY_FIELDS, WALKAROUND_FIELDS


def _visit_or_404(pk: int) -> Visit:
    try:
        return selectors.visit_detail(pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc


def _appointment_or_404(pk):
    try:
        return appointment_detail(int(pk))
    except (Appointment.DoesNotExist, ValueError) as exc:
        raise Http404 from exc


@role_required(*EDITORS)
@require_http_methods(["GET", "POST"])
def check_in(request):
    """Receive a car: from a booking (?appointment=pk) or a walk-in found by plate (?vehicle=pk)."""
    appointment = None
    vehicle = None
    if request.GET.get("appointment") or request.POST.get("appointment"):
        appointment = _appointment_or_404(
            request.GET.get("appointment") or request.POST.get("appointment")
        )
        vehicle = appointment.vehicle
    elif request.GET.get("vehicle") or request.POST.get("vehicle"):
        try:
            vehicle = Vehicle.objects.select_related("owner").get(
                pk=int(request.GET.get("vehicle") or request.POST.get("vehicle"))
            )
        except (Vehicle.DoesNotExist, ValueError) as exc:
            raise Http404 from exc
    if vehicle is None:
        return _check_in_lookup(request)
    if appointment is None:
        # Found by plate, from the vehicle page or the walk-in form: a booked car is not a walk-in.
        appointment = selectors.booking_of_the_day(vehicle)

    history = selectors.vehicle_history(vehicle)
    initial = {}
    if appointment is not None:
        initial["concern_text"] = appointment.concern_text
        initial["customer_waits"] = appointment.waiting
    if history.comeback_candidate is not None:
        initial["comeback_of"] = history.comeback_candidate.pk
    # The store's own repair warranty may reach past the comeback window (workorders).
    warranty_hint = warranty_in_force(vehicle)
    if warranty_hint is not None and "comeback_of" not in initial:
        initial["comeback_of"] = warranty_hint.visit.pk
    return submit(
        request,
        CheckInForm(request.POST or None, initial=initial, vehicle=vehicle),
        lambda data: services.visit_check_in(
            vehicle=vehicle, actor=request.user, appointment=appointment, **data
        ),
        message=lambda visit: _("Visit %(number)s opened.") % {"number": visit.number},
        done=lambda visit: redirect("reception:walkaround", pk=visit.pk),
        show_form=lambda form: render(
            request,
            "reception/check_in.html",
            {
                "form": form,
                "vehicle": vehicle,
                "appointment": appointment,
                "appointment_is_today": appointment is not None
                and timezone.localtime(appointment.start).date() == timezone.localdate(),
                "appointment_lines": list(
                    appointment.lines.select_related("operation", "part") if appointment else []
                ),
                "history": history,
                "warranty": warranty_status(vehicle),
                "warranty_hint": warranty_hint,
            },
            status=400 if form.errors else 200,
        ),
    )


def _check_in_lookup(request):
    lookup = PlateLookupForm(request.GET or None)
    vehicles = []
    query = ""
    if lookup.is_valid():
        query = lookup.cleaned_data["q"]
        vehicles = selectors.vehicles_by_plate(query) if query else []
        bookings = selectors.bookings_of_the_day_for(vehicles)
        for vehicle in vehicles:
            vehicle.booking_today = bookings.get(vehicle.pk)
    register = WalkInRegisterForm(initial={"plate": query} if query and not vehicles else None)
    return render(
        request,
        "reception/check_in_lookup.html",
        {"lookup": lookup, "vehicles": vehicles, "query": query, "register": register},
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def register_walk_in(request):
    """A walk-in with an unknown car: register (or reuse) the customer and the vehicle."""
    known = selectors.vehicle_known(
        plate=normalize_plate(request.POST.get("plate", "")),
        vin=normalize_vin(request.POST.get("vin", "")),
    )
    if known is not None:
        # The car is on file: its own check-in page (which takes over its booking of the day).
        messages.info(
            request,
            _("%(vehicle)s is registered already (owner %(owner)s); check it in here.")
            % {"vehicle": known.plate or known.vin, "owner": known.owner.name},
        )
        return redirect(f"{reverse('reception:check_in')}?vehicle={known.pk}")
    form = WalkInRegisterForm(request.POST)
    return submit(
        request,
        form,
        lambda data: customer_with_vehicle_register_with_consent(
            actor=request.user, opt_ins=form.opt_ins(), **form.without_opt_ins(data)
        ),
        done=lambda vehicle: redirect(f"{reverse('reception:check_in')}?vehicle={vehicle.pk}"),
        show_form=lambda form: render(
            request,
            "reception/check_in_lookup.html",
            {"lookup": PlateLookupForm(), "vehicles": [], "query": "", "register": form},
            status=400,
        ),
    )


def _visit_context(visit: Visit, **extra) -> dict:
    return {
        "visit": visit,
        "history": selectors.vehicle_history(visit.vehicle, exclude_visit=visit),
        "concern_form": ConcernForm(instance=visit),
        "cancel_form": CancelForm(),
        "order": current_order(visit),
        "transitions": list(visit.transitions.select_related("actor")),
        "consultation": selectors.consultation(visit),
        "change_history": history_entries(visit),
        **extra,
    }


@role_required(*VIEWERS)
def visit_detail(request, pk: int):
    return render(request, "reception/visit.html", _visit_context(_visit_or_404(pk)))


@role_required(*EDITORS)
@require_http_methods(["POST"])
def concern_update(request, pk: int):
    visit = _visit_or_404(pk)

    def update(data):
        changes = {k: v for k, v in data.items() if k != "version"}
        if visit.walkaround_signed:
            changes.pop("concern_text", None)
        return services.visit_concern_update(
            visit=Visit.objects.get(pk=pk),
            actor=request.user,
            expected_version=data.get("version"),
            **changes,
        )

    return submit(
        request,
        ConcernForm(request.POST, instance=visit),
        update,
        message=_("Concern and diagnosis saved."),
        done=lambda _visit: redirect(visit),
        show_form=lambda form: render(
            request,
            "reception/visit.html",
            _visit_context(_visit_or_404(pk), concern_form=form),
            status=400,
        ),
    )


def _walkaround_context(visit, **forms):
    return {
        "visit": visit,
        "form": forms.get("form") or WalkaroundForm(instance=visit),
        "damage_form": forms.get("damage_form") or DamageForm(),
        "belonging_form": forms.get("belonging_form") or BelongingForm(),
        "signature_form": forms.get("signature_form")
        or SignatureForm(initial={"signer_name": visit.customer.name, "version": visit.version}),
    }


@role_required(*EDITORS)
@require_http_methods(["GET", "POST"])
def walkaround(request, pk: int):
    """The tablet page at the car: condition, damage marks, belongings, key tag, signature."""
    visit = _visit_or_404(pk)
    if request.method == "GET":
        return render(request, "reception/walkaround.html", _walkaround_context(visit))
    form = WalkaroundForm(request.POST, instance=visit)
    names = KEY_FIELDS if visit.walkaround_signed else (*WALKAROUND_FIELDS, *KEY_FIELDS)
    return submit(
        request,
        form,
        lambda data: services.visit_walkaround_update(
            visit=visit,
            actor=request.user,
            expected_version=data.get("version"),
            **{name: data[name] for name in names if name in form.fields},
        ),
        message=_("Walk-around saved."),
        done=lambda _visit: redirect("reception:walkaround", pk=pk),
        show_form=lambda form: render(
            request, "reception/walkaround.html", _walkaround_context(visit, form=form), status=400
        ),
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def walkaround_sign(request, pk: int):
    visit = _visit_or_404(pk)
    form = SignatureForm(request.POST)
    if form.is_valid():
        try:
            services.visit_walkaround_sign(
                visit=visit,
                actor=request.user,
                signature=form.cleaned_data["signature"],
                signer_name=form.cleaned_data["signer_name"],
                expected_version=form.cleaned_data.get("version"),
            )
        except ValidationError as error:
            if getattr(error, "field", None) not in (None, "signature", "signer_name"):
                label = WalkaroundForm.base_fields.get(error.field)
                error = ValidationError(
                    f"{label.label if label else error.field}: {error.messages[0]}"
                )
            apply_errors(form, error)
        else:
            messages.success(request, _("The customer signed the walk-around."))
            try:
                order = work_order_start(visit=visit, actor=request.user)
            except ValidationError:
                return redirect(visit)
            return redirect(order)
    return render(
        request,
        "reception/walkaround.html",
        _walkaround_context(_visit_or_404(pk), signature_form=form),
        status=400,
    )


def _walkaround_panel_submit(request, visit, form, service, *, panel, form_name):
    """A form of a walk-around panel: htmx swaps the panel, a plain post reloads the page."""
    return submit(
        request,
        form,
        service,
        done=lambda _result: htmx_or(
            request,
            lambda: panel(request, visit),
            lambda: redirect("reception:walkaround", pk=visit.pk),
        ),
        show_form=lambda form: htmx_or(
            request,
            lambda: panel(request, visit, form, status=400),
            lambda: render(
                request,
                "reception/walkaround.html",
                _walkaround_context(visit, **{form_name: form}),
                status=400,
            ),
        ),
    )


def _render_damage(request, visit, form=None, status=200, panel_error=""):
    visit = _visit_or_404(visit.pk)
    return render(
        request,
        "reception/_damage.html",
        {"visit": visit, "damage_form": form or DamageForm(), "panel_error": panel_error},
        status=status,
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def damage_add(request, pk: int):
    visit = _visit_or_404(pk)
    return _walkaround_panel_submit(
        request,
        visit,
        DamageForm(request.POST, request.FILES),
        lambda data: services.damage_mark_add(visit=visit, actor=request.user, **data),
        panel=_render_damage,
        form_name="damage_form",
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def damage_remove(request, pk: int):
    mark = get_object_or_404(DamageMark.objects.select_related("visit"), pk=pk)
    try:
        services.damage_mark_remove(mark=mark, actor=request.user)
    except ValidationError as error:
        if request.htmx:
            return _render_damage(request, mark.visit, panel_error=error.messages[0], status=409)
        messages.error(request, error.messages[0])
    if request.htmx:
        return _render_damage(request, mark.visit)
    return redirect("reception:walkaround", pk=mark.visit_id)


def _render_belongings(request, visit, form=None, status=200, panel_error=""):
    visit = _visit_or_404(visit.pk)
    return render(
        request,
        "reception/_belongings.html",
        {"visit": visit, "belonging_form": form or BelongingForm(), "panel_error": panel_error},
        status=status,
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def belonging_add(request, pk: int):
    visit = _visit_or_404(pk)
    return _walkaround_panel_submit(
        request,
        visit,
        BelongingForm(request.POST),
        lambda data: services.belonging_add(visit=visit, actor=request.user, **data),
        panel=_render_belongings,
        form_name="belonging_form",
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def belonging_remove(request, pk: int):
    item = get_object_or_404(Belonging.objects.select_related("visit"), pk=pk)
    try:
        services.belonging_remove(belonging=item, actor=request.user)
    except ValidationError as error:
        if request.htmx:
            return _render_belongings(
                request, item.visit, panel_error=error.messages[0], status=409
            )
        messages.error(request, error.messages[0])
    if request.htmx:
        return _render_belongings(request, item.visit)
    return redirect("reception:walkaround", pk=item.visit_id)


@role_required(*EDITORS)
@require_http_methods(["POST"])
def cancel(request, pk: int):
    visit = get_object_or_404(Visit, pk=pk)
    form = CancelForm(request.POST)
    if form.is_valid():
        try:
            services.visit_cancel(
                visit=visit, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(request, _("Visit cancelled."))
    else:
        messages.error(request, _("Give the reason for cancelling."))
    return redirect(visit)


@role_required(Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER)
@require_http_methods(["POST"])
def hand_over(request, pk: int):
    visit = get_object_or_404(Visit, pk=pk)
    try:
        services.visit_hand_over(visit=visit, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("You signed for the order, key and car of %(number)s.") % {"number": visit.number},
        )
    return redirect(safe_next(request, reverse("reception:on_site")))


@role_required(*VIEWERS)
def on_site(request):
    visits = selectors.on_site_rows()
    table = cached_fragment(
        "reception/_on_site_table.html",
        {
            "visits": visits,
            "can_hand_over": has_role(
                request.user, [Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER]
            ),
        },
        spliced={"csrf_token": get_token(request)},
    )
    return render(request, "reception/on_site.html", {"visits": visits, "table": table})


@role_required(*VIEWERS)
def key_tag(request, pk: int):
    visit = _visit_or_404(pk)
    response = HttpResponse(key_tag_pdf(visit), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="key-{visit.number}.pdf"'
    return response


@role_required(*VIEWERS)
def damage_photo(request, pk: int):
    mark = get_object_or_404(DamageMark, pk=pk)
    return stored_file_response(mark.photo)


@role_required(*VIEWERS)
def walkaround_signature(request, pk: int):
    visit = get_object_or_404(Visit, pk=pk)
    return stored_file_response(visit.walkaround_signature, content_type="image/png")


@public_view
def progress(request, token: str):
    """The customer's progress page, opened from the QR code on their work order."""
    try:
        link = customer_link_resolve(token, purpose=progress_push.PROGRESS_PURPOSE)
    except LinkInvalid as error:
        return render(request, "link_invalid.html", {"error": error}, status=404)
    visit = _visit_or_404(link.subject_id)
    with translation.override(visit.customer.language):
        return render(request, "reception/progress.html", {"visit": visit})
