"""Pages of step 8. Thin: forms in, services called, selectors out."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from appointments import duties
from dealership.due import kind_get
from dealership.fragments import cached_fragment
from dealership.models import ContactChannel, Customer, DueTask, Vehicle
from dealership.roles import Role, has_role, role_required
from dealership.selectors import may_act_on_call, search
from dealership.web import apply_errors, submit

from . import complaints as complaint_services
from . import duties as K
from . import selectors, services
from .archive import CATEGORIES, archive_for, entry_lines
from .forms import (
    CallOutcomeForm,
    ComplaintActionForm,
    ComplaintAssignForm,
    ComplaintCloseForm,
    ComplaintEditForm,
    ComplaintForm,
    FindCustomerForm,
    ReasonForm,
)
from .models import Complaint
from .talking_points import talking_points_for

COMPLAINT_ROLES = (Role.ADVISOR, Role.CUSTOMER_CARE, Role.SERVICE_MANAGER)
ARCHIVE_ROLES = (
    Role.ADVISOR,
    Role.CUSTOMER_CARE,
    Role.SERVICE_MANAGER,
    Role.CASHIER,
    Role.WORKSHOP_CONTROLLER,
)
OPT_OUT_ROLES = (Role.ADVISOR, Role.CUSTOMER_CARE, Role.SERVICE_MANAGER)


# --------------------------------------------------------------------- call lists


def _call_list(slug: str, user) -> K.CallList:
    call_list = K.CALL_LISTS.get(slug)
    if call_list is None or not call_list.registered_kinds:
        raise Http404
    if not has_role(user, call_list.roles):
        raise PermissionDenied(_("This call list is for another role."))
    return call_list


@role_required(*K.LIST_ROLES)
def calls(request):
    """The first list the user works on."""
    lists = selectors.lists_for(request.user)
    if not lists:
        raise PermissionDenied(_("No call list is for your role."))
    return call_list(request, lists[0].slug)


@role_required(*K.LIST_ROLES)
def call_list(request, slug: str):
    current = _call_list(slug, request.user)
    lines = selectors.call_list_page_lines(
        call_list=current, user=request.user, limit=selectors.CALLS_SHOWN
    )
    counts = selectors.list_counts(user=request.user)
    tabs = [
        {"slug": item.slug, "label": str(item.label), **counts[item.slug]}
        for item in selectors.lists_for(request.user)
    ]
    return render(
        request,
        "followup/call_list.html",
        {
            "tabs_html": cached_fragment(
                "followup/_tabs.html", {"tabs": tabs, "current_slug": current.slug}
            ),
            "current": current,
            "rows_html": cached_fragment(
                "followup/_call_rows.html",
                {"rows": lines},
                spliced={"csrf_token": get_token(request)},
            ),
            "shown": len(lines),
            "total": counts[current.slug]["total"],
        },
    )


def _task_for(request, pk: int) -> tuple[selectors.CallRow, K.CallList]:
    try:
        row = selectors.call_detail(pk)
    except DueTask.DoesNotExist as exc:
        raise Http404 from exc
    current = K.list_of_kind(row.task.kind)
    if current is None:
        raise Http404
    if not has_role(request.user, current.roles) or not may_act_on_call(request.user, row.task):
        raise PermissionDenied(_("This call is on another person's list."))
    return row, current


@role_required(*K.LIST_ROLES)
@require_http_methods(["GET", "POST"])
def call(request, pk: int):
    """One call: who to call, about what, what happened before, and the outcome form."""
    row, current = _task_for(request, pk)
    task = row.task
    kind = kind_get(task.kind)
    initial = {"attempts_seen": len(row.attempts)}
    booked_elsewhere, booking_url = _booking(task)
    form = CallOutcomeForm(
        request.POST or None, kind=kind, booked_elsewhere=booked_elsewhere, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.call_record(
                task=task,
                actor=request.user,
                outcome=data["outcome"],
                note=data.get("note", ""),
                attempts_seen=data["attempts_seen"],
                survey=form.survey_answers(),
                category=data.get("category") or "",
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            _tell(request, result)
            following = selectors.next_call(call_list=current, user=request.user, after=task)
            if following is not None and "stay" not in request.POST:
                return redirect("followup:call", pk=following.pk)
            return redirect("followup:call_list", slug=current.slug)
    customer = task.customer
    recent = []
    if customer is not None:
        recent = archive_for(customer_id=customer.pk, limit=8, viewer=request.user).entries
    return render(
        request,
        "followup/call.html",
        {
            "row": row,
            "task": task,
            "current": current,
            "form": form,
            "entries_html": cached_fragment(
                "followup/_entries.html",
                {"entries": entry_lines(recent, show_vehicle=False), "compact": True},
            ),
            "done": task.state != DueTask.State.PENDING,
            "booking_url": booking_url,
            "outcome_label": kind.outcome_label(task.outcome) if task.outcome else "",
            "points": talking_points_for(row.vehicle),
            "chosen_channel": ContactChannel(task.payload["channel"]).label
            if task.payload.get("channel") in ContactChannel.values
            else "",
        },
        status=400 if form.errors else 200,
    )


def _booking(task: DueTask) -> tuple[frozenset, str]:
    """Appointment calls whose outcome is a booking are finished on the appointments pages."""
    if not task.kind.startswith("appointments."):
        return frozenset(), ""
    outcomes = frozenset(getattr(duties, "OUTCOMES_NEEDING_A_TIME", {}).get(task.kind, ()))
    if not outcomes:
        return outcomes, ""
    if task.kind == K.INVITATION_CALL:
        return outcomes, f"{reverse('appointments:new')}?vehicle={task.subject_id}"
    return outcomes, reverse("appointments:detail", args=[task.subject_id]) + "#reschedule"


def _tell(request, result: services.CallResult) -> None:
    if result.retry_at is not None:
        messages.info(
            request,
            _("Not reached: the call comes back on the list at %(when)s.")
            % {"when": services.when_text(result.retry_at)},
        )
    elif result.closed_unreachable:
        messages.warning(request, _("Not reached again: the call is closed as unreachable."))
    else:
        messages.success(request, _("Outcome recorded."))
    if result.complaint is not None:
        messages.warning(
            request,
            _("Complaint %(number)s opened for %(owner)s.")
            % {"number": result.complaint.number, "owner": result.complaint.owner or "—"},
        )


@role_required(*K.LIST_ROLES)
@require_POST
def call_not_reached(request, pk: int):
    """One click from the list: nobody answered."""
    row, current = _task_for(request, pk)
    try:
        result = services.call_record(
            task=row.task,
            actor=request.user,
            outcome=K.UNREACHABLE
            if K.UNREACHABLE in dict(kind_get(row.task.kind).outcomes)
            else "not_reached",
            attempts_seen=request.POST.get("attempts_seen"),
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        _tell(request, result)
    return redirect("followup:call_list", slug=current.slug)


# --------------------------------------------------------------------- complaints


@role_required(*COMPLAINT_ROLES)
def complaints(request):
    show = request.GET.get("show", "open")
    if show not in selectors.COMPLAINT_FILTERS:
        show = "open"
    counts = selectors.complaint_counts(user=request.user)
    return render(
        request,
        "followup/complaints.html",
        {
            "rows_html": cached_fragment(
                "followup/_complaint_rows.html",
                {"rows": selectors.complaint_page_lines(show=show, user=request.user)},
            ),
            "filters": [
                (key, label, counts.get(key))
                for key, (label, _q) in selectors.COMPLAINT_FILTERS.items()
            ],
            "show": show,
        },
    )


def _find_customers(text: str) -> list[Customer]:
    """The customers the main search finds (by phone, name, or their car's plate / VIN)."""
    result = search(text)
    found = {customer.pk: customer for customer in result.customers}
    for vehicle in result.vehicles:
        found.setdefault(vehicle.owner_id, vehicle.owner)
    return list(found.values())


@role_required(*COMPLAINT_ROLES)
@require_http_methods(["GET", "POST"])
def complaint_new(request):
    """Log a complaint: find the customer first (or come from their archive / visit)."""
    customer_id = request.GET.get("customer", "")
    if not customer_id.isdigit():
        find = FindCustomerForm(request.GET if "find" in request.GET else None)
        found = []
        if find.is_valid():
            found = _find_customers(find.cleaned_data["find"])
            if len(found) == 1:
                return redirect(f"{reverse('followup:complaint_new')}?customer={found[0].pk}")
            if not found:
                find.add_error("find", _("No customer has this mobile number or plate."))
        return render(request, "followup/complaint_new.html", {"find": find, "found": found})
    customer = get_object_or_404(Customer, pk=int(customer_id))
    initial = {}
    visit_id = request.GET.get("visit", "")
    if visit_id.isdigit():
        initial["visit"] = int(visit_id)
    return submit(
        request,
        ComplaintForm(request.POST or None, customer=customer, initial=initial),
        lambda data: complaint_services.complaint_open(
            customer=customer, actor=request.user, **data
        ),
        message=lambda complaint: _("Complaint %(number)s logged.") % {"number": complaint.number},
        done=redirect,
        show_form=lambda form: render(
            request,
            "followup/complaint_new.html",
            {"form": form, "customer": customer},
            status=400 if form.errors else 200,
        ),
    )


def _complaint_page(request, complaint: Complaint, *, status=200, **forms):
    forms.setdefault("action_form", ComplaintActionForm())
    forms.setdefault("assign_form", ComplaintAssignForm(initial={"owner": complaint.owner_id}))
    forms.setdefault("close_form", ComplaintCloseForm(initial={"version": complaint.version}))
    forms.setdefault("edit_form", ComplaintEditForm(complaint=complaint))
    forms.setdefault("reopen_form", ReasonForm())
    return render(
        request,
        "followup/complaint.html",
        {
            "complaint": complaint,
            "may_close": not complaint.is_important
            or has_role(request.user, (Role.SERVICE_MANAGER,)),
            **forms,
        },
        status=status,
    )


def _complaint(pk: int) -> Complaint:
    try:
        return selectors.complaint_detail(pk)
    except Complaint.DoesNotExist as exc:
        raise Http404 from exc


@role_required(*COMPLAINT_ROLES)
def complaint(request, pk: int):
    return _complaint_page(request, _complaint(pk))


def _complaint_post(request, pk, form_name, form, run, done_message):
    """Validate `form`, run the service, come back to the page (errors next to the fields)."""
    complaint = _complaint(pk)
    return submit(
        request,
        form,
        lambda data: run(complaint, data),
        message=done_message,
        done=lambda _result: redirect("followup:complaint", pk=pk),
        show_form=lambda form: _complaint_page(
            request, _complaint(pk), status=400, **{form_name: form}
        ),
    )


@role_required(*COMPLAINT_ROLES)
@require_POST
def complaint_act(request, pk: int):
    return _complaint_post(
        request,
        pk,
        "action_form",
        ComplaintActionForm(request.POST),
        lambda c, d: complaint_services.complaint_action_add(
            complaint=c, actor=request.user, kind=d["kind"], text=d["text"]
        ),
        _("Added to the actions log."),
    )


@role_required(*COMPLAINT_ROLES)
@require_POST
def complaint_assign(request, pk: int):
    return _complaint_post(
        request,
        pk,
        "assign_form",
        ComplaintAssignForm(request.POST),
        lambda c, d: complaint_services.complaint_assign(
            complaint=c, owner=d["owner"], actor=request.user
        ),
        pgettext("complaint", "Owner changed."),
    )


@role_required(*COMPLAINT_ROLES)
@require_POST
def complaint_edit(request, pk: int):
    complaint = _complaint(pk)

    def run(c, d):
        version = d.pop("version")
        complaint_services.complaint_update(
            complaint=c, actor=request.user, expected_version=version, **d
        )

    return _complaint_post(
        request,
        pk,
        "edit_form",
        ComplaintEditForm(request.POST, complaint=complaint),
        run,
        _("Complaint saved."),
    )


@role_required(*COMPLAINT_ROLES)
@require_POST
def complaint_close(request, pk: int):
    return _complaint_post(
        request,
        pk,
        "close_form",
        ComplaintCloseForm(request.POST),
        lambda c, d: complaint_services.complaint_close(
            complaint=c,
            actor=request.user,
            resolution=d["resolution"],
            customer_satisfied=d["customer_satisfied"],
            expected_version=d["version"],
        ),
        _("Complaint closed."),
    )


@role_required(*COMPLAINT_ROLES)
@require_POST
def complaint_reopen(request, pk: int):
    return _complaint_post(
        request,
        pk,
        "reopen_form",
        ReasonForm(request.POST),
        lambda c, d: complaint_services.complaint_reopen(
            complaint=c, actor=request.user, reason=d["reason"]
        ),
        _("Complaint reopened."),
    )


# --------------------------------------------------------------------- archive


def _archive_page(request, **kwargs):
    everything = bool(request.GET.get("all"))
    limit = selectors.ARCHIVE_LIMIT_ALL if everything else selectors.ARCHIVE_LIMIT
    try:
        archive = archive_for(limit=limit, viewer=request.user, **kwargs)
    except (Customer.DoesNotExist, Vehicle.DoesNotExist) as exc:
        raise Http404 from exc
    show = request.GET.get("show", "")
    entries = [e for e in archive.entries if e.category == show] if show else archive.entries
    may_complain = has_role(request.user, COMPLAINT_ROLES)
    return render(
        request,
        "followup/archive.html",
        {
            "archive": archive,
            "customer": archive.customer,
            "entries_html": cached_fragment(
                "followup/_entries.html",
                {"entries": entry_lines(entries, show_vehicle=archive.vehicle is None)},
            ),
            "boxes_html": cached_fragment(
                "followup/_archive_boxes.html",
                {
                    "open_calls": archive.open_calls,
                    "complaints": archive.complaints,
                    "surveys": archive.surveys,
                    "may_complain": may_complain,
                },
            ),
            "visits_html": cached_fragment(
                "followup/_archive_visits.html", {"visits": archive.visits}
            ),
            "show": show,
            "everything": everything,
            "categories": [
                (key, label, archive.category_counts.get(key, 0))
                for key, label in CATEGORIES
                if archive.category_counts.get(key)
            ],
            "opt_form": ReasonForm(),
            "may_opt_out": has_role(request.user, OPT_OUT_ROLES),
            "may_complain": may_complain,
        },
    )


@role_required(*ARCHIVE_ROLES)
def customer_archive(request, pk: int):
    return _archive_page(request, customer_id=pk)


@role_required(*ARCHIVE_ROLES)
def vehicle_archive(request, pk: int):
    return _archive_page(request, vehicle_id=pk)


@role_required(*OPT_OUT_ROLES)
@require_POST
def customer_opt_out(request, pk: int):
    """Record that the customer does not (or again does) want to be called."""
    customer = get_object_or_404(Customer, pk=pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    do_not_call = request.POST.get("do_not_call") == "1"
    services.customer_calls_opt_out(
        customer=customer,
        actor=request.user,
        do_not_call=do_not_call,
        reason=form.cleaned_data.get("reason", ""),
    )
    messages.success(
        request,
        _("Recorded: the customer is not called any more.")
        if do_not_call
        else _("Recorded: the customer may be called again."),
    )
    return redirect("followup:customer_archive", pk=pk)
