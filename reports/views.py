"""Report pages for the service manager: figures, drill-down, targets, exports, PDF."""

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from dealership.daterange import refuses_bad_query
from dealership.errors import DomainError
from dealership.roles import Role, role_required
from workorders.models import JobType

from . import cache as report_cache
from . import exports, selectors, services
from .enquiries import enquiry_figures
from .figures import DEFINITIONS, FIGURES, WORK_TYPE_PREFIX
from .pdf import report_pdf
from .periods import KINDS, MONTH, Period
from .status_times import status_times

MANAGERS = (Role.SERVICE_MANAGER,)
DRILL_LIMIT = 500


def _period(request) -> Period:
    return selectors.period_from(request.GET.get("period"), request.GET.get("date"))


@role_required(*MANAGERS)
@refuses_bad_query
def report(request):
    """The period's report. Its content is the same for every manager, so the rendered
    HTML is kept like the report itself (`reports.cache`: until a row behind it changes,
    in the reader's language, at most `TTL`) and a second view renders only the frame."""
    period = _period(request)
    content = report_cache.cached("page", period, lambda: _report_content(period))
    return render(request, "reports/report.html", {"content": content})


def _report_content(period: Period) -> str:
    data = selectors.report_build(period)
    return render_to_string(
        "reports/_report.html",
        {
            "report": data,
            "kinds": KINDS.items(),
            "prev": period.previous(),
            "next": period.next(),
            "tables": exports.report_tables(data),
            "definitions": DEFINITIONS,
            "status_times": report_cache.cached(
                "status-times", period, lambda: status_times(period)
            ),
            "enquiries": report_cache.kept(
                "enquiries",
                [period.kind, period.first.isoformat(), get_language() or ""],
                ["followup.enquiry", "dealership.storerule"],
                lambda: enquiry_figures(period),
            ),
        },
    )


@role_required(*MANAGERS)
@refuses_bad_query
def drill(request):
    period = _period(request)
    key = request.GET.get("figure", "")
    if key.startswith(WORK_TYPE_PREFIX):
        label = dict(JobType.choices).get(key.removeprefix(WORK_TYPE_PREFIX))
    else:
        label = FIGURES[key].label if key in FIGURES else None
    if label is None:
        raise Http404("unknown figure")
    visits = selectors.drill_visits(key, period)
    total = visits.count()
    return render(
        request,
        "reports/drill.html",
        {
            "period": period,
            "label": label,
            "visits": visits[:DRILL_LIMIT],
            "total": total,
            "limit": DRILL_LIMIT,
            "back": reverse("reports:report") + "?" + period.query(),
        },
    )


@role_required(*MANAGERS)
@refuses_bad_query
def targets(request):
    period = selectors.period_from(MONTH, request.GET.get("date") or request.POST.get("date"))
    current = selectors.targets_for(period.first)
    errors = {}
    if request.method == "POST":
        parsed = {}
        for key in FIGURES:
            raw = request.POST.get(key, "").strip()
            try:
                parsed[key] = Decimal(raw) if raw else None
            except InvalidOperation:
                errors[key] = _("Enter a number.")
        if not errors:
            try:
                with transaction.atomic():  # all targets of the form, or none
                    for key, value in parsed.items():
                        if value != current.get(key):
                            services.report_target_set(
                                month=period.first, figure=key, value=value, actor=request.user
                            )
            except DomainError as error:
                errors[getattr(error, "field", None) or "__all__"] = error.messages[0]
            else:
                messages.success(request, _("Targets saved."))
                return redirect(reverse("reports:report") + "?" + period.query())
        current = {**current, **{k: v for k, v in parsed.items() if k not in errors}}
    rows = [
        {
            "key": key,
            "figure": figure,
            "value": request.POST.get(key, "") if key in errors else current.get(key, ""),
            "error": errors.get(key),
        }
        for key, figure in FIGURES.items()
    ]
    return render(
        request,
        "reports/targets.html",
        {"period": period, "rows": rows, "form_error": errors.get("__all__")},
        status=400 if errors else 200,
    )


def _download(content, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@role_required(*MANAGERS)
@refuses_bad_query
def export_csv(request):
    period = _period(request)
    table = request.GET.get("table", "summary")
    data = selectors.report_build(period, with_charts=False)
    if table not in exports.report_tables(data):
        raise Http404("unknown table")
    return _download(
        exports.table_csv(data, table),
        "text/csv; charset=utf-8",
        f"report-{period.kind}-{period.first:%Y%m%d}-{table}.csv",
    )


@role_required(*MANAGERS)
@refuses_bad_query
def export_xlsx(request):
    period = _period(request)
    data = selectors.report_build(period, with_charts=False)
    return _download(
        exports.report_xlsx(data),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"report-{period.kind}-{period.first:%Y%m%d}.xlsx",
    )


@role_required(*MANAGERS)
@refuses_bad_query
def report_pdf_view(request):
    period = _period(request)
    response = HttpResponse(
        report_pdf(selectors.report_build(period)), content_type="application/pdf"
    )
    response["Content-Disposition"] = (
        f'inline; filename="report-{period.kind}-{period.first:%Y%m%d}.pdf"'
    )
    return response
