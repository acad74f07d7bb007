"""What reception offers on a vehicle's page: its open visit, or a check-in."""

from django.urls import reverse
from django.utils.translation import gettext as _

from dealership.actions import Action

from . import selectors


def vehicles_actions(vehicles) -> list[list[Action]]:
    """Each vehicle's open visit, or a check-in if it has none (one query for them all)."""
    open_visits = selectors.open_visits_of(vehicles)
    return [[_visit_or_check_in(vehicle, open_visits.get(vehicle.pk))] for vehicle in vehicles]


def _visit_or_check_in(vehicle, visit) -> Action:
    if visit is not None:
        label = _("Open visit %(number)s") % {"number": visit.number}
        return Action("open-visit", label, visit.get_absolute_url(), primary=True)
    url = reverse("reception:check_in") + f"?vehicle={vehicle.pk}"
    return Action("check-in", _("Check in"), url, primary=True)
