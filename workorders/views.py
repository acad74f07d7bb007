"""Pages of step 3. Thin: forms in, services called, errors shown next to the field."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from appointments.models import Campaign
from dealership import tablet
from dealership.roles import has_role, role_required
from dealership.rules import rule
from dealership.storage import stored_file_response
from dealership.warranty import visit_warranty
from dealership.web import refusal_text, submit
from reception.access import EDITORS, VIEWERS
from reception.models import Visit
from reception.states import VisitStatus

from . import repair_warranty, selectors, services
from .forms import LineAddForm, LineUpdateForm, ManualLineForm, ReviseForm, SignForm, TermsForm
from .models import JobType, OrderStatus, WorkOrder, WorkOrderLine
from .pdf import work_order_pdf
from .promise import promise_suggestion_for


def _order_or_404(pk: int) -> WorkOrder:
    try:
        return selectors.order_detail(pk)
    except WorkOrder.DoesNotExist as exc:
        raise Http404 from exc


def _order_context(order: WorkOrder, **extra) -> dict:
    promise = promise_suggestion_for(order) if order.is_draft else None
    suggestion = promise.at if promise else None
    terms_initial = {}
    if order.is_draft and order.promised_at is None:
        terms_initial["promised_at"] = suggestion
    return {
        "order": order,
        "visit": order.visit,
        "lines": list(order.lines.all()),
        "groups": selectors.grouped_lines(order),
        "payers": selectors.totals_by_payer(order),
        "revisions": selectors.revisions(order.visit),
        "suggestion": suggestion,
        "promise": promise,
        "terms_form": TermsForm(instance=order, initial=terms_initial),
        "manual_form": ManualLineForm(initial={"job_type": JobType.REPAIR}),
        "revise_form": ReviseForm(),
        "job_types": JobType.choices,
        "needs_disclaimer": any(line.needs_disclaimer for line in order.lines.all()),
        "tolerance": rule("workorders.estimate_tolerance_percent"),
        "warranty": visit_warranty(order.visit),
        **_repair_warranty_context(order),
        **extra,
    }


def _repair_warranty_context(order: WorkOrder) -> dict:
    """The store's warranty terms of the order, and the comeback within an earlier visit's."""
    visit = order.visit
    record = repair_warranty.warranty_comeback_of(visit)
    hint = None
    if record is None and visit.status == VisitStatus.CHECKED_IN:
        hint = repair_warranty.warranty_in_force(
            visit.vehicle, odometer_km=visit.odometer_km, exclude_visit=visit
        )
    return {
        "repair_warranty_terms": repair_warranty.order_terms(order),
        "warranty_comeback": record,
        "warranty_hint": hint,
    }


def _render_order(request, order_pk: int, *, status: int = 200, **extra):
    order = _order_or_404(order_pk)
    if not order.is_draft and not extra.get("page_error"):
        # The draft's forms are not on a signed order's page: their refusal goes on top.
        extra["page_error"] = refusal_text(extra.get("terms_form"), extra.get("manual_form"))
    extra.setdefault("may_confirm_warranty_comeback", has_role(request.user, EDITORS))
    return render(request, "workorders/order.html", _order_context(order, **extra), status=status)


def _without_version(data: dict) -> dict:
    """The form's fields but the version, which the service takes as `expected_version`."""
    return {name: value for name, value in data.items() if name != "version"}


