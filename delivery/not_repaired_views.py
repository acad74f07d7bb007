"""Pages of a car not repaired: the advisor's "customer declines" form on the tablet, the
fee waiver and the customer's diagnosis report (PDF). Thin: forms in, services called."""

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from dealership import tablet
from dealership.roles import role_required
from dealership.rules import rule
from dealership.text import NOTE_MAX_LENGTH
from dealership.web import refusal_text, submit
from reception.models import NotRepairedReason, Visit
from reception.pdf import render_pdf

from . import selectors
from .access import CASHIERS, DELIVERERS, MONEY_VIEWERS
from .not_repaired import (
    DECLINABLE,
    WAIVER_REASON_MAX_LENGTH,
    diagnosis_fee_or_none,
    diagnosis_fee_waive,
    diagnosis_report,
    visit_not_repaired,
)


class NotRepairedForm(forms.Form):
    reason = forms.ChoiceField(
        label=gettext_lazy("Why the car is not repaired"),
        choices=NotRepairedReason.choices,
        widget=forms.RadioSelect,
    )
    findings = forms.CharField(
        label=gettext_lazy("Technician's findings"),
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    signer_name = forms.CharField(label=gettext_lazy("Name of the person signing"), max_length=100)
    signature = forms.CharField(widget=forms.HiddenInput, required=False)


class FeeWaiverForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason for waiving the diagnosis fee"),
        max_length=WAIVER_REASON_MAX_LENGTH,
    )


def _visit_or_404(pk: int) -> Visit:
    try:
        return selectors.visit_for_delivery(pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc


@role_required(*DELIVERERS)
@require_http_methods(["GET", "POST"])
def not_repaired(request, pk: int):
    """The customer declines the repair: the outcome, the findings and their signature."""
    visit = _visit_or_404(pk)
    form = NotRepairedForm(
        request.POST or None,
        initial={"signer_name": visit.customer.name, "findings": visit.diagnosis},
    )
    order = visit.work_orders.order_by("-revision").first()
    return submit(
        request,
        form,
        lambda data: visit_not_repaired(visit=visit, actor=request.user, **data),
        message=_("%(number)s: not repaired, the diagnosis fee goes to the cashier.")
        % {"number": visit.number},
        done=lambda _visit: tablet.lock(request, reverse("delivery:visit", args=[pk])),
        show_form=lambda form: render(
            request,
            "delivery/not_repaired.html",
            {
                "visit": visit,
                "form": form,
                "declinable": visit.status in DECLINABLE and not visit.not_repaired_reason,
                "offered": list(order.lines.all()) if order else [],
                "fee": diagnosis_fee_or_none(),
            },
            status=400 if form.errors else 200,
        ),
    )


@role_required(*CASHIERS)
@require_POST
def waive_fee(request, pk: int):
    visit = _visit_or_404(pk)
    return submit(
        request,
        FeeWaiverForm(request.POST),
        lambda data: diagnosis_fee_waive(visit=visit, actor=request.user, **data),
        message=_("%(number)s: diagnosis fee waived.") % {"number": visit.number},
        done=lambda _settlement: redirect("delivery:visit", pk=pk),
        show_form=lambda form: _refused(request, pk, form),
    )


def _refused(request, pk: int, form) -> HttpResponse:
    """A refused waiver: its reason at the top of the visit page."""
    messages.error(request, refusal_text(form) or _("Give the reason for waiving the fee."))
    return redirect(reverse("delivery:visit", args=[pk]) + "#not-repaired")


@role_required(*MONEY_VIEWERS)
def diagnosis_report_pdf(request, pk: int):
    visit = _visit_or_404(pk)
    report = diagnosis_report(visit)
    if report is None:
        messages.error(request, _("This car was repaired: it has no diagnosis report."))
        return redirect(reverse("delivery:visit", args=[pk]))
    language = visit.customer.language
    with translation.override(language):
        content = render_pdf(
            "delivery/pdf/diagnosis_report.html",
            {
                "store_name": rule("store.name"),
                "printed_at": timezone.now(),
                "report": report,
                "visit": visit,
            },
            language=language,
        )
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="diagnosis-report-{visit.number}.pdf"'
    return response
