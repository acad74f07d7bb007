"""Step 1 for the staff: the board, booking at the phone, one appointment, the calls."""

from collections import defaultdict
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dealership import selectors as store_selectors
from dealership.daterange import local_text, refuses_bad_query
from dealership.due import KINDS
from dealership.fragments import cached_fragment, templates_digest
from dealership.models import DueTask, Vehicle
from dealership.roles import Role, has_role, role_required
from dealership.services import customer_with_vehicle_register
from dealership.urltools import safe_next, url_for_pk
from dealership.visibility import shown
from dealership.web import apply_errors, submit

from .. import duties, selectors, services
from ..access import BOARD_ROLES, BOOKING_ROLES, CALL_ROLES
from ..capacity import hours_needed
from ..forms import (
    BookingForm,
    CallOutcomeForm,
    CancelForm,
    DepositForm,
    DepositRefundForm,
    QuickCustomerForm,
    RescheduleForm,
)
from ..models import Appointment, Channel, Deposit, Status
from ..pdf import deposit_receipt_pdf
from .common import base_url, parse_day, preview_context

# --- board ------------------------------------------------------------------------------


@role_required(*BOARD_ROLES)
@refuses_bad_query
def board(request):
    day = parse_day(request.GET.get("day"))
    view = "week" if request.GET.get("view") == "week" else "day"
    advisor_id = request.GET.get("advisor", "")
    advisors = selectors.board_advisors()
    advisor = next((a for a in advisors if str(a.pk) == advisor_id), None)
    if view == "week":
        first = day - timedelta(days=day.weekday())
        days = selectors.board(first, 7, advisor=advisor)
        step = timedelta(days=7)
    else:
        first = day
        days = selectors.board(day, 1, advisor=advisor)
        step = timedelta(days=1)
    today = timezone.localdate()
    return render(
        request,
        "appointments/board.html",
        {
            "days": days,
            "day": day,
            "view": view,
            "advisors": advisors,
            "advisor": advisor,
            "previous": first - step,
            "next": first + step,
            "today": today,
            "board_key": selectors.board_key(days, today=today, advisor=advisor),
            "templates_digest": templates_digest(),
            "can_manage": has_role(request.user, [Role.SERVICE_MANAGER]),
            "statuses": Status.choices,
        },
    )


# --- booking by the advisor -------------------------------------------------------------


@role_required(*BOOKING_ROLES)
@require_http_methods(["GET", "POST"])
@refuses_bad_query
def new(request):
    vehicle_id = request.POST.get("vehicle") or request.GET.get("vehicle")
    if not (vehicle_id and str(vehicle_id).isdigit()):
        result = store_selectors.search(request.GET.get("q", ""))
        template = "appointments/_find_results.html" if request.htmx else "appointments/find.html"
        return render(request, template, {"result": result, "quick_form": QuickCustomerForm()})
    vehicle = get_object_or_404(Vehicle.objects.select_related("owner"), pk=vehicle_id)
    day = parse_day(request.GET.get("day"))
    initial = {"vehicle": vehicle.pk, "day": day, "channel": Channel.PHONE}
    if has_role(request.user, [Role.ADVISOR]):
        initial["advisor"] = request.user.pk
    form = BookingForm(request.POST or None, initial=initial)
    status = 200
    alternatives = []
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.appointment_book(
                    customer=vehicle.owner,
                    vehicle=vehicle,
                    start=data["start"],
                    operations=list(data["operations"]),
                    plan=data["plan"],
                    parts=[(part, 1) for part in data["parts"]],
                    concern_text=data["concern_text"],
                    advisor=data["advisor"],
                    waiting=data["waiting"],
                    channel=data["channel"],
                    parts_expected_on=data["parts_expected_on"],
                    actor=request.user,
                    base_url=base_url(request),
                )
            except services.SlotUnavailable as error:
                alternatives = error.alternatives
                apply_errors(form, error)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("Appointment saved."))
                return redirect(appointment)
        status = 400
    params = request.POST if request.method == "POST" else request.GET
    return render(
        request,
        "appointments/new.html",
        {
            "form": form,
            "vehicle": vehicle,
            "campaigns": selectors.open_campaigns_for(vehicle),
            "history": selectors.vehicle_appointments(vehicle, limit=5),
            "alternatives": alternatives,
            **preview_context(params, day=parse_day(params.get("day"), day)),
        },
        status=status,
    )


