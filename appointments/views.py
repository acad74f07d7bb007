"""Pages of step 1. Thin: forms in, services out, selectors for reads."""

import hashlib
from datetime import date, timedelta

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from dealership import selectors as store_selectors
from dealership import services as store_services
from dealership.daterange import day_in_range, refuses_bad_query
from dealership.due import KINDS
from dealership.links import LinkInvalid, customer_link_page, customer_link_resolve
from dealership.models import (
    Customer,
    DueTask,
    LabourOperation,
    MaintenancePlan,
    Part,
    User,
    Vehicle,
)
from dealership.roles import Role, has_role, public_view, role_required
from dealership.rules import rule
from dealership.security import client_ip
from dealership.urltools import safe_next
from dealership.validators import normalize_phone, normalize_plate

from . import duties, selectors, services
from .capacity import hours_needed
from .forms import (
    BookingForm,
    CallOutcomeForm,
    CampaignForm,
    CancelForm,
    DepositForm,
    DepositRefundForm,
    HolidayForm,
    OpeningHoursForm,
    QuickCustomerForm,
    RescheduleForm,
    SelfServiceBookingForm,
    SelfServiceIdentifyForm,
)
from .models import (
    Appointment,
    Campaign,
    Channel,
    Deposit,
    Holiday,
    OpeningHours,
    Status,
    Weekday,
)
from .pdf import deposit_receipt_pdf

BOARD_ROLES = (
    Role.ADVISOR,
    Role.SERVICE_MANAGER,
    Role.WORKSHOP_CONTROLLER,
    Role.CUSTOMER_CARE,
)
BOOKING_ROLES = (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE)
CALL_ROLES = (Role.ADVISOR, Role.SERVICE_MANAGER, Role.CUSTOMER_CARE)
SESSION_VEHICLE = "appointments.self_service_vehicle"


def _apply_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error)


def _parse_day(value, default: date | None = None) -> date:
    """The `day` asked for; junk falls back to the default, a far date is a DomainError
    (the page answers 400 with the message, see `refuses_bad_query`)."""
    try:
        day = date.fromisoformat(value or "")
    except ValueError:
        return default or timezone.localdate()
    return day_in_range(day, field="day")


def _ids(values) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


def _services_from(params):
    """Operations, plan and extra parts named in GET/POST params (unknown ids ignored)."""
    operations = list(LabourOperation.objects.filter(pk__in=_ids(params.getlist("operations"))))
    plan_id = params.get("plan", "")
    plan = (
        MaintenancePlan.objects.prefetch_related("operations").filter(pk=plan_id).first()
        if plan_id.isdigit()
        else None
    )
    parts = list(Part.objects.filter(pk__in=_ids(params.getlist("parts"))))
    return operations, plan, parts


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


# --- board ------------------------------------------------------------------------------


@role_required(*BOARD_ROLES)
@refuses_bad_query
def board(request):
    day = _parse_day(request.GET.get("day"))
    view = "week" if request.GET.get("view") == "week" else "day"
    advisor_id = request.GET.get("advisor", "")
    advisors = list(User.objects.filter(groups__name=Role.ADVISOR).order_by("username"))
    advisor = next((a for a in advisors if str(a.pk) == advisor_id), None)
    if view == "week":
        first = day - timedelta(days=day.weekday())
        days = selectors.board(first, 7, advisor=advisor)
        step = timedelta(days=7)
    else:
        first = day
        days = selectors.board(day, 1, advisor=advisor)
        step = timedelta(days=1)
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
            "today": timezone.localdate(),
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
    day = _parse_day(request.GET.get("day"))
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
                    base_url=_base_url(request),
                )
            except services.SlotUnavailable as error:
                alternatives = error.alternatives
                _apply_errors(form, error)
            except ValidationError as error:
                _apply_errors(form, error)
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
            **_preview_context(params, day=_parse_day(params.get("day"), day)),
        },
        status=status,
    )


@role_required(*BOOKING_ROLES)
@require_POST
def quick_customer(request):
    """New customer (or a known mobile) and a new vehicle, then straight to booking."""
    form = QuickCustomerForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                customer = Customer.objects.filter(mobile=data["mobile"]).order_by("id").first()
                if customer is None:
                    customer = store_services.customer_create(
                        actor=request.user, name=data["name"], mobile=data["mobile"]
                    )
                vehicle = store_services.vehicle_create(
                    actor=request.user,
                    owner=customer,
                    vin=data["vin"],
                    plate=data["plate"],
                    brand=data["brand"],
                    model=data["model"],
                )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            return redirect(f"{reverse('appointments:new')}?vehicle={vehicle.pk}")
    return render(
        request,
        "appointments/find.html",
        {"result": store_selectors.search(""), "quick_form": form},
        status=400,
    )


