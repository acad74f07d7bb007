"""The insurance job's page: the advisor opens and edits it; the offer can be dismissed."""

from decimal import Decimal

from django import forms
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from dealership.roles import role_required
from dealership.selectors import history_entries
from dealership.urltools import safe_next
from dealership.web import submit

from . import insurance
from .access import EDITORS
from .models import INSURANCE_AMOUNT_MAX, InsuranceCase, Insurer
from .views import _visit_or_404


class InsuranceCaseForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    insurer = forms.ChoiceField(label=gettext_lazy("Insurer"), choices=Insurer.choices)
    insurer_name = forms.CharField(
        label=gettext_lazy("Insurer's name (other)"), max_length=60, required=False
    )
    policy_number = forms.CharField(
        label=gettext_lazy("Policy number"), max_length=40, required=False
    )
    report_number = forms.CharField(
        label=gettext_lazy("Report number (报案号)"), max_length=40, required=False
    )
    adjuster_name = forms.CharField(
        label=gettext_lazy("Adjuster (定损员)"), max_length=50, required=False
    )
    adjuster_phone = forms.CharField(
        label=gettext_lazy("Adjuster's phone"), max_length=20, required=False
    )
    approved_amount = forms.DecimalField(
        label=gettext_lazy("Amount approved by the insurer (定损金额)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=INSURANCE_AMOUNT_MAX,
    )
    excess = forms.DecimalField(
        label=gettext_lazy("Customer's excess (免赔额)"),
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=INSURANCE_AMOUNT_MAX,
    )


def _initial(case: InsuranceCase | None) -> dict:
    if case is None:
        return {"excess": Decimal("0.00")}
    return {name: getattr(case, name) for name in (*insurance.FIELDS, "version")}


@role_required(*EDITORS)
@require_http_methods(["GET", "POST"])
def insurance_case(request, pk: int):
    """Open or edit the visit's insurance job (insurer, report, adjuster, amounts)."""
    visit = _visit_or_404(pk)
    case = InsuranceCase.objects.filter(visit=visit).first()
    form = (
        InsuranceCaseForm(request.POST)
        if request.method == "POST"
        else InsuranceCaseForm(initial=_initial(case))
    )
    return submit(
        request,
        form,
        lambda data: insurance.insurance_case_save(
            visit=visit,
            actor=request.user,
            expected_version=data.get("version"),
            **{name: data.get(name) for name in insurance.FIELDS},
        ),
        message=_("Insurance job saved."),
        done=lambda _case: redirect("reception:insurance", pk=pk),
        show_form=lambda form: render(
            request,
            "reception/insurance.html",
            {
                "visit": visit,
                "case": case,
                "form": form,
                "editable": visit.status not in insurance.CLOSED_STATUSES,
                "change_history": history_entries(case) if case else [],
            },
            status=400 if request.method == "POST" else 200,
        ),
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def insurance_offer_dismiss(request, pk: int):
    """The damage is not an insurance job: stop offering one on this visit."""
    visit = _visit_or_404(pk)
    insurance.insurance_offer_dismiss(visit=visit, actor=request.user)
    return redirect(safe_next(request, reverse("reception:visit", args=[pk])))