@role_required(*BOOKING_ROLES)
@require_POST
def quick_customer(request):
    """New customer (or a known mobile) and a new vehicle, then straight to booking."""
    return submit(
        request,
        QuickCustomerForm(request.POST),
        lambda data: customer_with_vehicle_register(actor=request.user, **data),
        done=lambda vehicle: redirect(f"{reverse('appointments:new')}?vehicle={vehicle.pk}"),
        show_form=lambda form: render(
            request,
            "appointments/find.html",
            {"result": store_selectors.search(""), "quick_form": form},
            status=400,
        ),
    )


@role_required(*BOOKING_ROLES)
@refuses_bad_query
def preview(request):
    """htmx: the estimate and the slot picker for the services chosen so far."""
    exclude = request.GET.get("exclude", "")
    if exclude.isdigit():
        appointment = get_object_or_404(Appointment, pk=exclude)
        params = request.GET.copy()
        params.setlist(
            "operations", [str(pk) for pk in appointment.lines.values_list("operation", flat=True)]
        )
        context = preview_context(
            params, day=parse_day(request.GET.get("day")), exclude=appointment.pk
        )
        return render(request, "appointments/_slot_picker.html", context)
    context = preview_context(request.GET, day=parse_day(request.GET.get("day")))
    return render(request, "appointments/_preview.html", context)


def _outcome_actions(task, *, new_url: str, detail_url) -> list[tuple[str, str, str]]:
    """(value, label, url): a url when the outcome is recorded by choosing a new time."""
    kind = KINDS.get(task.kind)
    if kind is None:
        return []
    needs_time = duties.OUTCOMES_NEEDING_A_TIME.get(task.kind, set())
    actions = []
    for value, label in kind.outcomes:
        url = ""
        if value in needs_time:
            if task.kind == duties.INVITATION_CALL:
                url = f"{new_url}?vehicle={task.subject_id}"
            else:
                url = detail_url(task.subject_id) + "#reschedule"
        actions.append((value, label, url))
    return actions


def _with_outcomes(calls: list[DueTask]) -> list[DueTask]:
    """Each call's label, outcome buttons and the address they post to (reversed once for
    the list, not once a button)."""
    new_url = reverse("appointments:new")
    detail_url = url_for_pk("appointments:detail")
    outcome_url = url_for_pk("appointments:call_outcome")
    for call in calls:
        call.kind_label = KINDS[call.kind].label if call.kind in KINDS else call.kind
        call.actions = _outcome_actions(call, new_url=new_url, detail_url=detail_url)
        call.outcome_url = outcome_url(call.pk)
    return calls


# --- one appointment --------------------------------------------------------------------


