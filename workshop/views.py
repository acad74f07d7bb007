"""Pages of steps 4-5. Thin: forms in, services called, refusals shown to the person."""

import functools
from html import escape
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.middleware.csrf import get_token
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext
from django.views.decorators.http import require_http_methods

from dealership.fragments import cached_fragment
from dealership.links import LinkInvalid, customer_link_resolve
from dealership.roles import Role, has_role, public_view, role_required
from dealership.rules import rule, rules_pinned
from dealership.storage import stored_file_response
from dealership.urltools import safe_next
from dealership.web import apply_errors, submit
from reception.models import Visit

from . import additions, board_cards, board_loads, desk_help, selectors, services
from .forms import (
    APPROVE,
    FAIL,
    AdditionForm,
    ClockOffForm,
    DeskAnswerForm,
    DeskCallForm,
    DispatchForm,
    FindingForm,
    LinkAnswerForm,
    PauseForm,
    PhoneAnswerForm,
    PromiseForm,
    QCForm,
    WithdrawForm,
)
from .models import Addition, DeskCall, Finding, FindingPhoto, Job
from .states import QC_ITEMS, ROAD_TEST, SELF_CHECK_ITEMS, AnswerChannel, JobStatus, PauseReason

BOARD_ROLES = (
    Role.WORKSHOP_CONTROLLER,
    Role.ADVISOR,
    Role.QC_INSPECTOR,
    Role.SERVICE_MANAGER,
)
DISPATCHERS = (Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER)
TECHNICIANS = (Role.TECHNICIAN,)
PROPOSERS = (Role.TECHNICIAN, Role.WORKSHOP_CONTROLLER, Role.ADVISOR, Role.SERVICE_MANAGER)
ADVISORS = (Role.ADVISOR, Role.SERVICE_MANAGER)
QC_ROLES = (Role.QC_INSPECTOR, Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER)
VIEWERS = (
    Role.ADVISOR,
    Role.WORKSHOP_CONTROLLER,
    Role.QC_INSPECTOR,
    Role.SERVICE_MANAGER,
    Role.TECHNICIAN,
)


def _refusal(error: ValidationError) -> str:
    return " ".join(str(m) for m in error.messages)


