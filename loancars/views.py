"""Courtesy car pages: the advisor lends and takes back, the manager keeps the fleet."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from appointments.models import Appointment
from dealership.roles import has_role, role_required
from dealership.storage import stored_file_response
from dealership.web import submit
from reception.models import Visit

from . import selectors, services
from .access import FLEET, LENDERS
from .forms import BookForm, CheckOutForm, LoanCarForm, ReturnForm
from .models import Loan, LoanCar, LoanPhoto


def _loan_or_404(pk: int) -> Loan:
    try:
        return selectors.loan_detail(pk)
    except Loan.DoesNotExist as exc:
        raise Http404 from exc


@role_required(*LENDERS)
def loans(request):
    return render(
        request,
        "loancars/loans.html",
        {
            "cars": selectors.fleet(),
            "bookings": selectors.bookings(),
            "returns": selectors.recent_returns(),
            "may_manage": has_role(request.user, FLEET),
        },
    )


@role_required(*FLEET)
@require_http_methods(["GET", "POST"])
def fleet(request):
    return submit(
        request,
        LoanCarForm(request.POST or None),
        lambda data: services.loan_car_save(actor=request.user, **data),
        message=_("Courtesy car saved."),
        done=lambda _car: redirect("loancars:fleet"),
        show_form=lambda form: render(
            request,
            "loancars/fleet.html",
            {"form": form, "cars": selectors.fleet()},
            status=400 if request.method == "POST" else 200,
        ),
    )


@role_required(*FLEET)
@require_http_methods(["GET", "POST"])
def car_edit(request, pk: int):
    car = get_object_or_404(LoanCar, pk=pk)
    return submit(
        request,
        LoanCarForm(request.POST or None, instance=car),
        lambda data: services.loan_car_save(
            car=LoanCar.objects.get(pk=pk), actor=request.user, **data
        ),
        message=_("Courtesy car saved."),
        done=lambda _car: redirect("loancars:fleet"),
        show_form=lambda form: render(
            request,
            "loancars/car_form.html",
            {"form": form, "car": car},
            status=400 if request.method == "POST" else 200,
        ),
    )


@role_required(*LENDERS)
@require_http_methods(["GET", "POST"])
def book(request, appointment_pk: int):
    appointment = get_object_or_404(
        Appointment.objects.select_related("customer", "vehicle"), pk=appointment_pk
    )
    return submit(
        request,
        BookForm(request.POST or None),
        lambda data: services.loan_book(
            appointment=appointment, car=data["car"], actor=request.user
        ),
        message=_("Courtesy car booked."),
        done=lambda _loan: redirect(appointment),
        show_form=lambda form: render(
            request,
            "loancars/book.html",
            {"form": form, "appointment": appointment},
            status=400 if request.method == "POST" else 200,
        ),
    )


@role_required(*LENDERS)
@require_POST
def cancel(request, pk: int):
    loan = get_object_or_404(Loan, pk=pk)
    try:
        services.loan_cancel(loan=loan, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Booking cancelled."))
    return redirect("loancars:loans")


@role_required(*LENDERS)
@require_http_methods(["GET", "POST"])
def check_out(request, visit_pk: int):
    visit = get_object_or_404(Visit.objects.select_related("customer", "vehicle"), pk=visit_pk)
    booked = (
        visit.customer
        and Loan.objects.filter(customer=visit.customer, status="booked")
        .values_list("car_id", flat=True)
        .first()
    )
    form = CheckOutForm(
        request.POST or None,
        request.FILES or None,
        initial={"driver_name": visit.customer.name, "car": booked},
    )
    return submit(
        request,
        form,
        lambda data: services.loan_check_out(
            visit=visit,
            actor=request.user,
            **{name: value for name, value in data.items()},
        ),
        message=_("Courtesy car lent."),
        done=lambda loan: redirect("loancars:loan", loan.pk),
        show_form=lambda form: render(
            request,
            "loancars/check_out.html",
            {
                "form": form,
                "visit": visit,
                "signature_field": form["signature"],
                "loans": selectors.visit_loans(visit),
            },
            status=400 if request.method == "POST" else 200,
        ),
    )


@role_required(*LENDERS)
@require_http_methods(["GET", "POST"])
def loan_detail(request, pk: int):
    loan = _loan_or_404(pk)
    return submit(
        request,
        ReturnForm(request.POST or None, request.FILES or None),
        lambda data: services.loan_return(loan=loan, actor=request.user, **data),
        message=lambda returned: (
            _("Courtesy car returned late.") if returned.late else _("Courtesy car returned.")
        ),
        done=lambda _loan: redirect("loancars:loan", pk),
        show_form=lambda form: render(
            request,
            "loancars/loan.html",
            {
                "loan": loan,
                "form": form,
                "licence": services.mask_licence(loan.licence_number),
            },
            status=400 if request.method == "POST" else 200,
        ),
    )


@role_required(*LENDERS)
def photo(request, pk: int):
    return stored_file_response(get_object_or_404(LoanPhoto, pk=pk).image)


@role_required(*LENDERS)
def agreement_signature(request, pk: int):
    return stored_file_response(get_object_or_404(Loan, pk=pk).agreement_signature)
