"""The enquiries page: log incoming calls and messages, answer and close them."""

from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dealership.models import Customer
from dealership.roles import Role, role_required
from dealership.web import submit

from . import enquiries
from .enquiry_forms import EnquiryCloseForm, EnquiryForm
from .models import Enquiry

ENQUIRY_ROLES = (Role.ADVISOR, Role.CUSTOMER_CARE, Role.SERVICE_MANAGER)


@role_required(*ENQUIRY_ROLES)
@require_http_methods(["GET", "POST"])
def enquiry_list(request):
    """Today's enquiries and every open one (open first), and the form to log a new one."""
    initial = {}
    customer = None
    if request.GET.get("customer", "").isdigit():
        customer = Customer.objects.filter(pk=int(request.GET["customer"])).first()
        initial["customer"] = customer

    def page(form):
        return render(
            request,
            "followup/enquiries.html",
            {
                "form": form,
                "customer": customer,
                "rows": enquiries.enquiries_for_day(timezone.localdate()),
                "minutes": int(enquiries.response_limit().total_seconds() // 60),
            },
            status=400 if form.is_bound else 200,
        )

    return submit(
        request,
        EnquiryForm(request.POST or None, initial=initial),
        lambda data: enquiries.enquiry_log(actor=request.user, **data),
        message=_("Enquiry logged."),
        done=lambda _enquiry: redirect("followup:enquiries"),
        show_form=page,
    )


@role_required(*ENQUIRY_ROLES)
@require_http_methods(["GET", "POST"])
def enquiry_detail(request, pk: int):
    """One enquiry: mark the first answer sent, or close it with its outcome."""
    enquiry = get_object_or_404(
        Enquiry.objects.select_related("customer", "appointment", "complaint", "taken_by"), pk=pk
    )
    if request.method == "POST" and "respond" in request.POST:
        enquiries.enquiry_respond(enquiry=enquiry, actor=request.user)
        return redirect("followup:enquiry", pk=pk)

    def page(form):
        return render(
            request,
            "followup/enquiry.html",
            {
                "enquiry": enquiry,
                "form": form,
                "due_at": enquiries.response_due_at(enquiry),
                "overdue": enquiries.is_overdue(
                    enquiry, now=timezone.now(), limit=enquiries.response_limit()
                ),
            },
            status=400 if form.is_bound else 200,
        )

    return submit(
        request,
        EnquiryCloseForm(request.POST or None, enquiry=enquiry),
        lambda data: enquiries.enquiry_close(
            enquiry=enquiry,
            actor=request.user,
            outcome=data["outcome"],
            note=data["note"],
            appointment=data["appointment"],
            category=data["category"] or "other",
        ),
        message=_("Enquiry closed."),
        done=lambda _enquiry: redirect("followup:enquiries"),
        show_form=page,
    )
