import logging
import sys

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist, ValidationError
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
from .actions import vehicle_actions, vehicles_actions
from .advisors import customer_advisor_set
from .consent import consent_state
from .forms import ChangeOwnerForm, CustomerAdvisorForm, CustomerForm, LinkRevokeForm, VehicleForm
from .fragments import cached_fragment
from .links import customer_live_links, purpose_label
from .models import Customer, Vehicle
from .roles import ALL_STAFF, Role, public_view, role_required
from .rules import REGISTRY, rule, rule_set
from .start import panels_for, start_url_for
from .visibility import can_search_by_phone
from .web import submit

logger = logging.getLogger(__name__)

CUSTOMER_EDITORS = (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE)
# The customer's own advisor: set by an advisor or the service manager (issue 20.7).
ADVISOR_SETTERS = (Role.ADVISOR, Role.SERVICE_MANAGER)
# Customer and vehicle records and the search: every staff role but the technician, who works
# on the jobs dispatched to them (the workshop's pages show the car they need).
# The claims clerk works from the claims pages, which show the car they need (issue 16.3).
CUSTOMER_VIEWERS = tuple(
    role for role in ALL_STAFF if role not in (Role.TECHNICIAN, Role.CLAIMS_CLERK)
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
    result = selectors.search_rows(
        request.GET.get("q", ""), request.user, by_phone=can_search_by_phone(request.user)
    )
    results = cached_fragment("dealership/_search_results.html", {"result": result})
    if request.htmx:
        return HttpResponse(results)
    return render(request, "dealership/search.html", {"result": result, "results": results})


def _detail_or_404(select, pk: int):
    """The record a detail page shows, shaped by its selector; 404 if there is none."""
    try:
        return select(pk)
    except ObjectDoesNotExist as exc:
        raise Http404 from exc


def _customer_page(request, customer: Customer, advisor_form=None, *, status: int = 200):
    vehicles = list(customer.vehicles.all())
    return render(
        request,
        "dealership/customer_detail.html",
        {
            "customer": customer,
            "advisor_form": advisor_form
            or CustomerAdvisorForm(initial={"advisor": customer.advisor_id}),
            "vehicles": list(zip(vehicles, vehicles_actions(request.user, vehicles), strict=True)),
            "history": selectors.history_entries(customer, viewer=request.user),
            "links": [
                (link, purpose_label(link.purpose)) for link in customer_live_links(customer)
            ],
            "revoke_all_form": LinkRevokeForm(),
            "consent": consent_state(customer),
        },
        status=status,
    )


@role_required(*CUSTOMER_VIEWERS)
def customer_detail(request, pk: int):
    return _customer_page(request, _detail_or_404(selectors.customer_detail, pk))


@role_required(*ADVISOR_SETTERS)
@require_http_methods(["POST"])
def customer_advisor(request, pk: int):
    """Set the customer's own advisor (专属顾问) from the customer page."""
    customer = _detail_or_404(selectors.customer_detail, pk)
    return submit(
        request,
        CustomerAdvisorForm(request.POST),
        lambda data: customer_advisor_set(
            customer=customer, advisor=data["advisor"], actor=request.user
        ),
        message=_("Own advisor saved."),
        done=lambda _customer: redirect("customer_detail", pk=pk),
        show_form=lambda form: _customer_page(request, customer, form, status=400),
    )


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def customer_edit(request, pk: int):
    customer = get_object_or_404(Customer, pk=pk)
    return submit(
        request,
        CustomerForm(request.POST or None, instance=customer),
        lambda data: services.customer_update(
            customer=Customer.objects.get(pk=pk), actor=request.user, **data
        ),
        message=_("Customer saved."),
        done=lambda _customer: redirect("customer_detail", pk=pk),
        show_form=lambda form: render(
            request, "dealership/customer_form.html", {"form": form, "customer": customer}
        ),
    )


def _vehicle_page(request, vehicle: Vehicle, owner_form: ChangeOwnerForm, *, status: int = 200):
    return render(
        request,
        "dealership/vehicle_detail.html",
        {
            "vehicle": vehicle,
            "actions": vehicle_actions(request.user, vehicle),
            "history": selectors.history_entries(vehicle),
            "owner_form": owner_form,
        },
        status=status,
    )


@role_required(*CUSTOMER_VIEWERS)
def vehicle_detail(request, pk: int):
    return _vehicle_page(request, _detail_or_404(selectors.vehicle_detail, pk), ChangeOwnerForm())


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def vehicle_create(request, customer_pk: int):
    owner = get_object_or_404(Customer, pk=customer_pk)
    return submit(
        request,
        VehicleForm(request.POST or None),
        lambda data: services.vehicle_create(actor=request.user, owner=owner, **data),
        message=_("Vehicle saved."),
        done=redirect,
        show_form=lambda form: render(
            request, "dealership/vehicle_form.html", {"form": form, "owner": owner}
        ),
    )


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def vehicle_edit(request, pk: int):
    vehicle = get_object_or_404(Vehicle.objects.select_related("owner"), pk=pk)
    return submit(
        request,
        VehicleForm(request.POST or None, instance=vehicle),
        lambda data: services.vehicle_update(
            vehicle=Vehicle.objects.get(pk=pk), actor=request.user, **data
        ),
        message=_("Vehicle saved."),
        done=lambda _vehicle: redirect("vehicle_detail", pk=pk),
        show_form=lambda form: render(
            request,
            "dealership/vehicle_form.html",
            {"form": form, "owner": vehicle.owner, "vehicle": vehicle},
        ),
    )


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["POST"])
def vehicle_change_owner(request, pk: int):
    vehicle = get_object_or_404(Vehicle, pk=pk)

    def show_form(form):
        return _vehicle_page(request, selectors.vehicle_detail(pk), form, status=400)

    form = ChangeOwnerForm(request.POST)
    return submit(
        request,
        form,
        lambda _data: services.vehicle_change_owner(
            vehicle=vehicle, new_owner=form.new_owner, actor=request.user
        ),
        message=_("Owner changed."),
        done=lambda _vehicle: redirect("vehicle_detail", pk=pk),
        show_form=show_form,
    )


def _rule_check_errors(key: str, value) -> dict[str, str]:
    """The rule's own check of a value (e.g. a table written as text), as a page error."""
    check = REGISTRY[key].check
    if check is None:
        return {}
    try:
        check(value)
    except ValidationError as error:
        return {key: " ".join(str(m) for m in error.messages)}
    return {}


def _out_of_bounds(item, value) -> dict:
    """A rule with bounds refuses a number outside them, with the bounds in the message."""
    low, high = item.minimum, item.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        return {
            item.key: _("Enter a number from %(min)s to %(max)s.")
            % {"min": 0 if low is None else low, "max": "∞" if high is None else high}
        }
    return {}


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
            errors.update(_rule_check_errors(key, value))
            errors.update(_out_of_bounds(REGISTRY[key], value))
        if key not in errors:
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