def _error_message(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


@role_required(*VIEWERS)
def for_visit(request, visit_pk: int):
    """The visit's current order; a page to start it when there is none yet."""
    visit = get_object_or_404(Visit.objects.select_related("vehicle", "customer"), pk=visit_pk)
    order = selectors.current_order(visit)
    if order is not None:
        return redirect(order)
    return render(request, "workorders/start.html", {"visit": visit})


@role_required(*EDITORS)
@require_http_methods(["POST"])
def start(request, visit_pk: int):
    visit = get_object_or_404(Visit, pk=visit_pk)
    try:
        order = services.work_order_start(visit=visit, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_message(error))
        return redirect(visit)
    return redirect(order)


@role_required(*VIEWERS)
def order_detail(request, pk: int):
    return _render_order(request, pk)


@role_required(*EDITORS)
def catalogue(request, pk: int):
    order = get_object_or_404(WorkOrder, pk=pk)
    results = selectors.catalogue_search(request.GET.get("q", ""))
    return render(request, "workorders/_catalogue.html", {"order": order, "results": results})


@role_required(*EDITORS)
@require_http_methods(["POST"])
def line_add(request, pk: int):
    order = get_object_or_404(WorkOrder, pk=pk)
    form = LineAddForm(request.POST)
    if form.is_manual:
        form = ManualLineForm(request.POST)

    def show_form(form):
        if form.is_manual:
            return _render_order(request, pk, status=400, manual_form=form, open_manual=True)
        return _render_order(request, pk, status=400, line_errors=form.errors)

    return submit(
        request,
        form,
        lambda data: services.work_order_line_add(
            order=order,
            actor=request.user,
            expected_version=data.get("version"),
            **form.service_data(),
        ),
        done=lambda _line: redirect(f"{order.get_absolute_url()}#lines"),
        show_form=show_form,
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def line_update(request, pk: int):
    line = get_object_or_404(WorkOrderLine.objects.select_related("order"), pk=pk)
    return submit(
        request,
        LineUpdateForm(request.POST),
        lambda data: services.work_order_line_update(
            line=line,
            actor=request.user,
            expected_version=data.get("version"),
            **_without_version(data),
        ),
        done=lambda _line: redirect(f"{line.order.get_absolute_url()}#lines"),
        show_form=lambda form: _render_order(
            request, line.order_id, status=400, line_errors=form.errors, error_line=line.pk
        ),
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def line_remove(request, pk: int):
    line = get_object_or_404(WorkOrderLine.objects.select_related("order"), pk=pk)
    try:
        services.work_order_line_remove(
            line=line, actor=request.user, expected_version=request.POST.get("version") or None
        )
    except ValidationError as error:
        return _render_order(request, line.order_id, status=400, page_error=_error_message(error))
    return redirect(f"{line.order.get_absolute_url()}#lines")


@role_required(*EDITORS)
@require_http_methods(["POST"])
def terms(request, pk: int):
    order = get_object_or_404(WorkOrder, pk=pk)
    return submit(
        request,
        TermsForm(request.POST, instance=order),
        lambda data: services.work_order_update(
            order=order,
            actor=request.user,
            expected_version=data.get("version"),
            **_without_version(data),
        ),
        message=_("Order saved."),
        done=lambda _order: redirect(order),
        show_form=lambda form: _render_order(request, pk, status=400, terms_form=form),
    )


@role_required(*EDITORS)
@require_http_methods(["GET", "POST"])
def sign(request, pk: int):
    """The tablet page the customer signs: the order, the five confirmations, the pad."""
    order = _order_or_404(pk)
    if order.status != OrderStatus.DRAFT:
        messages.info(request, _("This order is signed already."))
        return redirect(order)
    return submit(
        request,
        SignForm(
            request.POST or None,
            initial={"signer_name": order.visit.customer.name, "version": order.version},
        ),
        lambda data: services.work_order_sign(
            order=order,
            actor=request.user,
            expected_version=data.get("version"),
            **_without_version(data),
        ),
        message=_("The customer signed the work order."),
        done=lambda _order: tablet.lock(request, order.get_absolute_url()),
        show_form=lambda form: render(
            request,
            "workorders/sign.html",
            _order_context(order, form=form),
            status=400 if form.errors else 200,
        ),
    )


@role_required(*EDITORS)
@require_http_methods(["POST"])
def revise(request, pk: int):
    order = get_object_or_404(WorkOrder, pk=pk)
    form = ReviseForm(request.POST)
    if form.is_valid():
        try:
            revision = services.work_order_revise(
                order=order, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except ValidationError as error:
            return _render_order(request, pk, status=400, page_error=_error_message(error))
        messages.success(request, _("Revision %(n)s started.") % {"n": revision.revision})
        return redirect(revision)
    return _render_order(request, pk, status=400, revise_form=form)


@role_required(*VIEWERS)
def pdf(request, pk: int):
    order = _order_or_404(pk)
    progress_url = ""
    if order.visit.progress_token:
        progress_url = request.build_absolute_uri(
            reverse("reception:progress", args=[order.visit.progress_token])
        )
    response = HttpResponse(
        work_order_pdf(order, progress_url=progress_url, viewer=request.user),
        content_type="application/pdf",
    )
    disposition = "attachment" if request.GET.get("download") else "inline"
    response["Content-Disposition"] = f'{disposition}; filename="{order.number}.pdf"'
    return response


@role_required(*VIEWERS)
def signature(request, pk: int):
    order = get_object_or_404(WorkOrder, pk=pk)
    return stored_file_response(order.signature, content_type="image/png")


@role_required(*EDITORS)
@require_http_methods(["POST"])
def warranty_comeback(request, visit_pk: int):
    """The advisor confirms a comeback within the store's repair warranty: the store pays."""
    visit = get_object_or_404(Visit, pk=visit_pk)
    try:
        record = repair_warranty.warranty_comeback_confirm(visit=visit, actor=request.user)
    except ValidationError as error:
        order = selectors.current_order(visit)
        if order is None:
            messages.error(request, _error_message(error))
            return redirect("workorders:for_visit", visit_pk=visit_pk)
        return _render_order(request, order.pk, status=400, page_error=_error_message(error))
    messages.success(
        request,
        _("Comeback within our repair warranty of %(number)s: its work is billed to the store.")
        % {"number": record.earlier_visit.number},
    )
    return redirect("workorders:for_visit", visit_pk=visit_pk)


@role_required(*EDITORS)
@require_http_methods(["POST"])
def campaign_add(request, visit_pk: int, campaign_pk: int):
    """One tap at the visit: the open campaign's work onto the draft order."""
    visit = get_object_or_404(Visit, pk=visit_pk)
    campaign = get_object_or_404(
        Campaign.objects.select_related("labour_operation"), pk=campaign_pk
    )
    try:
        line = services.work_order_campaign_add(visit=visit, campaign=campaign, actor=request.user)
    except ValidationError as error:
        messages.error(request, _error_message(error))
        return redirect(visit)
    messages.success(
        request, _("%(campaign)s added to the work order.") % {"campaign": campaign.code}
    )
    return redirect(line.order)
