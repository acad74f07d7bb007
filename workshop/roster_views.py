"""The roster week (/workshop/roster/): technicians × 7 days; a cell sets or clears a day."""

from datetime import date

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from dealership.roles import Role, role_required
from dealership.web import apply_errors, refusal_text

from . import roster
from .forms import RosterForm
from .models import RosterKind

ROSTER_ROLES = (Role.WORKSHOP_CONTROLLER, Role.SERVICE_MANAGER)


def _week_of(value) -> date:
    """The Monday of `?week=`; today's week for anything that is not a date in range."""
    today = timezone.localdate()
    try:
        day = date.fromisoformat(str(value or "")[:10])
    except ValueError:
        day = today
    if abs((day - today).days) > roster.ROSTER_DAYS_AHEAD:
        day = today
    return roster.week_start(day)


def _page(request, start: date, *, failed: RosterForm | None = None, status: int = 200):
    week = roster.roster_week(start)
    unplaced = ""
    if failed is not None:
        data = failed.cleaned_data
        placed = False
        for row in week.rows:
            for cell in row.cells:
                if row.technician == data.get("technician") and cell.day == data.get("day"):
                    cell.form, placed = failed, True
        if not placed:  # no cell to show it in (an unknown technician or day): on top
            unplaced = refusal_text(failed)
    return render(
        request,
        "workshop/roster.html",
        {
            "week": week,
            "kinds": RosterKind.choices,
            "failed": failed,
            "unplaced": unplaced,
            "today": timezone.localdate(),
        },
        status=status,
    )


@role_required(*ROSTER_ROLES)
@require_http_methods(["GET", "POST"])
def roster_page(request):
    """The week's roster; a POST sets or clears one technician's day, then shows its week."""
    if request.method == "GET":
        return _page(request, _week_of(request.GET.get("week")))
    form = RosterForm(request.POST)
    start = _week_of(request.POST.get("day") or request.POST.get("week"))
    if form.is_valid():
        data = form.cleaned_data
        try:
            if data["action"] == RosterForm.CLEAR:
                roster.roster_clear(
                    technician=data["technician"], day=data["day"], actor=request.user
                )
                messages.success(request, _("Day cleared: full hours again."))
            else:
                roster.roster_set(
                    technician=data["technician"],
                    day=data["day"],
                    kind=data["kind"],
                    hours_off=data["hours_off"],
                    note=data["note"],
                    actor=request.user,
                )
                messages.success(request, _("Roster saved."))
        except ValidationError as error:
            apply_errors(form, error)
        else:
            return redirect(f"{reverse('workshop:roster')}?week={start.isoformat()}")
    return _page(request, start, failed=form, status=400)
