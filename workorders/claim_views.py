"""The claims clerk's pages (索赔员): claims by status, a claim and its actions, warranty
lines waiting for a go-ahead. Thin: the rules are in `workorders.claims`."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dealership.roles import role_required
from dealership.warranty import visit_warranty
from dealership.web import submit

from . import claims
from .claim_forms import ClaimApproveForm, ClaimFilterForm, ClaimRejectForm, ClaimSubmitForm
from .models import Payer, WarrantyClaim, WorkOrderLine

LIST_SIZE = 200


@role_required(*claims.CLAIM_ROLES)
def claim_list(request):
    form = ClaimFilterForm(request.GET or None)
    status = form.cleaned_data["status"] if form.is_valid() else ""
    return render(
        request,
        "workorders/claims/list.html",
        {
            "filter_form": form,
            "status": status,
            "claims": list(claims.claims_listed(status)[:LIST_SIZE]),
            "waiting": claims.warranty_lines_waiting(),
        },
        status=200 if form.is_valid() or not request.GET else 400,
    )


def _claim_or_404(pk: int) -> WarrantyClaim:
    try:
        return claims.claim_for_page(pk)
    except WarrantyClaim.DoesNotExist as exc:
        raise Http404 from exc


def _render_claim(request, pk: int, *, status: int = 200, **forms):
    claim = _claim_or_404(pk)
    version = {"version": claim.version}
    context = {
        "claim": claim,
        "line": claim.line,
        "order": claim.line.order,
        "visit": claim.line.order.visit,
        "warranty": visit_warranty(claim.line.order.visit),
        "payer_label": Payer(claim.line.payer).label,
        "submit_form": forms.get("submit_form") or ClaimSubmitForm(initial=version),
        "approve_form": forms.get("approve_form")
        or ClaimApproveForm(initial={**version, "approved_amount": claim.line.amount}),
        "reject_form": forms.get("reject_form") or ClaimRejectForm(initial=version),
    }
    return render(request, "workorders/claims/detail.html", context, status=status)


@role_required(*claims.CLAIM_ROLES)
def claim_detail(request, pk: int):
    return _render_claim(request, pk)


def _claim_action(request, pk: int, form_class, form_name: str, service, message: str):
    claim = _claim_or_404(pk)
    form = form_class(request.POST)
    return submit(
        request,
        form,
        lambda data: service(claim, data),
        message=message,
        done=lambda _claim: redirect("claims:detail", pk=pk),
        show_form=lambda bound: _render_claim(request, pk, status=400, **{form_name: bound}),
    )


@role_required(*claims.CLAIM_ROLES)
@require_http_methods(["POST"])
def claim_submit(request, pk: int):
    return _claim_action(
        request,
        pk,
        ClaimSubmitForm,
        "submit_form",
        lambda claim, data: claims.claim_submit(
            claim=claim,
            actor=request.user,
            number=data["number"],
            expected_version=data["version"],
        ),
        _("Claim submitted."),
    )


@role_required(*claims.CLAIM_ROLES)
@require_http_methods(["POST"])
def claim_approve(request, pk: int):
    return _claim_action(
        request,
        pk,
        ClaimApproveForm,
        "approve_form",
        lambda claim, data: claims.claim_approve(
            claim=claim,
            actor=request.user,
            amount=data["approved_amount"],
            expected_version=data["version"],
        ),
        _("Claim approved."),
    )


@role_required(*claims.CLAIM_ROLES)
@require_http_methods(["POST"])
def claim_reject(request, pk: int):
    return _claim_action(
        request,
        pk,
        ClaimRejectForm,
        "reject_form",
        lambda claim, data: claims.claim_reject(
            claim=claim,
            actor=request.user,
            reason=data["rejection_reason"],
            payer=data["rejected_payer"],
            expected_version=data["version"],
        ),
        _("Claim rejection recorded."),
    )


@role_required(*claims.CLAIM_ROLES)
@require_http_methods(["POST"])
def line_approve(request, pk: int):
    line = get_object_or_404(WorkOrderLine.objects.select_related("order"), pk=pk)
    try:
        claims.warranty_line_approve(line=line, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(str(m) for m in error.messages))
    else:
        messages.success(request, _("Line approved as warranty."))
    return redirect("claims:list")
