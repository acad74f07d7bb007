import logging
import sys

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import (
    DatabaseError,
    DataError,
    IntegrityError,
    NotSupportedError,
    ProgrammingError,
    connection,
)
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from . import selectors, services
from .actions import vehicle_actions
from .forms import ChangeOwnerForm, CustomerForm, VehicleForm
from .models import Customer, Vehicle
from .roles import ALL_STAFF, Role, public_view, role_required
from .rules import REGISTRY, rule, rule_set
from .start import panels_for, start_url_for
from .storage import StorageFull
from .visibility import can_search_by_phone

logger = logging.getLogger(__name__)

CUSTOMER_EDITORS = (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE)
# Customer and vehicle records and the search: every staff role but the technician, who works
# on the jobs dispatched to them (the workshop's pages show the car they need).
CUSTOMER_VIEWERS = tuple(role for role in ALL_STAFF if role != Role.TECHNICIAN)


def _upload_field(form) -> str | None:
    """The form's file field (a photo input, or the signature pad's hidden field)."""
    for name, field in form.fields.items():
        if isinstance(field, forms.FileField):
            return name
    return "signature" if "signature" in form.fields else None


def _apply_errors(form, error: ValidationError) -> None:
    if isinstance(error, StorageFull):
        form.add_error(_upload_field(form), error)
    elif hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def refusal_text(*forms) -> str:
    """Every message of the refused forms, for the top of a page that no longer shows them.

    A form submitted from a stale page (the order was signed, the visit settled meanwhile) is
    answered with the page as it is now, without that form: its refusal is said at the top.
    """
    return " ".join(
        str(message)
        for form in forms
        if form is not None
        for messages_of_field in form.errors.values()
        for message in messages_of_field
    )


def server_error(request):
    """handler500: a database that is down or restarting gives 503 and says nothing was saved.

    Rendered without the request context (no database, no session): the page must work when
    those are what failed. The view's transaction was rolled back with the failed connection.
    """
    failure = sys.exc_info()[1]
    unavailable = isinstance(failure, DatabaseError) and not isinstance(
        failure, (IntegrityError, DataError, ProgrammingError, NotSupportedError)
    )
    name, status = ("503.html", 503) if unavailable else ("500.html", 500)
    try:
        body = loader.get_template(name).render({})
    except Exception:  # the error page itself must not fail
        logger.exception("error page %s could not be rendered", name)
        body = "Service unavailable" if unavailable else "Server error"
    response = HttpResponse(body, status=status)
    if unavailable:
        response["Retry-After"] = "10"
    return response


@public_view
def healthz(request):
    """For load balancers and container health checks: the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("ok", content_type="text/plain")


@role_required(*ALL_STAFF)
def home(request):
    """Each role starts on its own work (`dealership.start`)."""
    url = start_url_for(request.user)
    if url:
        return redirect(url)
    return render(request, "dealership/home.html", {"panels": panels_for(request)})


@role_required(*CUSTOMER_VIEWERS)
def search(request):
    result = selectors.search(request.GET.get("q", ""), by_phone=can_search_by_phone(request.user))
    template = "dealership/_search_results.html" if request.htmx else "dealership/search.html"
    return render(request, template, {"result": result})


@role_required(*CUSTOMER_VIEWERS)
def customer_detail(request, pk: int):
    try:
        customer = selectors.customer_detail(pk)
    except Customer.DoesNotExist as exc:
        raise Http404 from exc
    return render(
        request,
        "dealership/customer_detail.html",
        {
            "customer": customer,
            "vehicles": [
                (vehicle, vehicle_actions(request.user, vehicle))
                for vehicle in customer.vehicles.all()
            ],
            "history": selectors.history_entries(customer, viewer=request.user),
        },
    )


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def customer_create(request):
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Customer saved."))
            return redirect(customer)
    return render(request, "dealership/customer_form.html", {"form": form})


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def customer_edit(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        try:
            services.customer_update(
                customer=Customer.objects.get(pk=pk), actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Customer saved."))
            return redirect("customer_detail", pk=pk)
    return render(request, "dealership/customer_form.html", {"form": form, "customer": customer})


@role_required(*CUSTOMER_VIEWERS)
def vehicle_detail(request, pk: int):
    try:
        vehicle = selectors.vehicle_detail(pk)
    except Vehicle.DoesNotExist as exc:
        raise Http404 from exc
    return render(
        request,
        "dealership/vehicle_detail.html",
        {
            "vehicle": vehicle,
            "actions": vehicle_actions(request.user, vehicle),
            "history": selectors.history_entries(vehicle),
            "owner_form": ChangeOwnerForm(),
        },
    )


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def vehicle_create(request, customer_pk: int):
    owner = get_object_or_404(Customer, pk=customer_pk)
    form = VehicleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            vehicle = services.vehicle_create(actor=request.user, owner=owner, **form.cleaned_data)
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Vehicle saved."))
            return redirect(vehicle)
    return render(request, "dealership/vehicle_form.html", {"form": form, "owner": owner})


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def vehicle_edit(request, pk: int):
    vehicle = get_object_or_404(Vehicle.objects.select_related("owner"), pk=pk)
    form = VehicleForm(request.POST or None, instance=vehicle)
    if request.method == "POST" and form.is_valid():
        try:
            services.vehicle_update(
                vehicle=Vehicle.objects.get(pk=pk), actor=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Vehicle saved."))
            return redirect("vehicle_detail", pk=pk)
    return render(
        request,
        "dealership/vehicle_form.html",
        {"form": form, "owner": vehicle.owner, "vehicle": vehicle},
    )


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["POST"])
def vehicle_change_owner(request, pk: int):
    vehicle = get_object_or_404(Vehicle, pk=pk)
    form = ChangeOwnerForm(request.POST)
    if form.is_valid():
        try:
            services.vehicle_change_owner(
                vehicle=vehicle, new_owner=form.new_owner, actor=request.user
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Owner changed."))
            return redirect("vehicle_detail", pk=pk)
    vehicle = selectors.vehicle_detail(pk)
    return render(
        request,
        "dealership/vehicle_detail.html",
        {
            "vehicle": vehicle,
            "actions": vehicle_actions(request.user, vehicle),
            "history": selectors.history_entries(vehicle),
            "owner_form": form,
        },
        status=400,
    )


@role_required(Role.SERVICE_MANAGER)
@require_http_methods(["GET", "POST"])
def store_rules(request):
    errors = {}
    if request.method == "POST":
        key = request.POST.get("key", "")
        if key not in REGISTRY:
            raise Http404
        raw = request.POST.get("value", "").strip()
        default = REGISTRY[key].default
        try:
            if isinstance(default, bool):
                value = raw.lower() in {"1", "true", "yes", "on"}
            elif isinstance(default, str):
                value = raw
            else:
                value = type(default)(raw)
                if value < 0:
                    raise ValueError
        except (ValueError, ArithmeticError):
            errors[key] = _("Enter a number of zero or more.")
        else:
            rule_set(key, value)
            messages.success(request, _("Setting saved."))
            return redirect("store_rules")
    rows = [
        {"rule": item, "value": rule(key), "error": errors.get(key)}
        for key, item in sorted(REGISTRY.items())
    ]
    return render(
        request, "dealership/store_rules.html", {"rows": rows}, status=400 if errors else 200
    )