def _detail_context(appointment: Appointment, **forms) -> dict:
    calls = _with_outcomes(selectors.open_calls_for(appointment))
    operations = [line.operation for line in appointment.lines.all() if line.operation_id]
    needs = hours_needed(operations)
    day = timezone.localtime(appointment.start).date()
    exclude = appointment.pk if appointment.is_open else None
    tasks = selectors.duties_for(appointment)
    for task in tasks:
        task.kind_label = KINDS[task.kind].label if task.kind in KINDS else task.kind
    return {
        "appointment": appointment,
        "campaigns": selectors.open_campaigns_for(appointment.vehicle),
        "calls": calls,
        "duties": tasks,
        "history": store_selectors.history_entries(appointment),
        "check_in_url": selectors.check_in_url(appointment)
        if appointment.is_open and day == timezone.localdate()
        else "",
        "reschedule_form": forms.get("reschedule_form") or RescheduleForm(initial={"day": day}),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "deposit_form": forms.get("deposit_form")
        or DepositForm(initial={"amount": appointment.deposit_due}),
        "deposits": selectors.deposits_of(appointment),
        "refund_form": forms.get("refund_form") or DepositRefundForm(),
        "picker": selectors.slot_picker(
            day=max(day, timezone.localdate()),
            needs=needs,
            earliest=timezone.now(),
            exclude_appointment=exclude,
        ),
        "selected": "",
        "alternatives": forms.get("alternatives", []),
    }


def _load(pk: int) -> Appointment:
    try:
        return selectors.appointment_detail(pk)
    except Appointment.DoesNotExist as exc:
        raise Http404 from exc


@role_required(*BOARD_ROLES)
def detail(request, pk: int):
    appointment = _load(pk)
    return render(request, "appointments/detail.html", _detail_context(appointment))


def _act(request, pk: int, action, *, form=None, form_name: str = "", success: str):
    """Run one service on the appointment; on refusal show the page with the error."""
    appointment = _load(pk)
    if form is not None and not form.is_valid():
        return render(
            request,
            "appointments/detail.html",
            _detail_context(appointment, **{form_name: form}),
            status=400,
        )
    try:
        result = action(appointment, form.cleaned_data if form is not None else {})
    except ValidationError as error:
        alternatives = getattr(error, "alternatives", [])
        if form is None:
            for message in error.messages:
                messages.error(request, message)
            return redirect(appointment)
        apply_errors(form, error)
        return render(
            request,
            "appointments/detail.html",
            _detail_context(appointment, alternatives=alternatives, **{form_name: form}),
            status=400,
        )
    messages.success(request, success)
    return redirect(result if isinstance(result, Appointment) else appointment)


@role_required(*BOOKING_ROLES)
@require_POST
def confirm(request, pk: int):
    return _act(
        request,
        pk,
        lambda a, _d: services.appointment_confirm(appointment=a, actor=request.user),
        success=_("Appointment confirmed."),
    )


@role_required(*BOOKING_ROLES)
@require_POST
def cancel(request, pk: int):
    return _act(
        request,
        pk,
        lambda a, d: services.appointment_cancel(
            appointment=a, actor=request.user, reason=d["reason"]
        ),
        form=CancelForm(request.POST),
        form_name="cancel_form",
        success=_("Appointment cancelled."),
    )


@role_required(*BOOKING_ROLES)
@require_POST
def reschedule(request, pk: int):
    def move(appointment, data):
        if appointment.status in (Status.NO_SHOW, Status.CANCELLED):
            return services.appointment_rebook(
                appointment=appointment,
                start=data["start"],
                actor=request.user,
                base_url=base_url(request),
            )
        return services.appointment_reschedule(
            appointment=appointment,
            start=data["start"],
            actor=request.user,
            base_url=base_url(request),
        )

    return _act(
        request,
        pk,
        move,
        form=RescheduleForm(request.POST),
        form_name="reschedule_form",
        success=_("New time saved; reminders moved with it."),
    )


@role_required(*BOOKING_ROLES)
@require_POST
def deposit(request, pk: int):
    return _act(
        request,
        pk,
        lambda a, d: services.appointment_record_deposit(
            appointment=a, amount=d["amount"], method=d["method"], actor=request.user
        ),
        form=DepositForm(request.POST),
        form_name="deposit_form",
        success=_("Deposit recorded."),
    )


def _deposit_or_404(pk: int) -> Deposit:
    return get_object_or_404(Deposit.objects.select_related("appointment", "taken_by"), pk=pk)


