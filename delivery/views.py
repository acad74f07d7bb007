"""Pages of steps 6–7. Thin: forms in, services called, errors shown next to the field."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import get_script_prefix, reverse
from django.utils import timezone, translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dealership import tablet
from dealership.fragments import cached_fragment
from dealership.roles import Role, has_role, role_required
from dealership.storage import stored_file_response
from dealership.web import refusal_text, submit
from reception.models import Visit
from reception.states import VisitStatus

from . import exports, pdf, selectors, services
from .access import CASHIERS, DELIVERERS, MONEY_VIEWERS, READY_MARKERS, VIEWERS
from .forms import (
    FinalCheckForm,
    HandBackForm,
    OverrunApprovalForm,
    ReadyForm,
    RefundForm,
    SettlementForm,
    TaxInvoiceExportForm,
    TaxInvoiceIssueForm,
    VoidForm,
)
from .models import Delivery, OldPartsHandling, Settlement


def _visit_or_404(pk: int) -> Visit:
    try:
        return selectors.visit_for_delivery(pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc


def _settlement_or_404(pk: int) -> Settlement:
    try:
        return selectors.settlement_detail(pk)
    except Settlement.DoesNotExist as exc:
        raise Http404 from exc


def _delivery_of(visit: Visit) -> Delivery | None:
    try:
        return visit.delivery
    except Delivery.DoesNotExist:
        return None


def _final_check_initial(visit: Visit, delivery: Delivery | None, order) -> dict:
    if delivery and delivery.final_check_done:
        return {
            "lines": delivery.checked_line_ids,
            "odometer_km": delivery.delivery_odometer_km,
            "exterior_matches": delivery.exterior_matches,
            "no_tools_left": delivery.no_tools_left,
            "settings_restored": delivery.settings_restored,
            "belongings_present": delivery.belongings_present,
            "old_parts_handling": delivery.old_parts_handling,
            "notes": delivery.final_check_notes,
        }
    initial = {"odometer_km": visit.odometer_km}
    if order is not None:
        has_parts = any(ln.kind == "part" and not ln.customer_supplied for ln in order.lines.all())
        expected = services.expected_old_parts(
            keep_old_parts=order.keep_old_parts, has_parts=has_parts
        )
        initial["old_parts_handling"] = next(
            value for value in OldPartsHandling.values if value in expected
        )
    return initial


def _page_context(request, visit: Visit, **forms) -> dict:
    delivery = _delivery_of(visit)
    order = selectors.order_in_force(visit)
    bill = selectors.bill_for(visit, order=order, delivery=delivery) if order else None
    settlement = selectors.paid_settlement(visit)
    all_settlements = list(
        selectors.settlement_queryset().filter(visit=visit).order_by("settled_at", "id")
    )
    expected_parts = None
    if order is not None:
        has_parts = any(ln.kind == "part" and not ln.customer_supplied for ln in order.lines.all())
        expected_parts = services.expected_old_parts(
            keep_old_parts=order.keep_old_parts, has_parts=has_parts
        )
    status = visit.status
    return {
        "visit": visit,
        "delivery": delivery,
        "order": order,
        "bill": bill,
        "settlement": settlement,
        "settlements": all_settlements,
        "state": selectors.delivery_state(visit, delivery, settlement),
        "pending_revision": selectors.pending_revision(visit),
        "ready_notice": selectors.ready_notice_state(visit),
        "declined": selectors.declined_work(visit),
        "expected_parts": [OldPartsHandling(v).label for v in OldPartsHandling.values]
        if expected_parts is None
        else [OldPartsHandling(v).label for v in OldPartsHandling.values if v in expected_parts],
        "before_qc": status in selectors.BEFORE_QC,
        "can_ready": status == VisitStatus.QC_PASSED,
        "can_check": status in (VisitStatus.QC_PASSED, VisitStatus.READY_FOR_PICKUP),
        "can_settle": status in (VisitStatus.READY_FOR_PICKUP, VisitStatus.SETTLED)
        and settlement is None,
        "is_manager": has_role(request.user, [Role.SERVICE_MANAGER]),
        "may_deliver": has_role(request.user, DELIVERERS),
        "may_cash": has_role(request.user, CASHIERS),
        "may_ready": has_role(request.user, READY_MARKERS),
        "may_see_money": has_role(request.user, MONEY_VIEWERS),
        "ready_form": forms.get("ready_form") or ReadyForm(),
        "check_form": forms.get("check_form")
        or FinalCheckForm(order=order, initial=_final_check_initial(visit, delivery, order)),
        "approval_form": forms.get("approval_form")
        or OverrunApprovalForm(initial={"amount": bill.customer_total if bill else None}),
        "settle_form": forms.get("settle_form")
        or SettlementForm(initial=_settle_initial(order, bill)),
        "void_form": forms.get("void_form") or VoidForm(),
        "refund_form": forms.get("refund_form") or RefundForm(),
        "tax_invoice_form": forms.get("tax_invoice_form") or TaxInvoiceIssueForm(),
        "open_section": forms.get("open_section", ""),
    }


# A refused form whose section the page no longer offers (settled, checked meanwhile).
_SECTION_SHOWN = {"ready_form": "can_ready", "check_form": "can_check", "settle_form": "can_settle"}


def _settle_initial(order, bill) -> dict:
    """The amount due under the payment method agreed on the order, for the cashier to confirm."""
    if order is None or bill is None or not order.payment_method or not bill.to_pay():
        return {}
    return {f"{order.payment_method}_amount": bill.to_pay()}


def _render_page(request, visit_pk: int, *, status: int = 200, **forms):
    visit = _visit_or_404(visit_pk)
    context = _page_context(request, visit, **forms)
    context["page_error"] = refusal_text(
        *(forms.get(name) for name, shown in _SECTION_SHOWN.items() if not context[shown])
    )
    return render(request, "delivery/visit.html", context, status=status)


def _visit_page_submit(request, visit_pk, form, service, *, message, form_name, section):
    """A form of the visit page: done, back to the page; refused, the page with it open."""
    return submit(
        request,
        form,
        service,
        message=message,
        done=lambda _result: redirect("delivery:visit", pk=visit_pk),
        show_form=lambda form: _render_page(
            request, visit_pk, status=400, open_section=section, **{form_name: form}
        ),
    )


# ---------------------------------------------------------------------------- lists


@role_required(*DELIVERERS)
def board(request):
    table = cached_fragment(
        "delivery/_board_table.html", {"visits": selectors.delivery_board_rows()}
    )
    return render(request, "delivery/board.html", {"table": table})


def _this_month() -> dict:
    today = timezone.localdate()
    return {"start": today.replace(day=1), "end": today}


# The cashier's export form, rendered once per process, language and day: it shows no data,
# only what this process's code and templates make of the dates (a deploy starts new
# processes). Not kept with DEBUG on, when templates change under a running server.
_EXPORT_FORMS: dict[tuple, str] = {}


def _export_form_html() -> SafeString:
    dates = _this_month()
    key = (translation.get_language(), get_script_prefix(), dates["start"], dates["end"])
    html = _EXPORT_FORMS.get(key)
    if html is None:
        html = render_to_string(
            "delivery/_tax_invoice_export.html",
            {"export_form": TaxInvoiceExportForm(initial=dates)},
        )
        if not settings.DEBUG:
            if len(_EXPORT_FORMS) >= 16:  # yesterday's
                _EXPORT_FORMS.clear()
            _EXPORT_FORMS[key] = html
    return mark_safe(html)  # noqa: S308 - the template's own escaped output


@role_required(*CASHIERS)
def cashier(request):
    return render(
        request,
        "delivery/cashier.html",
        {
            "lists": cached_fragment(
                "delivery/_cashier_lists.html",
                {
                    "visits": selectors.cashier_queue_rows(request.user),
                    "awaiting_invoice": selectors.awaiting_tax_invoice_rows(),
                },
            ),
            "export_form": _export_form_html(),
            "settled_today": cached_fragment(
                "delivery/_settled_today.html", {"settlements": selectors.settled_rows()}
            ),
        },
    )


@role_required(*CASHIERS)
def tax_invoice_export(request):
    """The bills waiting for an official invoice in a period (this month unless asked), as a
    sheet for the tax software."""
    form = TaxInvoiceExportForm(request.GET or _this_month())
    if not form.is_valid():
        messages.error(request, refusal_text(form))
        return redirect("delivery:cashier")
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    content = exports.tax_invoice_workbook(
        selectors.settlements_awaiting_tax_invoice(start=start, end=end)
    )
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="invoices-{start}-{end}.xlsx"'
    return response


# ---------------------------------------------------------------------------- the visit page


@role_required(*VIEWERS)
def visit_page(request, pk: int):
    return _render_page(request, pk)


@role_required(*READY_MARKERS)
@require_http_methods(["POST"])
def mark_ready(request, pk: int):
    visit = _visit_or_404(pk)
    return _visit_page_submit(
        request,
        pk,
        ReadyForm(request.POST),
        lambda data: services.visit_mark_ready(
            visit=visit, actor=request.user, wash_done=data["wash_done"]
        ),
        message=_("The car is ready; the customer will be told."),
        form_name="ready_form",
        section="ready",
    )


@role_required(*DELIVERERS)
@require_http_methods(["POST"])
def final_check(request, pk: int):
    visit = _visit_or_404(pk)
    return _visit_page_submit(
        request,
        pk,
        FinalCheckForm(request.POST, order=selectors.order_in_force(visit)),
        lambda data: services.final_check_record(
            visit=visit,
            actor=request.user,
            checked_line_ids=data["lines"],
            odometer_km=data["odometer_km"],
            exterior_matches=data["exterior_matches"],
            no_tools_left=data["no_tools_left"],
            settings_restored=data["settings_restored"],
            belongings_present=data["belongings_present"],
            old_parts_handling=data["old_parts_handling"],
            notes=data["notes"],
        ),
        message=_("Final check recorded."),
        form_name="check_form",
        section="check",
    )


@role_required(*DELIVERERS)
@require_http_methods(["POST"])
def approve_overrun(request, pk: int):
    visit = _visit_or_404(pk)
    return _visit_page_submit(
        request,
        pk,
        OverrunApprovalForm(request.POST),
        lambda data: services.overrun_approve(visit=visit, actor=request.user, **data),
        message=_("The customer's approval is recorded."),
        form_name="approval_form",
        section="settle",
    )


def _settled_message(settlement: Settlement) -> str:
    text = _("Settled: invoice %(invoice)s.") % {"invoice": settlement.invoice_number}
    if settlement.change_given:
        text += " " + _("Change to give: ¥%(change)s.") % {"change": settlement.change_given}
    return text


@role_required(*CASHIERS)
@require_http_methods(["POST"])
def settle(request, pk: int):
    visit = _visit_or_404(pk)
    form = SettlementForm(request.POST)
    return _visit_page_submit(
        request,
        pk,
        form,
        lambda data: services.settlement_create(
            visit=visit,
            actor=request.user,
            payments=form.payments(),
            adjustment_amount=data["adjustment_amount"] or "0",
            adjustment_reason=data["adjustment_reason"],
            cash_tendered=data["cash_tendered"],
            **form.tax_invoice_request(),
        ),
        message=_settled_message,
        form_name="settle_form",
        section="settle",
    )


@role_required(*CASHIERS)
@require_http_methods(["POST"])
def void(request, pk: int):
    settlement = _settlement_or_404(pk)
    return _visit_page_submit(
        request,
        settlement.visit_id,
        VoidForm(request.POST),
        lambda data: services.settlement_void(
            settlement=settlement, actor=request.user, reason=data["reason"]
        ),
        message=_("Invoice %(invoice)s voided.") % {"invoice": settlement.invoice_number},
        form_name="void_form",
        section="money",
    )


@role_required(*CASHIERS)
@require_http_methods(["POST"])
def refund(request, pk: int):
    settlement = _settlement_or_404(pk)
    return _visit_page_submit(
        request,
        settlement.visit_id,
        RefundForm(request.POST),
        lambda data: services.settlement_refund(settlement=settlement, actor=request.user, **data),
        message=_("Refund recorded."),
        form_name="refund_form",
        section="money",
    )


@role_required(*CASHIERS)
@require_http_methods(["POST"])
def tax_invoice_issue(request, pk: int):
    settlement = _settlement_or_404(pk)
    return _visit_page_submit(
        request,
        settlement.visit_id,
        TaxInvoiceIssueForm(request.POST),
        lambda data: services.tax_invoice_issue(
            settlement=settlement, actor=request.user, number=data["number"]
        ),
        message=lambda result: (
            _("Official invoice %(number)s recorded.") % {"number": result.tax_invoice_number}
        ),
        form_name="tax_invoice_form",
        section="settle",
    )


@role_required(*CASHIERS)
@require_http_methods(["POST"])
def issue_gate_pass(request, pk: int):
    visit = _visit_or_404(pk)
    try:
        delivery = services.gate_pass_issue(visit=visit, actor=request.user)
    except ValidationError as error:
        messages.error(request, error.messages[0])
        return _render_page(request, pk, status=400)
    messages.success(
        request, _("Gate pass %(number)s issued.") % {"number": delivery.gate_pass_number}
    )
    return redirect("delivery:visit", pk=pk)


# ---------------------------------------------------------------------------- hand-back (tablet)


@role_required(*DELIVERERS)
@require_http_methods(["GET", "POST"])
def hand_back(request, pk: int):
    visit = _visit_or_404(pk)
    return submit(
        request,
        HandBackForm(
            request.POST or None, visit=visit, initial={"signer_name": visit.customer.name}
        ),
        lambda data: services.visit_hand_back(visit=visit, actor=request.user, **data),
        message=_("%(number)s delivered. Walk the customer out.") % {"number": visit.number},
        done=lambda _delivery: tablet.lock(request, reverse("delivery:visit", args=[pk])),
        show_form=lambda form: render(
            request,
            "delivery/hand_back.html",
            {
                "visit": visit,
                "delivery": _delivery_of(visit),
                "settlement": selectors.paid_settlement(visit),
                "form": form,
            },
            status=400 if form.errors else 200,
        ),
    )


@role_required(*MONEY_VIEWERS)
def handback_signature(request, pk: int):
    delivery = Delivery.objects.filter(visit_id=pk).first()
    if delivery is None:
        raise Http404
    return stored_file_response(delivery.handback_signature, content_type="image/png")


# ---------------------------------------------------------------------------- PDFs


def _pdf(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


@role_required(*MONEY_VIEWERS)
def sheet_pdf(request, pk: int):
    visit = _visit_or_404(pk)
    if selectors.order_in_force(visit) is None:
        raise Http404
    return _pdf(
        pdf.delivery_sheet_pdf(visit, viewer=request.user), f"delivery-sheet-{visit.number}.pdf"
    )


@role_required(*MONEY_VIEWERS)
def receipt_pdf(request, pk: int):
    settlement = _settlement_or_404(pk)
    return _pdf(
        pdf.receipt_pdf(settlement, viewer=request.user), f"receipt-{settlement.invoice_number}.pdf"
    )


@role_required(*MONEY_VIEWERS)
def gate_pass_pdf(request, pk: int):
    visit = _visit_or_404(pk)
    delivery = _delivery_of(visit)
    settlement = selectors.paid_settlement(visit)
    if delivery is None or not delivery.gate_pass_issued or settlement is None:
        messages.error(request, _("No gate pass has been issued for this car."))
        return redirect(reverse("delivery:visit", args=[pk]))
    return _pdf(pdf.gate_pass_pdf(visit, delivery, settlement), f"gate-pass-{visit.number}.pdf")
