"""Consent on the customer page, and the service manager's privacy requests (PIPL)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import consent, privacy
from .forms import ConsentForm, CustomerCreateForm, PrivacyAnswerForm, PrivacyRequestForm
from .models import Customer, PrivacyRequest, PrivacyRequestKind
from .roles import Role, role_required
from .views import CUSTOMER_EDITORS
from .web import apply_errors, submit

PRIVACY_ROLES = (Role.SERVICE_MANAGER,)


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def customer_consent(request, pk: int):
    """Record a grant or withdrawal; the page shows each purpose's exact text to read."""
    customer = get_object_or_404(Customer, pk=pk)
    form = ConsentForm(request.POST or None)
    return submit(
        request,
        form,
        lambda data: consent.consent_record(customer=customer, actor=request.user, **data),
        message=_("Consent recorded."),
        done=lambda _record: redirect(customer.get_absolute_url() + "#consent"),
        show_form=lambda form: render(
            request,
            "dealership/customer_consent.html",
            {
                "customer": customer,
                "form": form,
                "rows": consent.consent_script(customer),
            },
            status=400 if form.errors else 200,
        ),
    )


@role_required(*CUSTOMER_EDITORS)
@require_http_methods(["GET", "POST"])
def customer_create(request):
    """A new customer; the opt-ins are unticked boxes with the text to read beside them."""
    form = CustomerCreateForm(request.POST or None)
    return submit(
        request,
        form,
        lambda data: consent.customer_create_with_consent(
            actor=request.user, opt_ins=form.opt_ins(), **form.without_opt_ins(data)
        ),
        message=_("Customer saved."),
        done=redirect,
        show_form=lambda form: render(request, "dealership/customer_form.html", {"form": form}),
    )


@role_required(*PRIVACY_ROLES)
@require_http_methods(["GET", "POST"])
def privacy_requests(request):
    initial = {"received_at": timezone.localtime().strftime("%Y-%m-%dT%H:%M")}
    customer_pk = request.GET.get("customer", "")
    if customer_pk.isdigit() and len(customer_pk) < 18:
        found = Customer.objects.filter(pk=int(customer_pk)).first()
        if found:
            initial["customer_mobile"] = found.mobile
    form = PrivacyRequestForm(request.POST or None, initial=initial)
    return submit(
        request,
        form,
        lambda data: privacy.privacy_request_record(
            customer=form.customer,
            kind=data["kind"],
            channel=data["channel"],
            received_at=data["received_at"],
            note=data["note"],
            actor=request.user,
        ),
        message=_("Request recorded."),
        done=lambda row: redirect("privacy_request", pk=row.pk),
        show_form=lambda form: render(
            request,
            "dealership/privacy_requests.html",
            {
                "form": form,
                "requests": PrivacyRequest.objects.select_related(
                    "customer", "recorded_by", "answered_by"
                )[:200],
            },
            status=400 if form.errors else 200,
        ),
    )


def _request_page(request, row: PrivacyRequest, form: PrivacyAnswerForm, *, status: int = 200):
    refusals = (
        privacy.privacy_delete_refusals(row.customer)
        if row.kind == PrivacyRequestKind.DELETE and row.is_open
        else []
    )
    return render(
        request,
        "dealership/privacy_request.html",
        {"row": row, "form": form, "refusals": refusals},
        status=status,
    )


def _row(pk: int) -> PrivacyRequest:
    return get_object_or_404(
        PrivacyRequest.objects.select_related("customer", "recorded_by", "answered_by"), pk=pk
    )


@role_required(*PRIVACY_ROLES)
@require_http_methods(["GET", "POST"])
def privacy_request(request, pk: int):
    """One request; a request to see or correct is answered here in words."""
    row = _row(pk)
    return submit(
        request,
        PrivacyAnswerForm(request.POST or None),
        lambda data: privacy.privacy_request_answer(
            request=row, actor=request.user, answer=data["answer"]
        ),
        message=_("Answer recorded."),
        done=lambda _row: redirect("privacy_request", pk=pk),
        show_form=lambda form: _request_page(
            request, row, form, status=400 if form.errors else 200
        ),
    )


@role_required(*PRIVACY_ROLES)
@require_POST
def privacy_request_export(request, pk: int):
    """Answer a request to see or export: the customer's data as a ZIP download."""
    row = _row(pk)
    form = PrivacyAnswerForm()
    try:
        content = privacy.privacy_request_export(request=row, actor=request.user)
    except ValidationError as error:
        apply_errors(form, error)
        return _request_page(request, _row(pk), form, status=400)
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="customer-{row.customer_id}.zip"'
    return response


@role_required(*PRIVACY_ROLES)
@require_POST
def privacy_request_delete(request, pk: int):
    """Answer a delete request: anonymise the customer (refused while a visit is open)."""
    row = _row(pk)
    form = PrivacyAnswerForm()
    try:
        privacy.privacy_request_delete(request=row, actor=request.user)
    except ValidationError as error:
        apply_errors(form, error)
        return _request_page(request, _row(pk), form, status=400)
    messages.success(request, _("The customer's personal data was deleted (anonymised)."))
    return redirect("privacy_request", pk=pk)