@role_required(*BOOKING_ROLES)
def deposit_receipt(request, pk: int):
    deposit = _deposit_or_404(pk)
    response = HttpResponse(
        deposit_receipt_pdf(deposit, viewer=request.user), content_type="application/pdf"
    )
    response["Content-Disposition"] = f'inline; filename="deposit-{deposit.receipt_number}.pdf"'
    return response


@role_required(Role.SERVICE_MANAGER)
@require_POST
def deposit_refund(request, pk: int):
    deposit = _deposit_or_404(pk)
    return _act(
        request,
        deposit.appointment_id,
        lambda _a, d: services.deposit_refund(
            deposit=deposit,
            actor=request.user,
            amount=d["amount"],
            method=d["method"],
            reason=d["reason"],
        ),
        form=DepositRefundForm(request.POST),
        form_name="refund_form",
        success=_("Deposit refunded."),
    )


@role_required(*BOOKING_ROLES)
@require_POST
def parts_received(request, pk: int):
    return _act(
        request,
        pk,
        lambda a, _d: services.appointment_parts_received(appointment=a, actor=request.user),
        success=_("Parts marked as received."),
    )


# --- calls ------------------------------------------------------------------------------


def _call_row(task: DueTask, *, viewer, now, urls: dict, status_labels: dict) -> dict:
    """What one row of the calls list prints, as plain values (the list has hundreds)."""
    customer, vehicle, appointment = task.customer, task.vehicle, task.appointment
    plate = (vehicle.plate or "") if vehicle else ""
    row = {
        "pk": task.pk,
        "overdue": task.due_at < now,
        "due_text": local_text(task.due_at),
        "customer_name": customer.name if customer else None,
        "customer_url": urls["customer"](task.customer_id) if task.customer_id else "",
        "phone": shown(viewer, "mobile", customer.mobile) if customer else "",
        "has_vehicle": vehicle is not None,
        "plate": plate,
        "nev": len(plate) == 8,
        "model": vehicle.model if vehicle else "",
        "payload": task.payload,
        "actions": [(value, str(label), url) for value, label, url in task.actions],
        "outcome_url": task.outcome_url,
        "appointment": None,
    }
    if appointment:
        row["appointment"] = {
            "url": urls["appointment"](appointment.pk),
            "text": local_text(appointment.start),
            "status": appointment.status,
            "status_label": status_labels.get(appointment.status, ""),
        }
    return row


@role_required(*CALL_ROLES)
def calls(request):
    mine = request.GET.get("mine") == "1"
    tasks = _with_outcomes(selectors.calls_pending(assigned_to=request.user if mine else None))
    status_labels = {value: str(label) for value, label in Status.choices}
    urls = {
        "customer": url_for_pk("customer_detail"),
        "appointment": url_for_pk("appointments:detail"),
    }
    now = timezone.now()
    rows_by_kind = defaultdict(list)
    for task in tasks:
        rows_by_kind[task.kind].append(
            _call_row(task, viewer=request.user, now=now, urls=urls, status_labels=status_labels)
        )
    groups = [
        (kind, str(KINDS[kind].label), rows_by_kind[kind])
        for kind in duties.CALL_KINDS
        if kind in KINDS
    ]
    # The rows' HTML is kept under a digest of what they show (dealership.fragments).
    sections = cached_fragment(
        "appointments/_call_groups.html",
        {"groups": groups},
        spliced={"csrf_token": get_token(request)},
    )
    return render(request, "appointments/calls.html", {"sections": sections, "mine": mine})


@role_required(*CALL_ROLES)
@require_POST
def call_outcome(request, task_pk: int):
    task = get_object_or_404(DueTask, pk=task_pk, kind__in=duties.CALL_KINDS)
    form = CallOutcomeForm(request.POST)
    if form.is_valid():
        try:
            services.call_record(
                task=task,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                actor=request.user,
            )
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Call recorded."))
    return redirect(safe_next(request, reverse("appointments:calls")))