def _preview_context(params, *, day: date, exclude: int | None = None, earliest=None) -> dict:
    operations, plan, parts = _services_from(params)
    estimate = selectors.booking_estimate(operations=operations, plan=plan, parts=parts)
    picker = selectors.slot_picker(
        day=day,
        needs=estimate.needs,
        earliest=earliest or timezone.now(),
        exclude_appointment=exclude,
    )
    return {"estimate": estimate, "picker": picker, "selected": params.get("start", "")}


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
        context = _preview_context(
            params, day=_parse_day(request.GET.get("day")), exclude=appointment.pk
        )
        return render(request, "appointments/_slot_picker.html", context)
    context = _preview_context(request.GET, day=_parse_day(request.GET.get("day")))
    return render(request, "appointments/_preview.html", context)


def _outcome_actions(task) -> list[tuple[str, str, str]]:
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
                url = f"{reverse('appointments:new')}?vehicle={task.subject_id}"
            else:
                url = reverse("appointments:detail", args=[task.subject_id]) + "#reschedule"
        actions.append((value, label, url))
    return actions


# --- one appointment --------------------------------------------------------------------


def _detail_context(appointment: Appointment, **forms) -> dict:
    calls = selectors.open_calls_for(appointment)
    for call in calls:
        call.kind_label = KINDS[call.kind].label if call.kind in KINDS else call.kind
        call.actions = _outcome_actions(call)
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
        _apply_errors(form, error)
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
                base_url=_base_url(request),
            )
        return services.appointment_reschedule(
            appointment=appointment,
            start=data["start"],
            actor=request.user,
            base_url=_base_url(request),
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


@role_required(*CALL_ROLES)
def calls(request):
    mine = request.GET.get("mine") == "1"
    tasks = selectors.calls_pending(assigned_to=request.user if mine else None)
    for task in tasks:
        task.kind_label = KINDS[task.kind].label if task.kind in KINDS else task.kind
        task.actions = _outcome_actions(task)
    groups = [
        (kind, KINDS[kind].label, [t for t in tasks if t.kind == kind])
        for kind in duties.CALL_KINDS
        if kind in KINDS
    ]
    return render(
        request, "appointments/calls.html", {"groups": groups, "mine": mine, "now": timezone.now()}
    )


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


# --- store settings (service manager) ---------------------------------------------------


@role_required(Role.SERVICE_MANAGER)
@require_http_methods(["GET", "POST"])
def opening_hours(request):
    rows = {row.weekday: row for row in OpeningHours.objects.all()}
    forms = []
    for weekday, label in Weekday.choices:
        row = rows.get(weekday) or OpeningHours(
            weekday=weekday, opens="08:30", closes="17:30", closed=False
        )
        form = OpeningHoursForm(
            request.POST if request.method == "POST" else None,
            instance=row,
            prefix=f"d{weekday}",
        )
        form.weekday_label = label
        form.weekday = weekday
        forms.append(form)
    holiday_form = HolidayForm()
    if request.method == "POST" and all(form.is_valid() for form in forms):
        try:
            with transaction.atomic():
                for form in forms:
                    services.opening_hours_set(
                        weekday=form.weekday, actor=request.user, **form.cleaned_data
                    )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, _("Opening hours saved."))
            return redirect("appointments:opening_hours")
    today = timezone.localdate()
    return render(
        request,
        "appointments/opening_hours.html",
        {
            "forms": forms,
            "holiday_form": holiday_form,
            "holidays": Holiday.objects.filter(day__gte=today - timedelta(days=30)),
        },
        status=400 if request.method == "POST" else 200,
    )