def _base_url(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


# ---------------------------------------------------------------------------- board

TEAM_FILTER_MAX_LENGTH = 40


def _filters(params) -> tuple[str, int | None]:
    """The board's filters; anything that cannot be a team or a technician's id is ignored."""
    team = (params.get("team") or "").strip()
    if len(team) > TEAM_FILTER_MAX_LENGTH or "\x00" in team:
        team = ""
    technician = str(params.get("technician_filter") or params.get("technician_id") or "")
    known = technician.isascii() and technician.isdigit() and len(technician) <= 9
    return team, int(technician) if known else None


def _board_labels() -> dict[str, str]:
    """The words every card of the board repeats, translated once per language and process
    (as the translation catalogues are read)."""
    return dict(_board_labels_in(translation.get_language()))


@functools.lru_cache(maxsize=8)
def _board_labels_in(language: str | None) -> dict[str, str]:
    """`_board_labels` in `language`, the active one (it translates them)."""
    return {
        "booked": _("Booked"),
        "missed": _("Promise missed"),
        "at_risk": _("At risk"),
        "promised": _("Promised"),
        "left": _("left"),
        "rework": pgettext("workshop", "Rework"),
        "qc_passed": _("QC passed"),
        "awaiting": _("Awaiting approval"),
        "redispatch": _("Re-dispatch"),
        "dispatch": _("Dispatch"),
        "technician": _("Technician"),
        "bay": _("Bay"),
        "inspect": _("Inspect"),
        "ready": _("Wash and ready"),
        "waits": _("customer waits"),
        "in_status": _("in this status for"),
        "since_check_in": _("since check-in"),
        "express_late": _("Over the express target"),
        "suggested": _("Suggested"),
        "take": _("Take"),
        "nobody": _("No technician has the skill"),
        "carry_over": _("Carry-over"),
    }


def _render_board(request, *, team: str, technician_id: int | None):
    # The store's rules read once for the page (the selector and the poll interval read
    # three), not one cache round trip each.
    with rules_pinned():
        return _render_board_pinned(request, team=team, technician_id=technician_id)


def _render_board_pinned(request, *, team: str, technician_id: int | None):
    services.jobs_materialise()
    data = selectors.board(team=team, technician_id=technician_id)
    query = urlencode(
        {k: v for k, v in {"team": team, "technician_id": technician_id}.items() if v}
    )
    template = "workshop/_board.html" if request.htmx else "workshop/board.html"
    context = {
        "board": data,
        "labels": _board_labels(),
        # Built once, repeated in every card's dispatch form.
        "technician_options": _options(
            _("Technician"),
            (
                (
                    load.technician.pk,
                    f"{load.technician.name} · {load.assigned:.1f}/{load.available:.1f} h",
                )
                for load in data.loads
            ),
        ),
        "load_bars": board_loads.load_bars(data.loads),
        "bay_options": _options(
            _("Bay"), ((bay.pk, f"{bay.code} {bay.name}") for bay in data.bays)
        ),
        # The filters every dispatch form carries back, built once like the options.
        "filter_inputs": format_html(
            '<input type="hidden" name="team" value="{}"><input type="hidden"'
            ' name="technician_filter" value="{}">',
            team,
            technician_id or "",
        ),
        "poll_url": reverse("workshop:board") + (f"?{query}" if query else ""),
        "refresh": rule("workshop.board_refresh_seconds"),
        "can_dispatch": has_role(request.user, DISPATCHERS),
        "can_qc": has_role(request.user, QC_ROLES),
    }
    if not request.htmx:
        context |= _filter_options(data)
    board_cards.cards_attach(data, context, get_token(request))
    return render(request, template, context)


_FILTER_LINE = "\n" + " " * 43  # as board.html laid the filters' options out


def _filter_options(data: selectors.Board) -> dict[str, str]:
    """The full page's filters: each team's and each technician's option, the chosen one
    selected, as board.html printed them in two loops (some 30 options a page)."""
    selected = _FILTER_LINE + "    selected"
    return {
        "team_options": mark_safe(  # noqa: S308 - the texts escaped here
            "".join(
                f'<option value="{escape(str(team))}"{_FILTER_LINE}'
                f"{' selected' if team == data.team else ''}>{escape(str(team))}</option>"
                f"{_FILTER_LINE}"
                for team in data.teams
            )
        ),
        "technician_filter_options": mark_safe(  # noqa: S308 - the texts escaped here
            "".join(
                f'<option value="{load.technician.pk}"{_FILTER_LINE}'
                f"{selected if load.technician.pk == data.technician_id else ''}>"
                f"{escape(str(load.technician.name))}</option>"
                for load in data.loads
            )
        ),
    }


def _options(placeholder: str, choices) -> str:
    """A select's options: the placeholder, then (value, label) pairs of plain values, each
    escaped as `format_html` escapes it (without its cost per value)."""
    options = "".join(
        f'<option value="{escape(str(value))}">{escape(str(label))}</option>'
        for value, label in choices
    )
    return format_html('<option value="">{}…</option>', placeholder) + mark_safe(options)  # noqa: S308


@role_required(*BOARD_ROLES)
def board(request):
    """The dispatch board (看板) for the big screen; polls itself for changes."""
    team, technician_id = _filters(request.GET)
    return _render_board(request, team=team, technician_id=technician_id)


@role_required(*DISPATCHERS)
@require_http_methods(["POST"])
def dispatch(request, pk: int):
    """Dispatch the ticked jobs of one car (one job or the whole order) to a technician and bay."""
    visit = get_object_or_404(Visit, pk=pk)
    services.jobs_materialise(visit_ids=[visit.pk])
    job_ids = list(Job.objects.filter(visit=visit).values_list("pk", flat=True))
    form = DispatchForm(request.POST, job_ids=job_ids)
    if form.is_valid():
        try:
            jobs = services.jobs_dispatch(
                visit=visit,
                job_ids=form.cleaned_data["jobs"],
                technician=form.cleaned_data["technician"],
                bay=form.cleaned_data["bay"],
                actor=request.user,
                expected=form.expected(),
            )
        except ValidationError as error:
            messages.error(request, _refusal(error))
        else:
            messages.success(
                request,
                ngettext(
                    "%(plate)s: %(n)s job dispatched to %(tech)s.",
                    "%(plate)s: %(n)s jobs dispatched to %(tech)s.",
                    len(jobs),
                )
                % {
                    "plate": visit.vehicle.plate or visit.vehicle.vin,
                    "n": len(jobs),
                    "tech": form.cleaned_data["technician"],
                },
            )
    else:
        messages.error(
            request,
            " ".join(f"{form.fields[k].label}: {' '.join(v)}" for k, v in form.errors.items()),
        )
    team, technician_id = _filters(request.POST)
    if request.htmx:
        # htmx swaps only 2xx answers by default: the refusal travels in the refreshed board.
        return _render_board(request, team=team, technician_id=technician_id)
    url = reverse("workshop:board")
    query = urlencode(
        {k: v for k, v in {"team": team, "technician_id": technician_id}.items() if v}
    )
    return redirect(f"{url}?{query}" if query else url)


# ---------------------------------------------------------------------------- technician


@role_required(*TECHNICIANS)
def my_jobs(request):
    """The technician's phone page: jobs for today, clock on / pause / clock off, findings."""
    technician = selectors.technician_for(request.user)
    jobs = selectors.technician_jobs(technician) if technician else []
    return render(
        request,
        "workshop/my_jobs.html",
        {
            "technician": technician,
            "jobs": jobs,
            "running": next((j for j in jobs if j.status == JobStatus.IN_PROGRESS), None),
            "pause_reasons": PauseReason.choices,
            "self_check_items": SELF_CHECK_ITEMS,
            "now": timezone.now(),
        },
    )


def _job_action(request, pk: int, action) -> object:
    job = get_object_or_404(Job.objects.select_related("visit__vehicle"), pk=pk)
    try:
        message = action(job)
    except ValidationError as error:
        messages.error(request, _refusal(error))
    else:
        messages.success(request, message)
    return redirect("workshop:my_jobs")


@role_required(*TECHNICIANS)
@require_http_methods(["POST"])
def clock_on(request, pk: int):
    def act(job):
        services.job_clock_on(job=job, actor=request.user)
        return _("Clocked on %(job)s.") % {"job": job}

    return _job_action(request, pk, act)


@role_required(*TECHNICIANS)
@require_http_methods(["POST"])
def pause(request, pk: int):
    form = PauseForm(request.POST)

    def act(job):
        if not form.is_valid():
            raise ValidationError(_("Say why the work stops."))
        services.job_pause(
            job=job,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
        )
        return _("%(job)s paused.") % {"job": job}

    return _job_action(request, pk, act)


@role_required(*TECHNICIANS)
@require_http_methods(["POST"])
def clock_off(request, pk: int):
    form = ClockOffForm(request.POST)

    def act(job):
        if not form.is_valid():
            raise ValidationError(_("Check the form."))
        done = services.job_clock_off(
            job=job,
            actor=request.user,
            self_check=form.cleaned_data["self_check"],
            note=form.cleaned_data["note"],
        )
        return _("%(job)s done: %(hours)s h.") % {"job": job, "hours": done.actual_hours}

    return _job_action(request, pk, act)


@role_required(*TECHNICIANS)
@require_http_methods(["GET", "POST"])
def finding_new(request, pk: int):
    job = get_object_or_404(Job.objects.select_related("visit__vehicle", "technician"), pk=pk)

    def done(finding):
        if request.POST.get("propose"):
            return redirect("workshop:addition_new", pk=finding.pk)
        return redirect("workshop:my_jobs")

    return submit(
        request,
        FindingForm(request.POST or None, request.FILES or None),
        lambda data: services.finding_report(
            job=job, actor=request.user, note=data["note"], photos=data["photos"]
        ),
        message=_("Finding saved."),
        done=done,
        show_form=lambda form: render(
            request,
            "workshop/finding_form.html",
            {"job": job, "form": form},
            status=400 if form.errors else 200,
        ),
    )


@role_required(*VIEWERS)
def photo(request, pk: int):
    item = get_object_or_404(FindingPhoto, pk=pk)
    return stored_file_response(item.image)


# ---------------------------------------------------------------------------- additions


@role_required(*PROPOSERS)
@require_http_methods(["GET", "POST"])
def addition_new(request, pk: int):
    """Turn a finding into a proposal: operations, parts, price, extra time, safety flag."""
    finding = get_object_or_404(
        Finding.objects.select_related("visit__vehicle", "job").prefetch_related("photos"), pk=pk
    )

    def done(addition):
        if has_role(request.user, (Role.ADVISOR, Role.SERVICE_MANAGER)):
            return redirect(addition)
        if has_role(request.user, TECHNICIANS):
            return redirect("workshop:my_jobs")
        return redirect("workshop:visit", pk=finding.visit_id)

    return submit(
        request,
        AdditionForm(request.POST or None, initial={"title": finding.note[:150]}),
        lambda data: additions.addition_propose(
            visit=finding.visit, actor=request.user, finding=finding, **data
        ),
        message=_("Additional work proposed; the advisor has been alerted."),
        done=done,
        show_form=lambda form: render(
            request,
            "workshop/addition_form.html",
            {"finding": finding, "form": form},
            status=400 if form.errors else 200,
        ),
    )


def _addition_or_404(pk: int) -> Addition:
    try:
        return selectors.addition_detail(pk)
    except Addition.DoesNotExist as exc:
        raise Http404 from exc


def _render_addition(request, addition, *, answer_form=None, withdraw_form=None, status=200):
    return render(
        request,
        "workshop/addition.html",
        {
            "addition": addition,
            "answer_form": answer_form
            or PhoneAnswerForm(initial={"answered_by": addition.visit.customer.name}),
            "withdraw_form": withdraw_form or WithdrawForm(),
            "can_answer": has_role(request.user, ADVISORS),
            "can_withdraw": has_role(request.user, (*ADVISORS, Role.WORKSHOP_CONTROLLER)),
            "link_url": request.build_absolute_uri(
                reverse("workshop:approve", kwargs={"token": addition.link_token})
            )
            if addition.is_open and addition.link_token
            else "",
        },
        status=status,
    )


@role_required(*VIEWERS)
def addition_detail(request, pk: int):
    return _render_addition(request, _addition_or_404(pk))


@role_required(*ADVISORS)
@require_http_methods(["POST"])
def addition_answer(request, pk: int):
    """The advisor records the customer's answer given on the phone."""
    addition = _addition_or_404(pk)

    def answer(data):
        if data["decision"] == APPROVE:
            return additions.addition_approve(
                addition=addition,
                actor=request.user,
                channel=AnswerChannel.PHONE,
                answered_by=data["answered_by"],
                note=data["note"],
            )
        return additions.addition_decline(
            addition=addition,
            actor=request.user,
            channel=AnswerChannel.PHONE,
            answered_by=data["answered_by"],
            reason=data["reason"],
            note=data["note"],
        )

    return submit(
        request,
        PhoneAnswerForm(request.POST),
        answer,
        message=_("The customer's answer is recorded."),
        done=lambda _addition: redirect("workshop:addition", pk=pk),
        show_form=lambda form: _render_addition(
            request, _addition_or_404(pk), answer_form=form, status=400
        ),
    )


@role_required(*ADVISORS)
@require_http_methods(["POST"])
def addition_send_link(request, pk: int):
    addition = _addition_or_404(pk)
    try:
        url = additions.addition_send_link(
            addition=addition, actor=request.user, base_url=_base_url(request)
        )
    except ValidationError as error:
        messages.error(request, _refusal(error))
    else:
        messages.success(
            request, _("The link is on its way to the customer: %(url)s") % {"url": url}
        )
    return redirect("workshop:addition", pk=pk)


@role_required(*ADVISORS, Role.WORKSHOP_CONTROLLER)
@require_http_methods(["POST"])
def addition_withdraw(request, pk: int):
    addition = _addition_or_404(pk)
    return submit(
        request,
        WithdrawForm(request.POST),
        lambda data: additions.addition_withdraw(
            addition=addition, actor=request.user, reason=data["reason"]
        ),
        message=_("The proposal was withdrawn."),
        done=lambda _addition: redirect("workshop:addition", pk=pk),
        show_form=lambda form: _render_addition(
            request, _addition_or_404(pk), withdraw_form=form, status=400
        ),
    )


# ---------------------------------------------------------------------------- visit & promise


def _render_visit(request, pk: int, *, promise_form=None, status=200):
    try:
        data = selectors.visit_workshop(pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc
    return render(
        request,
        "workshop/visit.html",
        {
            "data": data,
            "visit": data.visit,
            "promise_form": promise_form or PromiseForm(),
            "can_promise": has_role(request.user, ADVISORS),
        },
        status=status,
    )


@role_required(*VIEWERS)
def visit_detail(request, pk: int):
    """The workshop's view of one car: jobs and clocking, findings, additions, QC, promise."""
    return _render_visit(request, pk)


@role_required(*ADVISORS)
@require_http_methods(["POST"])
def promise(request, pk: int):
    """The advisor records a new promised time and the reason given to the customer."""
    visit = get_object_or_404(Visit, pk=pk)
    return submit(
        request,
        PromiseForm(request.POST),
        lambda data: services.promise_move(
            visit=visit,
            actor=request.user,
            promised_at=data["promised_at"],
            reason=data["reason"],
        ),
        message=_("New promised time saved; the customer gets a message."),
        done=lambda _visit: redirect("workshop:visit", pk=pk),
        show_form=lambda form: _render_visit(request, pk, promise_form=form, status=400),
    )


# ---------------------------------------------------------------------------- QC


@role_required(*QC_ROLES)
def qc_list(request):
    # The lists from plain values, their HTML kept under a digest of them: inspectors' and
    # controllers' screens ask again and again while nothing changed.
    lists = cached_fragment(
        "workshop/_qc_lists.html",
        {"visits": selectors.qc_queue(), "recent": selectors.qc_recent()},
    )
    return render(request, "workshop/qc_list.html", {"lists": lists})


@role_required(*QC_ROLES)
@require_http_methods(["GET", "POST"])
def qc_inspect(request, pk: int):
    """The inspector's re-check: checklist, then pass, or fail with the jobs to redo."""
    try:
        data = selectors.visit_workshop(pk)
    except Visit.DoesNotExist as exc:
        raise Http404 from exc
    done_jobs = [job for job in data.jobs if job.status == JobStatus.DONE]
    form = QCForm(request.POST or None, jobs=done_jobs)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            if values["decision"] == FAIL:
                services.qc_fail(
                    visit=data.visit,
                    actor=request.user,
                    reason=values["reason"],
                    job_ids=values["jobs"] or None,
                    checked=values["checklist"],
                )
                message = _("Sent back for rework.")
            else:
                services.qc_pass(
                    visit=data.visit,
                    actor=request.user,
                    checked=values["checklist"],
                    note=values["reason"],
                )
                message = _("QC passed.")
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, message)
            return redirect("workshop:qc")
    road_test = services.qc_road_test_needed(data.jobs)
    return render(
        request,
        "workshop/qc_inspect.html",
        {
            "data": data,
            "visit": data.visit,
            "form": form,
            "road_test": road_test,
            "items": [(k, label) for k, label in QC_ITEMS if k != ROAD_TEST or road_test],
        },
        status=400 if form.errors else 200,
    )


# ---------------------------------------------------------------------------- customer link


def _addition_from_token(token: str) -> Addition:
    link = customer_link_resolve(token, purpose=additions.ADDITION_PURPOSE)
    return selectors.addition_detail(link.subject_id)


def _link_invalid(request, error, status=404):
    return render(request, "link_invalid.html", {"error": error}, status=status)


@public_view
@require_http_methods(["GET", "POST"])
def approve(request, token: str):
    """The customer's page: the finding, photos, explanation, price and delay; approve or not."""
    try:
        addition = _addition_from_token(token)
    except (LinkInvalid, Addition.DoesNotExist) as error:
        return _link_invalid(request, error if isinstance(error, LinkInvalid) else LinkInvalid())
    form = LinkAnswerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            if form.cleaned_data["decision"] == APPROVE:
                additions.addition_approve(
                    addition=addition, actor=None, channel=AnswerChannel.LINK
                )
            else:
                additions.addition_decline(
                    addition=addition,
                    actor=None,
                    channel=AnswerChannel.LINK,
                    reason=form.cleaned_data["reason"],
                )
        except ValidationError as error:
            apply_errors(form, error)
            return _render_approve(
                request, selectors.addition_detail(addition.pk), token, form=form, status=409
            )
        return _render_approve(request, selectors.addition_detail(addition.pk), token)
    return _render_approve(request, addition, token, form=form)


def _render_approve(request, addition, token, *, form=None, status=200):
    with translation.override(addition.visit.customer.language):
        response = render(
            request,
            "workshop/approve.html",
            {
                "addition": addition,
                "token": token,
                "form": form or LinkAnswerForm(),
                "visit": addition.visit,
                "lang": addition.visit.customer.language,
            },
            status=status,
        )
    return response


@public_view
def approve_photo(request, token: str, pk: int):
    """A finding photo, only through the customer's own link."""
    try:
        link = customer_link_resolve(token, purpose=additions.ADDITION_PURPOSE, touch=False)
    except LinkInvalid as error:
        return _link_invalid(request, error)
    addition = Addition.objects.filter(pk=link.subject_id).only("finding_id").first()
    item = FindingPhoto.objects.filter(
        pk=pk, finding_id=addition.finding_id if addition else None
    ).first()
    if item is None:
        raise Http404
    return stored_file_response(item.image)


# ---------------------------------------------------------------------------- help at the desk


@role_required(*ADVISORS)
@require_http_methods(["POST"])
def desk_call_ask(request, pk: int):
    """The advisor asks the workshop for a technician at the desk; the board shows it."""
    visit = get_object_or_404(Visit, pk=pk)
    form = DeskCallForm(request.POST)
    if form.is_valid():
        try:
            desk_help.desk_call_ask(visit=visit, actor=request.user, note=form.cleaned_data["note"])
        except ValidationError as error:
            messages.error(request, _refusal(error))
        else:
            messages.success(request, _("The workshop controller has been asked for a technician."))
    else:
        messages.error(
            request,
            " ".join(f"{form.fields[k].label}: {' '.join(v)}" for k, v in form.errors.items()),
        )
    return redirect(safe_next(request, visit.get_absolute_url()))


@role_required(*DISPATCHERS)
@require_http_methods(["POST"])
def desk_call_answer(request, pk: int):
    """The controller names the technician who goes to the desk; the request leaves the board."""
    call = get_object_or_404(DeskCall, pk=pk)
    form = DeskAnswerForm(request.POST)
    if form.is_valid():
        try:
            desk_help.desk_call_answer(
                call=call, technician=form.cleaned_data["technician"], actor=request.user
            )
        except ValidationError as error:
            messages.error(request, _refusal(error))
        else:
            messages.success(
                request,
                _("%(tech)s is on the way to the desk.")
                % {"tech": form.cleaned_data["technician"]},
            )
    else:
        messages.error(
            request,
            " ".join(f"{form.fields[k].label}: {' '.join(v)}" for k, v in form.errors.items()),
        )
    team, technician_id = _filters(request.POST)
    if request.htmx:
        return _render_board(request, team=team, technician_id=technician_id)
    return redirect("workshop:board")