@role_required(Role.SERVICE_MANAGER)
@require_POST
def holiday_add(request):
    form = HolidayForm(request.POST)
    if form.is_valid():
        try:
            services.holiday_add(actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for message in error.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Holiday saved."))
    else:
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
    return redirect("appointments:opening_hours")


@role_required(Role.SERVICE_MANAGER)
@require_POST
def holiday_remove(request, pk: int):
    holiday = get_object_or_404(Holiday, pk=pk)
    services.holiday_remove(holiday=holiday, actor=request.user)
    messages.success(request, _("Holiday removed."))
    return redirect("appointments:opening_hours")


@role_required(*BOARD_ROLES)
def campaigns(request):
    return render(
        request,
        "appointments/campaigns.html",
        {
            "campaigns": Campaign.objects.select_related("labour_operation"),
            "can_manage": has_role(request.user, [Role.SERVICE_MANAGER]),
        },
    )


@role_required(Role.SERVICE_MANAGER)
@require_http_methods(["GET", "POST"])
def campaign_edit(request, pk: int | None = None):
    campaign = get_object_or_404(Campaign, pk=pk) if pk else None
    form = CampaignForm(request.POST or None, instance=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_save(
                campaign=Campaign.objects.get(pk=pk) if pk else None,
                actor=request.user,
                **form.cleaned_data,
            )
        except ValidationError as error:
            _apply_errors(form, error)
        else:
            messages.success(request, _("Campaign saved."))
            return redirect("appointments:campaigns")
    return render(
        request,
        "appointments/campaign_form.html",
        {"form": form, "campaign": campaign},
        status=400 if request.method == "POST" else 200,
    )


# --- customer self-service (no log-in) ------------------------------------------------


def _rate_limited(request, bucket: str, *, plate: str = "", mobile: str = "") -> bool:
    """Count one attempt against the visitor's address, the plate and the mobile; True once
    any of them used up the hour's allowance. Per plate and per mobile as well, so guessing
    one car's owner from many addresses stops; per address only, the whole store would
    share one allowance behind a proxy (dealership.security.client_ip reads it right)."""
    limit = rule("appointments.self_service_attempts_per_hour")
    hour = f"{timezone.now():%Y%m%d%H}"
    subjects = [("ip", client_ip(request) or "unknown")]
    if plate:
        subjects.append(("plate", plate))
    if mobile:
        subjects.append(("mobile", mobile))
    counts = []
    for kind, value in subjects:
        digest = hashlib.sha256(value.encode()).hexdigest()[:32]
        key = f"appointments:rate:{bucket}:{kind}:{digest}:{hour}"
        cache.add(key, 0, 3600)
        try:
            counts.append(cache.incr(key))
        except ValueError:
            cache.set(key, 1, 3600)
            counts.append(1)
    return max(counts) > limit


def _too_many(request):
    return render(
        request,
        "appointments/self_service/too_many.html",
        status=429,
    )


def _session_vehicle(request) -> Vehicle | None:
    pk = request.session.get(SESSION_VEHICLE)
    if not pk:
        return None
    return Vehicle.objects.select_related("owner").filter(pk=pk).first()


@public_view
@require_http_methods(["GET", "POST"])
def self_book(request):
    """Step 1: plate + mobile. Step 2: services and a free slot. Then the signed page."""
    vehicle = _session_vehicle(request)
    if request.GET.get("restart") == "1":
        request.session.pop(SESSION_VEHICLE, None)
        vehicle = None
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    if vehicle is None:
        form = SelfServiceIdentifyForm(request.POST or None)
        if request.method == "POST":
            if _rate_limited(
                request,
                "identify",
                plate=normalize_plate(request.POST.get("plate", "")),
                mobile=normalize_phone(request.POST.get("mobile", "")),
            ):
                return _too_many(request)
            if form.is_valid():
                try:
                    vehicle = services.self_service_find_vehicle(**form.cleaned_data)
                except ValidationError as error:
                    _apply_errors(form, error)
                else:
                    request.session.cycle_key()
                    request.session[SESSION_VEHICLE] = vehicle.pk
                    return redirect("appointments:self_book")
        return render(
            request,
            "appointments/self_service/identify.html",
            {"form": form},
            status=400 if request.method == "POST" else 200,
        )

    day = _parse_day(request.GET.get("day"), earliest.date())
    form = SelfServiceBookingForm(request.POST or None, initial={"day": day})
    alternatives = []
    if request.method == "POST":
        if _rate_limited(
            request, "book", plate=vehicle.plate or "", mobile=vehicle.owner.mobile or ""
        ):
            return _too_many(request)
        if form.is_valid():
            data = form.cleaned_data
            try:
                appointment = services.self_service_book(
                    vehicle=vehicle,
                    start=data["start"],
                    operations=list(data["operations"]),
                    plan=data["plan"],
                    concern_text=data["concern_text"],
                    waiting=data["waiting"],
                    base_url=_base_url(request),
                )
            except services.SlotUnavailable as error:
                alternatives = error.alternatives
                _apply_errors(form, error)
            except ValidationError as error:
                _apply_errors(form, error)
            else:
                request.session.pop(SESSION_VEHICLE, None)
                messages.success(
                    request, _("Thank you, your appointment is booked. We sent you a message.")
                )
                return redirect("appointments:manage", token=appointment.link_token)
    params = request.POST if request.method == "POST" else request.GET
    return render(
        request,
        "appointments/self_service/book.html",
        {
            "form": form,
            "vehicle": vehicle,
            "alternatives": alternatives,
            **_preview_context(params, day=_parse_day(params.get("day"), day), earliest=earliest),
        },
        status=400 if request.method == "POST" else 200,
    )


@public_view
def self_book_slots(request):
    """htmx: slot picker for the self-service page (only after plate + mobile matched)."""
    if _session_vehicle(request) is None:
        raise Http404
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    context = _preview_context(
        request.GET, day=_parse_day(request.GET.get("day"), earliest.date()), earliest=earliest
    )
    return render(request, "appointments/self_service/_slots.html", context)


def _resolve(token: str) -> Appointment:
    link = customer_link_resolve(token, purpose=services.LINK_PURPOSE)
    if link.subject_type.model_class() is not Appointment:
        raise LinkInvalid
    try:
        return selectors.appointment_detail(link.subject_id)
    except Appointment.DoesNotExist as exc:
        raise LinkInvalid from exc


@public_view
@require_http_methods(["GET", "POST"])
@customer_link_page
def manage(request, token: str):
    """The customer's own appointment behind the signed link: view, move or cancel."""
    appointment = _resolve(token)
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    form = RescheduleForm(
        request.POST if request.POST.get("action") == "reschedule" else None,
        initial={"day": max(timezone.localtime(appointment.start).date(), earliest.date())},
    )
    alternatives = []
    if request.method == "POST":
        if _rate_limited(request, "manage"):
            return _too_many(request)
        action = request.POST.get("action")
        try:
            if action == "cancel":
                services.appointment_cancel(
                    appointment=appointment, actor=None, reason=_("Cancelled online")
                )
                messages.success(request, _("Your appointment is cancelled."))
                return redirect("appointments:manage", token=token)
            if action == "reschedule" and form.is_valid():
                moved = services.appointment_reschedule(
                    appointment=appointment,
                    start=form.cleaned_data["start"],
                    earliest=earliest,
                    actor=None,
                    base_url=_base_url(request),
                )
                messages.success(request, _("Your appointment is moved. We sent you a message."))
                return redirect("appointments:manage", token=moved.link_token)
        except services.SlotUnavailable as error:
            alternatives = error.alternatives
            _apply_errors(form, error)
        except ValidationError as error:
            if action == "reschedule":
                _apply_errors(form, error)
            else:
                for message in error.messages:
                    messages.error(request, message)
        appointment = selectors.appointment_detail(appointment.pk)
    operations = [line.operation for line in appointment.lines.all() if line.operation_id]
    day = form.cleaned_data.get("day") if form.is_bound and form.is_valid() else None
    picker = selectors.slot_picker(
        day=day or max(timezone.localtime(appointment.start).date(), earliest.date()),
        needs=hours_needed(operations),
        earliest=earliest,
        exclude_appointment=appointment.pk,
    )
    return render(
        request,
        "appointments/self_service/manage.html",
        {
            "appointment": appointment,
            "token": token,
            "form": form,
            "picker": picker,
            "selected": "",
            "alternatives": alternatives,
        },
        status=400 if request.method == "POST" else 200,
    )


@public_view
@customer_link_page
def manage_slots(request, token: str):
    """htmx: free times to move the customer's own appointment to."""
    appointment = _resolve(token)
    earliest = timezone.now() + timedelta(hours=rule("appointments.self_service_lead_hours"))
    operations = [line.operation for line in appointment.lines.all() if line.operation_id]
    picker = selectors.slot_picker(
        day=_parse_day(request.GET.get("day"), earliest.date()),
        needs=hours_needed(operations),
        earliest=earliest,
        exclude_appointment=appointment.pk,
    )
    return render(
        request,
        "appointments/self_service/_slots.html",
        {"picker": picker, "selected": "", "slots_url": request.path},
    )
